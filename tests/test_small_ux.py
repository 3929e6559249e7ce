"""Issue 14's small ones: file modes, a closed pipe, repeated sweep errors, plurals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
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


def test_sweep_rows_say_units_in_words_and_the_objective_in_money():
    # issue 14: '59b/46l' was cryptic and the objective had no currency
    from optimizer.output.sweep_view import rows_table, units_text

    assert units_text({"A800": {"bought": 59, "leased": 46}, "X": {"bought": 0, "leased": 0}}) == \
        "A800 59 bought + 46 leased"
    row = {"params": {"p": 1.0}, "status": "optimal", "objective": 57373680.0, "objective_sense": "min_cost",
           "mix": {"A800": 1.0}, "units": {"A800": {"bought": 59, "leased": 46}}, "time_s": 0.1}
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None)
    console.print(rows_table([row], ["p"], currency="CNY"))
    text = console.export_text()
    assert "objective CNY" in text and "57.37 M" in text and "59 bought + 46 leased" in text


def test_chips_show_bf16_memory_and_price_per_tflops():
    # issue 14: plan chips gains BF16, memory and the cheapest price per BF16 TFLOPS
    import json

    result = runner.invoke(app, ["chips", "--json"])
    assert result.exit_code == 0, result.output
    chips = {c["id"]: c for c in json.loads(result.output)["chips"]}
    a800 = chips["A800-SXM-80G"]
    assert a800["bf16_tflops"] == 312 and a800["memory_gb"] == 80
    # the A800 8-GPU server at 1.4 M CNY: 1,400,000 / (8 x 312) = 560.9 CNY per TFLOPS
    assert a800["price_per_bf16_tflops"] == pytest.approx(1_400_000 / (8 * 312))


def test_writes_say_what_failed_and_sigterm_leaves_nothing_behind(tmp_path):
    # issue 17: -o onto a folder or where nothing can be written was an internal error (exit 1);
    # SIGTERM during an atomic write left a hidden temp file
    tiny = str(FEATURES / "tiny.yaml")
    onto_folder = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "schema", "result", "-o",
                                  str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert onto_folder.returncode == 2 and "is a folder" in onto_folder.stderr
    unwritable = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "solve", tiny, "-o",
                                 "/proc/plan-test.json"], capture_output=True, text=True, cwd=ROOT)
    assert unwritable.returncode == 2 and "cannot write" in unwritable.stderr
    code = ("import os, signal, sys\n"
            "import optimizer.output.files as files\n"
            "files.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGTERM)\n"  # SIGTERM mid-write
            "import cli\n"
            f"sys.argv = ['plan', 'schema', 'result', '-o', {str(tmp_path / 'r.json')!r}]\n"
            "cli.main()\n")
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert killed.returncode == 143 and list(tmp_path.iterdir()) == []


def test_a_worker_dies_with_its_parent(tmp_path):
    # issue 17: after kill -9 of plan serve (or plan sweep --workers 2) the workers lived on
    import signal
    import time

    pid_file = tmp_path / "child.pid"
    code = ("import multiprocessing as mp, os, time, sys\n"
            "from optimizer.process import die_with_parent\n"
            "def child(path):\n"
            "    die_with_parent()\n"
            "    open(path, 'w').write(str(os.getpid()))\n"
            "    time.sleep(60)\n"
            "if __name__ == '__main__':\n"
            "    mp.get_context('spawn').Process(target=child, args=(sys.argv[1],)).start()\n"
            "    time.sleep(60)\n")
    script = tmp_path / "parent.py"
    script.write_text(code)
    parent = subprocess.Popen([sys.executable, str(script), str(pid_file)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(100):  # the kernel kills the child; give it a moment
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the worker outlived its parent")
