"""Why this plan: the rules that bind it, what one more unit of each is worth, and the prices
at which it would change (`plan explain`, docs/explain.md).

- Binding rules are read from the integer plan itself, in the user's units: a requirement met
  exactly, a budget spent to the last unit of money, a power cap, a supply cap, a policy share.
- Marginal values come from the *pricing LP*: the model with every on/off decision of the plan
  fixed (an offer used or not, a minimum order placed or not, the price segment of each order)
  and the unit counts continuous. Fixing the unit counts as well leaves nothing to move, and
  every dual is then zero or arbitrary (the LP is a single point); keeping them continuous
  gives the rate at which the cost grows when a requirement grows, buying fractions of units
  of the offers the plan already uses: the figure an analyst compares with a quote. Whole units
  make the true cost a staircase around that rate; the plan's spare capacity (from `binding`)
  says how far the first step is.
- Break-even prices: for each eligible offer, the unit price at which the plan would change,
  found by re-solving one built model with that offer's price Params (`price[o, k]`) moved.
  The plan "stays" at a price when it still fits the budgets there and no plan is cheaper by
  more than the MIP gap, so ties between equally cheap plans do not count as a change. For
  min_cost the search crosses cost lines and lands on the exact tie (`_crossing_search`); for
  max_capacity, whose order is lexicographic, it bisects on the price. Every plan a solve returns
  is kept: a later search starts at the crossing of the kept plan that wins closest to today's
  price, instead of at price 0 (or 65536x), which skips the plans in between (67 -> 48 solves on
  cn-2023-h1, 81 -> 49 on a generated 10-offer x 12-period instance; same break-evens).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.instance import Instance
from models.result import Diagnosis, Result
from optimizer.analysis.diagnose import (
    METRIC_LABEL,
    METRIC_UNIT,
    diagnose,
    fmt_metric,
    fmt_money,
    fmt_num,
    plural_periods,
    power_scale,
    runs,
)
from optimizer.planning.prepare import Prepared, order_bounds, prepare

BINDING_TOL = 1e-6  # relative: a rule whose slack is below this share of its limit binds
DUAL_TOL = 1e-9  # scaled: smaller duals are solver noise
MAX_FACTOR = 2.0 ** 16  # break-even search upwards stops at this multiple of the price


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Binding(Out):
    kind: Literal["requirement", "work", "budget_total", "budget_period", "site_power", "max_total",
                  "max_per_period", "policy"]
    constraint: str = Field(description="The rule by its business name.")
    periods: list[int] = Field(default_factory=list)
    limit: float | None = Field(default=None, description="The limit in `unit` (requirement, cap or share).")
    unit: str
    text: str


class MarginalValue(Out):
    kind: str
    constraint: str
    periods: list[int] = Field(default_factory=list)
    step: float = Field(description="Size of the step priced, in `step_unit` (e.g. 1000 TFLOPS = 1 PFLOPS).")
    step_unit: str
    value: float = Field(description="Change of the objective per step: cost in the currency (min_cost), "
                                     "capacity in the objective metric (max_capacity); always >= 0.")
    value_unit: str
    text: str


class BreakEven(Out):
    offer: str
    kind: str
    used: bool = Field(description="Whether the plan orders or leases this offer.")
    units: int = Field(description="Units the plan orders or starts over the horizon.")
    unit_price: float = Field(description="Current unit price in the instance currency (before price breaks).")
    lower: float | None = Field(default=None, description="Below this unit price the plan would change; "
                                                          "None: not even at price 0.")
    lower_change: str | None = Field(default=None, description="The plan just below `lower`, against this one.")
    upper: float | None = Field(default=None, description="Above this unit price the plan would change (used "
                                                          "offers); None: not up to 65536x the price.")
    upper_change: str | None = None
    computed: bool = Field(default=True, description="False when the time limit came first.")
    paid_unit_price: float | None = Field(
        default=None, description="What the plan pays per unit on average (price breaks and price factors applied).")
    first_period: int | None = Field(default=None, description="First period the plan orders or starts this offer.")
    text: str


class Explanation(Out):
    instance: str
    currency: str
    status: str
    objective_sense: str
    objective: float | None
    message: str | None = None
    binding: list[Binding] = Field(default_factory=list)
    marginal_values: list[MarginalValue] = Field(default_factory=list)
    break_even: list[BreakEven] = Field(default_factory=list)
    diagnosis: list[Diagnosis] | None = None
    notes: list[str] = Field(default_factory=list)
    result: Result


# --------------------------------------------------------------------------- the plan


def plan_units(result: Result) -> dict[tuple[str, int], int]:
    """(offer, period placed) -> units, from a result's orders and leases."""
    units: dict[tuple[str, int], int] = {}
    for o in result.orders:
        units[o.offer, o.period] = units.get((o.offer, o.period), 0) + o.units
    for lease in result.leases:
        units[lease.offer, lease.start] = units.get((lease.offer, lease.start), 0) + lease.units
    return units


