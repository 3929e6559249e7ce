"""`plan sweep` and `plan tornado`: axes, rows equal to `plan solve --set`, the store and resume
after a kill, local processes, a real Dask cluster on loopback, outputs.

The two-chip instance TWO (3 periods, 1000 BF16 TFLOPS required in each):
  X-buy:   chip X, 4 GPUs x 100 = 400 TFLOPS per unit, 10 per unit, arrives one period later.
  Y-lease: chip Y, 400 TFLOPS per unit, p per unit per period.
  3 units are needed in every period (2 give only 800). Period 1 can only lease: 3p.
  Periods 2-3: lease 3 twice (6p), or buy 3 in period 1 (30), or mix k bought + (3-k) leased
  (10k + 2(3-k)p). For p < 5 leasing all is cheapest, for p > 5 buying all (at p = 5 all tie).
  objective(p) = 3p + min(6p, 30): p=2 -> 18, p=4 -> 36, p=6 -> 18+30 = 48, p=8 -> 24+30 = 54.
  Units: p < 5: Y 9 leased (3 starts of 3), X none; p > 5: X 3 bought, Y 3 leased.
  Mix (share of BF16 capacity-periods): p < 5: Y 100%; p > 5: X 3 units x 400 x 2 periods = 2400,
  Y 3 x 400 x 1 = 1200 -> X 2/3, Y 1/3.
  With Y-lease.max_per_period = 2, period 1 has at most 800 TFLOPS: infeasible at every p.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.conftest import INSTANCES, ROOT

runner = CliRunner()
PLAN = [sys.executable, "-c", "import cli; cli.main()"]

TWO = """
name: two-chips
currency: USD
horizon: {periods: 3}
chips:
  - {id: X, bf16_tflops: 100}
  - {id: Y, bf16_tflops: 100}
offers:
  - {id: X-buy, chip: X, kind: buy, gpus_per_unit: 4, unit_price: 10, lead_time: 1}
  - {id: Y-lease, chip: Y, kind: lease, gpus_per_unit: 4, unit_price: 3, max_per_period: 5}
requirements:
  - {id: train, metric: bf16_tflops, schedule: 1000}
