"""An independent checker of plans: MODEL.md recomputed from the plan alone.

`check_plan(instance, result)` reads only the orders and leases of a result (units per offer per
period), rebuilds own/lse/cap (section 3), tests constraints 1-7, recomputes every cost and the
objective (section 5) and compares them with what the result reports. It is a second
implementation written from MODEL.md: it imports no Pyomo, no HiGHS and none of the solver's
modules (prepare/build/solve/extract), so a mistake there cannot hide itself here. The one
shared piece is the export-control decision (`optimizer.compliance`), which is pure data logic.

Tolerance: two numbers agree when |a - b| <= tol * max(1, |a|, |b|) (relative 1e-6 with an
absolute floor); a `>=` constraint holds when lhs >= rhs - tol * max(1, |lhs|, |rhs|).
Unit counts (supply caps, minimum order) are integers and compared exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError

from models.errors import InputError, messages
from models.instance import FLOP_METRICS, METRICS, Instance, Offer, schedule_value
from models.result import Result

NO_PLAN = ("infeasible", "unbounded", "time_limit")
COST_FIELDS = ("capex", "lease", "power", "fixed", "residual_credit", "total_cash", "discounted")


@dataclass
class Violation:
    rule: str  # business name of the rule broken, e.g. meet_capacity
    place: str  # where: `requirements[0] period 6 bf16_tflops`, `offers.A800-server period 3`
    size: float  # how much, in the row's own units (TFLOPS, FLOP, units, kW, money, ...)
    message: str


@dataclass
class CheckReport:
    violations: list[Violation] = field(default_factory=list)
    recomputed: dict[str, Any] = field(default_factory=dict)
    orders: int = 0
    leases: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    def rules(self) -> list[str]:
        return [v.rule for v in self.violations]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "orders": self.orders,
            "leases": self.leases,
            "violations": [asdict(v) for v in self.violations],
            "recomputed": self.recomputed,
        }

    def describe(self) -> str:
        if self.ok:
            return f"plan is valid: {self.orders} orders, {self.leases} leases, costs match"
        lines = [f"{len(self.violations)} violation(s):"]
        lines += [f"  {v.rule} at {v.place}: {v.message} (size {v.size:g})" for v in self.violations]
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _short(lhs: float, rhs: float, tol: float) -> float:
    """How far lhs falls short of lhs >= rhs, beyond the tolerance; 0 when it holds."""
    gap = rhs - lhs
    return gap if gap > tol * max(1.0, abs(lhs), abs(rhs)) else 0.0


def _fmt(x: float) -> str:
    return f"{x:,.6g}"


def fx_rate(instance: Instance, offer: Offer) -> float:
    if offer.currency is None or offer.currency == instance.currency:
        return 1.0
    return instance.fx[offer.currency]


def price_per_unit(instance: Instance, offer: Offer, n: int) -> float:
    """Section 5: the last break with min_units <= n, else unit_price; in the instance currency."""
    price = offer.unit_price
    for brk in offer.price_breaks:  # strictly increasing (validated)
        if brk.min_units <= n:
            price = brk.unit_price
    return price * fx_rate(instance, offer)


def perf(instance: Instance, offer: Offer, metric: str) -> float:
    """Section 2: contribution of one unit of `offer` to `metric`."""
    chip = instance.chip(offer.chip)
    if metric in FLOP_METRICS:
        return getattr(chip, metric) * chip.efficiency * offer.gpus_per_unit
    if metric == "memory_gb":
        return chip.memory_gb * offer.gpus_per_unit
    return float(offer.gpus_per_unit)  # gpus


def power_kw(instance: Instance, offer: Offer) -> float:
    if offer.power_kw is not None:
        return offer.power_kw
    return instance.chip(offer.chip).tdp_w * offer.gpus_per_unit / 1000


def window(instance: Instance, offer: Offer) -> tuple[int, int]:
    """W(o) = [available_from, min(available_until, T - L)]; empty when first > last."""
    T = instance.T
    until = offer.available_until if offer.available_until is not None else T
    return offer.available_from, min(until, T - offer.lead_time)


def selected(instance: Instance, offer: Offer, select: dict[str, Any]) -> bool:
    """Section 3.6: every key of `select` matches; a list matches any of its values."""
    chip = instance.chip(offer.chip)
    for key, wanted in select.items():
        values = [wanted] if isinstance(wanted, str) else list(wanted)
        if key in ("vendor", "origin", "ecosystem"):
            have = [getattr(chip, key)]
        elif key == "chip":
            have = [offer.chip]
        elif key == "offer":
            have = [offer.id]
        elif key == "kind":
            have = [offer.kind]
        elif key == "tag":
            have = list(offer.tags)
        else:  # pragma: no cover - the instance model refuses other keys
            return False
        if not any(h is not None and h in values for h in have):
            return False
    return True


def _blocked(instance: Instance, offer: Offer) -> tuple[bool, str]:
    from optimizer.compliance import offer_decision

    decision = offer_decision(instance, offer)
    return decision.blocked, decision.reason


def load_result(data: Result | dict) -> Result:
    """A result as written by `plan solve --json`; InputError when it is not one."""
    if isinstance(data, Result):
        return data
    if not isinstance(data, dict):
        raise InputError([f"a result is a JSON object, not a {type(data).__name__}"])
    try:
        return Result.model_validate(data)
    except ValidationError as exc:
        raise InputError(messages(exc)) from None


# --------------------------------------------------------------------------- the check


def check_plan(instance: Instance, result: Result | dict, tol: float = 1e-6) -> CheckReport:
    """Every constraint and cost of MODEL.md, recomputed from the result's orders and leases."""
    res = load_result(result)
    report = CheckReport(orders=len(res.orders), leases=len(res.leases))
    bad = report.violations.append

    if res.status in NO_PLAN:
        bad(Violation("no_plan", "status", 0.0, f"status is {res.status}: no plan to check"))
        return report

    T = instance.T
    offers = {o.id: o for o in instance.offers}

    # ---- the decisions n[o,t], one per offer and period (section 3)
    n: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows_seen: dict[tuple[str, int], int] = defaultdict(int)
    rows = [("buy", r.offer, r.period, r.units, i) for i, r in enumerate(res.orders)]
    rows += [("lease", r.offer, r.start, r.units, i) for i, r in enumerate(res.leases)]
    for kind, oid, t, units, i in rows:
        where = f"{'orders' if kind == 'buy' else 'leases'}[{i}]"
        offer = offers.get(oid)
        if offer is None:
            bad(Violation("respect_window", f"{where} offer {oid}", units, f"unknown offer {oid!r}"))
            continue
        if offer.kind != kind:
            listed = "an order" if kind == "buy" else "a lease"
            bad(Violation("respect_window", f"offers.{oid} period {t}", units,
                          f"{oid} is a {offer.kind} offer but is listed as {listed}"))
        if units < 0:
            bad(Violation("order_arithmetic", f"offers.{oid} period {t}", -units, f"units {units} < 0"))
        rows_seen[(oid, t)] += 1
        if rows_seen[(oid, t)] == 2:
            bad(Violation("order_arithmetic", f"offers.{oid} period {t}", 0,
                          "more than one row for one decision n[o,t]; units are added up"))
        n[oid][t] += units

    for oid, by_t in n.items():
        offer = offers[oid]
        used = {t: u for t, u in by_t.items() if u != 0}
        if not used:
            continue
        blocked, why = _blocked(instance, offer)
        first, last = window(instance, offer)
        total = sum(used.values())
        if blocked:
            bad(Violation("respect_window", f"offers.{oid}", total, f"offer used but {why}"))
        elif first > last:
            bad(Violation("respect_window", f"offers.{oid}", total,
                          "offer is excluded (cannot arrive within the horizon) but used"))
        for t, u in sorted(used.items()):
            if first <= last and not first <= t <= last:
                bad(Violation("respect_window", f"offers.{oid} period {t}", u,
                              f"placed in period {t}, outside its window W = [{first}, {last}]"))
            # 4. minimum order
            if 0 < u < offer.min_order:
                bad(Violation("respect_min_order", f"offers.{oid} period {t}", offer.min_order - u,
                              f"{u} units < min_order {offer.min_order}"))
            # 3. supply caps
            if offer.max_per_period is not None and u > offer.max_per_period:
                bad(Violation("respect_supply_caps", f"offers.{oid} period {t}", u - offer.max_per_period,
                              f"{u} units > max_per_period {offer.max_per_period}"))
        if offer.max_total is not None and total > offer.max_total:
            bad(Violation("respect_supply_caps", f"offers.{oid} total", total - offer.max_total,
                          f"{total} units > max_total {offer.max_total}"))

    # ---- each row's own arithmetic, against the instance (price breaks, fx, lead time)
    for i, r in enumerate(res.orders):
        offer = offers.get(r.offer)
        if offer is None or offer.kind != "buy":
            continue
        place = f"orders[{i}] ({r.offer} period {r.period})"
        _row_arith(bad, place, offer, r.chip, tol, [
            ("arrives", r.arrives, r.period + offer.lead_time),
            ("gpus", r.gpus, r.units * offer.gpus_per_unit),
            ("unit_price", r.unit_price, price_per_unit(instance, offer, n[r.offer][r.period])),
            ("cost", r.cost, r.units * r.unit_price),
        ])
    for i, r in enumerate(res.leases):
        offer = offers.get(r.offer)
        if offer is None or offer.kind != "lease":
            continue
        place = f"leases[{i}] ({r.offer} start {r.start})"
        _row_arith(bad, place, offer, r.chip, tol, [
            ("first_period", r.first_period, r.start + offer.lead_time),
            ("last_period", r.last_period, r.start + offer.lead_time + offer.term - 1),
            ("gpus", r.gpus, r.units * offer.gpus_per_unit),
            ("unit_price", r.unit_price, price_per_unit(instance, offer, n[r.offer][r.start])),
            ("cost", r.cost, r.units * r.unit_price * offer.term),
        ])

    # ---- availability and capacity (section 3); only known offers of the right kind count
    plan = {oid: by_t for oid, by_t in n.items() if oid in offers}
    avail: dict[str, dict[int, float]] = {}  # own + lse per offer and period 1..T
    own: dict[str, dict[int, float]] = {}
    for oid, by_t in plan.items():
        offer = offers[oid]
        L = offer.lead_time
        if offer.kind == "buy":
            own[oid] = {t: sum(u for s, u in by_t.items() if s + L <= t) for t in range(1, T + 1)}
            avail[oid] = own[oid]
        else:
            avail[oid] = {
                t: sum(u for s, u in by_t.items() if s + L <= t <= s + L + offer.term - 1)
                for t in range(1, T + 1)
            }
    cap = {
        m: {t: sum(perf(instance, offers[oid], m) * a[t] for oid, a in avail.items()) for t in range(1, T + 1)}
        for m in METRICS
    }

    # 1. capacity requirements
    for i, req in enumerate(instance.requirements):
        name = f"requirements[{i}]" + (f" ({req.id})" if req.id else "")
        if req.schedule is not None:
            for t in range(1, T + 1):
                need = schedule_value(req.schedule, t)
                if need is None:
                    continue
                short = _short(cap[req.metric][t], need, tol)
                if short:
                    bad(Violation("meet_capacity", f"{name} period {t} {req.metric}", short,
                                  f"capacity {_fmt(cap[req.metric][t])} < required {_fmt(need)}"))
        else:
            # 2. work requirement
            start, end = req.from_ or 1, req.until or T
            flop = (sum(cap[req.metric][t] for t in range(start, end + 1))
                    * 1e12 * 3600 * instance.horizon.hours_per_period * req.utilization)
            short = _short(flop, req.work_flop, tol)
            if short:
                bad(Violation("meet_work", f"{name} periods {start}..{end} {req.metric}", short,
                              f"work {_fmt(flop)} FLOP < required {_fmt(req.work_flop)} FLOP"))

    # 5. site power, owned hardware only
    pue = instance.site.pue
    draw = {t: sum(own[oid][t] * power_kw(instance, offers[oid]) * pue for oid in own) for t in range(1, T + 1)}
    for t in range(1, T + 1):
        limit = schedule_value(instance.site.power_kw, t)
        if limit is not None:
            over = _short(limit, draw[t], tol)
            if over:
                bad(Violation("respect_site_power", f"site.power_kw period {t}", over,
                              f"owned draw x pue {_fmt(draw[t])} kW > cap {_fmt(limit)} kW"))

    # 6. policy shares, in every period
    for i, pol in enumerate(instance.policies):
        chosen = [oid for oid in avail if selected(instance, offers[oid], pol.select)]
        for t in range(1, T + 1):
            total = cap[pol.metric][t]
            part = sum(perf(instance, offers[oid], pol.metric) * avail[oid][t] for oid in chosen)
            where = f"policies[{i}] ({pol.name}) period {t} {pol.metric}"
            if pol.min_share is not None:
                short = _short(part, pol.min_share * total, tol)
                if short:
                    bad(Violation("respect_policies", where, short,
                                  f"selected {_fmt(part)} < min_share {pol.min_share} x {_fmt(total)}"))
            if pol.max_share is not None:
                over = _short(pol.max_share * total, part, tol)
                if over:
                    bad(Violation("respect_policies", where, over,
                                  f"selected {_fmt(part)} > max_share {pol.max_share} x {_fmt(total)}"))

    # ---- money (section 5); prices come from the instance, not from the result's rows
    hours, energy = instance.horizon.hours_per_period, instance.site.energy_price
    purchases: dict[int, float] = defaultdict(float)
    lease_bills: dict[int, float] = defaultdict(float)
    power: dict[int, float] = defaultdict(float)
    capex = lease = fixed = residual = 0.0
    for oid, by_t in plan.items():
        offer = offers[oid]
        if any(u > 0 for u in by_t.values()):
            fixed += offer.fixed_cost * fx_rate(instance, offer)
        for s, u in by_t.items():
            if u <= 0:
                continue
            price = price_per_unit(instance, offer, u) * u
            if offer.kind == "buy":
                purchases[s] += price
                capex += price
                residual += offer.residual_value * price
            else:
                first = s + offer.lead_time
                for t in range(first, first + offer.term):  # also past T: a contract is a commitment
                    lease_bills[t] += price
                    lease += price
        if offer.kind == "buy":
            for t in range(1, T + 1):
                power[t] += own[oid][t] * power_kw(instance, offer) * pue * hours * energy
    periods = sorted(set(purchases) | set(lease_bills) | set(power) | set(range(1, T + 1)))
    cash = {t: purchases[t] + lease_bills[t] + power[t] for t in periods}
    r = instance.horizon.discount_rate
    df = lambda t: (1 + r) ** -(t - 1)  # noqa: E731
    discounted = sum(df(t) * c for t, c in cash.items()) + fixed - df(T + 1) * residual
    power_total = sum(power.values())
    total_cash = capex + lease + power_total + fixed

    # 7. budgets
    for t in range(1, T + 1):
        limit = schedule_value(instance.budget.per_period, t)
        if limit is not None:
            over = _short(limit, cash[t], tol)
            if over:
                bad(Violation("respect_budgets", f"budget.per_period period {t}", over,
                              f"cash {_fmt(cash[t])} > cap {_fmt(limit)}"))
    if instance.budget.total is not None:
        over = _short(instance.budget.total, total_cash, tol)
        if over:
            bad(Violation("respect_budgets", "budget.total", over,
                          f"total cash {_fmt(total_cash)} > cap {_fmt(instance.budget.total)}"))

    sense = instance.objective.sense
    if sense == "max_capacity":
        metric = instance.objective.metric
        period = instance.objective.period or T
        objective = cap[metric][period]
    else:
        objective = discounted
    costs = {
        "capex": capex, "lease": lease, "power": power_total, "fixed": fixed,
        "residual_credit": residual, "total_cash": total_cash, "discounted": discounted,
    }
    report.recomputed = {
        "objective_sense": sense,
        "objective": objective,
        "cost": costs,
        "cash": {t: cash[t] for t in periods if cash[t] or t <= T},
        "capacity": {m: cap[m] for m in METRICS},
    }

    # ---- what the result reports, against the recomputation
    if res.objective_sense != sense:
        bad(Violation("objective_mismatch", "objective_sense", 0,
                      f"result says {res.objective_sense}, instance says {sense}"))
    if res.objective is None or not _close(res.objective, objective, tol):
        reported = "none" if res.objective is None else _fmt(res.objective)
        size = abs(objective - res.objective) if res.objective is not None else abs(objective)
        bad(Violation("objective_mismatch", "objective", size,
                      f"reported {reported}, recomputed {_fmt(objective)}"))
    if res.cost is None:
        bad(Violation("cost_mismatch", "cost", 0, "a plan without its cost"))
    else:
        for name in COST_FIELDS:
            got = getattr(res.cost, name)
            if not _close(got, costs[name], tol):
                bad(Violation("cost_mismatch", f"cost.{name}", abs(got - costs[name]),
                              f"reported {_fmt(got)}, recomputed {_fmt(costs[name])}"))
    _check_tables(bad, instance, res, cap, cash, purchases, lease_bills, power, tol)
    return report


