"""`plan check` on MODEL.md sections 7-8 with plans written by hand (no solver involved).

Every figure of the results below is derived by hand in the comments; each test then breaks one
rule and expects exactly that rule refused (or, where a knock-on is unavoidable, at least it).
"""

from __future__ import annotations

import copy

import pytest

from models.loading import validate
from optimizer.check import check_plan

SOLVER = {"name": "hand", "version": "0", "time_s": 0.0, "mip_gap": 0.0}

# ---------------------------------------------------------------------------- section 7
# T = 3, buyer CN, regime none in period 1 and us-2022-10 from period 2.
# X (US, tpp 5000 >= 4800, link 900 >= 600) is controlled under us-2022-10; D is domestic.
# W(A) = {1}: L = 1 so t <= 2, and E(A, 2) is false.  W(L) = {1}: E(L, t) false from 2.
# W(B) = {1, 2}: L(1) = 0, L(2) = L(3) = 1 (3 + 1 > 3).
SECTION7 = {
    "name": "hand7",
    "horizon": {"periods": 3},
    "buyer": {"country": "CN"},
    "compliance": {"regime": {2: "us-2022-10"}},
    "chips": [{"id": "X", "origin": "US", "bf16_tflops": 100, "tpp": 5000, "interconnect_gbps": 900},
              {"id": "D", "origin": "CN", "bf16_tflops": 100}],
    "offers": [
        {"id": "A", "chip": "X", "kind": "buy", "unit_price": 10, "lead_time": 1, "cancel_refund": 0.5},
        {"id": "L", "chip": "X", "kind": "lease", "unit_price": 4, "term": 3, "location": "CN"},
        {"id": "B", "chip": "D", "kind": "buy", "unit_price": 6, "lead_time": {1: 0, 2: 1},
         "price_factor": {2: 1.5}},
    ],
    "requirements": [{"id": "need", "metric": "bf16_tflops", "schedule": {1: 100}, "shortfall_price": 0.05}],
}


def section7_result() -> dict:
    """A x1 in 1: arrives 2 under us-2022-10 -> cancelled; 10 paid in 1, 0.5 x 10 = 5 back in 2.
    L x1 in 1: active 1..3, void 2 and 3 (blocked): billed 4 once.
    B x1 in 2: L(2) = 1 -> arrives 3; f(2) = 1.5 -> unit price 9.
    Capacity 100 in 1 (L), 0 in 2, 100 in 3 (B): shortfall 100 in period 2, penalty 0.05 x 100 = 5.
    Cash: 1: 10 + 4 = 14; 2: 9 - 5 = 4; 3: 0. Objective (r = 0) 14 + 4 + 5 = 23.
    total_cash = capex 19 - refunds 5 + lease 4 = 18."""
    return {
        "instance": "hand7", "currency": "USD", "status": "optimal", "objective": 23.0,
        "expected_cost": 23.0,
        "cost": {"capex": 19.0, "refunds": 5.0, "lease": 4.0, "power": 0.0, "fixed": 0.0,
                 "residual_credit": 0.0, "shortfall": 5.0, "total_cash": 18.0, "discounted": 23.0},
        "orders": [
            {"offer": "A", "chip": "X", "period": 1, "arrives": 2, "units": 1, "gpus": 1, "unit_price": 10.0,
             "cost": 10.0, "delivered": False, "refund": 5.0},
            {"offer": "B", "chip": "D", "period": 2, "arrives": 3, "units": 1, "gpus": 1, "unit_price": 9.0,
             "cost": 9.0},
        ],
        "leases": [{"offer": "L", "chip": "X", "start": 1, "first_period": 1, "last_period": 3, "units": 1,
                    "gpus": 1, "unit_price": 4.0, "cost": 4.0, "void_periods": [2, 3]}],
        "shortfall": [{"requirement": "need", "period": 2, "metric": "bf16_tflops", "amount": 100.0}],
        "solver": SOLVER,
    }


