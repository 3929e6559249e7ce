"""A time limit that stops HiGHS: with a plan -> `feasible` and its gap; without -> `time_limit`.

Uses the benchmark generator's medium instance (50 offers x 36 periods with price breaks,
minimum orders and fixed costs), which HiGHS does not prove optimal within a second here.
Which of the two outcomes a run reaches depends on the machine's speed; each is checked fully.
"""

from __future__ import annotations

import importlib.util
import json

from typer.testing import CliRunner

from cli import app
from models.loading import validate
from optimizer.check import assert_plan_valid
from tests.conftest import ROOT


def medium_instance():
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(50, 36, "full")


def solve_medium(tmp_path, time_limit: str):
    data = medium_instance()
    path = tmp_path / "medium.json"
    path.write_text(json.dumps(data))
    run = CliRunner().invoke(app, ["solve", str(path), "--json", "--time-limit", time_limit])
    return data, run, json.loads(run.stdout)


def test_time_limit_returns_the_incumbent_or_says_time_limit(tmp_path):
    data, run, result = solve_medium(tmp_path, "1.5")
    assert result["status"] in ("feasible", "time_limit", "optimal"), result["status"]
    if result["status"] == "feasible":
        assert run.exit_code == 0
        assert result["solver"]["mip_gap"] is not None and result["solver"]["mip_gap"] > 0
        assert result["objective"] is not None and result["orders"]
        assert_plan_valid(validate(data), result)
    elif result["status"] == "time_limit":
        assert run.exit_code == 3
        assert result["objective"] is None and result["orders"] == [] and result["cost"] is None
    else:  # a very fast machine proved it: then the gap is 0
        assert run.exit_code == 0 and result["solver"]["mip_gap"] == 0


def test_tiny_time_limit_without_a_plan_exits_3(tmp_path):
    _data, run, result = solve_medium(tmp_path, "0")
    # 0 s leaves HiGHS 10 ms after the model is built: not enough for a plan of this size
    assert result["status"] == "time_limit" and run.exit_code == 3