def price_free_bounds(p: Prepared, units: dict) -> Prepared:
    """A copy whose big-M order bounds do not depend on prices (no budget-derived bound).

    prepare.order_bounds bounds an order by budget / price; at a lower price during the
    break-even search that bound would cut off plans. Caps and the requirement-based estimate
    stay, and every bound leaves room for the plan's own orders.
    """
    q = copy.deepcopy(p)
    budget_total, per_period = q.budget_total, q.budget_per_period
    q.budget_total, q.budget_per_period = None, {}
    order_bounds(q)
    q.budget_total, q.budget_per_period = budget_total, per_period
    for o in q.offers:
        most = max([units.get((o.id, t), 0) for t in o.window], default=0)
        if most >= o.order_bound and not o.bound_from_data:
            o.order_bound = 2 * most
    return q


def binding_rules(p: Prepared, units: dict) -> list[Binding]:
    """Rules the integer plan meets with no room to spare, in user units."""
    from optimizer.planning.extract import plan_accounts

    acc = plan_accounts(p, units)
    cur = p.currency
    out: list[Binding] = []

    def tight(value: float, limit: float) -> bool:
        return abs(value - limit) <= BINDING_TOL * max(1.0, abs(limit))

    for req in p.capacity_requirements:
        hit = [t for t, v in req.required.items() if v > 0 and tight(acc["capacity"][req.metric, t], v)]
        for periods, v in runs({t: req.required[t] for t in hit}):
            out.append(Binding(kind="requirement", constraint=f"requirement {req.name}", periods=periods, limit=v,
                               unit=METRIC_UNIT[req.metric],
                               text=f"requirement {req.name} is met exactly in {plural_periods(periods)}: "
                                    f"{fmt_metric(v, req.metric)} of {METRIC_LABEL[req.metric]}"))
    for req in p.work_requirements:
        done = sum(acc["capacity"][req.metric, t] for t in range(req.first, req.last + 1)) * req.flop_per_capacity_period
        if req.work_flop > 0 and tight(done, req.work_flop):
            out.append(Binding(kind="work", constraint=f"requirement {req.name}",
                               periods=list(range(req.first, req.last + 1)), limit=req.work_flop, unit="FLOP",
                               text=f"the work of requirement {req.name} ({req.work_flop:.4g} FLOP) is done exactly"))
    if p.budget_total is not None:
        spent = sum(acc["cash"].values()) + acc["fixed"]
        if tight(spent, p.budget_total):
            out.append(Binding(kind="budget_total", constraint="budget.total", limit=p.budget_total, unit=cur,
                               text=f"the total budget of {fmt_money(p.budget_total, cur)} is spent"))
    hit = {t: cap for t, cap in p.budget_per_period.items() if tight(acc["cash"][t], cap)}
    for periods, cap in runs(hit):
        out.append(Binding(kind="budget_period", constraint="budget.per_period", periods=periods, limit=cap, unit=cur,
                           text=f"the budget of {plural_periods(periods)} ({fmt_money(cap, cur)}) is spent"))
    drawing = [o for o in p.offers if o.is_buy and o.power_kw > 0]
    hit = {}
    for t, cap in p.site_power_kw.items():
        draw = sum(acc["in_service"][o.id, t] * o.power_kw * p.pue for o in drawing)
        if drawing and tight(draw, cap):
            hit[t] = cap
    for periods, cap in runs(hit):
        out.append(Binding(kind="site_power", constraint="site.power_kw", periods=periods, limit=cap, unit="kW",
                           text=f"site power is used to its cap of {fmt_num(cap)} kW in {plural_periods(periods)}"))
    for o in p.offers:
        total = sum(units.get((o.id, t), 0) for t in o.window)
        if o.max_total is not None and total == o.max_total and total > 0:
            out.append(Binding(kind="max_total", constraint=f"offers.{o.id}.max_total", limit=o.max_total, unit="units",
                               text=f"all {o.max_total} units of {o.id} (max_total) are taken"))
        if o.max_per_period is not None:
            full = [t for t in o.window if units.get((o.id, t), 0) == o.max_per_period and o.max_per_period > 0]
            if full:
                out.append(Binding(kind="max_per_period", constraint=f"offers.{o.id}.max_per_period", periods=full,
                                   limit=o.max_per_period, unit="units",
                                   text=f"{o.id} is ordered at its max_per_period of {o.max_per_period} units in "
                                        f"{plural_periods(full)}"))
    for pol in p.policies:
        selected = set(pol.offers)
        for bound in ("min", "max"):
            share = getattr(pol, f"{bound}_share")
            if share is None:
                continue
            full = []
            for t in range(1, p.T + 1):
                total = acc["capacity"].get((pol.metric, t), 0.0)
                chosen = sum(o.perf.get(pol.metric, 0.0) * acc["in_service"][o.id, t] for o in p.offers if o.id in selected)
                if total > 0 and tight(chosen, share * total):
                    full.append(t)
            if full:
                out.append(Binding(kind="policy", constraint=f"policy {pol.name}", periods=full, limit=share,
                                   unit="share", text=f"policy {pol.name} sits at its {bound}_share of "
                                                      f"{100 * share:.4g} % in {plural_periods(full)}"))
    return out


