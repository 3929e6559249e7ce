"""Why an instance has no plan, in the user's words, and what it would take to get one.

Three layers, cheapest first (docs/explain.md):

1. Causes found from the data alone: a requirement on a metric that no eligible offer provides,
   or in periods where no eligible offer providing it can be in service yet (lead times, order
   windows, lease terms), with the offers that would provide it and why they are out (export
   controls, no window).
2. The elastic model: the normal model, with a priced slack on every requirement, work target,
   budget, site-power cap, supply cap (`max_total`, `max_per_period`) and policy share. Each slack
   is priced per unit of the limit it relaxes, so the solver picks the smallest relaxation *in
   proportion to the size of each limit* (a 10 % raise of the budget weighs like a 10 % raise of
   a power cap); limits smaller than one unit's worth (one unit's price, contribution or power
   draw) count as that much, so a zero cap can still be priced. It is solved twice on one built
   model: once keeping every requirement and relaxing the limits ("raise the total budget by
   ..."), once keeping every limit and lowering the requirements ("or lower requirement train
   ..."). Rows already explained by layer 1 are set aside, so the relaxation covers what is left.
3. An irreducible infeasible subset (IIS) of the LP relaxation from HiGHS (`getIis`), listed by
   business names. When the LP relaxation is feasible the conflict needs whole units or minimum
   orders, and no IIS exists to show; a note says so.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass

from models.instance import Instance
from models.result import Diagnosis
from optimizer.planning.prepare import Prepared, PreparedOffer, order_bounds, prepare, unit_performance

METRIC_LABEL = {
    "bf16_tflops": "BF16", "fp32_tflops": "FP32", "fp64_tflops": "FP64", "memory_gb": "memory", "gpus": "GPUs",
}
METRIC_UNIT = {"bf16_tflops": "TFLOPS", "fp32_tflops": "TFLOPS", "fp64_tflops": "TFLOPS",
               "memory_gb": "GB", "gpus": "GPUs"}
SLACK_TOL = 1e-6  # scaled units: below this a slack is solver noise (HiGHS feasibility tol is 1e-7)


# --------------------------------------------------------------------------- wording


def fmt_money(x: float, currency: str) -> str:
    """41200000 CNY -> '41.2 M CNY'."""
    a = abs(x)
    for limit, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= limit:
            return f"{x / limit:.4g}{suffix} {currency}"
    return f"{x:.4g} {currency}"


def fmt_metric(x: float, metric: str) -> str:
    """1500 TFLOPS -> '1.5 PFLOPS'; 2048 GB -> '2.048 TB'."""
    unit = METRIC_UNIT.get(metric, metric)
    if unit == "TFLOPS" and abs(x) >= 1000:
        x, unit = x / 1000, "PFLOPS"
    elif unit == "GB" and abs(x) >= 1000:
        x, unit = x / 1000, "TB"
    return f"{fmt_num(x, 4)} {unit}"


def fmt_num(x: float, digits: int = 6) -> str:
    """Plain digits, never scientific notation: 197400 -> '197,400', 0.01234 -> '0.01234'."""
    if abs(x) >= 10 ** digits or (abs(x) >= 1000 and float(x).is_integer()):
        return f"{x:,.0f}"
    text = f"{x:.{digits}g}"
    if "e" in text:  # tiny values: fixed notation with enough decimals, if any shows
        fixed = f"{x:.{digits + 2}f}".rstrip("0").rstrip(".")
        return fixed if fixed not in ("0", "-0") else text
    return f"{float(text):,}" if abs(x) >= 1000 else text


def period_ranges(periods) -> str:
    """[1, 2, 3, 5] -> '1-3, 5'."""
    periods = sorted(set(periods))
    out, start = [], None
    for k, t in enumerate(periods):
        if start is None:
            start = t
        if k + 1 == len(periods) or periods[k + 1] != t + 1:
            out.append(str(start) if start == t else f"{start}-{t}")
            start = None
    return ", ".join(out)


def plural_periods(periods) -> str:
    periods = sorted(set(periods))
    return f"period {periods[0]}" if len(periods) == 1 else f"periods {period_ranges(periods)}"


def runs(values: dict[int, float], rel: float = 1e-6) -> list[tuple[list[int], float]]:
    """Consecutive periods sharing one value: {1: 5, 2: 5, 4: 5} -> [([1, 2], 5), ([4], 5)]."""
    out: list[tuple[list[int], float]] = []
    for t in sorted(values):
        v = values[t]
        if out and out[-1][0][-1] == t - 1 and abs(out[-1][1] - v) <= rel * max(1.0, abs(v)):
            out[-1][0].append(t)
        else:
            out.append(([t], v))
    return out


def power_scale(p: Prepared) -> float:
    """The kW one scaled unit of a site-power row stands for (build.parameter_values)."""
    return max([o.power_kw * p.pue for o in p.offers if o.is_buy and o.power_kw > 0], default=1.0)


def row_subject(p: Prepared, family: str, index) -> tuple[str, int | None]:
    """A model row or bound by its business name, and its period if it has one."""
    idx = index if isinstance(index, tuple) else (index,)
    if family == "meet_capacity":
        req = p.capacity_requirements[idx[0]]
        return f"requirement {req.name} ({METRIC_LABEL[req.metric]} capacity)", idx[1]
    if family == "meet_work":
        req = p.work_requirements[idx[0]]
        return (f"requirement {req.name} ({req.work_flop:.3g} FLOP of {METRIC_LABEL[req.metric]} work"
                f" in periods {req.first}-{req.last})"), None
    if family == "respect_supply_caps":
        return f"offers.{idx[0]}.max_total ({p.offer(idx[0]).max_total} units)", None
    if family == "units_upper_bound":
        return f"offers.{idx[0]}.max_per_period ({p.offer(idx[0]).max_per_period} units)", idx[1]
    if family == "respect_site_power":
        return "site.power_kw", idx[0]
    if family == "respect_policies":
        pol = p.policies[idx[0]]
        share = pol.min_share if idx[1] == "min" else pol.max_share
        return f"policy {pol.name} ({idx[1]}_share {share:.4g})", idx[2]
    if family == "respect_budget_per_period":
        return "budget.per_period", idx[0]
    if family == "respect_budget_total":
        return f"budget.total ({fmt_money(p.budget_total or 0.0, p.currency)})", None
    if family in ("respect_min_order_low", "respect_min_order_high"):
        return f"offers.{idx[0]}.min_order ({p.offer(idx[0]).min_order} units)", idx[1]
    if family.startswith("price_orders"):
        return f"offers.{idx[0]}.price_breaks", idx[1]
    if family == "pay_fixed_costs":
        return f"offers.{idx[0]}.fixed_cost (paid once the offer is used)", idx[1]
    if family == "count_units_in_service":
        o = p.offer(idx[0])
        return (f"offers.{o.id}: units in service (lead time {o.lead_time}, orders in "
                f"{plural_periods(o.window)})"), idx[1]
    return f"{family}[{index}]", None


# --------------------------------------------------------------------------- layer 1: the data alone


def _providers_out(instance: Instance, p: Prepared, metric: str) -> list[str]:
    """Excluded offers that would provide `metric`, each with why it is out."""
    out = []
    offers = {o.id: o for o in instance.offers}
    for offer_id, _reason, rule in p.excluded:
        if unit_performance(instance, offers[offer_id]).get(metric, 0) <= 0:
            continue
        if rule:
            out.append(f"{offer_id} blocked by {rule}")
        else:
            out.append(f"{offer_id} cannot arrive within the horizon (lead time {offers[offer_id].lead_time})")
    return out


def _why_not_yet(o: PreparedOffer) -> str:
    void = f", void (blocked) in {plural_periods(sorted(o.void))}" if o.void else ""
    first_lead = o.lead.get(o.window[0], o.lead_time)
    if o.window[0] > 1:
        return f"{o.id} orderable from period {o.window[0]}, lead time {first_lead}{void}"
    if o.is_buy or first_lead:
        return f"lead time {first_lead} for {o.id}{void}"
    last = max(o.arrival(s) for s in o.window) + o.term - 1
    return f"{o.id} in service only in periods {o.arrival(o.window[0])}-{last}{void}"


def structural_causes(instance: Instance, p: Prepared) -> tuple[list[Diagnosis], set, set]:
    """Requirements no eligible offer can serve; and the capacity rows (i, t) and work rows i explained."""
    found, cap_rows, work_rows = [], set(), set()
    for i, req in enumerate(p.capacity_requirements):
        providers = [o for o in p.offers if req.metric in o.perf]
        dead = [t for t, v in sorted(req.required.items()) if v > 0 and not any(o.can_serve(t) for o in providers)]
        if not dead:
            continue
        cap_rows |= {(i, t) for t in dead}
        label = METRIC_LABEL[req.metric]
        details = _providers_out(instance, p, req.metric)
        if not providers:
            why = f"no eligible offer provides {label}"
            fix = f"add an offer with {label} that arrives by period {dead[0]}"
        else:
            earliest = min((min((t for t in range(1, p.T + 1) if o.can_serve(t)), default=p.T + 1)
                            for o in providers))
            details += [_why_not_yet(o) for o in providers]
            if max(dead) < earliest:
                why = f"nothing eligible with {label} arrives before period {earliest}"
                fix = f"start requirement {req.name} in period {earliest} or later, or add an offer with {label} that arrives by period {dead[0]}"
            else:
                why = f"nothing eligible with {label} is in service then"
                fix = f"extend an offer's order window or lease term to cover {plural_periods(dead)}"
        text = f"{req.metric} in {plural_periods(dead)} cannot be met: {why}"
        if details:
            text += f" ({', '.join(details)})"
        found.append(Diagnosis(
            kind="cause", constraint=f"requirement {req.name}", periods=dead,
            amount=max(req.required[t] for t in dead), unit=METRIC_UNIT[req.metric],
            action=f"{text}; {fix}",
        ))
    for i, req in enumerate(p.work_requirements):
        if req.work_flop <= 0:
            continue
        providers = [o for o in p.offers if req.metric in o.perf]
        window = range(req.first, req.last + 1)
        if any(o.can_serve(t) for o in providers for t in window):
            continue
        work_rows.add(i)
        label = METRIC_LABEL[req.metric]
        details = _providers_out(instance, p, req.metric) + [_why_not_yet(o) for o in providers]
        why = f"no eligible offer provides {label}" if not providers else \
            f"nothing eligible with {label} is in service in periods {req.first}-{req.last}"
        text = f"the work of requirement {req.name} ({req.work_flop:.3g} FLOP) cannot be done: {why}"
        if details:
            text += f" ({', '.join(details)})"
        found.append(Diagnosis(
            kind="cause", constraint=f"requirement {req.name}", periods=list(window),
            amount=req.work_flop, unit="FLOP", action=text,
        ))
    return found, cap_rows, work_rows


def policy_and_budget_causes(p: Prepared) -> list[Diagnosis]:
    """Causes readable from the data: a policy whose minimum share selects nothing that can serve
    when its metric is needed, and a total budget below the cheapest way to meet one period."""
    found = []
    needed = {}  # metric -> first period a capacity requirement asks for it
    for req in p.capacity_requirements:
        for t, v in sorted(req.required.items()):
            if v > 0 and req.shortfall_price is None:
                needed[req.metric] = min(needed.get(req.metric, t), t)
                break
    for pol in p.policies:
        if not pol.min_share or pol.metric not in needed:
            continue
        t = needed[pol.metric]
        selected = [p.offer(o) for o in pol.offers if pol.metric in p.offer(o).perf]
        if not selected:
            found.append(Diagnosis(
                kind="cause", constraint=f"policy {pol.name}", periods=[t],
                action=f"policy {pol.name} needs at least {pol.min_share:.0%} of {METRIC_LABEL[pol.metric]} from"
                       f" offers it selects, but it selects no eligible offer that provides {METRIC_LABEL[pol.metric]};"
                       " widen its `select` or lower its min_share"))
        elif not any(o.can_serve(t) for o in selected):
            found.append(Diagnosis(
                kind="cause", constraint=f"policy {pol.name}", periods=[t],
                action=f"policy {pol.name} needs at least {pol.min_share:.0%} of {METRIC_LABEL[pol.metric]} from period"
                       f" {t}, but nothing it selects can be in service then ({', '.join(_why_not_yet(o) for o in selected)})"))
    if p.budget_total is not None:
        for req in p.capacity_requirements:
            if req.shortfall_price is not None:
                continue
            for t, v in sorted(req.required.items()):
                if v <= 0:
                    continue
                cheapest = _cheapest_cover(p, req.metric, t, v)
                if cheapest is not None and cheapest > p.budget_total * (1 + 1e-9):
                    found.append(Diagnosis(
                        kind="cause", constraint=f"budget.total ({fmt_money(p.budget_total, p.currency)})",
                        periods=[t], amount=cheapest - p.budget_total, unit=p.currency,
                        action=f"budget.total {fmt_money(p.budget_total, p.currency)} is below the cheapest way to"
                               f" meet requirement {req.name} in period {t} alone ({fmt_money(cheapest, p.currency)}"
                               f" or more): raise it by at least {fmt_money(cheapest - p.budget_total, p.currency)}"))
                break
    return found


def _cheapest_cover(p: Prepared, metric: str, t: int, required: float) -> float | None:
    """A lower bound on the cash that meeting `required` of `metric` in period t takes: the
    cheapest price per unit of metric of any offer that can serve then (breaks and factors
    included, a lease billed at least once), times the requirement."""
    rates = []
    for o in p.offers:
        perf = o.perf.get(metric, 0.0)
        if perf <= 0 or not o.can_serve(t):
            continue
        lowest = min([o.unit_price] + [b for _, b in o.price_breaks])
        rates.append(lowest * min(o.factor.values(), default=1.0) / perf)  # each unit is paid at least once
    return min(rates) * required if rates else None


# --------------------------------------------------------------------------- layer 2: the elastic model


@dataclass
class Relaxable:
    """One priced slack: which rule, which index, and how to read it in the user's units."""

    family: str  # requirement | work | max_total | max_per_period | site_power | policy | budget_period | budget_total
    index: object
    to_user: float  # user units per scaled unit of slack
    weight: float  # price per scaled unit of slack: 1 / max(limit, one unit's worth), scaled
    limit: float  # the limit in user units (0 for policies)

    @property
    def keeps_requirements(self) -> bool:
        return self.family not in ("requirement", "work")