"""

PRICE = "offers.Y-lease.unit_price"
CAP = "offers.Y-lease.max_per_period"
MEDIUM = INSTANCES / "cn-2023-h1-us2023.yaml"  # ~0.1 s a point: slow enough to kill midway


@pytest.fixture
def two(tmp_path) -> Path:
    path = tmp_path / "two.yaml"
    path.write_text(TWO)
    return path


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def sweep_json(*args):
    result = run("sweep", *args, "--json")
    assert result.exit_code in (0, 3), result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------- axes


def test_axes_from_values_range_scale():
    from optimizer.analysis.sweep import grid, linspace, make_axis

    data = {"offers": [{"id": "a", "unit_price": 200}]}
    assert make_axis("offers.a.unit_price", "values", "1e6, 2, x", data).values == [1e6, 2, "x"]
    assert linspace(1, 4, 4) == [1, 2, 3, 4] and all(isinstance(v, int) for v in linspace(1, 4, 4))
    assert linspace(0, 1, 5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert linspace(7, 9, 1) == [7]
    # --scale multiplies the instance's value: 200 x 0.5, 1.0, 1.5
    assert make_axis("offers.a.unit_price", "scale", "0.5:1.5:3", data).values == [100.0, 200.0, 300.0]
    axes = [make_axis("p", "values", "1,2", data), make_axis("q", "values", "a,b", data)]
    assert grid(axes) == [{"p": 1, "q": "a"}, {"p": 1, "q": "b"}, {"p": 2, "q": "a"}, {"p": 2, "q": "b"}]


@pytest.mark.parametrize("kind, spec, fragment", [
    ("range", "1:2", "expected start:stop:n"),
    ("range", "1:2:0", "n must be a whole number >= 1"),
    ("range", "a:2:3", "is not a number"),
    ("values", "1,,2", "comma-separated"),
    ("scale", "0.5:2:3", "the instance has no value"),
])
def test_bad_axis_is_an_input_error(kind, spec, fragment):
    from models.errors import InputError
    from optimizer.analysis.sweep import make_axis

    with pytest.raises(InputError) as exc:
        make_axis("offers.a.fixed_cost", kind, spec, {"offers": [{"id": "a", "unit_price": 1}]})
    assert fragment in " ".join(exc.value.messages)


def test_samples_are_seeded_and_stay_in_range():
    from optimizer.analysis.sweep import make_axis, sample

    data = {"site": {"energy_price": 0.1}, "offers": [{"id": "a", "lead_time": 2}]}
    axes = [make_axis("site.energy_price", "values", "0.05,0.3", data), make_axis("offers.a.lead_time", "range", "1:4:4", data)]
    first = sample(axes, 50, "triangular", 7, data)
    assert first == sample(axes, 50, "triangular", 7, data)  # same seed, same scenarios
    assert first != sample(axes, 50, "triangular", 8, data)
    assert all(0.05 <= p["site.energy_price"] <= 0.3 for p in first)
    assert all(isinstance(p["offers.a.lead_time"], int) and 1 <= p["offers.a.lead_time"] <= 4 for p in first)
    # triangular with its mode at the instance's 0.1: the mean (0.05 + 0.3 + 0.1) / 3 = 0.15 lies
    # below the uniform mean 0.175
    tri = sample(axes[:1], 2000, "triangular", 1, data)
    assert abs(sum(p["site.energy_price"] for p in tri) / 2000 - 0.15) < 0.01


# --------------------------------------------------------------------------- rows


def test_sweep_rows_by_hand(two, tmp_path):
    data = sweep_json(two, "--param", PRICE, "--values", "2,4,6,8")
    rows = data["rows"]
    assert [r["params"] for r in rows] == [{PRICE: v} for v in (2, 4, 6, 8)]
    assert [r["objective"] for r in rows] == [18, 36, 48, 54]  # see the module docstring
    assert [r["status"] for r in rows] == ["optimal"] * 4
    assert [(r["units"]["X"]["bought"], r["units"]["Y"]["leased"]) for r in rows] == [(0, 9), (0, 9), (3, 3), (3, 3)]
    assert rows[0]["mix"] == {"X": 0.0, "Y": 1.0}
    assert rows[2]["mix"] == pytest.approx({"X": 2 / 3, "Y": 1 / 3})
    assert rows[2]["cost"]["capex"] == 30 and rows[2]["cost"]["lease"] == 18  # 3 x 10; 3 x 6
    assert rows[1]["model"] == "updated"  # one model for the whole sweep


def test_every_row_equals_plan_solve_with_set(two):
    """Persistent model, updated Params, warm starts and rebuilds (the cap changes the
    structure) must give exactly what `plan solve --set ...` gives for each point."""
    data = sweep_json(two, "--param", CAP, "--values", "5,2", "--param", PRICE, "--range", "2:8:4",
                      "--set", "offers.X-buy.lead_time=1", "--gap", "0")
    rows = data["rows"]
    assert len(rows) == 8 and {r["status"] for r in rows} == {"optimal", "infeasible"}
    # the cap's second value changes the structure: a rebuild; prices only move Params. The very
    # first point may reuse a model an earlier sweep in this process left with the same structure.
    models = [r["model"] for r in rows]
    assert models[4] == "built" and models[1:4] == models[5:] == ["updated"] * 3
    assert models[0] in ("built", "updated")
    for row in rows:
        sets = ["offers.X-buy.lead_time=1"] + [f"{p}={v}" for p, v in row["params"].items()]
        solved = run("solve", two, "--json", "--gap", "0", *[a for s in sets for a in ("--set", s)])
        ref = json.loads(solved.stdout)
        assert row["status"] == ref["status"]
        assert row["objective"] == ref["objective"]
        assert row["cost"] == ref["cost"]
        assert row["orders"] == [[o["offer"], o["period"], o["units"]] for o in ref["orders"]]
        assert row["leases"] == [[x["offer"], x["start"], x["units"]] for x in ref["leases"]]


def test_max_capacity_rows_equal_solve_instance():
    """max_capacity has two stages on the kept model; each point still equals solve_instance."""
    from models.loading import load_instance, read_data
    from optimizer.planning.solve import SolveOptions, solve_instance
    from optimizer.analysis.sweep import grid, make_axis, resolve_points, run_sweep

    path = INSTANCES / "features" / "max-capacity.yaml"
    base = read_data(path)
    options = SolveOptions(gap=0)
    axes = [make_axis("budget.total", "values", "40,70,100,140", base)]
    points = resolve_points(base, [], grid(axes), options)
    rows = run_sweep(base, [], points, options).rows
    for row in rows:
        ref = solve_instance(load_instance(path, [f"budget.total={row['params']['budget.total']}"]), options)
        assert (row["status"], row["objective"]) == (ref.status, ref.objective)
        assert row["cost"] == ref.cost.model_dump()


# --------------------------------------------------------------------------- outputs


def test_outputs_csv_parquet_png_and_store(two, tmp_path):
    import pandas as pd

    out = tmp_path / "rows.csv"
    plot = tmp_path / "sweep.png"
    result = run("sweep", two, "--param", PRICE, "--values", "2,6", "--out", out, "--plot", plot)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table[PRICE]) == [2, 6] and list(table["objective"]) == [18, 48]
    assert list(table["bought:X"]) == [0, 3] and list(table["leased:Y"]) == [9, 3]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "rows.sqlite").exists()  # the default store, next to --out
    # the same sweep again: everything from the store, nothing solved
    again = sweep_json(two, "--param", PRICE, "--values", "2,6", "--out", out)
    assert (again["solved"], again["from_store"]) == (0, 2)
    assert [r["objective"] for r in again["rows"]] == [18, 48]
    parquet = tmp_path / "rows.parquet"
    assert run("sweep", two, "--param", PRICE, "--values", "2,6", "--out", parquet).exit_code == 0
    assert list(pd.read_parquet(parquet)["objective"]) == [18, 48]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files


@pytest.mark.parametrize("args, fragment", [
    (["--param", PRICE], "each --param takes exactly one"),
    (["--values", "1,2"], "at least one"),
    (["--param", "offers.nope.unit_price", "--values", "1"], "no item 'nope'"),
    (["--param", "offers.Y-lease.unit_prize", "--values", "1"], "unit_prize"),
    (["--param", PRICE, "--values", "-1"], "must be >= 0"),
    (["--param", PRICE, "--values", "1", "--out", "x.txt"], "expected a .csv or .parquet"),
    (["--param", PRICE, "--values", "1", "--scheduler", "nonsense"], "expected tcp://HOST:PORT"),
])
def test_bad_sweep_input_exits_2(two, args, fragment):
    result = run("sweep", two, *args)
    assert result.exit_code == 2, result.output
    assert fragment in result.output


def test_not_a_store_exits_2(two, tmp_path):
    bad = tmp_path / "store.sqlite"
    bad.write_text("not sqlite at all " * 100)
    result = run("sweep", two, "--param", PRICE, "--values", "2", "--store", bad)
    assert result.exit_code == 2 and "not a sweep store" in result.output


def test_samples_cli(two):
    args = ("--param", PRICE, "--values", "2,8", "--samples", "6", "--dist", "uniform", "--seed", "3")
    first, second = sweep_json(two, *args), sweep_json(two, *args)
    assert [r["params"] for r in first["rows"]] == [r["params"] for r in second["rows"]]
    for r in first["rows"]:
        p = r["params"][PRICE]
        assert 2 <= p <= 8 and r["objective"] == pytest.approx(3 * p + min(6 * p, 30))  # the docstring's formula


# --------------------------------------------------------------------------- tornado


def test_tornado_ranks_prices_by_impact(two, tmp_path):
    # base: p = 3, all leased: 9 x 3 = 27. Lease price -20%: 2.4 -> 21.6 (-5.4); +20%: 3.6 -> 32.4
    # (+5.4; 6p = 21.6 < 30 still leases). Buy price 8 or 12: buying 3 costs 24 or 36 > 6p = 18,
    # so the plan and the objective stay (0).
    plot = tmp_path / "tornado.png"
    result = run("tornado", two, "--swing", "20%", "--json", "--plot", plot)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["base"]["objective"] == 27
    assert [b["path"] for b in data["bars"]] == [PRICE, "offers.X-buy.unit_price"]
    lease, buy = data["bars"]
    assert lease["low_delta"] == pytest.approx(-5.4) and lease["high_delta"] == pytest.approx(5.4)
    assert buy["low_delta"] == 0 and buy["high_delta"] == 0
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert run("tornado", two, "--swing", "150%").exit_code == 2


# --------------------------------------------------------------------------- lossless and resumable


def _rows_in(store: Path) -> dict[str, dict]:
    with sqlite3.connect(store) as db:
        return {k: json.loads(r) for k, r in db.execute("SELECT key, row FROM points")}


def _wait_for_rows(store: Path, proc, n: int, limit: float = 60) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if store.exists():
            try:
                count = len(_rows_in(store))
            except sqlite3.OperationalError:  # the table is being created
                count = 0
            if count >= n:
                return count
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before it could be stopped: {proc.stderr.read()}")
        time.sleep(0.02)
    pytest.fail("no rows stored in time")


SWEEP = ["sweep", str(MEDIUM), "--param", "site.energy_price", "--range", "0.2:2.0:24"]


def test_killed_sweep_resumes_without_solving_stored_points_again(tmp_path):
    from models.loading import read_data, resolve_includes
    from optimizer.planning.solve import SolveOptions
    from optimizer.analysis.sweep import grid, make_axis, resolve_points, run_sweep

    store, log = tmp_path / "s.sqlite", tmp_path / "solves.log"
    env = {**os.environ, "PLAN_SWEEP_LOG": str(log)}
    proc = subprocess.Popen([*PLAN, *SWEEP, "--store", str(store)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    _wait_for_rows(store, proc, 2)
    os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up
    proc.wait()
    before = _rows_in(store)
    assert 2 <= len(before) < 24

    done = subprocess.run([*PLAN, *SWEEP, "--store", str(store), "--json"], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["from_store"] == len(before) and data["solved"] == 24 - len(before)
    solves = log.read_text().split()
    second_run = solves[-data["solved"]:]
    assert not set(second_run) & set(before)  # no stored point was solved again
    assert len(_rows_in(store)) == 24
    for key, row in before.items():  # stored rows are kept as they were
        assert _rows_in(store)[key] == row

    # identical to a fresh sweep (in this process, no store)
    base = resolve_includes(read_data(MEDIUM), MEDIUM)
    options = SolveOptions()
    points = resolve_points(base, [], grid([make_axis("site.energy_price", "range", "0.2:2.0:24", base)]), options)
    fresh = run_sweep(base, [], points, options).rows
    assert [(r["params"], r["status"], r["objective"]) for r in data["rows"]] == \
        [(r["params"], r["status"], r["objective"]) for r in fresh]


def test_killed_worker_loses_no_finished_point(tmp_path):
    store = tmp_path / "w.sqlite"
    proc = subprocess.Popen([*PLAN, *SWEEP, "--store", str(store), "--workers", "2"], cwd=ROOT, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    _wait_for_rows(store, proc, 2)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    workers = [int(c) for c in children
               if "spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")]
    assert workers, children
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "rerun the same command to resume" in err
    kept = _rows_in(store)
    assert len(kept) >= 2
    done = subprocess.run([*PLAN, *SWEEP, "--store", str(store), "--json"], cwd=ROOT, text=True,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["from_store"] >= len(kept) and len(data["rows"]) == 24


# --------------------------------------------------------------------------- Dask


def test_dask_local_cluster_on_loopback(two, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        data = sweep_json(two, "--param", PRICE, "--values", "2,4,6,8", "--scheduler", cluster.scheduler_address,
                          "--store", tmp_path / "d.sqlite")
    assert [r["objective"] for r in data["rows"]] == [18, 36, 48, 54]
    # each Dask worker built its model once and updated it after
    assert sorted(r["model"] for r in data["rows"]).count("built") <= 2
    assert data["solved"] == 4 and len(_rows_in(tmp_path / "d.sqlite")) == 4


def test_switches_are_intervals_and_tornado_values_carry_their_currency():
    # issue 14: the switch line was drawn midway as if exact; a USD price sat among CNY values
    from models.loading import load_instance
    from optimizer.analysis.sweep import instance_prices, path_unit
    from optimizer.output.plots import switch_points
    from optimizer.planning.prepare import prepare
    from tests.conftest import INSTANCES

    assert switch_points([1, 2, 3], [{"A": 1}, {"A": 0.6, "B": 0.4}, {"B": 1}]) == [(2, 3, "A", "B")]
    inst = load_instance(INSTANCES / "cn-2023-h1.yaml")
    prices, _ = instance_prices(inst, prepare(inst))
    currencies = {p.path: p.currency for p in prices}
    assert currencies["offers.DGX-Cloud-A100.unit_price"] == "USD"
    assert currencies["offers.A800-server-CN.unit_price"] == "CNY"
    assert path_unit(inst, "offers.DGX-Cloud-A100.unit_price") == "USD"
    assert path_unit(inst, "site.energy_price") == "CNY/kWh"


def test_sweep_csv_has_no_float_noise(tmp_path):
    from optimizer.output.sweep_view import write_table

    write_table(tmp_path / "r.csv", [{"objective": 57373679.999999955, "x": 0.1 + 0.2}])
    assert (tmp_path / "r.csv").read_text().splitlines()[1] == "57373680.0,0.3"


def test_tornado_on_a_base_without_a_plan_shows_each_swing_not_a_change():
    from rich.console import Console

    from optimizer.output.sweep_view import print_tornado

    console = Console(width=140, record=True, color_system=None)
    bar = {"label": "A unit_price", "value": 10.0, "currency": "USD", "low_objective": 5.0, "high_objective": None,
           "low_status": "optimal", "high_status": "infeasible", "low_delta": None, "high_delta": None}
    print_tornado(console, "x", "USD", "min_cost", {"objective": None, "status": "infeasible"}, [bar], [], 0.2)
    text = console.export_text()
    assert "no plan at the base (infeasible)" in text and "plan 5.00" in text and "10 USD" in text
    assert "objective no plan" not in text