# --------------------------------------------------------------------------- marginal values


def _fix_on_off(m, p: Prepared, units: dict) -> None:
    """Fix every binary at the plan's value; unit counts become continuous (module docstring)."""
    import pyomo.core as pyo

    def fix(var, on: bool) -> None:
        var.domain = pyo.UnitInterval  # a fixed integer column would still make HiGHS solve a MIP
        var.fix(1 if on else 0)

    for var in m.units.values():
        var.domain = pyo.NonNegativeReals
    for (o, t, k), var in m.segment_chosen.items():
        n = units.get((o, t), 0)
        lo, hi, _ = p.offer(o).segments()[k]
        fix(var, n > 0 and lo <= n and (hi is None or n <= hi))
    for (o, t), var in m.order_placed.items():
        fix(var, units.get((o, t), 0) > 0)
    for o, var in m.offer_used.items():
        fix(var, any(units.get((o, t), 0) > 0 for t in p.offer(o).window))


def pricing_duals(p: Prepared, units: dict, time_limit: float | None, threads: int = 1):
    """Duals of the pricing LP, per constraint data object, and the LP's own status.

    The solver work is `highs.lp_duals`; the model is returned with the LP's values loaded.
    """
    from optimizer.planning.build import build_model
    from optimizer.planning.highs import lp_duals

    m = build_model(p)
    _fix_on_off(m, p, units)
    duals, status = lp_duals(m, time_limit, threads)
    return m, duals, status


def _step(kind: str, metric: str | None, magnitude: float) -> tuple[float, str]:
    """A readable step for a marginal value: 1 PFLOPS for PFLOPS-sized requirements, 1 M for budgets..."""
    if kind == "requirement":
        unit = METRIC_UNIT[metric]
        if unit == "TFLOPS" and magnitude >= 1000:
            return 1000.0, "PFLOPS"
        if unit == "GB" and magnitude >= 1000:
            return 1000.0, "TB"
        return 1.0, unit if unit != "GPUs" else "GPU"
    if kind == "money":
        for limit, label in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
            if magnitude >= limit:
                return limit, label
        return 1.0, ""
    if kind == "work":
        return 10.0 ** max(0, math.floor(math.log10(max(magnitude, 1.0))) - 2), "FLOP"
    return 1.0, kind


