"""`plan check` on MODEL.md sections 7-8: a valid plan is accepted, each broken rule refused.

Plans come from the hand-checked instances (instances/features/v2/) and are then broken by hand.
"""

from __future__ import annotations

import pytest

from models.loading import load_instance
from optimizer.check import check_plan, risk_of
from optimizer.planning.solve import solve_instance
from tests.conftest import FEATURES

V2 = FEATURES / "v2"


def solved(name, *overrides):
    inst = load_instance(V2 / f"{name}.yaml", list(overrides))
    return inst, solve_instance(inst).model_dump()


def rules(inst, data):
    return set(check_plan(inst, data).rules())


def test_cancelled_order_needs_its_refund():
    inst, data = solved("scenarios-expected", "scenarios.rule.probability=0.1", "scenarios.calm.probability=0.9")
    assert check_plan(inst, data).ok
    rule = data["scenarios"][1]
    (order,) = [o for o in rule["orders"] if not o["delivered"]]
    order["refund"] = 0.0
    assert "order_arithmetic" in rules(inst, data)
    order["refund"], order["delivered"] = 1.5, True  # claimed delivered: it was cancelled at arrival
    assert "order_arithmetic" in rules(inst, data)


def test_void_lease_period_bills_nothing():
    inst, data = solved("void-lease")
    assert check_plan(inst, data).ok
    data["leases"][0]["cost"] = 6.0  # billed 3 periods x 2 instead of 2 x 2
    data["leases"][0]["void_periods"] = []
    assert rules(inst, data) == {"order_arithmetic"}


def test_shortfall_and_its_penalty_are_recomputed():
    inst, data = solved("shortfall")
    assert check_plan(inst, data).ok
    data["shortfall"][0]["amount"] = 100.0
    assert "report_mismatch" in rules(inst, data)


def test_acting_alike_until_known():
    inst, data = solved("scenarios-expected")
    assert check_plan(inst, data).ok
    rule = data["scenarios"][1]
    # the rule world orders A instead of B in period 1, before it can be told apart (known 2)
    rule["orders"][0].update(offer="A", chip="X", unit_price=3.0, cost=3.0)
    assert "decide_alike_until_known" in rules(inst, data)


def test_scenario_and_risk_objectives_are_recomputed():
    inst, data = solved("scenarios-cvar")
    assert check_plan(inst, data).ok
    data["objective"] = data["expected_cost"]  # the expectation is not the cvar objective
    assert rules(inst, data) == {"objective_mismatch"}
    inst, data = solved("scenarios-cvar")
    data["scenarios"][0]["objective"] += 1
    assert "objective_mismatch" in rules(inst, data)


def test_top_level_decisions_are_the_common_ones():
    inst, data = solved("scenarios-expected")
    data["orders"] = []
    assert rules(inst, data) == {"report_mismatch"}


def test_risk_measures_by_hand():
    # costs 3 (p 0.9) and 9.5 (p 0.1): expected 3.65, worst 9.5,
    # CVaR_0.8 = min(3 + 0.1 x 6.5 / 0.2, 9.5) = 6.25; weight 0.5 -> 4.95
    assert risk_of([3, 9.5], [0.9, 0.1], "expected", 0.9, 1) == pytest.approx(3.65)
    assert risk_of([3, 9.5], [0.9, 0.1], "worst", 0.9, 1) == pytest.approx(9.5)
    assert risk_of([3, 9.5], [0.9, 0.1], "cvar", 0.8, 1) == pytest.approx(6.25)
    assert risk_of([3, 9.5], [0.9, 0.1], "cvar", 0.8, 0.5) == pytest.approx(4.95)


def test_one_cut_order_leads_with_its_root_and_counts_the_rest():
    # issue 14: an order cut by 3 units gave 53 rows, mostly knock-on; now the broken rule leads
    from tests.conftest import INSTANCES

    inst = load_instance(INSTANCES / "cn-2023-h1.yaml")
    data = solve_instance(inst).model_dump()
    order = max(data["orders"], key=lambda o: o["units"])
    order["units"] -= 3
    order["gpus"] = order["units"] * 8
    order["cost"] = order["units"] * order["unit_price"]
    report = check_plan(inst, data)
    assert report.roots() and {v.rule for v in report.roots()} <= {"meet_capacity", "respect_policies"}
    assert report.lead() == report.roots() and report.consequences()
    assert report.summary().startswith(f"{len(report.roots())} broken rule(s), and {len(report.consequences())}")


def test_a_plan_of_another_instance_is_said_once():
    from tests.conftest import INSTANCES

    other = load_instance(INSTANCES / "cn-2023-h1.yaml")
    plan = solve_instance(other).model_dump()
    inst = load_instance(FEATURES / "tiny.yaml")
    report = check_plan(inst, plan)
    assert report.rules() == ["wrong_instance"] and "cn-2023-h1" in report.violations[0].message


def test_a_plan_the_checker_refuses_is_never_reported(monkeypatch):
    # issue 17: every plan passes the independent checker before it is reported; here the
    # extraction is broken on purpose (one order's units dropped) and the solve must refuse
    import optimizer.planning.solve as solve_module
    from optimizer.planning import extract

    real = extract.plan_rows

    def lossy(p, units):
        orders, leases = real(p, units)
        return orders[1:], leases  # an order silently lost

    monkeypatch.setattr(extract, "plan_rows", lossy)
    inst = load_instance(FEATURES / "window.yaml")  # its plan buys A in period 2 (header)
    with pytest.raises(solve_module.PlanCheckFailed):
        solve_module.solve_instance(inst)