def refused(data_instance: dict, result: dict) -> set[str]:
    return set(check_plan(validate(data_instance), result).rules())


def test_section7_hand_plan_is_accepted():
    report = check_plan(validate(SECTION7), section7_result())
    assert report.ok, report.describe()
    assert report.recomputed["objective"] == pytest.approx(23.0)


def test_a_missing_refund_is_refused():
    res = section7_result()
    res["orders"][0]["refund"] = 0.0
    assert refused(SECTION7, res) == {"order_arithmetic"}


def test_refund_must_use_cancel_refund():
    res = section7_result()
    res["orders"][0]["refund"] = 10.0  # the whole cost back, but cancel_refund is 0.5
    assert refused(SECTION7, res) == {"order_arithmetic"}


def test_cancelled_order_claimed_delivered_is_refused():
    res = section7_result()
    res["orders"][0].update(delivered=True, refund=0.0)
    assert "order_arithmetic" in refused(SECTION7, res)


def test_billing_a_void_period_is_refused():
    res = section7_result()
    # billed 3 periods (12) as if the lease were never blocked; lease and cash figures follow
    res["leases"][0].update(cost=12.0, void_periods=[])
    res["cost"].update(lease=12.0, total_cash=26.0, discounted=31.0)
    res["objective"] = res["expected_cost"] = 31.0
    got = refused(SECTION7, res)
    assert "order_arithmetic" in got and "cost_mismatch" in got and "objective_mismatch" in got


def test_placing_in_a_period_blocked_by_the_regime_schedule_is_refused():
    res = section7_result()
    res["orders"][0].update(period=2, arrives=3)  # E(A, 2) is false: outside W(A) = {1}
    assert "respect_window" in refused(SECTION7, res)


def test_price_factor_of_the_placement_period_is_required():
    res = section7_result()
    res["orders"][1].update(unit_price=6.0, cost=6.0)  # f(2) = 1.5 forgotten
    assert "order_arithmetic" in refused(SECTION7, res)


def test_lead_time_of_the_placement_period_is_required():
    res = section7_result()
    res["orders"][1]["arrives"] = 2  # L(1) = 0 used for an order placed in 2, where L(2) = 1
    assert "order_arithmetic" in refused(SECTION7, res)


def test_shortfall_rows_and_penalty_are_recomputed():
    res = section7_result()
    res["shortfall"] = []
    assert refused(SECTION7, res) == {"report_mismatch"}
    res = section7_result()
    res["cost"]["shortfall"] = 0.0
    assert refused(SECTION7, res) == {"cost_mismatch"}


def test_without_shortfall_price_the_gap_is_a_broken_requirement():
    inst = copy.deepcopy(SECTION7)
    del inst["requirements"][0]["shortfall_price"]
    res = section7_result()
    res["shortfall"] = []
    res["cost"].update(shortfall=0.0, discounted=18.0)
    res["objective"] = res["expected_cost"] = 18.0
    assert refused(inst, res) == {"meet_capacity"}


# ---------------------------------------------------------------------------- section 8
# T = 2, one unit of bf16 (100) needed in period 2. A: X bought at 2, lead 1, cancel_refund 0.5.
# B: domestic, bought at 5, lead 0. calm (p 0.75): no rule. rule (p 0.25, known 2):
# us-2022-10 from period 2, so A ordered in 1 is cancelled at arrival in 2.
SECTION8 = {
    "name": "hand8",
    "horizon": {"periods": 2},
    "buyer": {"country": "CN"},
    "chips": SECTION7["chips"],
    "offers": [
        {"id": "A", "chip": "X", "kind": "buy", "unit_price": 2, "lead_time": 1, "cancel_refund": 0.5},
        {"id": "B", "chip": "D", "kind": "buy", "unit_price": 5},
    ],
    "requirements": [{"id": "need", "metric": "bf16_tflops", "schedule": {2: 100}}],
    "scenarios": [
        {"name": "calm", "probability": 0.75},
        {"name": "rule", "probability": 0.25, "known": 2, "set": {"compliance.regime": {2: "us-2022-10"}}},
    ],
    "risk": {"measure": "cvar", "alpha": 0.5, "weight": 1},
}