def marginal_values(p: Prepared, units: dict, time_limit: float | None,
                    threads: int = 1) -> tuple[list[MarginalValue], list[str]]:
    """Duals of the pricing LP as 'one more X costs Y', grouped over periods with equal values."""
    import pyomo.core as pyo

    from optimizer.planning.build import capacity
    from optimizer.planning.extract import plan_accounts

    m, duals, status = pricing_duals(p, units, time_limit, threads)
    if duals is None:
        return [], [f"no marginal values: the pricing LP ended {status}"]
    acc = plan_accounts(p, units)
    cur = p.currency
    max_cap = p.sense == "max_capacity"
    obj_scale = p.metric_scale[p.objective_metric] if max_cap else p.money_scale
    obj_label = METRIC_LABEL[p.objective_metric] if max_cap else ""

    def worth(x: float) -> str:
        if max_cap:
            return f"{fmt_metric(x, p.objective_metric)} of {obj_label} in period {p.objective_period}"
        return fmt_money(x, cur)

    value_unit = METRIC_UNIT[p.objective_metric] if max_cap else cur
    grouped: dict[tuple, dict[int, float]] = {}
    singles: list[MarginalValue] = []

    def dual(con) -> float:
        d = duals.get(con, 0.0)
        return abs(d) if abs(d) > DUAL_TOL else 0.0

    for (i, t), con in m.meet_capacity.items():
        d = dual(con)
        if d:
            req = p.capacity_requirements[i]
            grouped.setdefault(("requirement", i), {})[t] = d * obj_scale / p.metric_scale[req.metric]
    for i, con in m.meet_work.items():
        d = dual(con)
        if d:
            req = p.work_requirements[i]
            per_flop = d * obj_scale / (p.metric_scale[req.metric] * req.flop_per_capacity_period)
            step, label = _step("work", None, req.work_flop)
            cost = "costs" if not max_cap else "lowers the capacity reached by"
            singles.append(MarginalValue(
                kind="work", constraint=f"requirement {req.name}", periods=list(range(req.first, req.last + 1)),
                step=step, step_unit="FLOP", value=per_flop * step, value_unit=value_unit,
                text=f"{step:.0e} FLOP more work for requirement {req.name} {cost} {worth(per_flop * step)}"))
    if hasattr(m, "respect_budget_total"):
        d = dual(m.respect_budget_total)
        if d and p.budget_total is not None:
            per = d * obj_scale / p.money_scale
            step, label = _step("money", None, p.budget_total)
            gain = "saves" if not max_cap else "adds"
            singles.append(MarginalValue(
                kind="budget_total", constraint="budget.total", step=step, step_unit=cur, value=per * step,
                value_unit=value_unit,
                text=f"one {label + ' ' if label else ''}{cur} more of total budget {gain} {worth(per * step)}"))
    for t, con in m.respect_budget_per_period.items():
        d = dual(con)
        if d:
            grouped.setdefault(("budget_period",), {})[t] = d * obj_scale / p.money_scale
    kw = power_scale(p)
    for t, con in m.respect_site_power.items():
        d = dual(con)
        if d:
            grouped.setdefault(("site_power",), {})[t] = d * obj_scale / kw
    for o, con in m.respect_supply_caps.items():
        d = dual(con)
        if d:
            gain = "saves" if not max_cap else "adds"
            singles.append(MarginalValue(
                kind="max_total", constraint=f"offers.{o}.max_total", step=1.0, step_unit="units", value=d * obj_scale,
                value_unit=value_unit, text=f"one more unit of {o} allowed in total (max_total) {gain} {worth(d * obj_scale)}"))
    for (i, bound, t), con in m.respect_policies.items():
        d = dual(con)
        if d:
            pol = p.policies[i]
            total = pyo.value(capacity(m, p, pol.metric, t))  # scaled metric, at the LP optimum
            grouped.setdefault(("policy", i, bound), {})[t] = d * total * obj_scale * 0.01

    for key, by_period in grouped.items():
        for periods, per in runs(by_period):
            when = plural_periods(periods)
            if key[0] == "requirement":
                req = p.capacity_requirements[key[1]]
                step, label = _step("requirement", req.metric, max(req.required.values()))
                verb = "costs" if not max_cap else "lowers the capacity reached by"
                # whole units: the plan's spare capacity absorbs the first part of any increase
                spare = min(acc["capacity"][req.metric, t] - req.required[t] for t in periods)
                note = f"; the plan has {fmt_metric(spare, req.metric)} spare" if spare > 1e-9 * max(1.0, step) else ""
                singles.append(MarginalValue(
                    kind="requirement", constraint=f"requirement {req.name}", periods=periods, step=step,
                    step_unit=METRIC_UNIT[req.metric], value=per * step, value_unit=value_unit,
                    text=f"one more {label} of {METRIC_LABEL[req.metric]} in {when} {verb} {worth(per * step)}"
                         + (" (each period)" if len(periods) > 1 else "") + (f" at the margin{note}" if note else "")))
            elif key[0] == "budget_period":
                step, label = _step("money", None, max(p.budget_per_period[t] for t in periods))
                gain = "saves" if not max_cap else "adds"
                singles.append(MarginalValue(
                    kind="budget_period", constraint="budget.per_period", periods=periods, step=step, step_unit=cur,
                    value=per * step, value_unit=value_unit,
                    text=f"one {label + ' ' if label else ''}{cur} more of budget in {when} {gain} {worth(per * step)}"
                         + (" (each period)" if len(periods) > 1 else "")))
            elif key[0] == "site_power":
                gain = "saves" if not max_cap else "adds"
                singles.append(MarginalValue(
                    kind="site_power", constraint="site.power_kw", periods=periods, step=1.0, step_unit="kW",
                    value=per, value_unit=value_unit,
                    text=f"one more kW of site power in {when} {gain} {worth(per)}"
                         + (" (each period)" if len(periods) > 1 else "")))
            else:
                pol = p.policies[key[1]]
                bound = key[2]
                move = "more" if bound == "min" else "less"
                verb = "costs" if not max_cap else "lowers the capacity reached by"
                singles.append(MarginalValue(
                    kind="policy", constraint=f"policy {pol.name}", periods=periods, step=1.0,
                    step_unit="percentage point", value=per, value_unit=value_unit,
                    text=f"one share point {move} for policy {pol.name} ({bound}_share) in {when} {verb} {worth(per)}"))
    return singles, []


# --------------------------------------------------------------------------- break-even prices