def _open_order_bounds(p: Prepared) -> Prepared:
    """A copy whose big-M order bounds ignore caps and budgets, which the elastic model relaxes."""
    q = copy.deepcopy(p)
    caps = {o.id: (o.max_per_period, o.max_total) for o in q.offers}
    budget_total, per_period = q.budget_total, q.budget_per_period
    for o in q.offers:
        o.max_per_period = o.max_total = None
    q.budget_total, q.budget_per_period = None, {}
    order_bounds(q)
    for o in q.offers:
        o.max_per_period, o.max_total = caps[o.id]
        o.order_bound = 2 * o.order_bound  # room for a relaxed plan: never binding in practice
    q.budget_total, q.budget_per_period = budget_total, per_period
    return q


def build_elastic(p: Prepared, set_aside_capacity: set, set_aside_work: set):
    """The normal model with a nonnegative slack on every requirement, limit and policy row.

    Returns (model, relaxables); `model.elastic_slack[k]` belongs to `relaxables[k]`. Rows set
    aside (explained from the data alone) are deactivated.
    """
    import pyomo.core as pyo

    from optimizer.planning.build import build_model

    q = _open_order_bounds(p)
    m = build_model(q)
    for obj in list(m.component_objects(pyo.Objective, active=True)):
        obj.deactivate()
    money, kw = q.money_scale, power_scale(q)
    rows: list[tuple[Relaxable, list]] = []

    def unit_worth(limit_scaled: float) -> float:
        return 1.0 / max(abs(limit_scaled), 1.0)

    for (i, t), con in m.meet_capacity.items():
        if (i, t) in set_aside_capacity:
            con.deactivate()
            continue
        req = q.capacity_requirements[i]
        scale = q.metric_scale[req.metric]
        rows.append((Relaxable("requirement", (i, t), scale, unit_worth(pyo.value(con.lower)), req.required[t]), [con]))
    for i, con in m.meet_work.items():
        if i in set_aside_work:
            con.deactivate()
            continue
        req = q.work_requirements[i]
        to_user = q.metric_scale[req.metric] * req.flop_per_capacity_period
        rows.append((Relaxable("work", i, to_user, unit_worth(pyo.value(con.lower)), req.work_flop), [con]))
    for o, con in m.respect_supply_caps.items():
        rows.append((Relaxable("max_total", o, 1.0, unit_worth(q.offer(o).max_total), q.offer(o).max_total), [con]))
    for o in q.offers:
        if o.max_per_period is not None:
            rows.append((Relaxable("max_per_period", o.id, 1.0, unit_worth(o.max_per_period), o.max_per_period),
                         [m.units[o.id, t] for t in o.window]))
    for t, con in m.respect_site_power.items():
        rows.append((Relaxable("site_power", t, kw, unit_worth(pyo.value(con.upper)), q.site_power_kw[t]), [con]))
    for (i, bound, t), con in m.respect_policies.items():
        pol = q.policies[i]
        scale = q.metric_scale[pol.metric]
        reqs = [v for r in q.capacity_requirements if r.metric == pol.metric for v in r.required.values()]
        ref = max(reqs, default=0.0) / scale
        rows.append((Relaxable("policy", (i, bound, t), scale, unit_worth(ref), 0.0), [con]))
    for t, con in m.respect_budget_per_period.items():
        rows.append((Relaxable("budget_period", t, money, unit_worth(pyo.value(con.upper)), q.budget_per_period[t]), [con]))
    if hasattr(m, "respect_budget_total"):
        con = m.respect_budget_total
        rows.append((Relaxable("budget_total", None, money, unit_worth(pyo.value(con.upper)), q.budget_total), [con]))

    relaxables = [r for r, _ in rows]
    m.ELASTIC = pyo.RangeSet(0, len(rows) - 1) if rows else pyo.Set(initialize=[])
    m.elastic_slack = pyo.Var(m.ELASTIC, domain=pyo.NonNegativeReals)
    m.elastic_rows = pyo.ConstraintList()
    for k, (r, items) in enumerate(rows):
        s = m.elastic_slack[k]
        if r.family == "max_per_period":
            for var in items:  # the cap is a bound of n[o,t]: make it a row with the slack
                var.setub(None)
                m.elastic_rows.add(var - s <= q.offer(r.index).max_per_period)
            continue
        con = items[0]
        con.deactivate()
        if con.has_lb():
            m.elastic_rows.add(con.body + s >= con.lower)
        if con.has_ub():
            m.elastic_rows.add(con.body - s <= con.upper)
    m.smallest_relaxation = pyo.Objective(
        expr=sum(r.weight * m.elastic_slack[k] for k, r in enumerate(relaxables)), sense=pyo.minimize
    )
    return m, relaxables, q


