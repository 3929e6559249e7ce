"""MODEL.md sections 7 and 8: one hand-checkable instance per feature, both outcomes of each rule.

Every expected value is derived by hand in the instance's header comment
(instances/features/v2/) and repeated here in short.
"""

from __future__ import annotations

import pytest

from tests.conftest import FEATURES, solve_file

V2 = FEATURES / "v2"


def solved(name, *overrides):
    result = solve_file(V2 / f"{name}.yaml", *overrides)
    assert result.status == "optimal", result.message
    return result


def plan(units_rows):
    return [(r.offer, r.period if hasattr(r, "period") else r.start, r.units) for r in units_rows]


def test_regime_schedule_blocks_from_its_period_but_an_earlier_order_is_delivered():
    # A bought in 1 (regime none) arrives in 1: 4; under us-2022-10 throughout: 4 leases x 3 = 12
    r = solved("regime-schedule")
    assert r.objective == pytest.approx(4) and plan(r.orders) == [("A", 1, 1)]
    r = solved("regime-schedule", "compliance.regime=us-2022-10")
    assert r.objective == pytest.approx(12) and r.orders == [] and [e.offer for e in r.excluded] == ["A"]


def test_lead_time_schedule_by_placement_period():
    # L(1) = 3 arrives too late for period 3; ordered in 2 (L = 1) it arrives in 3: 10
    r = solved("lead-time-schedule")
    assert r.objective == pytest.approx(10)
    (order,) = r.orders
    assert (order.period, order.arrives) == (2, 3)


def test_price_factor_scales_prices_and_breaks_not_fixed_costs():
    # 2 x 8 + 1 = 17; with factor 1.5 in period 1 too: 2 x 8 x 1.5 + 1 = 25 > 4 leases x 5 = 20
    r = solved("price-factor")
    assert r.objective == pytest.approx(17) and r.orders[0].unit_price == pytest.approx(8)
    r = solved("price-factor", "offers.B.price_factor.1=1.5")
    assert r.objective == pytest.approx(20) and r.orders == []


def test_void_lease_periods_give_nothing_and_bill_nothing():
    # LX started in 1, active 1-3, void in 3 (blocked): billed 2 x 2 = 4
    r = solved("void-lease")
    (lease,) = r.leases
    assert lease.void_periods == [3] and lease.cost == pytest.approx(4) and r.objective == pytest.approx(4)
    cap = {c.period: c.available for c in r.capacity}
    assert cap == {1: 100, 2: 100, 3: 0}


def test_shortfall_is_a_penalty_not_cash():
    # 150 short at 0.05 in both periods: 2 x 7.5 = 15, no cash; at 0.1: 2 x (6 + 50 x 0.1) = 22
    r = solved("shortfall")
    assert r.objective == pytest.approx(15) and r.cost.total_cash == 0 and r.cost.shortfall == pytest.approx(15)
    assert [(s.period, s.amount) for s in r.shortfall] == [(1, pytest.approx(150)), (2, pytest.approx(150))]
    r = solved("shortfall", "requirements.need.shortfall_price=0.1")
    assert r.objective == pytest.approx(22) and r.cost.shortfall == pytest.approx(10)


def test_expected_risk_hedges_with_the_domestic_order():
    # B in 1: 5 in both worlds; A in 1: 0.6 x 3 + 0.4 x 9.5 = 5.6
    r = solved("scenarios-expected")
    assert r.objective == pytest.approx(5) and r.expected_cost == pytest.approx(5)
    assert plan(r.orders) == [("B", 1, 1)]
    assert {s.name: s.objective for s in r.scenarios} == {"calm": pytest.approx(5), "rule": pytest.approx(5)}


def test_cancelled_order_is_refunded_at_arrival_when_the_rule_is_unlikely():
    # rule at 0.1: A in 1 = 0.9 x 3 + 0.1 x (3 - 1.5 + 8) = 3.65
    r = solved("scenarios-expected", "scenarios.rule.probability=0.1", "scenarios.calm.probability=0.9")
    assert r.objective == pytest.approx(3.65) and plan(r.orders) == [("A", 1, 1)]
    rule = next(s for s in r.scenarios if s.name == "rule")
    (cancelled,) = [o for o in rule.orders if not o.delivered]
    assert (cancelled.offer, cancelled.arrives, cancelled.refund) == ("A", 2, pytest.approx(1.5))
    assert rule.cost.refunds == pytest.approx(1.5) and rule.objective == pytest.approx(9.5)
    assert [(x.start, x.units) for x in rule.leases] == [(2, 1), (3, 1)]