def priced(p: Prepared, offer_id: str, factor: float) -> Prepared:
    """A shallow copy with one offer's prices (unit price and every break) times `factor`."""
    q = copy.copy(p)
    q.offers = [
        dataclasses.replace(o, unit_price=o.unit_price * factor,
                            price_breaks=[(b, price * factor) for b, price in o.price_breaks])
        if o.id == offer_id else o
        for o in p.offers
    ]
    q.__post_init__()
    return q


def _fits_budgets(p: Prepared, acc: dict) -> bool:
    tol = BINDING_TOL
    if p.budget_total is not None and sum(acc["cash"].values()) + acc["fixed"] > p.budget_total * (1 + tol) + tol:
        return False
    return all(acc["cash"][t] <= cap * (1 + tol) + tol for t, cap in p.budget_per_period.items())


class PriceProbe:
    """One built model whose offer prices move (`price[o, k]` Params); every solve reuses it."""

    def __init__(self, p: Prepared, units: dict, options, deadline: float | None):
        import pyomo.core as pyo

        from optimizer.planning.build import build_model

        self.p, self.units, self.options, self.deadline = p, units, options, deadline
        self.m = build_model(p)
        if p.sense == "max_capacity":
            self.m.explain_hold_level = pyo.Param(initialize=0.0, mutable=True)
            self.m.explain_hold = pyo.Constraint(expr=self.m.capacity_reached >= self.m.explain_hold_level)
        self.solves = 0
        self.seen: list[dict] = []  # every distinct plan a solve returned: rivals to try first
        self._seen_keys: set[frozenset] = set()
        self.solver = None  # one persistent HiGHS object: only the moved Params reach it
        self.changed = True  # components (rows, objectives) changed since HiGHS last saw the model

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.perf_counter()

    def out_of_time(self) -> bool:
        left = self._remaining()
        return left is not None and left <= 0

    def _set_price(self, offer_id: str, factor: float) -> None:
        o = self.p.offer(offer_id)
        for k, (_lo, _hi, price) in enumerate(o.segments()):
            self.m.price[offer_id, k].set_value(price * factor / self.p.money_scale)

    def _run(self, changed: bool = False):
        """Solve the kept model; `changed` when more than Params moved (an objective switched)."""
        from optimizer.planning.highs import new_highs, run_highs

        self.solves += 1
        if self.solver is None:
            self.solver = new_highs(self.options)
        full, self.changed = self.changed or changed, False
        return run_highs(self.m, self.options, self._remaining(), solver=self.solver, full_update=full,
                         warm_start=True)  # the last plan is a feasible start at any price within budgets

    def solve_at(self, offer_id: str, factor: float):
        """The min_cost plan with this offer's prices times `factor` (an Outcome)."""
        self._set_price(offer_id, factor)
        try:
            outcome = self._run()
        finally:
            self._set_price(offer_id, 1.0)
        if outcome.has_plan:
            plan = {k: n for k, n in outcome.units.items() if n}
            key = frozenset(plan.items())
            if key not in self._seen_keys:
                self._seen_keys.add(key)
                self.seen.append(plan)
        return outcome

    def holds(self, offer_id: str, factor: float) -> tuple[bool | None, dict | None]:
        """max_capacity: (True, None) the plan stays; (False, other plan or None); (None, None) out of time.

        Lexicographic: a plan with more capacity wins whatever it costs, so costs are not linear
        in the price here and the search is a bisection.
        """
        from optimizer.planning.extract import plan_accounts

        p, m = self.p, self.m
        base = plan_accounts(priced(p, offer_id, factor), self.units)
        fits = _fits_budgets(p, base)  # when it does not, solve anyway to name the plan that replaces it
        self._set_price(offer_id, factor)
        try:
            base_reached = base["capacity"][p.objective_metric, p.objective_period] / p.metric_scale[p.objective_metric]
            m.explain_hold.deactivate()
            m.total_cost.deactivate()
            m.max_capacity.activate()
            first = self._run(changed=True)
            if first.status == "feasible":  # stopped by the time limit: nothing proven
                return None, None
            if not first.has_plan:
                return (None, None) if first.status == "time_limit" and fits else (False, None)
            if not fits or first.objective_scaled > base_reached * (1 + 1e-7) + 1e-9:
                return False, dict(first.units)
            m.explain_hold_level.set_value(base_reached - 1e-9 * max(1.0, abs(base_reached)))
            m.explain_hold.activate()
            m.max_capacity.deactivate()
            m.total_cost.activate()
            outcome = self._run(changed=True)
        finally:
            self._set_price(offer_id, 1.0)
            self.changed = True  # objectives and rows were switched: the next run looks again
        if outcome.status == "feasible":
            return None, None
        if not outcome.has_plan:
            return (None, None) if outcome.status == "time_limit" else (False, None)
        if _same(self.units, outcome.units):
            return True, None
        base_cost = base["discounted"] / p.money_scale
        tol = max(self.options.gap, 1e-9) * max(1.0, abs(base_cost)) + 1e-9
        if outcome.objective_scaled >= base_cost - tol:
            return True, None
        return False, dict(outcome.units)


