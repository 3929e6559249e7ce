"""The independent checker (`plan check`): hand-built instances and hand-built plans.

Nothing here calls the solver: every plan is written by hand and every expected figure is
derived by hand in a comment from MODEL.md.

The base instance (T = 4, hours_per_period = 10, pue 1.5, energy 0.1 per kWh, 1 EUR = 2 USD):
  xb: buy chip X (bf16 100, tdp 500 W), 2 GPUs/unit, 1000/unit, 900/unit from 3 units,
      lead_time 1, residual 0.5.  perf = 100 * 1.0 * 2 = 200 TFLOPS; power 500*2/1000 = 1 kW.
  yl: lease chip Y (bf16 50, efficiency 0.5), 4 GPUs/unit, 100 EUR/unit/period, term 2.
      perf = 50 * 0.5 * 4 = 100 TFLOPS; price 100 EUR * 2 = 200 USD.
The base plan: 2 units of xb ordered in period 1 (arrive 2), 1 unit of yl started in 3 (active 3, 4).
  capacity bf16: t1 0, t2 2*200 = 400, t3 400 + 100 = 500, t4 500.
  capex = 2 * 1000 = 2000 (2 < 3 units, no break); residual = 0.5 * 2000 = 1000.
  lease = 200 in t3 + 200 in t4 = 400.
  power = 2 units * 1 kW * 1.5 * 10 h * 0.1 = 3 per period in t2, t3, t4 = 9.
  total_cash = 2000 + 400 + 9 = 2409; discounted (r = 0) = 2409 - 1000 = 1409.
  cash: t1 2000, t2 3, t3 203, t4 203.
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from models.loading import validate
from optimizer.check import assert_plan_valid, check_plan

BASE = """
name: tiny
currency: USD
fx: {EUR: 2.0}
horizon: {periods: 4, hours_per_period: 10}
chips:
  - {id: X, bf16_tflops: 100, memory_gb: 10, tdp_w: 500, ecosystem: cuda}
  - {id: Y, bf16_tflops: 50, efficiency: 0.5, tdp_w: 200, ecosystem: other}
offers:
  - id: xb
    chip: X
    kind: buy
    gpus_per_unit: 2
    unit_price: 1000
    lead_time: 1
    price_breaks: [{min_units: 3, unit_price: 900}]
    residual_value: 0.5
  - {id: yl, chip: Y, kind: lease, gpus_per_unit: 4, unit_price: 100, term: 2, currency: EUR}
requirements:
  - {id: cap, metric: bf16_tflops, schedule: {2: 400}}
