"""`plan hedge` (issue 11): RP, wait-and-see, EVPI, the naive plan per scenario, VSS."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli import app
from tests.conftest import FEATURES, INSTANCES

runner = CliRunner()


def hedge_json(path, *extra):
    result = runner.invoke(app, ["hedge", str(path), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_hedge_numbers_by_hand():
    # scenarios-expected.yaml (header): hedged plan B in 1 = 5 in both worlds.
    # Wait-and-see: calm alone buys A in 1 = 3; rule alone knows A is cancelled: B in 1 = 5;
    #   R(WS) = 0.6 x 3 + 0.4 x 5 = 3.8; EVPI = 5 - 3.8 = 1.2.
    # Naive plan for calm (the most probable): A in 1; in the rule world it is cancelled
    #   (refund 1.5) and leases fill periods 2-3: 3 - 1.5 + 8 = 9.5; R(naive) = 0.6 x 3 + 0.4 x 9.5
    #   = 5.6; VSS = 5.6 - 5 = 0.6.
    h = hedge_json(FEATURES / "v2" / "scenarios-expected.yaml")
    assert h["rp"] == pytest.approx(5) and h["ws"] == pytest.approx(3.8) and h["evpi"] == pytest.approx(1.2)
    assert h["wait_and_see"] == {"calm": pytest.approx(3), "rule": pytest.approx(5)}
    assert h["naive"]["plan_for"] == "calm"
    assert {k: v["objective"] for k, v in h["naive"]["scenarios"].items()} == {"calm": pytest.approx(3),
                                                                              "rule": pytest.approx(9.5)}
    assert h["naive"]["objective"] == pytest.approx(5.6) and h["vss"] == pytest.approx(0.6)
    assert h["hedged_now"] == ["buy 1 B in period 1"] and h["naive_now"] == ["buy 1 A in period 1"]


def test_plan_for_another_scenario():
    # the plan made for the rule world is B in 1, which is the hedged plan: VSS = 0
    h = hedge_json(FEATURES / "v2" / "scenarios-expected.yaml", "--plan-for", "rule")
    assert h["naive"]["objective"] == pytest.approx(5) and h["vss"] == pytest.approx(0)


def test_a_naive_plan_without_a_completion_says_which_requirement_fails_when():
    # cn-2023-h1-hedge: the plan for the calm world cannot meet training in the rule world
    h = hedge_json(INSTANCES / "cn-2023-h1-hedge.yaml")
    rule = h["naive"]["scenarios"]["oct-2023-rule"]
    assert rule["status"] == "infeasible" and rule["objective"] is None and h["vss"] is None
    assert any(line.startswith("training:") and "period 9 (2023-12)" in line for line in rule["why"])


def test_hedge_needs_scenarios_and_a_known_plan_for():
    no_scenarios = runner.invoke(app, ["hedge", str(FEATURES / "tiny.yaml")])
    assert no_scenarios.exit_code == 2 and "needs an instance with scenarios" in no_scenarios.output
    typo = runner.invoke(app, ["hedge", str(FEATURES / "v2" / "scenarios-expected.yaml"), "--plan-for", "nope"])
    assert typo.exit_code == 2 and "--plan-for: no scenario 'nope'" in typo.output