def _same(a: dict, b: dict) -> bool:
    return all(a.get(k, 0) == b.get(k, 0) for k in set(a) | set(b))


def describe_change(p: Prepared, base: dict, other: dict | None, fallback: str) -> str:
    """'X-lease +3 units, X-buy -3 units' over the horizon; 'the same units, ...' when only timing moves."""
    if other is None:
        return fallback
    deltas = []
    for o in p.offers:
        d = sum(other.get((o.id, t), 0) for t in o.window) - sum(base.get((o.id, t), 0) for t in o.window)
        if d:
            deltas.append(f"{o.id} {d:+d} unit" + ("s" if abs(d) != 1 else ""))
    return ", ".join(deltas) if deltas else "the same units, ordered in other periods"


class CostLines:
    """Cost of a fixed plan as a line in the price factor f of one offer: c0 + f * slope (MODEL.md 5).

    Every term of the cost is linear in an offer's prices (orders, lease bills, residual credit),
    so two evaluations of extract.plan_accounts give the line, and the same holds for each
    budget row's spending.
    """

    def __init__(self, p: Prepared, offer_id: str):
        self.p, self.offer_id, self.free = p, offer_id, priced(p, offer_id, 0.0)

    def cost(self, units: dict) -> tuple[float, float]:
        from optimizer.planning.extract import plan_accounts

        c0 = plan_accounts(self.free, units)["discounted"]
        return c0, plan_accounts(self.p, units)["discounted"] - c0

    def budget_limit(self, units: dict) -> float:
        """The largest factor at which `units` still fits every budget (inf if none binds as f grows)."""
        from optimizer.planning.extract import plan_accounts

        a, b = plan_accounts(self.free, units), plan_accounts(self.p, units)
        rows = []
        if self.p.budget_total is not None:
            rows.append((sum(a["cash"].values()) + a["fixed"], sum(b["cash"].values()) + b["fixed"], self.p.budget_total))
        rows += [(a["cash"][t], b["cash"][t], cap) for t, cap in self.p.budget_per_period.items()]
        limit = math.inf
        for at0, at1, cap in rows:
            slope = at1 - at0
            if slope > 1e-12 * max(1.0, abs(at1)):
                limit = min(limit, (cap - at0) / slope)
        return limit

    def fits_at(self, units: dict, factor: float) -> bool:
        from optimizer.planning.extract import plan_accounts

        q = priced(self.p, self.offer_id, factor)
        return _fits_budgets(q, plan_accounts(q, units))


def _known_rival(seen: list[dict], lines: CostLines, base: dict, start: float, direction: int):
    """The plan already seen whose cost line crosses the base's closest to today's price (f = 1),
    on the side being searched, and that is cheaper than the base beyond that crossing.

    The break-even cannot be further from f = 1 than that crossing (the rival wins beyond it), so
    the crossing search may start there instead of at `start`: one solve then confirms it when
    that rival is the base's neighbour, which it often is, having been found for another offer.
    """
    b0, db = lines.cost(base)
    found = []
    for y in seen:
        if _same(base, y):
            continue
        y0, dy = lines.cost(y)
        steeper = (dy - db) * direction  # > 0: the rival gains on the base moving away from f = 1
        if steeper <= 1e-9 * max(1.0, abs(db), abs(dy)):
            continue
        crossing = (b0 - y0) / (dy - db)
        if (crossing - start) * direction > 0 and (1.0 - crossing) * direction > 0:
            found.append((abs(1.0 - crossing), crossing, y))
    for _, crossing, y in sorted(found, key=lambda c: c[0]):
        beyond = crossing - direction * 1e-7 * max(1.0, abs(crossing))  # just past the tie, away from f = 1
        if lines.fits_at(y, beyond) and lines.fits_at(y, crossing):
            return crossing, y
    return None


