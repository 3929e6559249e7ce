"""The v2 pieces of the independent formulations (tests/bruteforce.py, tests/reference_milp.py)
on instances whose figures are derived by hand, so that the tools the property tests trust are
themselves checked against arithmetic, not against the optimiser."""

from __future__ import annotations

import copy

import pytest

from models.loading import validate
from tests.bruteforce import brute_force, brute_force_scenarios, evaluate, risk_value
from tests.reference_milp import reference_solve, reference_solve_scenarios
from tests.test_check_v2_handmade import SECTION7, SECTION8


def capped(data: dict) -> dict:
    data = copy.deepcopy(data)
    for offer in data["offers"]:
        offer["max_per_period"] = 1
    return data


def test_evaluator_on_the_hand_plan_of_section7():
    # the plan of tests/test_check_v2_handmade.py: A x1 in 1 (cancelled), L x1 in 1 (void 2-3),
    # B x1 in 2 (arrives 3 at 1.5 x 6); figures derived there
    got = evaluate(validate(SECTION7), {("A", 1): 1, ("L", 1): 1, ("B", 2): 1})
    assert got.feasible
    assert (got.capex, got.refunds, got.lease, got.shortfall, got.total_cash, got.discounted) == \
        pytest.approx((19.0, 5.0, 4.0, 5.0, 18.0, 23.0))
    assert got.capacity["bf16_tflops", 2] == 0 and got.capacity["bf16_tflops", 3] == 100
    assert got.short == {(0, 1): 0.0, (0, 2): pytest.approx(100.0), (0, 3): 0.0}


def test_placing_outside_a_window_under_the_regime_schedule_is_infeasible():
    got = evaluate(validate(SECTION7), {("A", 2): 1})  # E(A, 2) is false
    assert not got.feasible and "window" in got.broken


def test_optimum_of_section7():
    # shortfall 0.05 x 100 = 5 per period uncovered. A is cancelled whenever placed (never useful).
    # L in 1: 4 for period 1 only (void 2-3). B in 1: 6, arrives 1, covers 1-3.
    # Nothing: 15; L + shortfall in 2, 3: 14; B in 1: 6; B in 2 (9, arrives 3) + L: 9 + 4 + 5 = 18.
    inst = validate(capped(SECTION7))
    assert brute_force(inst).objective == pytest.approx(6.0)
    assert reference_solve(inst).objective == pytest.approx(6.0)


@pytest.mark.parametrize("measure, extra, objective", [
    # A in 1: C = (2, 6) (rule: cancelled, 1 back, B in 2); B in 1: (5, 5); nothing in 1: (5, 5)
    ("expected", {}, 3.0),  # A: 0.75 x 2 + 0.25 x 6 = 3 < 5
    ("cvar", {"alpha": 0.5, "weight": 1}, 4.0),  # A: min(2 + 0.25 x 4 / 0.5, 6) = 4 < 5
    ("cvar", {"alpha": 0.9, "weight": 1}, 5.0),  # A: min(2 + 0.25 x 4 / 0.1, 6) = 6 > 5
    ("worst", {}, 5.0),  # A: 6 > 5
])
def test_optimum_of_section8(measure, extra, objective):
    data = capped(SECTION8)
    data["risk"] = {"measure": measure, **extra}
    inst = validate(data)
    brute = brute_force_scenarios(inst)
    assert brute.objective == pytest.approx(objective)
    assert reference_solve_scenarios(inst).objective == pytest.approx(objective)
    if objective < 5:  # A in 1, shared; the rule world also buys B in 2
        assert brute.plans == {"calm": {("A", 1): 1}, "rule": {("A", 1): 1, ("B", 2): 1}}


def test_known_1_lets_each_world_act_alone():
    # told apart from period 1: calm buys A in 1 (2), rule buys B in 1 or 2 (5): expected
    # 0.75 x 2 + 0.25 x 5 = 2.75
    data = capped(SECTION8)
    data["risk"] = {"measure": "expected"}
    data["scenarios"][1]["known"] = 1
    inst = validate(data)
    assert brute_force_scenarios(inst).objective == pytest.approx(2.75)
    assert reference_solve_scenarios(inst).objective == pytest.approx(2.75)


