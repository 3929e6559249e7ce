"""Issue 14's small ones: file modes, a closed pipe, repeated sweep errors, plurals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from tests.conftest import FEATURES, INSTANCES

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_written_files_follow_the_umask(tmp_path):
    from optimizer.output.files import write_atomic

    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    assert oct((tmp_path / "r.json").stat().st_mode & 0o777) == oct(0o644)  # not mkstemp's 0600


def test_a_reader_that_stops_early_is_not_an_error():
    for extra in ([], ["--json"]):
        proc = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "solve",
                                 str(INSTANCES / "cn-2023-h1.yaml"), *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        proc.stdout.readline()
        proc.stdout.close()  # `| head -1`
        err = proc.stderr.read().decode()
        assert proc.wait() == 0 and "internal error" not in err and "Traceback" not in err


def test_a_bad_sweep_path_is_said_once():
    result = runner.invoke(app, ["sweep", str(FEATURES / "tiny.yaml"), "--param", "offers.nope.unit_price",
                                 "--values", "1,2,3"])
    assert result.exit_code == 2
    assert result.output.count("no item 'nope'") == 1 and "(at every point)" in result.output


def test_counts_read_as_words():
    result = runner.invoke(app, ["validate", str(FEATURES / "tiny.yaml")], env={"COLUMNS": "400"})
    assert "(1 chip, 2 offers, 1 requirement, 3 periods)" in result.output


def test_progress_reports_the_incumbent_in_money_while_highs_runs():
    # issue 14: a long solve was silent; HiGHS's callbacks feed a progress line (only on a terminal)
    from benchmarks.generate import generate
    from models.loading import validate
    from optimizer.planning.solve import SolveOptions, solve_instance

    seen = []
    inst = validate(generate(50, 36, "full"))
    result = solve_instance(inst, SolveOptions(gap=0, time_limit=2, progress=seen.append))
    assert seen and all(info["currency"] == inst.currency for info in seen)
    with_plan = [info for info in seen if info["incumbent"] is not None]
    assert with_plan and result.objective is not None
    # the incumbents shown are in money, never below the plan finally reported... and above 0
    assert min(info["incumbent"] for info in with_plan) >= result.objective * (1 - 1e-6)


def test_no_progress_line_when_stderr_is_not_a_terminal():
    from optimizer.output.terminal import terminal_progress

    assert terminal_progress() is None  # pytest captures stderr: not a terminal
