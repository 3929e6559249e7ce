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
# what the result reports against the recomputation: knock-on effects when a rule is broken
CONSEQUENCES = ("cost_mismatch", "objective_mismatch", "report_mismatch")
COST_FIELDS = ("capex", "refunds", "lease", "power", "fixed", "residual_credit", "shortfall", "total_cash", "discounted")


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

    def roots(self) -> list[Violation]:
        """Broken rules of the model (the plan's own faults). When there are any, the reported
        figures that disagree (costs, capacity and cash rows) mostly follow from them."""
        return [v for v in self.violations if v.rule not in CONSEQUENCES]

    def consequences(self) -> list[Violation]:
        return [v for v in self.violations if v.rule in CONSEQUENCES]

    def lead(self) -> list[Violation]:
        """The violations to show first: the roots, or every mismatch when nothing else broke."""
        return self.roots() or self.consequences()

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "orders": self.orders,
            "leases": self.leases,
            "root_violations": len(self.roots()),
            "violations": [asdict(v) for v in self.violations],
            "recomputed": self.recomputed,
        }

    def summary(self) -> str:
        """'2 broken rules, and 41 reported figures that follow from them (cost_mismatch 5, ...)'."""
        roots, rest = self.roots(), self.consequences()
        if not roots:
            return f"{len(rest)} reported figure(s) disagree with the plan"
        counts: dict[str, int] = defaultdict(int)
        for v in rest:
            counts[v.rule] += 1
        tail = (f", and {len(rest)} reported figure(s) that follow from them ("
                + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) + ")") if rest else ""
        return f"{len(roots)} broken rule(s){tail}"

    def describe(self) -> str:
        if self.ok:
            return f"plan is valid: {self.orders} orders, {self.leases} leases, costs match"
        lines = [self.summary() + ":"]
        lines += [f"  {v.rule} at {v.place}: {v.message} (size {v.size:g})" for v in self.lead()]
        if self.roots() and self.consequences():
            lines.append("then:")
            lines += [f"  {v.rule} at {v.place}: {v.message} (size {v.size:g})" for v in self.consequences()]
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


def lead(offer: Offer, t: int) -> int:
    """L(t) of section 7: the lead-time schedule by placement period (0 before its first key)."""
    return _step(offer.lead_time, t, 0)


def factor(offer: Offer, t: int) -> float:
    """f(t) of section 7: the price factor of placement period t (1 before its first key)."""
    return _step(offer.price_factor, t, 1.0)


def _step(value, t: int, before):
    if value is None:
        return before
    if not isinstance(value, dict):
        return value
    keys = [k for k in value if k <= t]
    return value[max(keys)] if keys else before


def regime(instance: Instance, t: int) -> str:
    """The regime in force in period t (periods past T: the value at T)."""
    return _step(instance.compliance.regime, min(t, instance.T), "none")


def window(instance: Instance, offer: Offer, allowed=None) -> list[int]:
    """W(o) = {t : available_from <= t <= available_until, t + L(t) <= T, E(o,t)} (section 7)."""
    T = instance.T
    until = offer.available_until if offer.available_until is not None else T
    return [t for t in range(offer.available_from, min(until, T) + 1)
            if t + lead(offer, t) <= T and (allowed is None or allowed(t))]


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


def _eligible(instance: Instance, offer: Offer):
    """E(o, t) for any t (past T: the regime at T), and the first blocking reason."""
    from optimizer.compliance import offer_decision

    cache: dict[str, Any] = {}

    def decision(t: int):
        name = regime(instance, t)
        if name not in cache:
            cache[name] = offer_decision(instance, offer, name)
        return cache[name]

    def allowed(t: int) -> bool:
        return not decision(t).blocked

    reasons = [decision(t).reason for t in range(1, instance.T + 1) if decision(t).blocked]
    return allowed, (reasons[0] if reasons else "")


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
    if instance.scenarios or res.scenarios:
        _check_scenarios(instance, res, report, tol)
        return report
    report.recomputed = _check_one(instance, res, bad, tol)
    report.recomputed.pop("units")
    if "wrong_instance" in report.rules():
        return report
    sense = instance.objective.sense
    objective = report.recomputed["objective"]
    if sense == "min_cost" and res.expected_cost is not None and not _close(res.expected_cost, objective, tol):
        bad(Violation("objective_mismatch", "expected_cost", abs(res.expected_cost - objective),
                      f"reported {_fmt(res.expected_cost)}, without scenarios it is the objective {_fmt(objective)}"))
    return report