def solve_elastic(m, relaxables: list[Relaxable], keep_requirements: bool, options, time_limit):
    """Relax the limits (keep_requirements) or the requirements; return (status, amounts in user units)."""
    from optimizer.planning.highs import run_highs

    for k, r in enumerate(relaxables):
        if r.keeps_requirements == keep_requirements:
            m.elastic_slack[k].unfix()
        else:
            m.elastic_slack[k].fix(0)
    outcome = run_highs(m, options, time_limit)
    if not outcome.has_plan:
        return outcome.status, {}
    amounts = {}
    for k, r in enumerate(relaxables):
        v = m.elastic_slack[k].value or 0.0
        if v > SLACK_TOL * max(1.0, 1.0 / r.weight):
            amounts[k] = float(f"{v * r.to_user:.9g}")  # 2.9999999999999987 -> 3.0: solver noise off
    return outcome.status, amounts


def _whole(x: float) -> int:
    """A slack on whole units, read back from the solver: 2.9999999 -> 3."""
    return int(math.ceil(x - 1e-6))


def relaxation_actions(p: Prepared, m, relaxables: list[Relaxable], amounts: dict[int, float]) -> list[Diagnosis]:
    """Slacks of the elastic solution as actions in the user's words."""
    cur = p.currency
    groups: dict[tuple, dict[int, float]] = {}
    out: list[Diagnosis] = []
    for k, amount in amounts.items():
        r = relaxables[k]
        if r.family == "budget_total":
            out.append(Diagnosis(
                kind="relax", constraint="budget.total", amount=amount, unit=cur,
                action=f"raise the total budget by {fmt_money(amount, cur)} "
                       f"(budget.total {fmt_money(r.limit, cur)} -> {fmt_money(r.limit + amount, cur)})",
            ))
        elif r.family == "max_total":
            n = _whole(amount)
            out.append(Diagnosis(
                kind="relax", constraint=f"offers.{r.index}.max_total", amount=n, unit="units",
                action=f"allow {n} more unit{'s' if n != 1 else ''} of {r.index} in total (max_total {r.limit} -> {r.limit + n})",
            ))
        elif r.family == "max_per_period":
            n = _whole(amount)
            out.append(Diagnosis(
                kind="relax", constraint=f"offers.{r.index}.max_per_period", amount=n, unit="units",
                action=f"allow {n} more unit{'s' if n != 1 else ''} of {r.index} per period (max_per_period {r.limit} -> {r.limit + n})",
            ))
        elif r.family == "work":
            req = p.work_requirements[r.index]
            amount = min(amount, req.work_flop)  # the slack may exceed the work; it cannot go below 0
            out.append(Diagnosis(
                kind="lower", constraint=f"requirement {req.name}", periods=list(range(req.first, req.last + 1)),
                amount=amount, unit="FLOP",
                action=f"lower the work of requirement {req.name} by {amount:.4g} FLOP "
                       f"({100 * amount / req.work_flop:.3g} %, to {req.work_flop - amount:.4g} FLOP)",
            ))
        else:
            key = (r.family,) + ((r.index[0], r.index[1]) if r.family == "policy" else
                                 (r.index[0],) if r.family == "requirement" else ())
            period = r.index[-1] if isinstance(r.index, tuple) else r.index
            groups.setdefault(key, {})[period] = amount
    for key, by_period in groups.items():
        family = key[0]
        if family == "policy":
            out += _policy_actions(p, m, key[1], key[2], by_period)
            continue
        for periods, amount in runs(by_period):
            when = plural_periods(periods)
            if family == "budget_period":
                out.append(Diagnosis(
                    kind="relax", constraint="budget.per_period", periods=periods, amount=amount, unit=cur,
                    action=f"raise the budget of {when} by {fmt_money(amount, cur)}"
                           + (" each" if len(periods) > 1 else "") + " (budget.per_period)",
                ))
            elif family == "site_power":
                out.append(Diagnosis(
                    kind="relax", constraint="site.power_kw", periods=periods, amount=amount, unit="kW",
                    action=f"raise site power in {when} by {fmt_num(amount)} kW (site.power_kw)",
                ))
            elif family == "requirement":
                req = p.capacity_requirements[key[1]]
                olds = {req.required[t] for t in periods}
                to = f", to {fmt_metric(olds.pop() - amount, req.metric)}" if len(olds) == 1 else ""
                out.append(Diagnosis(
                    kind="lower", constraint=f"requirement {req.name}", periods=periods, amount=amount,
                    unit=METRIC_UNIT[req.metric],
                    action=f"lower requirement {req.name} ({METRIC_LABEL[req.metric]}) in {when} by "
                           f"{fmt_metric(amount, req.metric)}{to}",
                ))
    return out