def _order(offer, period, arrives, price, delivered=True, refund=0.0):
    chip = "X" if offer == "A" else "D"
    return {"offer": offer, "chip": chip, "period": period, "arrives": arrives, "units": 1, "gpus": 1,
            "unit_price": price, "cost": price, "delivered": delivered, "refund": refund}


def _cost(capex, refunds=0.0):
    total = capex - refunds
    return {"capex": capex, "refunds": refunds, "lease": 0.0, "power": 0.0, "fixed": 0.0, "residual_credit": 0.0,
            "shortfall": 0.0, "total_cash": total, "discounted": total}


def section8_result() -> dict:
    """A in period 1 in both worlds (t < min(known) = 2: shared).
    calm: A arrives 2, delivered: C = 2.
    rule: A cancelled in 2, 1 paid back; B in 2: C = 2 - 1 + 5 = 6.
    expected = 0.75 x 2 + 0.25 x 6 = 3.
    CVaR_0.5 = min over eta in {2, 6}: eta 2: 2 + 0.25 x 4 / 0.5 = 4; eta 6: 6 -> 4; weight 1: 4.
    Top-level: the decisions before period 2: A x1 in 1."""
    calm = {"name": "calm", "probability": 0.75, "known": 3, "objective": 2.0, "cost": _cost(2.0),
            "orders": [_order("A", 1, 2, 2.0)]}
    rule = {"name": "rule", "probability": 0.25, "known": 2, "objective": 6.0, "cost": _cost(7.0, 1.0),
            "orders": [_order("A", 1, 2, 2.0, delivered=False, refund=1.0), _order("B", 2, 2, 5.0)]}
    return {
        "instance": "hand8", "currency": "USD", "status": "optimal", "objective": 4.0, "expected_cost": 3.0,
        "cost": _cost(0.75 * 2 + 0.25 * 7, 0.25),
        "orders": [_order("A", 1, 2, 2.0)],
        "scenarios": [calm, rule],
        "risk": {"measure": "cvar", "alpha": 0.5, "weight": 1.0},
        "solver": SOLVER,
    }


def test_section8_hand_plan_is_accepted():
    report = check_plan(validate(SECTION8), section8_result())
    assert report.ok, report.describe()
    assert report.recomputed["objective"] == pytest.approx(4.0)
    assert report.recomputed["scenarios"] == {"calm": pytest.approx(2.0), "rule": pytest.approx(6.0)}


def test_acting_differently_before_known_is_refused():
    res = section8_result()
    # rule buys B in period 1 instead of A (C = 5), with every figure consistent with that plan:
    # CVaR_0.5 of (2, 5): eta 2: 2 + 0.25 x 3 / 0.5 = 3.5; eta 5: 5 -> 3.5; expected 2.75
    res["scenarios"][1].update(objective=5.0, cost=_cost(5.0), orders=[_order("B", 1, 1, 5.0)])
    res["objective"], res["expected_cost"] = 3.5, 2.75
    res["cost"] = _cost(2.75)  # 0.75 x 2 + 0.25 x 5
    assert refused(SECTION8, res) == {"decide_alike_until_known"}


def test_acting_differently_from_known_on_is_accepted():
    inst = copy.deepcopy(SECTION8)
    inst["scenarios"][1]["known"] = 1  # told apart from period 1: nothing is shared
    res = section8_result()
    res["scenarios"][1].update(known=1, objective=5.0, cost=_cost(5.0), orders=[_order("B", 1, 1, 5.0)])
    res["objective"], res["expected_cost"] = 3.5, 2.75
    res["cost"] = _cost(2.75)  # 0.75 x 2 + 0.25 x 5
    res["orders"] = []  # nothing is common before period 1
    report = check_plan(validate(inst), res)
    assert report.ok, report.describe()


