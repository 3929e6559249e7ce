"""Smoke tests of benchmarks/: the generator makes valid, feasible instances; the runner runs.

No timing is asserted here (speed is measured by `python benchmarks/run.py`, never in tests).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from models.loading import validate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import CHIPS, generate


@pytest.mark.parametrize("variant", ["plain", "full"])
def test_generated_instance_is_valid_and_shaped_as_asked(variant):
    data = generate(10, 12, variant)
    inst = validate(data, "generated")
    assert len(inst.offers) == 10 and inst.T == 12
    assert {o.kind for o in inst.offers} == {"buy", "lease"}
    chips = {c.id: c for c in inst.chips}
    assert any(c.bf16_tflops > 0 for c in chips.values()) and any(c.fp64_tflops > 0 for c in chips.values())
    # requirements grow: the last step of the capacity schedule is above the first
    schedule = inst.requirements[0].schedule
    assert schedule[max(schedule)] > schedule[min(schedule)]
    featured = [o for o in inst.offers if o.price_breaks or o.min_order > 1 or o.fixed_cost > 0]
    if variant == "plain":
        assert featured == []
    else:  # offers k % 4 == 0 (buy) have breaks, k % 3 == 0 a minimum, k % 4 == 1 a fixed cost
        assert any(o.price_breaks for o in inst.offers)
        assert any(o.min_order > 1 for o in inst.offers)
        assert any(o.fixed_cost > 0 for o in inst.offers)
    assert generate(10, 12, variant) == data  # deterministic: runs can be compared


def test_generated_sizes_follow_the_arguments():
    data = generate(50, 36, "plain")
    assert len(data["offers"]) == 50 and data["horizon"]["periods"] == 36
    # offers cycle over the chip table: 50 offers use every chip
    assert {o["chip"] for o in data["offers"]} == {c[0] for c in CHIPS}


def test_smallest_instance_is_feasible_and_its_plan_passes_the_checker():
    from optimizer.check import assert_plan_valid
    from optimizer.planning.solve import SolveOptions, solve_instance

    inst = validate(generate(10, 12, "plain"), "generated")
    result = solve_instance(inst, SolveOptions(gap=1e-3, time_limit=60))
    assert result.status in ("optimal", "feasible")
    assert_plan_valid(inst, result)


def test_runner_writes_csv_summary_and_plot(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--variants", "plain",
         "--no-startup", "--out", str(tmp_path), "--name", "smoke"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(tmp_path / "smoke.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    row = rows[0]
    assert row["instance"] == "o10_t12_plain" and row["status"] in ("optimal", "feasible")
    phases = ["startup_s", "validate_s", "prepare_s", "build_s", "handover_s", "highs_s", "readback_s", "extract_s"]
    assert all(float(row[p]) >= 0 for p in phases)
    assert float(row["total_s"]) >= float(row["highs_s"]) > 0
    assert int(row["nonzeros"]) > 0 and float(row["peak_mb"]) > 0
    assert (tmp_path / "smoke-summary.txt").read_text().startswith("benchmark run:")
    assert (tmp_path / "smoke-scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compiled_handover_gives_highs_the_same_problem_as_appsi():
    """benchmarks/handover.py's direct route must hold the very problem appsi builds."""
    from handover import compile_to_highs, lp_arrays, same_problem
    from pyomo.contrib.appsi.solvers import Highs

    from optimizer.planning.build import build_model
    from optimizer.planning.prepare import prepare

    model = build_model(prepare(validate(generate(10, 12, "full"), "generated")))
    opt = Highs(only_child_vars=True)
    opt.highs_options = {"output_flag": False}
    opt.set_instance(model)
    compiled, variables = compile_to_highs(model)
    assert len(variables) == opt._solver_model.getNumCol()
    assert same_problem(lp_arrays(opt._solver_model), lp_arrays(compiled)) is None