def _policy_actions(p: Prepared, m, i: int, bound: str, by_period: dict[int, float]) -> list[Diagnosis]:
    """Policy slacks as the share the relaxed plan reaches, so the action names a new share."""
    pol = p.policies[i]
    selected = set(pol.offers)
    shares = {}
    for t in by_period:
        total = sum(o.perf[pol.metric] * (m.in_service[o.id, t].value or 0.0) for o in p.offers if pol.metric in o.perf)
        chosen = sum(o.perf[pol.metric] * (m.in_service[o.id, t].value or 0.0)
                     for o in p.offers if pol.metric in o.perf and o.id in selected)
        shares[t] = chosen / total if total > 0 else 0.0
    out = []
    old = pol.min_share if bound == "min" else pol.max_share
    # a new share per run of periods; the loosest one of the run is what the policy must allow
    for periods, _ in runs({t: round(s, 4) for t, s in shares.items()}):
        share = min(shares[t] for t in periods) if bound == "min" else max(shares[t] for t in periods)
        short = max(by_period[t] for t in periods)
        verb, miss = ("lower", "fall short of it") if bound == "min" else ("raise", "exceed it")
        out.append(Diagnosis(
            kind="relax", constraint=f"policy {pol.name}", periods=periods, amount=100 * abs(old - share),
            unit="percentage points",
            action=f"{verb} {bound}_share of policy {pol.name} from {100 * old:.4g} % to {100 * share:.4g} % in "
                   f"{plural_periods(periods)} (the selected offers {miss} by up to {fmt_metric(short, pol.metric)})",
        ))
    return out