def _crossing_search(probe: PriceProbe, lines: CostLines, offer_id: str, base: dict, start: float,
                     direction: int, max_steps: int = 50, seed: tuple[float, dict] | None = None):
    """Exact break-even of a min_cost plan by crossing lines (a parametric, Newton-like search).

    Solve at `start`; if a plan Y beats the base there, the break-even lies between today's
    price (f = 1) and where Y's cost line crosses the base's: solve again at that crossing. Each
    step moves towards f = 1 and lands on a new plan's crossing, so the search ends after as
    many solves as there are plans in the way (usually one to three), on the exact price where
    the cheapest rival ties. Going up from price 0 a rival may stop fitting a budget before its
    line crosses; that price is then where it drops out. A `seed` (crossing, rival) from plans
    already seen starts the search at that crossing. Returns (factor or None, rival, complete).
    """
    b0, db = lines.cost(base)
    f, rival = seed if seed is not None else (start, None)
    for _ in range(max_steps):
        outcome = probe.solve_at(offer_id, f)
        if outcome.status != "optimal":
            # out of time: with no plan, or with one HiGHS did not prove best (a time limit hit
            # mid-solve); either way the search is cut short and its price is not a break-even
            return None, rival, False
        y = dict(outcome.units)
        y0, dy = lines.cost(y)
        base_f, y_f = b0 + f * db, y0 + f * dy
        tol = max(probe.options.gap, 1e-9) * max(1.0, abs(base_f))
        if _same(base, y) or y_f >= base_f - tol:
            return (None if rival is None else f), rival, True
        gap = (dy - db) * direction  # the rival is cheaper at f and dearer at 1: its line is steeper towards f
        if gap <= 1e-12 * max(1.0, abs(db)):
            return f, y, True  # parallel lines: the rival is cheaper at every price within tolerance
        crossing = (b0 - y0) / (dy - db)
        if direction > 0:  # going up in price the rival may stop fitting a budget before it ties
            crossing = min(crossing, lines.budget_limit(y))
        if (crossing - f) * direction <= 1e-12:
            return f, y, True
        f, rival = crossing, y
    return f, rival, False


def break_even_prices(p: Prepared, units: dict, options, deadline: float | None,
                      rel_tol: float = 1e-4) -> tuple[list[BreakEven], int]:
    """Unit prices at which the plan would change, offer by offer (module docstring)."""
    probe = PriceProbe(p, units, options, deadline)
    out = []
    for k, o in enumerate(p.offers, 1):
        if options.progress is not None:
            options.progress({"phase": f"break-even prices: offer {k} of {len(p.offers)} ({o.id})"})
        total = sum(units.get((o.id, t), 0) for t in o.window)
        row = BreakEven(offer=o.id, kind=o.kind, used=total > 0, units=total, unit_price=o.unit_price, text="")
        if total:
            placed = [(t, units[o.id, t]) for t in o.window if units.get((o.id, t), 0) > 0]
            row.paid_unit_price = sum(o.factor.get(t, 1.0) * o.price_for(n) * n for t, n in placed) / total
            row.first_period = placed[0][0]
        if o.unit_price <= 0 or probe.out_of_time():
            row.computed = False
            row.text = (f"{o.id}: price 0, nothing to move" if o.unit_price <= 0 else
                        f"{o.id}: not computed (time limit)")
            out.append(row)
            continue
        if p.sense == "max_capacity":
            complete = _bisect_offer(probe, p, units, o.id, total > 0, row, rel_tol)
        else:
            complete = _cross_offer(probe, p, units, o.id, total > 0, row)
        row.computed = complete
        row.text = _break_even_text(row, p.currency)
        out.append(row)
    return out, probe.solves


def _cross_offer(probe: PriceProbe, p: Prepared, units: dict, offer_id: str, used: bool, row: BreakEven) -> bool:
    """min_cost: exact crossings below (from price 0) and, for used offers, above today's price."""
    lines = CostLines(p, offer_id)
    price = p.offer(offer_id).unit_price
    f, rival, complete = _crossing_search(probe, lines, offer_id, units, 0.0, +1,
                                          seed=_known_rival(probe.seen, lines, units, 0.0, +1))
    if f is not None:
        row.lower, row.lower_change = price * f, describe_change(p, units, rival, "no plan")
    if not used or not complete:
        return complete
    fits = lines.budget_limit(units)  # above this factor the plan no longer fits a budget
    top = max(1.0, min(fits, MAX_FACTOR))  # today's plan fits today (rounding aside)
    f, rival, complete = _crossing_search(probe, lines, offer_id, units, top, -1,
                                          seed=_known_rival(probe.seen, lines, units, top, -1))
    if f is None and fits <= MAX_FACTOR and complete:
        # nothing beats the plan until it no longer fits: the budget sets the break-even
        f = fits
        after = probe.solve_at(offer_id, fits * (1 + 1e-6) + 1e-9)
        rival = dict(after.units) if after.has_plan else None
    if f is not None:
        row.upper, row.upper_change = price * f, describe_change(p, units, rival, "no plan within the budget")
    return complete