def test_a_wrong_scenario_objective_is_refused():
    res = section8_result()
    res["scenarios"][1]["objective"] = 7.0  # the refund left out: 2 + 5
    got = check_plan(validate(SECTION8), res)
    assert set(got.rules()) == {"objective_mismatch"}
    assert [v.place for v in got.violations] == ["scenarios.rule objective"]


def test_a_wrong_refund_in_a_scenario_is_refused_there():
    res = section8_result()
    res["scenarios"][1]["orders"][0]["refund"] = 2.0
    got = check_plan(validate(SECTION8), res)
    assert got.rules() == ["order_arithmetic"]
    assert got.violations[0].place.startswith("scenarios.rule ")


def test_a_wrong_risk_objective_is_refused():
    res = section8_result()
    res["objective"] = 3.0  # the expectation, not the CVaR
    got = check_plan(validate(SECTION8), res)
    assert [(v.rule, v.place) for v in got.violations] == [("objective_mismatch", "objective")]


@pytest.mark.parametrize("measure, extra, objective", [
    ("expected", {}, 3.0),  # 0.75 x 2 + 0.25 x 6
    ("worst", {}, 6.0),  # max(2, 6)
    # weight 0.5: 0.5 x 3 + 0.5 x 4 = 3.5
    ("cvar", {"alpha": 0.5, "weight": 0.5}, 3.5),
    # alpha 0: CVaR_0 = min(2 + (0.75 x 0 + 0.25 x 4), 6 + 0.75 x 0) = min(3, 6) = 3 = expectation
    ("cvar", {"alpha": 0.0, "weight": 1.0}, 3.0),
    # alpha 0.9: eta 2: 2 + 0.25 x 4 / 0.1 = 12; eta 6: 6 -> 6 (the worst case)
    ("cvar", {"alpha": 0.9, "weight": 1.0}, 6.0),
])
def test_each_risk_measure_is_recomputed(measure, extra, objective):
    inst = copy.deepcopy(SECTION8)
    inst["risk"] = {"measure": measure, **extra}
    res = section8_result()
    res["objective"] = objective
    report = check_plan(validate(inst), res)
    assert report.ok, report.describe()
    res["objective"] = objective + 0.5
    assert refused(inst, res) == {"objective_mismatch"}


def test_a_wrong_expected_cost_is_refused():
    res = section8_result()
    res["expected_cost"] = 4.0
    assert refused(SECTION8, res) == {"objective_mismatch"}


def test_top_level_decisions_are_those_common_before_the_earliest_known():
    res = section8_result()
    res["orders"] = []
    assert refused(SECTION8, res) == {"report_mismatch"}
    res = section8_result()
    res["orders"].append(_order("B", 2, 2, 5.0))  # placed in 2: not a decision to place now
    assert refused(SECTION8, res) == {"report_mismatch"}


def test_a_scenario_plan_breaking_its_own_rules_is_refused():
    res = section8_result()
    # calm drops A: nothing meets the requirement in period 2 there (C = 0, and period 1 differs)
    res["scenarios"][0].update(objective=0.0, cost=_cost(0.0), orders=[])
    got = set(check_plan(validate(SECTION8), res).rules())
    assert {"meet_capacity", "decide_alike_until_known"} <= got


def test_top_level_cost_is_the_expectation_of_the_scenarios_cost_lines():
    res = section8_result()
    res["cost"]["capex"] = 2.0  # calm's capex, not 0.75 x 2 + 0.25 x 7 = 3.25
    got = check_plan(validate(SECTION8), res)
    assert [(v.rule, v.place) for v in got.violations] == [("cost_mismatch", "cost.capex")]