def _check_one(instance: Instance, res, bad, tol: float) -> dict[str, Any]:
    """One instance's plan (a result, or one scenario's part of it) against its own rules;
    returns what was recomputed. The objective itself is compared by the caller."""
    T = instance.T
    offers = {o.id: o for o in instance.offers}
    named = {r.offer for r in [*res.orders, *res.leases]}
    unknown = sorted(named - set(offers))
    if unknown and len(unknown) * 2 > len(named):  # most of the plan is foreign: one message, not one per row
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        bad(Violation("wrong_instance", "instance", len(unknown),
                      f"{len(unknown)} of the plan's {len(named)} offers are not in this instance ({shown}):"
                      f" the plan of {getattr(res, 'instance', 'another instance')!r} checked against"
                      f" {instance.name!r}?"))
        return {"objective": float("nan"), "units": {}, "cost": {}}

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

    allowed_of = {oid: _eligible(instance, offers[oid]) for oid in n if oid in offers}
    # an offer blocked in every period is refused once (respect_window); its units count as
    # delivered below, so the report leads with that root cause instead of its knock-on effects
    served = {oid: allowed if any(allowed(t) for t in range(1, T + 1)) else (lambda t: True)
              for oid, (allowed, _why) in allowed_of.items()}
    for oid, by_t in n.items():
        offer = offers[oid]
        used = {t: u for t, u in by_t.items() if u != 0}
        if not used:
            continue
        allowed, why = allowed_of[oid]
        slots = window(instance, offer, allowed)
        total = sum(used.values())
        if not any(allowed(t) for t in range(1, T + 1)):
            bad(Violation("respect_window", f"offers.{oid}", total, f"offer used but {why}"))
        elif not slots:
            bad(Violation("respect_window", f"offers.{oid}", total,
                          "offer is excluded (cannot arrive within the horizon) but used"))
        for t, u in sorted(used.items()):
            if slots and t not in slots:
                bad(Violation("respect_window", f"offers.{oid} period {t}", u,
                              f"placed in period {t}, outside its window W = {_ranges(slots)}"
                              + (f" ({why} then)" if not allowed(t) else "")))
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
        arrives = r.period + lead(offer, r.period)
        delivered = served[r.offer](arrives)
        unit_price = factor(offer, r.period) * price_per_unit(instance, offer, n[r.offer][r.period])
        _row_arith(bad, place, offer, r.chip, tol, [
            ("arrives", r.arrives, arrives),
            ("gpus", r.gpus, r.units * offer.gpus_per_unit),
            ("unit_price", r.unit_price, unit_price),
            ("cost", r.cost, r.units * r.unit_price),
            ("delivered", float(r.delivered), float(delivered)),
            ("refund", r.refund, 0.0 if delivered else offer.cancel_refund * r.units * unit_price),
        ])
    for i, r in enumerate(res.leases):
        offer = offers.get(r.offer)
        if offer is None or offer.kind != "lease":
            continue
        place = f"leases[{i}] ({r.offer} start {r.start})"
        first = r.start + lead(offer, r.start)
        void = [t for t in range(first, first + offer.term) if not served[r.offer](t)]
        _row_arith(bad, place, offer, r.chip, tol, [
            ("first_period", r.first_period, first),
            ("last_period", r.last_period, first + offer.term - 1),
            ("gpus", r.gpus, r.units * offer.gpus_per_unit),
            ("unit_price", r.unit_price, factor(offer, r.start) * price_per_unit(instance, offer, n[r.offer][r.start])),
            ("cost", r.cost, r.units * r.unit_price * (offer.term - len(void))),
        ])
        if list(r.void_periods) != void:
            bad(Violation("order_arithmetic", f"{place} void_periods", len(void),
                          f"void_periods is {list(r.void_periods)}, should be {void}"))

    # ---- availability and capacity (section 3); only known offers of the right kind count
    plan = {oid: by_t for oid, by_t in n.items() if oid in offers}
    avail: dict[str, dict[int, float]] = {}  # own + lse per offer and period 1..T
    own: dict[str, dict[int, float]] = {}
    for oid, by_t in plan.items():
        offer = offers[oid]
        allowed = served[oid]
        if offer.kind == "buy":  # only delivered orders: the regime at arrival decides
            own[oid] = {t: sum(u for s, u in by_t.items() if s + lead(offer, s) <= t and allowed(s + lead(offer, s)))
                        for t in range(1, T + 1)}
            avail[oid] = own[oid]
        else:  # a blocked lease period is void
            avail[oid] = {
                t: sum(u for s, u in by_t.items() if s + lead(offer, s) <= t <= s + lead(offer, s) + offer.term - 1)
                if allowed(t) else 0
                for t in range(1, T + 1)
            }
    cap = {
        m: {t: sum(perf(instance, offers[oid], m) * a[t] for oid, a in avail.items()) for t in range(1, T + 1)}
        for m in METRICS
    }

    # 1. capacity requirements (a shortfall_price allows the gap, at that price: section 7)
    shortfall: dict[tuple[str, int], float] = {}
    penalty = 0.0
    r_ = instance.horizon.discount_rate
    for i, req in enumerate(instance.requirements):
        name = f"requirements[{i}]" + (f" ({req.id})" if req.id else "")
        if req.schedule is not None:
            for t in range(1, T + 1):
                need = schedule_value(req.schedule, t)
                if need is None:
                    continue
                if req.shortfall_price is not None:
                    if need > cap[req.metric][t]:
                        shortfall[req.id or f"requirements[{i}]", t] = need - cap[req.metric][t]
                        penalty += (1 + r_) ** -(t - 1) * req.shortfall_price * (need - cap[req.metric][t])
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
    refunds: dict[int, float] = defaultdict(float)
    lease_bills: dict[int, float] = defaultdict(float)
    power: dict[int, float] = defaultdict(float)
    capex = lease = fixed = residual = refunded = 0.0
    for oid, by_t in plan.items():
        offer = offers[oid]
        allowed = served[oid]
        if any(u > 0 for u in by_t.values()):
            fixed += offer.fixed_cost * fx_rate(instance, offer)
        for s, u in by_t.items():
            if u <= 0:
                continue
            price = factor(offer, s) * price_per_unit(instance, offer, u) * u
            first = s + lead(offer, s)
            if offer.kind == "buy":
                purchases[s] += price
                capex += price
                if allowed(first):
                    residual += offer.residual_value * price
                else:  # cancelled at arrival, paid back there
                    refunds[first] += offer.cancel_refund * price
                    refunded += offer.cancel_refund * price
            else:
                for t in range(first, first + offer.term):  # also past T: a contract is a commitment
                    if allowed(t):  # a void period bills nothing
                        lease_bills[t] += price
                        lease += price
        if offer.kind == "buy":
            for t in range(1, T + 1):
                power[t] += own[oid][t] * power_kw(instance, offer) * pue * hours * energy
    periods = sorted(set(purchases) | set(lease_bills) | set(power) | set(range(1, T + 1)))
    cash = {t: purchases[t] - refunds[t] + lease_bills[t] + power[t] for t in periods}
    r = instance.horizon.discount_rate
    df = lambda t: (1 + r) ** -(t - 1)  # noqa: E731
    discounted = sum(df(t) * c for t, c in cash.items()) + fixed - df(T + 1) * residual + penalty
    power_total = sum(power.values())
    total_cash = capex - refunded + lease + power_total + fixed

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
        "capex": capex, "refunds": refunded, "lease": lease, "power": power_total, "fixed": fixed,
        "residual_credit": residual, "shortfall": penalty, "total_cash": total_cash, "discounted": discounted,
    }
    recomputed = {
        "objective_sense": sense,
        "objective": objective,
        "cost": costs,
        "cash": {t: cash[t] for t in periods if cash[t] or t <= T},
        "capacity": {m: cap[m] for m in METRICS},
        "shortfall": {f"{name} period {t}": u for (name, t), u in shortfall.items()},
        "units": {(oid, t): u for oid, by_t in plan.items() for t, u in by_t.items() if u},
    }

    # ---- what the result reports, against the recomputation
    if getattr(res, "objective_sense", sense) != sense:
        bad(Violation("objective_mismatch", "objective_sense", 0,
                      f"result says {res.objective_sense}, instance says {sense}"))
    if res.objective is None or not _close(res.objective, objective, tol):
        reported = "none" if res.objective is None else _fmt(res.objective)
        size = abs(objective - res.objective) if res.objective is not None else abs(objective)
        bad(Violation("objective_mismatch", "objective", size,
                      f"reported {reported}, recomputed {_fmt(objective)}"))
    reported_short = {(row.requirement, row.period): row.amount for row in res.shortfall}
    for key in set(reported_short) | set(shortfall):
        got, want = reported_short.get(key, 0.0), shortfall.get(key, 0.0)
        if not _close(got, want, tol):
            bad(Violation("report_mismatch", f"shortfall {key[0]} period {key[1]}", abs(got - want),
                          f"reported {_fmt(got)}, recomputed {_fmt(want)}"))
    if res.cost is None:
        bad(Violation("cost_mismatch", "cost", 0, "a plan without its cost"))
    else:
        for name in COST_FIELDS:
            got = getattr(res.cost, name)
            if not _close(got, costs[name], tol):
                bad(Violation("cost_mismatch", f"cost.{name}", abs(got - costs[name]),
                              f"reported {_fmt(got)}, recomputed {_fmt(costs[name])}"))
    _check_tables(bad, instance, res, cap, cash, purchases, lease_bills, power, tol, refunds)
    return recomputed