def test_risk_value_by_hand():
    # C = (0, 10, 30), p = (0.5, 0.3, 0.2); expected 3 + 6 = 9
    # CVaR_0.5: eta 0: 0 + (3 + 6) / 0.5 = 18; eta 10: 10 + 0.2 x 20 / 0.5 = 18; eta 30: 30 -> 18
    # CVaR_0.8: eta 10: 10 + 4 / 0.2 = 30; eta 30: 30; eta 0: 9 / 0.2 = 45 -> 30
    costs, p = [0.0, 10.0, 30.0], [0.5, 0.3, 0.2]
    assert risk_value(costs, p, "expected") == pytest.approx(9.0)
    assert risk_value(costs, p, "worst") == pytest.approx(30.0)
    assert risk_value(costs, p, "cvar", 0.5, 1.0) == pytest.approx(18.0)
    assert risk_value(costs, p, "cvar", 0.8, 1.0) == pytest.approx(30.0)
    assert risk_value(costs, p, "cvar", 0.5, 0.25) == pytest.approx(0.75 * 9 + 0.25 * 18)
    assert risk_value(costs, p, "cvar", 0.0, 1.0) == pytest.approx(9.0)  # alpha 0: the expectation


# Cases where the second MILP itself was wrong (found by the long random runs; the optimiser was
# right): a budget row mixing a 5e6 price with a 0.005 energy cost, scaled by its largest
# coefficient, let a plan break a zero budget; a 7.6e8 shortfall price next to theta's 1 made
# HiGHS call a feasible model infeasible.
BUDGET_ROW = {
    "name": "budget-row", "horizon": {"periods": 1, "hours_per_period": 1},
    "chips": [{"id": "c0", "bf16_tflops": 100}],
    "offers": [{"id": "o0", "chip": "c0", "kind": "buy", "unit_price": 0.0, "max_total": 0},
               {"id": "o1", "chip": "c0", "kind": "buy", "unit_price": 5e6, "power_kw": 0.5,
                "price_breaks": [{"min_units": 2, "unit_price": 0.0}]}],
    "requirements": [{"metric": "bf16_tflops", "schedule": 50}],
    "budget": {"total": 0.0, "per_period": 0.0}, "site": {"energy_price": 0.01},
    "scenarios": [{"name": "s0", "probability": 0.1},
                  {"name": "s1", "probability": 0.9, "set": {"compliance.regime": "none"}}],
}


def test_second_milp_holds_a_zero_budget_against_a_tiny_energy_cost():
    # o0 may not be bought (max_total 0); o1: one unit costs 5e6 > 0, two cost 0 but draw
    # 2 x 0.5 kW x 1 h x 0.01 = 0.01 of energy in period 1 > budget 0: infeasible
    assert reference_solve_scenarios(validate(BUDGET_ROW)).status == "infeasible"
    single = {k: v for k, v in BUDGET_ROW.items() if k != "scenarios"}
    assert reference_solve(validate(single)).status == "infeasible"
    # with shortfall_price 100001 the gap is paid instead: 50 x 100001 = 5,000,050 in each world
    data = copy.deepcopy(BUDGET_ROW)
    data["requirements"][0]["shortfall_price"] = 100001.0
    assert reference_solve_scenarios(validate(data)).objective == pytest.approx(5_000_050.0)


def test_second_milp_worst_case_with_a_huge_shortfall_price():
    # o0: free units, fixed cost 5e6 (not cash of a period, so the zero per-period budget allows
    # it); o1 at 3.8e7 breaks that budget; shortfall 50 x 7.6e8. Buy o0: 5e6 in both: worst 5e6.
    data = {
        "name": "huge-shortfall", "horizon": {"periods": 1},
        "chips": [{"id": "c0", "bf16_tflops": 100}],
        "offers": [{"id": "o0", "chip": "c0", "kind": "buy", "unit_price": 0.0, "fixed_cost": 5e6,
                    "price_breaks": [{"min_units": 2, "unit_price": 0.0}]},
                   {"id": "o1", "chip": "c0", "kind": "buy", "unit_price": 3.8e7}],
        "requirements": [{"metric": "bf16_tflops", "schedule": 50, "shortfall_price": 760001000.0}],
        "budget": {"per_period": 0.0},
        "scenarios": BUDGET_ROW["scenarios"], "risk": {"measure": "worst"},
    }
    for measure in ("worst", "cvar", "expected"):
        data["risk"] = {"measure": measure}
        assert reference_solve_scenarios(validate(data)).objective == pytest.approx(5e6)