def _bisect_offer(probe: PriceProbe, p: Prepared, units: dict, offer_id: str, used: bool, row: BreakEven,
                  rel_tol: float) -> bool:
    """max_capacity: bisection on the price factor to a relative `rel_tol`."""
    price = p.offer(offer_id).unit_price
    complete = True
    ok, other = probe.holds(offer_id, 0.0)
    if ok is None:
        return False
    if not ok:
        holding, failing, alt, complete = _narrow(probe, offer_id, 1.0, 0.0, other, rel_tol)
        row.lower = price * (holding + failing) / 2
        row.lower_change = describe_change(p, units, alt, "no plan")
    if not used or not complete:
        return complete
    lo, f, alt = 1.0, 2.0, None
    while f <= MAX_FACTOR:
        ok, other = probe.holds(offer_id, f)
        if ok is None:
            return False
        if not ok:
            alt = other
            break
        lo, f = f, 2 * f
    if f > MAX_FACTOR:
        return True
    holding, failing, alt, complete = _narrow(probe, offer_id, lo, f, alt, rel_tol)
    row.upper = price * (holding + failing) / 2
    row.upper_change = describe_change(p, units, alt, "no plan")
    return complete


def _narrow(probe, offer_id: str, holding: float, failing: float, alt, rel_tol: float):
    """Bisect between a price factor where the plan holds and one where it changes.

    Returns (holding, failing, the plan seen on the failing side, complete: not out of time).
    """
    while abs(failing - holding) > rel_tol * max(holding, failing, 1e-3):
        mid = (holding + failing) / 2
        ok, other = probe.holds(offer_id, mid)
        if ok is None:
            return holding, failing, alt, False
        if ok:
            holding = mid
        else:
            failing, alt = mid, other
    return holding, failing, alt, True


def _break_even_text(row: BreakEven, cur: str) -> str:
    now = fmt_money(row.unit_price, cur)
    per = " per unit per period" if row.kind == "lease" else " per unit"
    if not row.computed:
        return f"{row.offer} ({now}{per}): not computed (time limit)"
    parts = []
    if row.used:
        paid = row.paid_unit_price if row.paid_unit_price is not None else row.unit_price
        at = fmt_money(paid, cur)
        listed = abs(paid - row.unit_price) > 1e-9 * max(1.0, row.unit_price)
        at += f"{per} after price breaks; list {now}" if listed else per
        parts.append(f"{row.offer} is used ({row.units} unit{'s' if row.units != 1 else ''} at {at})")
        if row.upper is not None:
            parts.append(f"above {'a list price of ' if listed else ''}{fmt_money(row.upper, cur)} the plan changes"
                         f" ({row.upper_change})")
        else:
            parts.append(f"needed at any price (from period {row.first_period})")
        if row.lower is not None:
            parts.append(f"below {fmt_money(row.lower, cur)} it changes ({row.lower_change})")
    else:
        parts.append(f"{row.offer} is not used at {now}{per}")
        if row.lower is not None:
            parts.append(f"below {fmt_money(row.lower, cur)} the plan would take it ({row.lower_change})")
        else:
            parts.append("even free it would not change the plan")
    return "; ".join(parts)


# --------------------------------------------------------------------------- all together


def explain(instance: Instance, options=None, break_even: bool = True, rel_tol: float = 1e-4) -> Explanation:
    """Solve, then explain: binding rules, marginal values, break-even prices (or the diagnosis)."""
    from optimizer.planning.solve import SolveOptions, solve_instance

    options = options or SolveOptions()
    started = time.perf_counter()
    deadline = None if options.time_limit is None else started + options.time_limit

    def remaining() -> float | None:
        return None if deadline is None else max(0.0, deadline - time.perf_counter())

    result = solve_instance(instance, options)
    head = dict(instance=result.instance, currency=result.currency, status=result.status,
                objective_sense=result.objective_sense, objective=result.objective, message=result.message)
    if result.status == "infeasible":
        result.diagnosis = diagnose(instance, options, remaining())
        return Explanation(**head, diagnosis=result.diagnosis, result=result)
    if not result.has_plan:
        return Explanation(**head, result=result)
    units = plan_units(result)
    p = price_free_bounds(prepare(instance), units)
    notes = []
    if result.status == "feasible":
        notes.append(f"the plan is not proven optimal (gap {result.solver.mip_gap}): the figures below are "
                     "relative to it")
    binding = binding_rules(p, units)
    marginal, more = marginal_values(p, units, remaining(), options.threads)
    notes += more
    prices: list[BreakEven] = []
    if break_even:
        prices, solves = break_even_prices(p, units, options, deadline, rel_tol)
        notes.append(f"break-even prices took {solves} solves on one model")
        if any(not b.computed and b.unit_price > 0 for b in prices):
            notes.append("some break-even prices were not computed: the time limit came first")
    return Explanation(**head, binding=binding, marginal_values=marginal, break_even=prices, notes=notes,
                       result=result)