def _ranges(periods: list[int]) -> str:
    if periods == list(range(periods[0], periods[-1] + 1)):
        return f"[{periods[0]}, {periods[-1]}]"
    return "{" + ", ".join(map(str, periods)) + "}"


# --------------------------------------------------------------------------- scenarios (section 8)


def risk_of(costs: list[float], probabilities: list[float], measure: str, alpha: float, weight: float) -> float:
    """Section 8's objective of the scenarios' costs. CVaR_a = min over eta of eta + sum p
    max(0, C - eta) / (1 - a): convex and piecewise linear in eta with kinks at the costs, so its
    minimum lies at one of them."""
    expected = sum(p * c for p, c in zip(probabilities, costs))
    if measure == "worst":
        return max(costs)
    if measure == "cvar":
        cvar = min(eta + sum(p * max(0.0, c - eta) for p, c in zip(probabilities, costs)) / (1 - alpha)
                   for eta in costs)
        return (1 - weight) * expected + weight * cvar
    return expected


def _check_scenarios(instance: Instance, res: Result, report: CheckReport, tol: float) -> None:
    """Each scenario's plan against its own rules, acting alike until known, the objective."""
    from models.scenarios import scenario_instances

    bad = report.violations.append
    scenarios = scenario_instances(instance)
    by_name = {s.name: s for s in res.scenarios}
    if [s.name for s in scenarios] != [s.name for s in res.scenarios]:
        bad(Violation("report_mismatch", "scenarios", 0,
                      f"result lists scenarios {list(by_name)}, instance has {[s.name for s in scenarios]}"))
        return
    units, costs, lines = {}, [], []
    for sc in scenarios:
        part = by_name[sc.name]

        def placed(v: Violation, name=sc.name) -> None:
            bad(Violation(v.rule, f"scenarios.{name} {v.place}", v.size, v.message))

        got = _check_one(sc.instance, part, placed, tol)
        units[sc.name] = got["units"]
        costs.append(got["objective"])
        lines.append(got["cost"])
        for field_, want in (("probability", sc.probability), ("known", sc.known)):
            have = getattr(part, field_)
            if not _close(float(have), float(want), tol):
                bad(Violation("report_mismatch", f"scenarios.{sc.name}.{field_}", abs(float(have) - float(want)),
                              f"reported {_fmt(have)}, recomputed {_fmt(want)}"))
    # non-anticipativity: n_s[o,t] = n_s'[o,t] for t < min(known_s, known_s')
    for i, a in enumerate(scenarios):
        for b in scenarios[i + 1:]:
            until = min(a.known, b.known)
            keys = {k for k in (*units[a.name], *units[b.name]) if k[1] < until}
            for key in sorted(keys, key=lambda k: (k[1], k[0])):
                ua, ub = units[a.name].get(key, 0), units[b.name].get(key, 0)
                if ua != ub:
                    bad(Violation("decide_alike_until_known", f"offers.{key[0]} period {key[1]}", abs(ua - ub),
                                  f"{a.name} places {ua}, {b.name} places {ub}, but they are told apart only"
                                  f" from period {until}"))
    p = [s.probability for s in scenarios]
    risk = instance.risk
    objective = risk_of(costs, p, risk.measure, risk.alpha, risk.weight)
    expected = sum(q * c for q, c in zip(p, costs))
    for name, have, want in (("objective", res.objective, objective), ("expected_cost", res.expected_cost, expected)):
        if have is None or not _close(have, want, tol):
            bad(Violation("objective_mismatch", name, abs(want - (have or 0.0)),
                          f"reported {'none' if have is None else _fmt(have)}, recomputed {_fmt(want)}"))
    # the top-level cost lines: the probability-weighted expectation of the scenarios' own
    if res.cost is not None and all(lines):
        for name in COST_FIELDS:
            want = sum(q * line[name] for q, line in zip(p, lines))
            got = getattr(res.cost, name)
            if not _close(got, want, tol):
                bad(Violation("cost_mismatch", f"cost.{name}", abs(got - want),
                              f"reported {_fmt(got)}, the scenarios' expectation is {_fmt(want)}"))
    # the decisions to place now: common to every scenario, before the earliest known
    now = min(s.known for s in scenarios)
    first = scenarios[0].name
    want_now = {k: u for k, u in units[first].items() if k[1] < now}
    have_now: dict[tuple[str, int], int] = defaultdict(int)
    for row in res.orders:
        have_now[row.offer, row.period] += row.units
    for row in res.leases:
        have_now[row.offer, row.start] += row.units
    if dict(have_now) != want_now:
        bad(Violation("report_mismatch", "orders/leases", 0,
                      f"the top-level decisions {sorted(have_now.items())} are not the common decisions before"
                      f" period {now}: {sorted(want_now.items())}"))
    report.recomputed = {"objective": objective, "expected_cost": expected,
                         "scenarios": {s.name: c for s, c in zip(scenarios, costs)}}


def _row_arith(bad, place, offer, chip, tol, checks) -> None:
    if chip != offer.chip:
        bad(Violation("order_arithmetic", f"{place} chip", 0, f"chip {chip!r}, offer's chip is {offer.chip!r}"))
    for name, got, want in checks:
        if not _close(got, want, tol):
            bad(Violation("order_arithmetic", f"{place} {name}", abs(got - want),
                          f"{name} is {_fmt(got)}, should be {_fmt(want)}"))


def _check_tables(bad, instance, res, cap, cash, purchases, lease_bills, power, tol, refunds=None) -> None:
    """The result's tables, where present, must say what the plan does."""
    T = instance.T
    refunds = refunds or {}
    if getattr(res, "currency", instance.currency) != instance.currency:
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
                                ("refunds", row.refunds, refunds.get(t, 0.0)),
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
