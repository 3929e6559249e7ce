"""`plan solve --engine ph` (issue 12): a real 3-rank progressive hedging run over MPI, its
bounds checked against the extensive form's optimum of the same sampled scenarios."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from cli import app
from tests.conftest import FEATURES

SAMPLED = FEATURES / "v2" / "sample-choice.yaml"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_three_rank_ph_brackets_the_extensive_form(tmp_path):
    # 12 futures: the rule (p 0.5) and the prices of A and B drawn; the EF's optimum is the
    # independent reference, PH must bracket it: outer <= optimum <= inner, inner within 1%
    data = yaml.safe_load(SAMPLED.read_text())
    data["sample"] = {"count": 12, "seed": 3, "known": 2, "vary": {
        **data["sample"]["vary"],
        "offers.A.unit_price": {"uniform": [2, 4], "round": 2},
        "offers.B.unit_price": {"triangular": [4, 5, 7], "round": 2},
    }}
    path = tmp_path / "sampled.yaml"
    path.write_text(yaml.safe_dump(data))
    ef = run("solve", path, "--json")
    assert ef.exit_code == 0, ef.output
    optimum = json.loads(ef.stdout)["objective"]
    ph = run("solve", path, "--json", "--engine", "ph", "--ranks", "3")
    assert ph.exit_code == 0, ph.output
    result = json.loads(ph.stdout)  # pure JSON: mpi-sppy's output stays in its log
    bounds = result["bounds"]
    assert bounds["outer"] <= optimum + 1e-6
    assert optimum - 1e-6 <= bounds["inner"] <= optimum * 1.01
    # the Result is the inner bound's plan, recomputed: its objective is that bound
    assert abs(result["objective"] - bounds["inner"]) <= 1e-6 * max(1, abs(optimum))
    assert len(result["scenarios"]) == 12 and all(o["period"] < 2 for o in result["orders"])


def test_more_ranks_than_scenarios():
    result = run("solve", SAMPLED, "--engine", "ph", "--ranks", "15")  # 5 per cylinder, 4 scenarios
    assert result.exit_code == 2 and "more ranks per cylinder (5) than scenarios (4)" in result.output


def test_ranks_neither_a_multiple_of_three_nor_of_two():
    for ranks in (1, 5, 7):
        result = run("solve", SAMPLED, "--engine", "ph", "--ranks", ranks)
        assert result.exit_code == 2 and "a multiple of 3" in result.output and "or of 2" in result.output


def test_two_rank_ph_brackets_the_extensive_form_too(tmp_path):
    """2 ranks: the hub and the xhat spoke; the outer bound is the hub's wait-and-see bound
    (each scenario optimised alone, which can only be cheaper than acting alike)."""
    data = yaml.safe_load(SAMPLED.read_text())
    data["sample"]["count"] = 12
    path = tmp_path / "sampled.yaml"
    path.write_text(yaml.safe_dump(data))
    optimum = json.loads(run("solve", path, "--json").stdout)["objective"]
    ph = run("solve", path, "--json", "--engine", "ph", "--ranks", "2", "--gap", "1e-3")  # hub's solves at 1e-3
    assert ph.exit_code == 0, ph.output
    bounds = json.loads(ph.stdout)["bounds"]
    assert bounds["ranks"] == 2
    assert bounds["outer"] <= optimum + 1e-6 and optimum - 1e-6 <= bounds["inner"] <= optimum * 1.01


def test_ph_needs_expected_cost():
    result = run("solve", SAMPLED, "--engine", "ph", "--set", "risk.measure=worst")
    assert result.exit_code == 2 and "risk.measure worst is not supported" in result.output


def test_without_the_extra_it_says_how_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mpisppy" else real(name, *a))
    result = run("solve", SAMPLED, "--engine", "ph")
    assert result.exit_code == 2 and 'pip install -e ".[mpi]"' in result.output


def test_no_inner_bound_within_the_limits_is_exit_3_with_the_outer_bound(monkeypatch, tmp_path):
    """PH stopped before its xhat spoke evaluated any plan (what 50 sampled futures under a
    60 s limit did): no plan is an answer, exit 3, not a crash (it was exit 1). The driver's
    output is stood in for here; the 3-rank test above runs the real thing."""
    import subprocess

    from optimizer.scale import engine

    def fake_run(cmd, cwd, **kwargs):
        out = cmd[cmd.index("optimizer.scale.ph_driver") + 2]
        with open(out, "w") as fh:
            json.dump({"inner": None, "outer": 1234.5, "now": 2, "slots": [], "first_stage": None}, fh)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(engine.subprocess, "run", fake_run)
    ph = run("solve", SAMPLED, "--json", "--engine", "ph", "--ranks", "3", "--time-limit", "5")
    assert ph.exit_code == 3, ph.output
    result = json.loads(ph.stdout)
    assert result["status"] == "time_limit" and result["orders"] == []
    assert result["bounds"]["inner"] is None and result["bounds"]["outer"] == 1234.5
    assert "found no plan within the limits (time limit 5 s)" in result["message"]
    assert "at least 1,234.5" in result["message"]


def test_a_plan_that_cannot_be_re_solved_in_time_is_exit_3_with_both_bounds(monkeypatch):
    import subprocess

    from optimizer.scale import engine

    def fake_run(cmd, cwd, **kwargs):
        out = cmd[cmd.index("optimizer.scale.ph_driver") + 2]
        with open(out, "w") as fh:
            json.dump({"inner": 2000.0, "outer": 1234.5, "now": 2, "slots": [["A", 1]], "first_stage": [1]}, fh)
        return subprocess.CompletedProcess(cmd, 0)

    def too_slow(*args, **kwargs):
        raise engine.PlanNotRebuilt("time_limit")

    monkeypatch.setattr(engine.subprocess, "run", fake_run)
    monkeypatch.setattr(engine, "solve_with_first_stage", too_slow)
    ph = run("solve", SAMPLED, "--json", "--engine", "ph", "--ranks", "3", "--time-limit", "5")
    assert ph.exit_code == 3, ph.output
    result = json.loads(ph.stdout)
    assert result["bounds"]["inner"] == 2000.0 and result["bounds"]["outer"] == 1234.5
    assert "could not be re-solved" in result["message"]


def test_the_first_candidate_is_the_first_stage_of_a_small_extensive_form():
    """The inner-bound spoke's first candidate, evaluated before PH's first iterate: the
    extensive form of k scenarios spread over the list. From the file's header: s1, s2, s4 calm
    (A in period 1 then costs 3, B 5, nothing 7), s3 under the rule (A 9.5, B 5, nothing 8).
    With a share p of rule scenarios, A costs 3 + 6.5p, below B's 5 while p < 2/6.5 = 0.31;
    nothing costs 7 + p, never the cheapest.
      k=1: s1 -> p 0 -> A;  k=3: s1, s2, s3 (i x 4 // 3 = 0, 1, 2) -> p 1/3 -> B;  k=4: p 1/4 -> A."""
    from models.loading import load_instance
    from optimizer.scale.model import two_stage
    from optimizer.scale.ph_driver import subsample_first_stage

    stage = two_stage(load_instance(SAMPLED, []))
    assert stage.slots == [("A", 1), ("B", 1), ("L", 1)]
    assert subsample_first_stage("appsi_highs", stage=stage, count=1) == {"ROOT": [1, 0, 0]}
    assert subsample_first_stage("appsi_highs", stage=stage, count=3) == {"ROOT": [0, 1, 0]}
    assert subsample_first_stage("appsi_highs", stage=stage, count=4) == {"ROOT": [1, 0, 0]}


def test_rank_counts_map_to_cylinders():
    # a multiple of 3 gets the Lagrangian spoke too; else a multiple of 2 gets hub + xhat spoke
    from optimizer.scale.engine import cylinders

    assert [cylinders(n) for n in (2, 3, 4, 6, 8, 9)] == [2, 3, 2, 3, 2, 3]
