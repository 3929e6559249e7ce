"""Issue 17: a service one request cannot take down, and an OpenAPI that says what it does.

Each test here fails without its fix: a solve that runs past its wall-clock limit (its worker
is killed and replaced), a worker's memory cap, /healthz answering while a 2 MB YAML body
parses, connections whose headers or body stop arriving, bodies nested 100,000 deep, and a
schemathesis run (property-based requests from the service's own OpenAPI, every check but
one) against a real `plan serve`.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

import optimizer.service.app as service_app
from optimizer.service.app import Settings, SolvePool, create_app, nesting_depth
from optimizer.service.jobs import noop, solve_in_worker
from tests.test_service import AUTH, TINY_COSTS, TOKEN, Server, free_port, httpx, tiny


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hardening")
    srv = Server(folder / "plan.db", folder / "server.log", token=TOKEN, workers=1, queue=2,
                 env={"PLAN_HEADER_TIMEOUT": "1", "PLAN_BODY_TIMEOUT": "1", "PLAN_BODY_DEADLINE": "2"}).start()
    yield srv
    srv.kill(signal.SIGTERM)


# --------------------------------------------------------------------------- the worker pool


def test_a_solve_past_its_wall_clock_limit_is_stopped_and_the_pool_serves_on():
    pool = SolvePool(1, 1, grace=0.5)
    try:
        late = pool.submit(time.sleep, 60, wall_limit=0.5)  # stands for a solve that ignores its time limit
        queued = pool.submit(time.sleep, 60)  # waits behind it: lost with the workers (503 to its caller)
        with pytest.raises(BrokenProcessPool):
            late.result(timeout=40)  # the watchdog kills it about 1 s after it starts running
        assert late in pool.overran and queued not in pool.overran
        deadline = time.monotonic() + 30
        while not queued.done() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert queued.done() and pool.in_flight == 0
        assert pool.submit(noop, wall_limit=5).result(timeout=60) is None  # a fresh worker answers
    finally:
        pool.shutdown()


def test_a_solve_waiting_behind_a_long_one_is_not_late():
    """The clock starts when a worker starts the call, not when the executor queues it. One
    worker: a call allowed 0.5 + 0.5 s waits 3 s behind one allowed 5.5 + 0.5 s. Both are within
    their limits, so both finish; counted from the queue, the waiting one was late after 1 s and
    the workers were killed, the long call with them."""
    pool = SolvePool(1, 1, grace=0.5)
    try:
        pool.warm()
        long = pool.submit(time.sleep, 3, wall_limit=5.5)
        short = pool.submit(noop, wall_limit=0.5)
        assert long.result(timeout=60) is None and short.result(timeout=60) is None
        assert not pool.overran
    finally:
        pool.shutdown()


def test_a_worker_cannot_take_more_than_its_memory_limit():
    pool = SolvePool(1, 0, memory_mb=2048)
    try:
        with pytest.raises(MemoryError):
            pool.submit(bytearray, 3 * 1024 ** 3).result(timeout=60)  # 3 GiB against a 2 GiB cap
        assert pool.submit(noop).result(timeout=60) is None  # the same worker lives on
    finally:
        pool.shutdown()


# --------------------------------------------------------------------------- bodies and connections


def test_nesting_depth_is_counted_without_recursion():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_depth(deep, 64) == 65  # stops counting past the limit
    assert nesting_depth({"a": [1, {"b": 2}]}, 64) == 3


@pytest.mark.parametrize("media, body", [
    ("application/json", "[" * 100_000 + "]" * 100_000),
    ("application/json", json.dumps({"instance": tiny()})[:-1] + ', "x": ' + "[" * 500 + "]" * 500 + "}"),
    ("application/yaml", "a: " + "[" * 100_000 + "]" * 100_000),
])
def test_bodies_nested_too_deep_get_400_not_500(server, media, body):
    with server.client() as c:
        r = c.post("/v1/solve", content=body, headers={"content-type": media})
    assert r.status_code == 400, r.text
    assert "nest" in r.json()["detail"] + " ".join(r.json()["errors"])
    assert "Traceback" not in server.log.read_text()


def _raw(server, data: bytes, wait: float) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as s:
        s.sendall(data)
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
        except socket.timeout:
            return got + b"<still open>"
        return got


def test_a_connection_whose_headers_never_end_is_closed(server):
    got = _raw(server, b"POST /v1/solve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n", wait=8)
    assert not got.endswith(b"<still open>"), "the connection was still open after 8 s (header timeout 1 s)"


def test_a_body_that_stops_arriving_gets_408(server):
    head = (f"POST /v1/solve HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"horizon\":").encode()
    got = _raw(server, head, wait=8)
    assert got.startswith(b"HTTP/1.1 408"), got[:200]


def test_a_body_that_trickles_gets_408_at_its_deadline(server):
    """A byte every 0.3 s never pauses for the 1 s body timeout; the 2 s deadline ends it."""
    head = (f"POST /v1/solve HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head)
        s.setblocking(False)
        got, t0 = b"", time.monotonic()
        while time.monotonic() - t0 < 10 and not got:
            try:
                s.sendall(b" ")
            except OSError:  # closed by the server after its answer
                pass
            time.sleep(0.3)
            try:
                got = s.recv(65536)
            except BlockingIOError:
                pass
        took = time.monotonic() - t0
    assert got.startswith(b"HTTP/1.1 408"), got[:200]
    assert b"did not arrive within 2 s" in got and took < 6


# --------------------------------------------------------------------------- the app in this process
# uvicorn in a thread, so the test can hold a parse or a solve where it wants: the worker
# processes import this module for slow_solve (spawn pickles functions by name).

HOLD_PARSE = b"# hold the parse\n"


def slow_solve(data, gap, time_limit, threads):
    """In a worker: an instance named `slow` stands for a solve whose build outlasts its time
    limit (HiGHS's limit never sees it); any other is solved."""
    if isinstance(data, dict) and data.get("name") == "slow":
        time.sleep(120)
    return solve_in_worker(data, gap, time_limit, threads)


class InProcess:
    def __init__(self, settings: Settings):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.started, self.release = threading.Event(), threading.Event()  # parse: started / may go on
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "InProcess":
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the in-process server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.should_exit = True
        self.thread.join(60)


@pytest.fixture(scope="module")
def inproc(tmp_path_factory):
    real_parse, real_check = service_app.parse_body, service_app.check_instance
    holder: dict = {}

    def held_parse(body, content_type, max_depth=64):
        if body.startswith(HOLD_PARSE):  # parsing has begun and waits for the test
            holder["srv"].started.set()
            holder["srv"].release.wait(60)
        return real_parse(body, content_type, max_depth)

    def held_check(data, settings, where=""):
        if isinstance(data, dict) and data.get("name") == "hold-validation":
            holder["srv"].started.set()
            holder["srv"].release.wait(60)
        return real_check(data, settings, where)

    settings = Settings(db=str(tmp_path_factory.mktemp("inproc") / "plan.db"), workers=1, queue=2, job_grace=0.5,
                        max_time_limit=30)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(service_app, "solve_in_worker", slow_solve)
        mp.setattr(service_app, "parse_body", held_parse)
        mp.setattr(service_app, "check_instance", held_check)
        with InProcess(settings) as srv:
            holder["srv"] = srv
            yield srv


def test_a_solve_over_its_wall_clock_gets_504_and_the_next_is_served(inproc):
    with httpx.Client(base_url=inproc.url, timeout=60) as c:
        t0 = time.monotonic()
        r = c.post("/v1/solve", json={"instance": tiny(name="slow"), "time_limit": 0.5})
        took = time.monotonic() - t0
        assert r.status_code == 504, r.text
        assert "ran over its wall-clock limit (0.5 s time limit + 0.5 s)" in r.json()["detail"]
        assert took < 30  # stopped, not left to sleep its 120 s
        r = c.post("/v1/solve", json=tiny(lease_price=2))  # a fresh worker serves the next request
        assert r.status_code == 200 and r.json()["objective"] == pytest.approx(TINY_COSTS[2])
        assert c.get("/healthz").json()["in_flight"] == 0


def test_a_sweep_point_over_its_wall_clock_is_a_row_and_the_sweep_goes_on(inproc):
    with httpx.Client(base_url=inproc.url, timeout=60) as c:
        r = c.post("/v1/sweeps", json={"instance": tiny(lease_price=1), "time_limit": 0.5,
                                      "params": {"name": ["slow", "fast"]}})
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 90
        while (job := c.get(r.headers["location"]).json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
    assert job["status"] == "done" and job["progress"] == {"done": 2, "total": 2}
    late, fast = job["rows"]
    assert late["status"] == "error" and "ran over its wall-clock limit" in late["message"]
    assert fast["status"] == "optimal" and fast["objective"] == pytest.approx(TINY_COSTS[1])


@pytest.mark.parametrize("held", ["parse", "validation"])
def test_healthz_answers_while_a_body_is_parsed_and_validated(inproc, held):
    """The parse (or the validation) of a 1.9 MB YAML body is held until /healthz has answered.
    On the event loop, the held parse would block /healthz too: it would time out."""
    rows = "\n".join(f"  - {{id: o{i}, chip: X, kind: lease, unit_price: {i + 1}, tags: [{', '.join(['a'] * 40)}]}}"
                     for i in range(9000))
    text = f"name: hold-{held}\nhorizon: {{periods: 2}}\noffers:\n{rows}\n"
    body = (HOLD_PARSE if held == "parse" else b"") + text.encode()
    assert 1_000_000 < len(body) < 2_000_000  # under the default body limit
    inproc.started.clear()
    inproc.release.clear()
    answer = {}

    def post():
        with httpx.Client(base_url=inproc.url, timeout=120) as c:
            answer["big"] = c.post("/v1/solve", content=body, headers={"content-type": "application/yaml"})

    thread = threading.Thread(target=post)
    thread.start()
    try:
        assert inproc.started.wait(60), f"the {held} did not start"
        r = httpx.get(inproc.url + "/healthz", timeout=10)  # while the body's parse or validation is held
        assert r.status_code == 200 and "big" not in answer
    finally:
        inproc.release.set()
        thread.join(120)
    assert answer["big"].status_code == 422  # offers name a chip the instance does not define


# --------------------------------------------------------------------------- the OpenAPI


def test_openapi_states_auth_errors_and_this_servers_limits(tmp_path):
    settings = Settings(db=str(tmp_path / "plan.db"), solver_threads=2, max_time_limit=42, max_sweep_points=7,
                        max_body_bytes=1234, token="t")
    api = create_app(settings).openapi()
    ops = [(path, method, op) for path, methods in api["paths"].items() for method, op in methods.items()]
    assert len(ops) >= 6
    for path, method, op in ops:
        codes = set(op["responses"])
        if path == "/healthz":
            assert op["security"] == [] and "401" not in codes
            continue
        assert "401" in codes, (method, path)
        if method == "post":
            assert {"413", "422", "503"} <= codes, (method, path, codes)
            assert "1,234 bytes" in op["responses"]["413"]["description"]
    schemas = api["components"]["schemas"]
    for name in ("SolveRequest", "SweepRequest"):
        time_limit = schemas[name]["properties"]["time_limit"]["anyOf"][0]
        assert time_limit["maximum"] == 42 and time_limit["exclusiveMinimum"] == 0
        assert schemas[name]["properties"]["threads"]["anyOf"][0]["enum"] == [2]
    assert schemas["SweepRequest"]["properties"]["params"]["additionalProperties"]["maxItems"] == 7
    query = {p["name"]: p["schema"] for p in api["paths"]["/v1/solve"]["post"]["parameters"]}
    assert query["time_limit"]["anyOf"][0]["maximum"] == 42 and query["threads"]["anyOf"][0]["enum"] == [2]


def test_a_boolean_share_is_refused(server):
    data = tiny(policies=[{"name": "p", "metric": "bf16_tflops", "select": {"chip": "X"}, "max_share": False}])
    with server.client() as c:
        r = c.post("/v1/solve", json=data)
    assert r.status_code == 422, r.text
    assert any(e.startswith("policies[0].max_share") for e in r.json()["errors"]), r.json()


# --------------------------------------------------------------------------- a client nobody here wrote


# POST /v1/solve's schema-valid bodies are solved: the coverage phase's 1,234 boundary cases of
# them took 56 s of 2 cores. Its coverage phase sends the negative (schema-invalid) cases only;
# the fuzzing phase still sends valid bodies too, and every other operation gets both.
SCHEMATHESIS_TOML = """
[[operations]]
include-path = "/v1/solve"
include-method = "POST"
phases.coverage.generation.mode = "negative"
"""


def test_schemathesis_finds_nothing(tmp_path):
    """Every check but positive_data_acceptance, bounded (25 examples per operation and phase)
    and deterministic. That check is left out on purpose: an instance has rules across fields
    that JSON Schema cannot state (ids that offers refer to, periods within the horizon, work
    only for FLOP metrics, sweep values that must suit their path), and the service answers
    them with 422 naming each field."""
    srv = Server(tmp_path / "plan.db", tmp_path / "server.log", token=TOKEN, workers=1, queue=4).start()
    try:
        config = tmp_path / "schemathesis.toml"
        config.write_text(SCHEMATHESIS_TOML)
        st = str(Path(sys.executable).with_name("schemathesis"))  # installed with the test extra, beside python
        started = time.monotonic()
        run = subprocess.run(
            [st, "--config-file", str(config), "run", f"{srv.url}/openapi.json", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance", "-n", "25", "--generation-deterministic",
             "-H", f"Authorization: Bearer {TOKEN}", "--request-timeout", "60", "--max-response-time", "30",
             "--no-color", "--phases", "examples,coverage,fuzzing"],
            cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
        assert " 0 generated" not in run.stdout and "passed" in run.stdout, run.stdout[-3000:]
        assert "Traceback" not in srv.log.read_text()
        print(f"schemathesis: {time.monotonic() - started:.1f} s;", run.stdout.strip().splitlines()[-3:])
    finally:
        srv.kill(signal.SIGTERM)