# --------------------------------------------------------------------------- layer 3: IIS


def lp_iis(p: Prepared, time_limit: float | None, threads: int = 1) -> list[Diagnosis]:
    """An irreducible infeasible subset of the LP relaxation, by business names.

    The solver work (LP relaxation, IIS) is `highs.lp_iis`; here its rows and bounds get
    business names. The Pyomo model is not touched.
    """
    from optimizer.planning.build import build_model
    from optimizer.planning.highs import lp_iis as solver_iis

    answer = solver_iis(build_model(p), time_limit, threads)
    if answer.status == "optimal":
        return [Diagnosis(kind="note", action=(
            "the LP relaxation (fractional units) has a plan: the conflict needs whole units, minimum "
            "orders or price breaks, so no irreducible subset of rules can be shown"))]
    if answer.status == "no_iis":
        return [Diagnosis(kind="note", action="HiGHS could not compute an irreducible infeasible subset in time")]
    if answer.status != "infeasible":
        return [Diagnosis(kind="note", action=f"no irreducible subset: the LP relaxation stopped ({answer.status})")]

    grouped: dict[str, list[int]] = {}

    def note(family: str, index) -> None:
        subject, period = row_subject(p, family, index)
        grouped.setdefault(subject, [])
        if period is not None:
            grouped[subject].append(period)

    for con in answer.rows:
        note(con.parent_component().name, con.index())
    for var in answer.upper_bounds:
        # only an upper bound of n[o,t] is a business rule (max_per_period); lower bounds are 0
        if var.parent_component().name == "units" and p.offer(var.index()[0]).max_per_period is not None:
            note("units_upper_bound", var.index())
    out = [Diagnosis(kind="conflict", constraint=subject, periods=sorted(set(periods)),
                     action=subject + (f" in {plural_periods(periods)}" if periods else ""))
           for subject, periods in grouped.items()]
    if out:
        out.insert(0, Diagnosis(kind="note", action=(
            "these rules conflict even with fractional units, and dropping any one of them removes the conflict")))
    return out