def _row_arith(bad, place, offer, chip, tol, checks) -> None:
    if chip != offer.chip:
        bad(Violation("order_arithmetic", f"{place} chip", 0, f"chip {chip!r}, offer's chip is {offer.chip!r}"))
    for name, got, want in checks:
        if not _close(got, want, tol):
            bad(Violation("order_arithmetic", f"{place} {name}", abs(got - want),
                          f"{name} is {_fmt(got)}, should be {_fmt(want)}"))


def _check_tables(bad, instance, res, cap, cash, purchases, lease_bills, power, tol) -> None:
    """The result's tables, where present, must say what the plan does."""
    T = instance.T
    if res.currency != instance.currency:
        bad(Violation("report_mismatch", "currency", 0,
                      f"result in {res.currency}, instance prices in {instance.currency}"))
    for row in res.work:
        # the row is matched to its requirement by its label (the id, or requirements[i]) when
        # that names one with the same figures, else by the figures alone
        alike = [(i, r) for i, r in enumerate(instance.requirements) if r.work_flop is not None
                 and r.metric == row.metric and (r.from_ or 1) == row.first_period
                 and (r.until or T) == row.last_period and _close(r.work_flop, row.required_flop, tol)]
        named = [r for i, r in alike if row.requirement in (r.id, f"requirements[{i}]")]
        req = named[0] if named else alike[0][1] if alike else None
        where = f"work {row.requirement} {row.metric}"
        if req is None:
            bad(Violation("report_mismatch", where, 0, "no work requirement of the instance has these figures"))
            continue
        want = (sum(cap[row.metric].get(t, 0.0) for t in range(row.first_period, row.last_period + 1))
                * 1e12 * 3600 * instance.horizon.hours_per_period * req.utilization)
        if not _close(row.delivered_flop, want, tol):
            bad(Violation("report_mismatch", where, abs(row.delivered_flop - want),
                          f"reported delivered {_fmt(row.delivered_flop)} FLOP, recomputed {_fmt(want)}"))
    for row in res.capacity:
        if row.metric in cap and row.period in cap[row.metric]:
            want = cap[row.metric][row.period]
            if not _close(row.available, want, tol):
                bad(Violation("report_mismatch", f"capacity period {row.period} {row.metric}",
                              abs(row.available - want),
                              f"reported available {_fmt(row.available)}, recomputed {_fmt(want)}"))
    for row in res.cash:
        t = row.period
        for name, got, want in (("purchases", row.purchases, purchases.get(t, 0.0)),
                                ("lease", row.lease, lease_bills.get(t, 0.0)),
                                ("power", row.power, power.get(t, 0.0)),
                                ("total", row.total, cash.get(t, 0.0))):
            if not _close(got, want, tol):
                bad(Violation("report_mismatch", f"cash period {t} {name}", abs(got - want),
                              f"reported {_fmt(got)}, recomputed {_fmt(want)}"))


def assert_plan_valid(instance: Instance, result: Result | dict, tol: float = 1e-6,
                      require_plan: bool = True) -> CheckReport:
    """For tests: raise AssertionError listing every violation. With require_plan=False a result
    without a plan (infeasible, unbounded, time limit) passes: there is nothing to check."""
    res = load_result(result)
    if not require_plan and res.status in NO_PLAN:
        return CheckReport()
    report = check_plan(instance, res, tol)
    if not report.ok:
        raise AssertionError(report.describe())
    return report
