"""`plan serve` for real: a server process on 127.0.0.1 (a free port), spoken to over HTTP.

The happy path, auth, limits, a burst of concurrent requests, and a restart with a sweep in
flight (the server is killed with SIGKILL and started again on the same database). Expected
objectives come from tiny.yaml's arithmetic (see TINY_COSTS), never from solver output.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[1]
TINY_TEXT = (ROOT / "instances/features/tiny.yaml").read_text()
TINY = yaml.safe_load(TINY_TEXT)
TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# tiny.yaml with the lease price p (per unit per period): 3 units are needed in periods 1-3.
# Period 1 can only be leased: 3p. Periods 2-3: lease again (6p) or buy 3 units in period 1 (30).
#   p=1: 3 + 6 = 9;   p=2: 6 + 12 = 18;   p=6: 18 + min(36, 30) = 48 (buys for periods 2-3).
TINY_COSTS = {1: 9.0, 2: 18.0, 6: 48.0}


def tiny(lease_price: float | None = None, **changes) -> dict:
    data = json.loads(json.dumps(TINY))
    if lease_price is not None:
        data["offers"][1]["unit_price"] = lease_price
    data.update(changes)
    return data


def hard(n_offers: int, periods: int, seed: int = 3) -> dict:
    """A MIP HiGHS does not finish quickly (no plan within seconds at 60 x 24): with a time
    limit it keeps a worker busy for that long, which is what the busy-pool tests need."""
    rnd = random.Random(seed)
    chips = [{"id": f"C{i}", "bf16_tflops": rnd.randint(50, 1000), "memory_gb": rnd.choice([24, 48, 80, 96])}
             for i in range(7)]
    offers = []
    for i in range(n_offers):
        kind = "buy" if i % 3 else "lease"
        scale = 10 if kind == "buy" else 1
        offer = {"id": f"o{i}", "chip": f"C{i % 7}", "kind": kind, "gpus_per_unit": rnd.choice([1, 2, 4, 8]),
                 "unit_price": rnd.randint(50, 500) * scale, "lead_time": rnd.randint(0, 2),
                 "min_order": rnd.choice([1, 2, 3, 5]), "fixed_cost": rnd.randint(0, 300),
                 "price_breaks": [{"min_units": 4, "unit_price": rnd.randint(40, 400) * scale}]}
        if kind == "lease":
            offer["term"] = rnd.choice([1, 2, 3, 5])
        offers.append(offer)
    return {"name": "hard", "horizon": {"periods": periods}, "chips": chips, "offers": offers,
            "requirements": [
                {"metric": "bf16_tflops", "schedule": {t: rnd.randint(1000, 30000) for t in range(1, periods + 1)}},
                {"metric": "memory_gb", "schedule": {t: rnd.randint(100, 3000) for t in range(1, periods + 1)}},
            ]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`plan serve` in its own process group, so a kill takes its solver workers with it."""

    def __init__(self, db: Path, log: Path, token: str | None = None, env: dict | None = None, **options):
        self.db, self.log, self.token, self.options, self.env = db, log, token, options, env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        args = [sys.executable, str(ROOT / "cli.py"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--db", str(self.db), "--log-level", "warning"]
        for key, value in self.options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLAN_")}
        if self.token:
            env["PLAN_API_TOKEN"] = self.token
        env.update(self.env)
        self._log = open(self.log, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not answer /healthz within 30 s:\n{self.log.read_text()}")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)  # the group we started: server and its workers
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=15)
        if self.proc is not None:
            self._log.close()
        self.proc = None

    def client(self, auth: bool = True, timeout: float = 30) -> "httpx.Client":
        return httpx.Client(base_url=self.url, headers=AUTH if auth and self.token else {}, timeout=timeout)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("service")
    srv = Server(folder / "plan.db", folder / "server.log", token=TOKEN, workers=2, queue=1,
                 max_body_bytes=50_000, max_offer_periods=1500, max_time_limit=10, max_sweep_points=10).start()
    yield srv
    srv.kill(signal.SIGTERM)


def wait_job(client, jid: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{jid}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {jid} not finished in {timeout} s: {job}")


# --------------------------------------------------------------------------- happy path


def test_solve_yaml_is_stored_and_fetched_by_id(server):
    with server.client() as c:
        r = c.post("/v1/solve", content=TINY_TEXT, headers={"Content-Type": "application/yaml"},
                   params={"gap": 0})
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["status"] == "optimal" and result["objective"] == 27  # tiny.yaml's comment: 3 x 9
        assert result["schema_version"] == c.get("/v1/schema/result").json()["x-schema-version"]
        rid = r.headers["x-result-id"]
        assert r.headers["location"] == f"/v1/results/{rid}"
        again = c.get(f"/v1/results/{rid}")
        assert again.status_code == 200 and again.json() == result
        assert c.get("/v1/results/nope").status_code == 404


def test_solve_json_bare_or_wrapped(server):
    with server.client() as c:
        bare = c.post("/v1/solve", json=tiny(2), params={"time_limit": 5})
        wrapped = c.post("/v1/solve", json={"instance": tiny(6), "gap": 0, "time_limit": 5})
    assert bare.status_code == 200 and bare.json()["objective"] == TINY_COSTS[2]
    assert wrapped.status_code == 200 and wrapped.json()["objective"] == TINY_COSTS[6]
    assert wrapped.json()["solver"]["time_limit_s"] == 5


def test_scenario_instances_are_served(server):
    # instances/features/v2/scenarios-expected.yaml: B in period 1 in both worlds, 5 (its header)
    text = (ROOT / "instances/features/v2/scenarios-expected.yaml").read_text()
    with server.client() as c:
        r = c.post("/v1/solve", content=text, headers={"Content-Type": "application/yaml"}, params={"gap": 0})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["objective"] == pytest.approx(5) and [s["name"] for s in result["scenarios"]] == ["calm", "rule"]
    assert [(o["offer"], o["period"]) for o in result["orders"]] == [("B", 1)]


def test_unknown_query_options_and_includes(server):
    # issue 14: ?gapp= was accepted and ignored; include: [catalog] was refused
    catalog_instance = (ROOT / "instances/cn-2023-h1.yaml").read_text()
    with server.client() as c:
        typo = c.post("/v1/solve", json=tiny(2), params={"gapp": 0.5})
        outside = c.post("/v1/solve", json=tiny(2, include=["/etc/passwd.yaml"]))
        builtin = c.post("/v1/solve", content=catalog_instance, headers={"Content-Type": "application/yaml"},
                         params={"gap": 1e-4, "time_limit": 10})
    assert typo.status_code == 422 and "gapp" in typo.text
    assert outside.status_code == 422 and "include[0]" in outside.text and "not a built-in catalog" in outside.text
    assert builtin.status_code == 200, builtin.text
    assert builtin.json()["status"] in ("optimal", "feasible") and builtin.json()["instance"] == "cn-2023-h1"


def test_infeasible_is_an_answer_not_an_error(server):
    data = tiny(offers=[TINY["offers"][0]])  # only the buy offer, which arrives in period 2
    with server.client() as c:
        r = c.post("/v1/solve", json=data)
    assert r.status_code == 200 and r.json()["status"] == "infeasible" and r.json()["objective"] is None


def test_schemas_health_and_openapi(server):
    with server.client() as c:
        inst = c.get("/v1/schema/instance")
        assert inst.status_code == 200 and "offers" in inst.json()["properties"]
        assert c.get("/v1/schema/nothing").status_code == 404
        api = c.get("/openapi.json").json()
    # the docs come from the same pydantic models as the files
    assert {"Instance", "Result", "SolveRequest", "SweepRequest", "JobOut"} <= set(api["components"]["schemas"])
    body = api["paths"]["/v1/solve"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/yaml"} <= set(body)
    health = httpx.get(server.url + "/healthz").json()  # no token needed
    assert health["status"] == "ok" and health["workers"] == 2


def test_sweep_runs_every_point_in_order(server):
    params = {"offers.X-lease.unit_price": list(TINY_COSTS)}
    with server.client() as c:
        r = c.post("/v1/sweeps", json={"instance": TINY, "params": params, "gap": 0})
        assert r.status_code == 202, r.text
        created = r.json()
        assert created["total"] == 3 and r.headers["location"] == f"/v1/jobs/{created['id']}"
        job = wait_job(c, created["id"])
        assert job["status"] == "done" and job["progress"] == {"done": 3, "total": 3}
        assert [row["point"] for row in job["rows"]] == [0, 1, 2]
        assert [row["params"]["offers.X-lease.unit_price"] for row in job["rows"]] == [1, 2, 6]
        assert [row["objective"] for row in job["rows"]] == list(TINY_COSTS.values())
        full = c.get(f"/v1/results/{job['rows'][2]['result_id']}").json()
        assert full["objective"] == 48 and full["orders"][0]["units"] == 3  # p=6 buys 3 units
        assert c.get("/v1/jobs/nope").status_code == 404


def test_sweep_yaml_body(server):
    body = yaml.safe_dump({"instance": TINY, "params": {"offers.X-lease.unit_price": [1]}})
    with server.client() as c:
        r = c.post("/v1/sweeps", content=body, headers={"Content-Type": "text/yaml"})
        assert r.status_code == 202, r.text
        assert wait_job(c, r.json()["id"])["rows"][0]["objective"] == TINY_COSTS[1]


# --------------------------------------------------------------------------- auth


def test_auth_is_required_everywhere_but_healthz(server):
    with server.client(auth=False) as c:
        for method, path in (("POST", "/v1/solve"), ("POST", "/v1/sweeps"), ("GET", "/v1/jobs/x"),
                             ("GET", "/v1/results/x"), ("GET", "/v1/schema/result"), ("GET", "/openapi.json")):
            r = c.request(method, path, json=TINY)
            assert r.status_code == 401, (path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
            assert "bearer token" in r.json()["detail"]
        wrong = c.post("/v1/solve", json=TINY, headers={"Authorization": "Bearer " + TOKEN[:-1] + "X"})
        assert wrong.status_code == 401 and "invalid" in wrong.json()["detail"]
        basic = c.get("/v1/schema/result", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        assert c.get("/healthz").status_code == 200
        assert c.get("/v1/schema/result", headers=AUTH).status_code == 200


# --------------------------------------------------------------------------- limits and bad input


def test_invalid_instance_gets_located_messages(server):
    data = tiny()
    data["offers"][0]["lead_time"] = -1
    data["offers"][1]["gpus_per_unit"] = 0
    with server.client() as c:
        r = c.post("/v1/solve", json=data)
    assert r.status_code == 422
    assert r.json()["detail"] == "invalid instance"
    assert set(r.json()["errors"]) == {"offers[0].lead_time: must be >= 0", "offers[1].gpus_per_unit: must be >= 1"}


def test_body_over_the_limit_is_413(server):
    big = json.dumps(tiny(description="x" * 60_000))
    with server.client() as c:
        declared = c.post("/v1/solve", content=big, headers={"Content-Type": "application/json"})
        streamed = c.post("/v1/solve", content=iter([big[:30_000].encode(), big[30_000:].encode()]),
                          headers={"Content-Type": "application/json"})  # chunked: no Content-Length
    for r in (declared, streamed):
        assert r.status_code == 413 and "50,000 bytes" in r.json()["detail"]


def test_instance_over_the_size_limit_is_413(server):
    with server.client() as c:
        r = c.post("/v1/solve", json=tiny(horizon={"periods": 1000}))
    # 2 offers x 1000 periods = 2,000 > 1,500
    assert r.status_code == 413 and "2 offers x 1000 periods = 2,000" in r.json()["detail"]


def test_options_over_the_caps_are_422(server):
    with server.client() as c:
        over = c.post("/v1/solve", json=TINY, params={"time_limit": 11})
        threads = c.post("/v1/solve", json={"instance": TINY, "threads": 2})
        negative = c.post("/v1/solve", json=TINY, params={"gap": -1})
        unknown = c.post("/v1/solve", json={"instance": TINY, "gapp": 0})
    assert over.status_code == 422 and "over this server's cap of 10 s" in over.json()["errors"][0]
    assert threads.status_code == 422 and "threads" in threads.json()["errors"][0]
    assert negative.status_code == 422 and "gap" in negative.json()["errors"][0]
    assert unknown.status_code == 422 and unknown.json()["errors"][0].startswith("gapp")


def test_unreadable_bodies_are_refused_clearly(server):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefg", "bcdefgh"))
    with server.client() as c:
        bad_json = c.post("/v1/solve", content="{not json", headers={"Content-Type": "application/json"})
        dup = c.post("/v1/solve", content='{"name": "a", "name": "b"}', headers={"Content-Type": "application/json"})
        alias = c.post("/v1/solve", content=bomb, headers={"Content-Type": "application/yaml"})
        xml = c.post("/v1/solve", content="<instance/>", headers={"Content-Type": "application/xml"})
    assert bad_json.status_code == 400 and "line 1" in bad_json.json()["errors"][0]
    assert dup.status_code == 400 and "duplicate key 'name'" in dup.json()["errors"][0]
    assert alias.status_code == 400 and "alias bomb" in alias.json()["errors"][0]
    assert xml.status_code == 415


def test_sweep_limits_and_bad_points(server):
    with server.client() as c:
        many = c.post("/v1/sweeps", json={"instance": TINY, "params": {"offers.X-lease.unit_price": list(range(1, 5)),
                                                                       "offers.X-buy.unit_price": [10, 20, 30]}})
        long = c.post("/v1/sweeps", json={"instance": TINY, "params": {"offers.X-lease.unit_price": list(range(11))}})
        bad = c.post("/v1/sweeps", json={"instance": TINY, "params": {"offers.X-lease.unit_price": [1, -5]}})
        nopath = c.post("/v1/sweeps", json={"instance": TINY, "params": {"offers.nope.unit_price": [1]}})
        empty = c.post("/v1/sweeps", json={"instance": TINY, "params": {"offers.X-lease.unit_price": []}})
    assert many.status_code == 413 and "12 points" in many.json()["detail"]  # 4 x 3 over the limit of 10
    assert long.status_code == 422 and "11 values" in long.json()["errors"][0]  # one list over it: the schema says so
    assert bad.status_code == 422 and "point 1" in bad.json()["detail"]
    assert bad.json()["errors"] == ["offers[1].unit_price: must be >= 0"]
    assert nopath.status_code == 422 and "no item 'nope'" in nopath.json()["errors"][0]
    assert empty.status_code == 422


# --------------------------------------------------------------------------- burst


def test_burst_fills_the_pool_then_refuses_with_retry_after(server):
    slow = {"instance": hard(60, 24), "time_limit": 1}  # each admitted solve holds a worker >= 1 s
    with server.client() as c, ThreadPoolExecutor(6) as ex:
        futures = [ex.submit(c.post, "/v1/solve", json=slow) for _ in range(6)]
        deadline = time.monotonic() + 10
        while sum(f.done() for f in futures) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # the refusals come back at once; the admitted solves are still running
        refused = [f.result() for f in futures if f.done()]
        health = httpx.get(server.url + "/healthz", timeout=5)
        answers = [fut.result() for fut in futures]
    # 2 workers + a queue of 1 admit 3; the other 3 are told to come back
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 503, 503, 503]
    assert all(r.status_code == 503 for r in refused) and len(refused) == 3
    for r in answers:
        if r.status_code == 503:
            assert r.headers["retry-after"].isdigit() and "busy" in r.json()["detail"]
    # /healthz answered while every worker was busy, and saw it
    assert health.status_code == 200 and health.json()["in_flight"] == 3
    assert httpx.get(server.url + "/healthz").json()["in_flight"] == 0


def test_concurrent_answers_do_not_mix(server):
    # three at once fit the pool (2 workers + 1 queued); each must get its own instance's answer
    with server.client() as c, ThreadPoolExecutor(3) as ex:
        answers = list(ex.map(lambda p: c.post("/v1/solve", json={"instance": tiny(p), "gap": 0}), TINY_COSTS))
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [r.json()["objective"] for r in answers] == list(TINY_COSTS.values())


# --------------------------------------------------------------------------- restart


def test_restart_with_a_sweep_in_flight_loses_no_finished_row(tmp_path):
    db = tmp_path / "restart.db"
    first = Server(db, tmp_path / "first.log", workers=1).start()
    try:
        with first.client() as c:
            solved = c.post("/v1/solve", json=tiny(2))
            assert solved.status_code == 200
            rid = solved.headers["x-result-id"]
            # 6 points of ~0.3-0.6 s each on one worker: slow enough to kill the server mid-sweep
            sweep = {"instance": hard(30, 12), "time_limit": 0.3,
                     "params": {"offers.o0.unit_price": [100, 200, 300, 400, 500, 600]}}
            jid = c.post("/v1/sweeps", json=sweep).json()["id"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                job = c.get(f"/v1/jobs/{jid}").json()
                if job["progress"]["done"] >= 2:
                    break
                time.sleep(0.05)
    finally:
        first.kill()  # SIGKILL: no shutdown handler runs
    assert job["status"] == "running" and 2 <= job["progress"]["done"] < 6, job
    before = {row["point"]: row for row in job["rows"]}

    second = Server(db, tmp_path / "second.log", workers=1).start()
    try:
        with second.client() as c:
            assert c.get(f"/v1/results/{rid}").json() == solved.json()
            job = wait_job(c, jid)
    finally:
        second.kill(signal.SIGTERM)
    assert job["status"] == "done" and job["progress"] == {"done": 6, "total": 6}
    assert [row["point"] for row in job["rows"]] == list(range(6))
    after = {row["point"]: row for row in job["rows"]}
    for point, row in before.items():  # stored before the kill: kept as they were, not solved again
        assert after[point] == row


def test_serve_usage_errors_exit_2(tmp_path):
    # issue 17: a bad --db or a port in use printed a traceback and exited 3
    import socket

    bad = tmp_path / "not.sqlite"
    bad.write_text("not a database")
    for db in (bad, tmp_path):
        proc = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "serve", "--port", "0", "--db", str(db)],
                              capture_output=True, text=True, timeout=30, cwd=ROOT)
        assert proc.returncode == 2 and "--db" in proc.stderr and "Traceback" not in proc.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "serve", "--port", str(port), "--db",
                               str(tmp_path / "ok.sqlite")], capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert proc.returncode == 2 and "cannot listen there" in proc.stderr