# --------------------------------------------------------------------------- all together


def diagnose_scenarios(instance: Instance, options, time_limit: float | None) -> list[Diagnosis]:
    """MODEL.md section 8: which scenario has no plan and why (each diagnosed alone); when every
    scenario has a plan alone, acting alike until they are told apart is what fails."""
    from models.scenarios import scenario_instances
    from optimizer.planning.solve import solve_instance

    started = time.perf_counter()
    found: list[Diagnosis] = []
    scenarios = scenario_instances(instance)
    for s in scenarios:
        left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - started))
        alone = solve_instance(s.instance, dataclasses.replace(options, time_limit=left))
        if alone.status != "infeasible":
            continue
        found.append(Diagnosis(kind="cause", constraint=f"scenarios.{s.name}",
                               action=f"scenario {s.name} has no plan even on its own:"))
        for d in diagnose(s.instance, options, None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - started))):
            found.append(d.model_copy(update={"action": f"{s.name}: {d.action}"}))
    if not found:
        now = min(s.known for s in scenarios)
        found.append(Diagnosis(kind="cause", constraint="decide_alike_until_known", periods=list(range(1, now)),
                               action=("every scenario has a plan on its own, but no single set of orders and leases"
                                       f" before period {now} (when the first scenario is told apart) fits them all:"
                                       " move a `known` earlier, or relax the scenario that needs the most early capacity")))
    return found