def test_worst_case_risk():
    # worst: A 9.5, B 5, nothing 8 -> B, 5
    r = solved("scenarios-worst")
    assert r.objective == pytest.approx(5) and plan(r.orders) == [("B", 1, 1)]
    r = solved("scenarios-worst", "risk.measure=expected")
    assert r.objective == pytest.approx(3.65)


def test_cvar_risk():
    # 0.5 x 3.65 + 0.5 x (3 + 9.5) / 2 = 4.95 with A; weight 1: CVaR alone, B = 5
    r = solved("scenarios-cvar")
    assert r.objective == pytest.approx(4.95) and r.expected_cost == pytest.approx(3.65)
    r = solved("scenarios-cvar", "risk.weight=1")
    assert r.objective == pytest.approx(5) and plan(r.orders) == [("B", 1, 1)]


def test_known_decides_which_decisions_are_shared():
    # known 1: small 4, big 8 -> 6; known 2: the period-1 order is shared: buy 1 -> 0.5 x 4 + 0.5 x 11
    r = solved("scenarios-known")
    assert r.objective == pytest.approx(6) and r.orders == []  # nothing is common: told apart at once
    r = solved("scenarios-known", "scenarios.small.known=2", "scenarios.big.known=2")
    assert r.objective == pytest.approx(7.5) and plan(r.orders) == [("B", 1, 1)]


def test_a_budget_bound_on_order_size_sees_the_price_factor(tmp_path):
    # 2 units needed; A costs 10 but 0.5x in period 1, min_order 2, budget.total 10:
    # 2 x 10 x 0.5 = 10 fits. A bound on one order from the budget at the list price
    # (10 / 10 = 1 unit < min_order) would wrongly leave no plan.
    import yaml

    data = {"name": "factor-budget", "horizon": {"periods": 1}, "chips": [{"id": "X", "bf16_tflops": 100}],
            "offers": [{"id": "A", "chip": "X", "kind": "buy", "unit_price": 10, "min_order": 2,
                        "price_factor": {1: 0.5}}],
            "requirements": [{"id": "need", "metric": "bf16_tflops", "schedule": 200}],
            "budget": {"total": 10}}
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(data))
    r = solve_file(path)
    assert r.status == "optimal" and r.objective == pytest.approx(10)


def test_a_requirement_only_void_lease_periods_could_serve_is_infeasible(tmp_path):
    # found by the independent brute force: L (controlled, runs in CN) started in 1 is active 1-2,
    # but period 2 is void under the rule from 2; nothing can give capacity in 2 -> infeasible
    # (the row had no variable left and was dropped: 'optimal' at 0 with the requirement unmet)
    import yaml

    data = {"name": "void-unmet", "horizon": {"periods": 2}, "buyer": {"country": "CN"},
            "compliance": {"regime": {2: "us-2022-10"}},
            "chips": [{"id": "X", "origin": "US", "bf16_tflops": 100, "tpp": 5000, "interconnect_gbps": 900}],
            "offers": [{"id": "L", "chip": "X", "kind": "lease", "unit_price": 1, "term": 2}],
            "requirements": [{"id": "need", "metric": "bf16_tflops", "schedule": {2: 100}}]}
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(data))
    assert solve_file(path).status == "infeasible"
    data["objective"] = {"sense": "max_capacity"}
    path.write_text(yaml.safe_dump(data))
    assert solve_file(path).status == "infeasible"
    # with a shortfall price the gap may stay open: 100 short at 3 in period 2 = 300
    del data["objective"]
    data["requirements"][0]["shortfall_price"] = 3
    path.write_text(yaml.safe_dump(data))
    r = solve_file(path)
    assert r.status == "optimal" and r.objective == pytest.approx(300)