site: {pue: 1.5, energy_price: 0.1}
"""


def instance(**changes):
    """The base instance with top-level keys replaced and `offers.<id>` fields patched."""
    data = yaml.safe_load(BASE)
    for key, value in changes.items():
        if key.startswith("offer_"):
            oid = key[len("offer_"):]
            next(o for o in data["offers"] if o["id"] == oid).update(value)
        elif key.startswith("chip_"):
            cid = key[len("chip_"):]
            next(c for c in data["chips"] if c["id"] == cid).update(value)
        else:
            data[key] = value
    return validate(data)


def order(offer, period, units, *, arrives, unit_price, chip="X", gpus_per_unit=2):
    return {"offer": offer, "chip": chip, "period": period, "arrives": arrives, "units": units,
            "gpus": units * gpus_per_unit, "unit_price": unit_price, "cost": units * unit_price}


def lease(offer, start, units, *, first, last, unit_price, term=2, chip="Y", gpus_per_unit=4):
    return {"offer": offer, "chip": chip, "start": start, "first_period": first, "last_period": last,
            "units": units, "gpus": units * gpus_per_unit, "unit_price": unit_price,
            "cost": units * unit_price * term}


def plan(orders=None, leases=None, *, cost=None, objective=None, sense="min_cost", status="optimal"):
    base_cost = {"capex": 2000, "lease": 400, "power": 9, "fixed": 0, "residual_credit": 1000,
                 "total_cash": 2409, "discounted": 1409}
    cost = {**base_cost, **(cost or {})}
    return {
        "instance": "tiny", "currency": "USD", "status": status, "objective_sense": sense,
        "objective": cost["discounted"] if objective is None else objective,
        "cost": cost,
        "orders": [order("xb", 1, 2, arrives=2, unit_price=1000)] if orders is None else orders,
        "leases": [lease("yl", 3, 1, first=3, last=4, unit_price=200)] if leases is None else leases,
        "solver": {"name": "highs", "version": "test", "time_s": 0.0, "mip_gap": 0.0},
    }


def only(report, rule):
    """The violations of `rule`, asserting no other rule fired."""
    assert {v.rule for v in report.violations} == {rule}, report.describe()
    return report.violations


# --------------------------------------------------------------------------- a valid plan


def test_valid_plan_accepted_with_hand_costs():
    report = check_plan(instance(), plan())
    assert report.ok, report.describe()
    c = report.recomputed["cost"]
    # no cancelled order and no shortfall price: refunds and shortfall are 0
    assert c == pytest.approx({"capex": 2000, "refunds": 0, "lease": 400, "power": 9, "fixed": 0,
                               "residual_credit": 1000, "shortfall": 0, "total_cash": 2409, "discounted": 1409})
    assert report.recomputed["capacity"]["bf16_tflops"] == pytest.approx({1: 0, 2: 400, 3: 500, 4: 500})
    # memory_gb: 2 units * 2 GPUs * 10 GB from t2; chip Y has no memory
    assert report.recomputed["capacity"]["memory_gb"][2] == pytest.approx(40)
    # gpus: 4 owned from t2, + 4 leased in t3, t4
    assert report.recomputed["capacity"]["gpus"] == pytest.approx({1: 0, 2: 4, 3: 8, 4: 8})
    assert report.recomputed["cash"] == pytest.approx({1: 2000, 2: 3, 3: 203, 4: 203})
    assert "plan is valid: 1 orders, 1 leases" in report.describe()
    assert_plan_valid(instance(), plan())  # does not raise


def test_report_is_json_serialisable():
    json.dumps(check_plan(instance(), plan()).to_dict())


# --------------------------------------------------------------------------- each rule broken


def test_capacity_short():
    # 500 required from t2; t2 has 400 -> short 100; t3, t4 have 500 -> fine
    inst = instance(requirements=[{"id": "cap", "metric": "bf16_tflops", "schedule": {2: 500}}])
    [v] = only(check_plan(inst, plan()), "meet_capacity")
    assert v.place == "requirements[0] (cap) period 2 bf16_tflops"
    assert v.size == pytest.approx(100)


def test_capacity_schedule_does_not_apply_before_first_key():
    # 400 from t2: period 1 has nothing and is not checked
    assert check_plan(instance(), plan()).ok


def test_work_short_and_exactly_met():
    # sum of bf16 capacity t1..t4 = 0 + 400 + 500 + 500 = 1400 TFLOPS-periods
    # work = 1400 * 1e12 * 3600 * 10 h * 0.5 = 2.52e19 FLOP
    met = {"metric": "bf16_tflops", "work_flop": 2.52e19, "utilization": 0.5}
    assert check_plan(instance(requirements=[met]), plan()).ok
    short = {**met, "work_flop": 3.0e19}
    [v] = only(check_plan(instance(requirements=[short]), plan()), "meet_work")
    assert v.place == "requirements[0] periods 1..4 bf16_tflops"
    assert v.size == pytest.approx(3.0e19 - 2.52e19)
    # from 3 until 3: 500 * 1.8e16 = 9e18
    window = {**met, "work_flop": 1e19, "from": 3, "until": 3}
    [v] = only(check_plan(instance(requirements=[window]), plan()), "meet_work")
    assert v.size == pytest.approx(1e19 - 9e18)


def test_supply_caps():
    # 2 units ordered in t1: one over max_per_period 1, one over max_total 1
    inst = instance(offer_xb={"max_per_period": 1, "max_total": 1})
    vs = only(check_plan(inst, plan()), "respect_supply_caps")
    assert sorted((v.place, v.size) for v in vs) == [("offers.xb period 1", 1), ("offers.xb total", 1)]


def test_max_total_sums_over_periods():
    # 2 + 2 units over two periods > max_total 3 by 1; each period is within max_per_period 2
    inst = instance(offer_xb={"max_per_period": 2, "max_total": 3})
    orders = [order("xb", 1, 2, arrives=2, unit_price=1000), order("xb", 2, 2, arrives=3, unit_price=1000)]
    report = check_plan(inst, plan(orders))
    vs = [v for v in report.violations if v.rule == "respect_supply_caps"]
    assert [(v.place, v.size) for v in vs] == [("offers.xb total", 1)]


def test_min_order():
    [v] = only(check_plan(instance(offer_xb={"min_order": 3}), plan()), "respect_min_order")
    assert (v.place, v.size) == ("offers.xb period 1", 1)


def test_site_power_step_schedule():
    # owned draw x pue: t2..t4 = 2 units * 1 kW * 1.5 = 3 kW. Cap 2 kW from t3 on: over by 1 in
    # t3 and t4; t2 lies before the first key, so no cap applies there
    inst = instance(site={"pue": 1.5, "energy_price": 0.1, "power_kw": {3: 2}})
    vs = only(check_plan(inst, plan()), "respect_site_power")
    assert [(v.place, v.size) for v in vs] == [("site.power_kw period 3", pytest.approx(1)),
                                               ("site.power_kw period 4", pytest.approx(1))]
    # explicit power_kw per unit overrides the tdp default: 0.5 kW * 2 * 1.5 = 1.5 <= 2
    assert check_plan(instance(site=inst.site.model_dump(exclude_none=True), offer_xb={"power_kw": 0.5}),
                      plan(cost={"power": 4.5, "total_cash": 2404.5, "discounted": 1404.5})).ok


def test_policy_max_share():
    # leases may be at most 10% of bf16: t3, t4 have 100 of 500 -> over by 100 - 50 = 50
    pol = [{"name": "lease-cap", "metric": "bf16_tflops", "select": {"kind": "lease"}, "max_share": 0.1}]
    vs = only(check_plan(instance(policies=pol), plan()), "respect_policies")
    assert [(v.place, v.size) for v in vs] == [
        ("policies[0] (lease-cap) period 3 bf16_tflops", pytest.approx(50)),
        ("policies[0] (lease-cap) period 4 bf16_tflops", pytest.approx(50)),
    ]


def test_policy_min_share_every_period():
    # ecosystem `other` at least 50%: t1 0 >= 0 holds; t2 0 < 200 (short 200); t3, t4 100 < 250
    pol = [{"name": "domestic", "metric": "bf16_tflops", "select": {"ecosystem": ["other", "x"]},
            "min_share": 0.5}]
    vs = only(check_plan(instance(policies=pol), plan()), "respect_policies")
    assert [(v.place.split(") ")[1], v.size) for v in vs] == [
        ("period 2 bf16_tflops", pytest.approx(200)),
        ("period 3 bf16_tflops", pytest.approx(150)),
        ("period 4 bf16_tflops", pytest.approx(150)),
    ]


def test_policy_select_needs_every_key():
    # kind lease AND chip X selects nothing -> share 0 <= max 0 always holds
    pol = [{"name": "none", "metric": "gpus", "select": {"kind": "lease", "chip": "X"}, "max_share": 0}]
    assert check_plan(instance(policies=pol), plan()).ok


def test_budget_per_period():
    # cash t1 = 2000 > 1500 (over 500); t2 3, t3 203, t4 203 are within
    inst = instance(budget={"per_period": {1: 1500}})
    [v] = only(check_plan(inst, plan()), "respect_budgets")
    assert (v.place, v.size) == ("budget.per_period period 1", pytest.approx(500))


def test_budget_total():
    # total cash 2409 > 2400 by 9 (before the residual credit)
    [v] = only(check_plan(instance(budget={"total": 2400}), plan()), "respect_budgets")
    assert (v.place, v.size) == ("budget.total", pytest.approx(9))
    assert check_plan(instance(budget={"total": 2409}), plan()).ok


def test_order_outside_window():
    # yl may start only in period 4 (W = [4, min(4, 4 - 0)]); the plan starts it in 3
    [v] = only(check_plan(instance(offer_yl={"available_from": 4}), plan()), "respect_window")
    assert (v.place, v.size) == ("offers.yl period 3", 1)
    assert "[4, 4]" in v.message


def test_order_too_late_to_arrive():
    # xb has lead time 1: W = [1, 4 - 1] = [1, 3]; an order in 4 arrives after the horizon.
    # Costs: 2000 capex, 2000*0.5 residual; no power (never arrives); no capacity needed
    orders = [order("xb", 4, 2, arrives=5, unit_price=1000)]
    report = check_plan(instance(requirements=[]), plan(orders, [], cost={
        "lease": 0, "power": 0, "total_cash": 2000, "discounted": 1000}))
    [v] = only(report, "respect_window")
    assert v.place == "offers.xb period 4"


def test_excluded_offer_used():
    # lead time 4 with T = 4: W = [1, 0] is empty, the offer cannot arrive within the horizon
    orders = [order("xb", 1, 2, arrives=5, unit_price=1000)]
    report = check_plan(instance(requirements=[], offer_xb={"lead_time": 4}), plan(orders, [], cost={
        "lease": 0, "power": 0, "total_cash": 2000, "discounted": 1000}))
    [v] = only(report, "respect_window")
    assert v.place == "offers.xb" and "cannot arrive" in v.message


def test_blocked_offer_used():
    inst = instance(chip_X={"export_control": "blocked"})
    [v] = only(check_plan(inst, plan()), "respect_window")
    assert v.place == "offers.xb" and "blocked" in v.message and v.size == 2


def test_blocked_by_regime():
    # us-2023-10, buyer CN: X (origin US, TPP 5000 >= 4800) bought -> blocked under 3A090.a;
    # Y (TPP 16 * 50 = 800, below every threshold) stays allowed
    inst = instance(buyer={"country": "CN"}, compliance={"regime": "us-2023-10"},
                    chip_X={"origin": "US", "tpp": 5000})
    [v] = only(check_plan(inst, plan()), "respect_window")
    assert v.place == "offers.xb" and "3A090.a" in v.message
    # the same plan for a buyer outside the restricted destinations is valid
    inst = instance(buyer={"country": "DE"}, compliance={"regime": "us-2023-10"},
                    chip_X={"origin": "US", "tpp": 5000})
    assert check_plan(inst, plan()).ok


def test_unknown_offer_and_wrong_kind():
    # a lease row naming the buy offer, and an order naming an offer that does not exist
    leases = [lease("xb", 3, 1, first=3, last=4, unit_price=200)]
    orders = [order("zz", 1, 1, arrives=1, unit_price=1)]
    report = check_plan(instance(requirements=[]), plan(orders, leases))
    places = {(v.rule, v.place) for v in report.violations}
    assert ("respect_window", "orders[0] offer zz") in places
    assert ("respect_window", "offers.xb period 3") in places


def test_wrong_price_break_price():
    # 3 units reach the break: 900 each (2700), not 1000. The row says 1000 -> order_arithmetic
    # of 100; capex recomputed from the instance is 2700, the reported cost 3000 mismatches.
    # power: 3 units * 1 kW * 1.5 * 10 * 0.1 = 4.5 in t2..t4 = 13.5
    orders = [order("xb", 1, 3, arrives=2, unit_price=1000)]
    report = check_plan(instance(), plan(orders, cost={
        "capex": 3000, "power": 13.5, "residual_credit": 1500, "total_cash": 3413.5, "discounted": 1913.5}))
    arith = [v for v in report.violations if v.rule == "order_arithmetic"]
    assert [(v.place, v.size) for v in arith] == [("orders[0] (xb period 1) unit_price", pytest.approx(100))]
    mism = {v.place: v.size for v in report.violations if v.rule == "cost_mismatch"}
    assert mism == pytest.approx({"cost.capex": 300, "cost.residual_credit": 150,
                                  "cost.total_cash": 300, "cost.discounted": 150})


def test_price_break_plan_valid():
    # 3 units at 900: capex 2700, residual 1350, power 13.5, lease 400
    # total_cash 2700 + 400 + 13.5 = 3113.5; discounted 3113.5 - 1350 = 1763.5
    orders = [order("xb", 1, 3, arrives=2, unit_price=900)]
    report = check_plan(instance(), plan(orders, cost={
        "capex": 2700, "power": 13.5, "residual_credit": 1350, "total_cash": 3113.5, "discounted": 1763.5}))
    assert report.ok, report.describe()


def test_row_arithmetic():
    bad = order("xb", 1, 2, arrives=3, unit_price=1000)  # lead time 1: arrives 2
    bad["gpus"] = 3  # 2 units * 2 GPUs = 4
    bad["cost"] = 1999  # 2 * 1000 = 2000
    bad_lease = lease("yl", 3, 1, first=3, last=3, unit_price=200)  # term 2: last = 4
    report = check_plan(instance(), plan([bad], [bad_lease]))
    got = {(v.place, v.size) for v in only(report, "order_arithmetic")}
    assert got == {("orders[0] (xb period 1) arrives", 1), ("orders[0] (xb period 1) gpus", 1),
                   ("orders[0] (xb period 1) cost", 1), ("leases[0] (yl start 3) last_period", 1)}


def test_wrong_reported_cost_and_objective():
    [v] = only(check_plan(instance(), plan(cost={"capex": 2100}, objective=1409)), "cost_mismatch")
    assert (v.place, v.size) == ("cost.capex", pytest.approx(100))
    [v] = only(check_plan(instance(), plan(objective=1400)), "objective_mismatch")
    assert (v.place, v.size) == ("objective", pytest.approx(9))


def test_tolerance_is_relative():
    # 1409 * (1 + 1e-7) is within 1e-6 relative; 1409 * (1 + 1e-5) is not
    assert check_plan(instance(), plan(objective=1409 * (1 + 1e-7))).ok
    assert not check_plan(instance(), plan(objective=1409 * (1 + 1e-5))).ok


def test_reported_tables_checked():
    p = plan()
    p["capacity"] = [{"period": 3, "metric": "bf16_tflops", "available": 500, "required": 400}]
    p["cash"] = [{"period": 3, "purchases": 0, "lease": 200, "power": 3, "total": 203}]
    assert check_plan(instance(), p).ok
    # work t2..t4 = (400 + 500 + 500) * 1e12 * 3600 * 10 * 0.5 = 2.52e19 FLOP
    inst = instance(requirements=[{"id": "w", "metric": "bf16_tflops", "work_flop": 2e19, "from": 2,
                                   "utilization": 0.5}])
    p["work"] = [{"requirement": "w", "metric": "bf16_tflops", "first_period": 2, "last_period": 4,
                  "delivered_flop": 2.52e19, "required_flop": 2e19}]
    assert check_plan(inst, p).ok, check_plan(inst, p).describe()
    p["capacity"][0]["available"] = 400
    p["cash"][0]["lease"] = 0
    p["work"][0]["delivered_flop"] = 5.04e19  # utilization left out
    vs = only(check_plan(inst, p), "report_mismatch")
    assert {v.place for v in vs} == {"capacity period 3 bf16_tflops", "cash period 3 lease",
                                     "work w bf16_tflops"}


# --------------------------------------------------------------------------- money details


def test_lease_bills_past_horizon():
    # yl started in 4 with term 2: active 4 and 5; both bills count (5 lies past T = 4).
    # capacity t4: 400 + 100. lease = 2 * 200 = 400, as in the base plan; with r = 0 costs equal.
    leases = [lease("yl", 4, 1, first=4, last=5, unit_price=200)]
    report = check_plan(instance(), plan(leases=leases))
    assert report.ok, report.describe()
    assert report.recomputed["cash"][5] == pytest.approx(200)
    # with r = 0.1: cash t1 2000, t2 3, t3 3, t4 3 + 200, t5 200; df(t) = 1.1^-(t-1)
    disc = 2000 + 3 / 1.1 + 3 / 1.1**2 + 203 / 1.1**3 + 200 / 1.1**4 - 1000 / 1.1**4
    inst = instance(horizon={"periods": 4, "hours_per_period": 10, "discount_rate": 0.1})
    report = check_plan(inst, plan(leases=leases, cost={"discounted": disc}))
    assert report.ok, report.describe()
    # and a plan that forgets the bill past T is refused
    wrong = 2000 + 3 / 1.1 + 3 / 1.1**2 + 203 / 1.1**3 - 1000 / 1.1**4
    rules = check_plan(inst, plan(leases=leases, cost={"discounted": wrong})).rules()
    assert rules == ["objective_mismatch", "cost_mismatch"]


def test_discounting_arithmetic():
    # base plan with r = 0.1: cash t1 2000, t2 3, t3 203, t4 203; residual 1000 at df(5)
    disc = 2000 + 3 / 1.1 + 203 / 1.21 + 203 / 1.331 - 1000 / 1.4641
    inst = instance(horizon={"periods": 4, "hours_per_period": 10, "discount_rate": 0.1})
    report = check_plan(inst, plan(cost={"discounted": disc}))
    assert report.ok, report.describe()
    # 2000 + 2.72727 + 167.76860 + 152.51690 - 683.01346 = 1639.99932
    assert report.recomputed["cost"]["discounted"] == pytest.approx(1639.9993, abs=1e-3)


def test_fx_and_fixed_costs():
    # yl's fixed cost 10 EUR = 20 USD, xb's 5 USD; paid once each although used once
    # lease price: 100 EUR * 2 = 200 per period (already the base plan)
    inst = instance(offer_yl={"fixed_cost": 10}, offer_xb={"fixed_cost": 5})
    report = check_plan(inst, plan(cost={"fixed": 25, "total_cash": 2434, "discounted": 1434}))
    assert report.ok, report.describe()
    # USD-priced lease rows at 100 are refused: the instance currency price is 200
    bad = lease("yl", 3, 1, first=3, last=4, unit_price=100)
    vs = check_plan(instance(), plan(leases=[bad])).violations
    assert ("order_arithmetic", "leases[0] (yl start 3) unit_price") in {(v.rule, v.place) for v in vs}


def test_price_breaks_apply_to_leases_and_fx():
    # yl break from 2 starts at 80 EUR = 160 USD: 2 units * 160 * 2 periods = 640
    # capacity t3 400 + 200; total 2000 + 640 + 9 = 2649; discounted 1649
    inst = instance(offer_yl={"price_breaks": [{"min_units": 2, "unit_price": 80}]})
    leases = [lease("yl", 3, 2, first=3, last=4, unit_price=160)]
    report = check_plan(inst, plan(leases=leases, cost={"lease": 640, "total_cash": 2649, "discounted": 1649}))
    assert report.ok, report.describe()


def test_max_capacity_objective():
    # objective = cap[bf16, 3] = 500; costs still reported and checked
    inst = instance(objective={"sense": "max_capacity", "metric": "bf16_tflops", "period": 3})
    assert check_plan(inst, plan(objective=500, sense="max_capacity")).ok
    [v] = only(check_plan(inst, plan(objective=400, sense="max_capacity")), "objective_mismatch")
    assert v.size == pytest.approx(100)
    # default period T = 4: also 500
    inst = instance(objective={"sense": "max_capacity", "metric": "gpus"})
    assert check_plan(inst, plan(objective=8, sense="max_capacity")).ok


# --------------------------------------------------------------------------- no plan, bad input


def test_no_plan():
    p = plan(status="infeasible")
    p["objective"], p["cost"], p["orders"], p["leases"] = None, None, [], []
    [v] = check_plan(instance(), p).violations
    assert v.rule == "no_plan"
    assert assert_plan_valid(instance(), p, require_plan=False).ok
    with pytest.raises(AssertionError, match="no plan"):
        assert_plan_valid(instance(), p)


def test_assert_plan_valid_lists_violations():
    with pytest.raises(AssertionError, match="respect_budgets at budget.total"):
        assert_plan_valid(instance(budget={"total": 2400}), plan())


def test_not_a_result_is_input_error():
    from models.errors import InputError

    p = plan()
    del p["orders"][0]["units"]
    with pytest.raises(InputError) as exc:
        check_plan(instance(), p)
    assert any("orders[0].units" in m for m in exc.value.messages)
    with pytest.raises(InputError):
        check_plan(instance(), [1, 2])


def test_checker_is_independent_of_the_solver():
    # STYLE.md item 6: no Pyomo, no HiGHS, none of the solver's own modules
    import ast
    import pathlib

    tree = ast.parse(pathlib.Path("optimizer/check.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    banned = {"pyomo", "highspy", "optimizer.planning.prepare", "optimizer.planning.build", "optimizer.planning.solve", "optimizer.planning.extract"}
    assert not {x for x in names if any(x == b or x.startswith(b + ".") for b in banned)}


def test_deep_copy_of_plan_not_mutated():
    p = plan()
    before = copy.deepcopy(p)
    check_plan(instance(), p)
    assert p == before


# --------------------------------------------------------------------------- the command


def _files(tmp_path, plan_data, instance_text=BASE):
    inst = tmp_path / "tiny.yaml"
    inst.write_text(instance_text)
    out = tmp_path / "plan.json"
    out.write_text(plan_data if isinstance(plan_data, str) else json.dumps(plan_data))
    return str(inst), str(out)


def test_cli_exit_codes(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    runner = CliRunner()
    inst, good = _files(tmp_path, plan())
    res = runner.invoke(app, ["check", inst, good])
    assert res.exit_code == 0, res.output
    assert "plan is valid: 1 orders, 1 leases, costs match" in res.output

    # a budget set on the command line breaks the same plan: exit 3, the rule in the table
    res = runner.invoke(app, ["check", inst, good, "--set", "budget.total=2400"])
    assert res.exit_code == 3, res.output
    assert "respect_budgets" in res.output and "budget.total" in res.output

    res = runner.invoke(app, ["check", inst, good, "--json", "--set", "budget.total=2400"])
    assert res.exit_code == 3
    data = json.loads(res.stdout)
    assert data["ok"] is False and data["violations"][0]["size"] == pytest.approx(9)

    # no plan to check: exit 3
    p = plan(status="infeasible")
    p["objective"], p["cost"], p["orders"], p["leases"] = None, None, [], []
    _, none = _files(tmp_path, p)
    res = runner.invoke(app, ["check", inst, none])
    assert res.exit_code == 3 and "no plan" in res.output


def test_cli_bad_input(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    runner = CliRunner()
    inst, broken = _files(tmp_path, "{not json")
    res = runner.invoke(app, ["check", inst, broken])
    assert res.exit_code == 2 and "not JSON" in res.output and res.exception.__class__.__name__ == "SystemExit"
    p = plan()
    del p["orders"][0]["units"]
    _, shape = _files(tmp_path, p)
    res = runner.invoke(app, ["check", inst, shape])
    assert res.exit_code == 2 and "orders[0].units" in res.output
    res = runner.invoke(app, ["check", inst, str(tmp_path / "missing.json")])
    assert res.exit_code == 2 and "cannot read" in res.output
    bad_inst, good = _files(tmp_path, plan(), BASE.replace("lead_time: 1", "lead_time: -1"))
    res = runner.invoke(app, ["check", bad_inst, good])
    assert res.exit_code == 2 and "offers[0].lead_time" in res.output