QUICK_SECONDS = 2.0  # the relaxation `plan solve` looks for on its own


def diagnose(instance: Instance, options=None, time_limit: float | None = None,
             depth: str = "full") -> list[Diagnosis]:
    """Why `instance` has no plan, and the smallest relaxations that give one (module docstring).

    depth "quick" (what `plan solve` runs): the causes found from the data, then one relaxation
    of the limits searched for at most QUICK_SECONDS; "full" (`plan explain`, `plan solve
    --diagnose full`): both relaxations and the irreducible infeasible subset, within `time_limit`.
    """
    from optimizer.planning.solve import SolveOptions

    options = options or SolveOptions()
    if instance.scenarios:
        return diagnose_scenarios(instance, options, time_limit)
    if depth == "quick":
        time_limit = QUICK_SECONDS if time_limit is None else min(time_limit, QUICK_SECONDS)
    started = time.perf_counter()

    def remaining(share: float) -> float | None:
        if time_limit is None:
            return None
        return max(0.0, (time_limit - (time.perf_counter() - started)) * share)

    p = prepare(instance)
    found, cap_rows, work_rows = structural_causes(instance, p)
    found += policy_and_budget_causes(p)
    if time_limit is not None and time_limit <= 0:
        return found + [Diagnosis(kind="note", action="no time was left for the elastic model")]
    m, relaxables, q = build_elastic(p, cap_rows, work_rows)
    status, amounts = solve_elastic(m, relaxables, True, options, remaining(1.0 if depth == "quick" else 0.4))
    if status not in ("optimal", "feasible"):
        why = (f"the time budget ({time_limit:g} s) ran out" if status == "time_limit" and time_limit is not None
               else f"it ended {status}")
        found.append(Diagnosis(kind="note", action=f"no relaxation of the limits was found: {why}"))
    elif amounts:
        smallest = "the smallest relaxation" if status == "optimal" else (
            f"a relaxation found within the time budget ({time_limit:g} s; not proven the smallest)")
        found.append(Diagnosis(kind="note", action=(
            f"keeping every requirement, {smallest} of the limits (each in proportion to its size)"
            + (" that gives a plan once the causes above are set aside:" if cap_rows or work_rows else
               " that gives a plan:"))))
        found += relaxation_actions(q, m, relaxables, amounts)
    elif cap_rows or work_rows:
        found.append(Diagnosis(kind="note", action="once the causes above are set aside, every other rule can be met"))
        return found
    else:  # the elastic model needs no relaxation: the normal solve stopped on something else
        found.append(Diagnosis(kind="note", action=(
            "the elastic model finds a plan without relaxing any rule; solve again with a longer --time-limit")))
        return found
    if depth == "quick":
        found.append(Diagnosis(kind="note", action=(
            "more (lowered requirements, the conflicting rules): plan explain, or plan solve --diagnose full")))
        return found
    if amounts or status not in ("optimal", "feasible"):
        status2, amounts2 = solve_elastic(m, relaxables, False, options, remaining(0.6))
        if status2 in ("optimal", "feasible") and amounts2:
            found.append(Diagnosis(kind="note", action="or, keeping every limit, the requirements would have to come down:"))
            found += relaxation_actions(q, m, relaxables, amounts2)
    if not cap_rows and not work_rows:
        try:
            found += lp_iis(p, remaining(1.0), options.threads)
        except Exception as exc:  # noqa: BLE001 - IIS is an extra; its failure must not hide the rest
            found.append(Diagnosis(kind="note", action=f"no irreducible subset: HiGHS IIS failed ({type(exc).__name__})"))
    return found


def add_diagnosis(instance: Instance, result, options, depth: str = "quick") -> None:
    """`plan solve` without a plan: why, and what it would take, in `result.diagnosis`, within
    what is left of the solve's time limit (depth none: nothing)."""
    if result.status != "infeasible" or depth == "none":
        return
    left = None if options.time_limit is None else max(0.0, options.time_limit - (result.solver.wall_time_s or 0.0))
    result.diagnosis = diagnose(instance, dataclasses.replace(options, time_limit=None, progress=None), left, depth=depth)
