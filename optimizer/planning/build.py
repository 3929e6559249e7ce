r"""The planning model of MODEL.md, built from a `Prepared` instance.

`build_model` calls one function per rule family, in the order of MODEL.md; each Pyomo
component carries the rule's name, so an LP file or an infeasibility report reads like the
contract. Notation: o offer, t period, m metric, L lead time, n[o,t] units ordered or started.

Scaling (why the divisions): money is divided by `money_scale` and each metric by
`metric_scale[m]` (see prepare._choose_scales), so costs of 1e9 and work of 1e23 FLOP sit in
one model with coefficients near 1. Reported numbers are recomputed from the integer plan.
"""

from __future__ import annotations

import contextlib
import gc

import pyomo.core as pyo  # not pyomo.environ: its solver plugins cost ~0.1 s of start-up

from optimizer.planning.prepare import Prepared, PreparedOffer


def build_model(p: Prepared) -> pyo.ConcreteModel:
    """The whole model, constraint family by constraint family."""
    with gc_paused():
        m = pyo.ConcreteModel(name=p.name)
        build_rules(m, p)
    return m


def build_rules(m, p: Prepared) -> None:
    """Every rule of MODEL.md sections 3-7 on `m`: a model, or one scenario's Block of the
    extensive form (optimizer/planning/scenarios.py), which is the same model on other data."""
    declare_sets(m, p)
    declare_parameters(m, p)
    order_units(m, p)
    count_units_in_service(m, p)
    price_orders(m, p)
    respect_min_order(m, p)
    pay_fixed_costs(m, p)
    meet_capacity(m, p)
    meet_work(m, p)
    respect_supply_caps(m, p)
    respect_site_power(m, p)
    respect_policies(m, p)
    account_cash(m, p)
    respect_budgets(m, p)
    set_objectives(m, p)


@contextlib.contextmanager
def gc_paused():
    """Python's cyclic garbage collector off while Pyomo creates its ~10 objects per nonzero.

    Every collection walks all live objects, and a build creates nothing that is garbage before
    the model is dropped: at 200 offers x 60 periods the collections cost ~20% of the build
    (benchmarks/, docs/performance.md). The previous state is restored, also on errors.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------- sets and decisions


def declare_sets(m, p: Prepared) -> None:
    """Index sets: only what exists is built (STYLE.md 3)."""
    m.PERIODS = pyo.RangeSet(1, p.T)
    m.OFFERS = pyo.Set(initialize=[o.id for o in p.offers], ordered=True)
    m.BUY_OFFERS = pyo.Set(initialize=[o.id for o in p.offers if o.is_buy], ordered=True)
    m.LEASE_OFFERS = pyo.Set(initialize=[o.id for o in p.offers if not o.is_buy], ordered=True)
    m.ORDER_SLOTS = pyo.Set(initialize=[(o.id, t) for o in p.offers for t in o.window], dimen=2, ordered=True)
    m.OFFERS_WITH_PRICE_BREAKS = pyo.Set(initialize=[o.id for o in p.offers if o.price_breaks], ordered=True)
    m.OFFERS_WITH_MIN_ORDER = pyo.Set(
        initialize=[o.id for o in p.offers if o.min_order > 1 and not o.price_breaks], ordered=True
    )
    m.OFFERS_WITH_FIXED_COST = pyo.Set(initialize=[o.id for o in p.offers if o.fixed_cost > 0], ordered=True)
    segment_count = {o.id: len(o.segments()) for o in p.offers if o.price_breaks}
    m.PRICE_SEGMENTS = pyo.Set(
        initialize=[(o.id, t, k) for o in p.offers if o.price_breaks for t in o.window
                    for k in range(segment_count[o.id])],
        dimen=3, ordered=True,
    )


def parameter_values(p: Prepared) -> dict[str, dict]:
    """Every number of the model that a sweep may move, scaled, keyed by its index.

    Which rows and binaries exist depends on the data (a fixed cost > 0, a requirement > 0);
    `structure_key` says when two prepared instances share one structure, so that a sweep can
    update these values on a built model instead of building it again.
    """
    money = p.money_scale
    energy = p.pue * p.hours_per_period * p.energy_price / money
    power_scale = max([o.power_kw * p.pue for o in p.offers if o.is_buy and o.power_kw > 0], default=1.0)
    return {
        "price": {(o.id, k): price / money for o in p.offers for k, (_lo, _hi, price) in enumerate(o.segments())},
        "fixed_cost": {o.id: o.fixed_cost / money for o in p.offers if o.fixed_cost > 0},
        "residual_share": {o.id: o.residual_value for o in p.offers if o.is_buy},
        "energy_cost": {o.id: o.power_kw * energy for o in p.offers if o.is_buy},
        "power_draw": {o.id: o.power_kw * p.pue / power_scale for o in p.offers if o.is_buy},
        "perf": {(o.id, mt): v / p.metric_scale[mt] for o in p.offers for mt, v in o.perf.items()},
        "discount": dict(p.discount),
        "required": {(i, t): r.required[t] / p.metric_scale[r.metric]
                     for i, r in enumerate(p.capacity_requirements) for t in r.required if r.required[t] > 0},
        "work_required": {i: r.capacity_periods / p.metric_scale[r.metric]
                          for i, r in enumerate(p.work_requirements) if r.work_flop > 0},
        "site_power_cap": {t: v / power_scale for t, v in p.site_power_kw.items()},
        "budget_cap": {t: v / money for t, v in p.budget_per_period.items()},
        "budget_total_cap": {None: (p.budget_total if p.budget_total is not None else 0.0) / money},
        "shortfall_price": {i: r.shortfall_price * p.metric_scale[r.metric] / money
                            for i, r in enumerate(p.capacity_requirements) if r.shortfall_price is not None},
        "min_share": {i: pol.min_share or 0.0 for i, pol in enumerate(p.policies)},
        "max_share": {i: pol.max_share if pol.max_share is not None else 1.0 for i, pol in enumerate(p.policies)},
    }


def structure_key(p: Prepared) -> tuple:
    """What decides the model's sets, variables and rows; equal keys -> same structure."""
    return (
        p.T, p.sense, p.objective_metric, p.objective_period, p.last_billed_period,
        tuple((o.id, o.kind, tuple(o.lead.items()), tuple(o.factor.items()), tuple(o.delivered.items()),
               tuple(sorted(o.void)), o.cancel_refund, o.term, tuple(o.window), tuple(sorted(o.perf)),
               tuple((lo, hi) for lo, hi, _ in o.segments()), o.min_order, o.max_per_period, o.max_total,
               # the order bound is a coefficient only of offers with binaries (a sweep over
               # prices moves budget / price bounds of the others without changing the model)
               o.order_bound if o.needs_order_bound else None,
               o.fixed_cost > 0, o.residual_value > 0, o.power_kw > 0) for o in p.offers),
        tuple((r.metric, tuple(t for t, v in r.required.items() if v > 0), r.shortfall_price)
              for r in p.capacity_requirements),
        tuple((r.metric, r.first, r.last, r.work_flop > 0) for r in p.work_requirements),
        tuple((pol.metric, tuple(pol.offers), pol.min_share is None, pol.max_share is None) for pol in p.policies),
        tuple(sorted(p.site_power_kw)), tuple(sorted(p.budget_per_period)), p.budget_total is None,
        p.energy_price > 0,
    )


def declare_parameters(m, p: Prepared) -> None:
    """Mutable Params holding `parameter_values(p)`; `update_parameters` moves them."""
    for name, values in parameter_values(p).items():
        if list(values) == [None]:
            m.add_component(name, pyo.Param(initialize=values[None], mutable=True))
        else:
            m.add_component(name, pyo.Param(list(values), initialize=values, mutable=True, within=pyo.Reals))


def update_parameters(m, p: Prepared) -> None:
    """Load a new prepared instance of the same structure into a built model."""
    for name, values in parameter_values(p).items():
        param = getattr(m, name)
        for index, value in values.items():
            (param if index is None else param[index]).set_value(value)


def order_units(m, p: Prepared) -> None:
    """n[o,t] in Z+, for t in W(o); `max_per_period` is its upper bound (MODEL.md 3.3)."""

    def bounds(_, o, t):
        return (0, p.offer(o).max_per_period)

    m.units = pyo.Var(m.ORDER_SLOTS, domain=pyo.NonNegativeIntegers, bounds=bounds)
    for (o, t), n in p.fixed.items():  # decisions already taken (solve.fix_decisions)
        if (o, t) in m.units:
            m.units[o, t].fix(n)


def count_units_in_service(m, p: Prepared) -> None:
    r"""Units available in each period, kept as a stock so rows stay sparse.

    .. math::
        s_{o,t} = s_{o,t-1} + n_{o,t-L} - [\text{lease}]\, n_{o,t-L-term}, \quad s_{o,0} = 0

    which equals own[o,t] (buy) and lse[o,t] (lease) of MODEL.md section 3, with L = L(s) of
    each order's placement period and cancelled orders left out (section 7). A lease's void
    periods are left out where the stock is used (`serving`).
    """
    m.in_service = pyo.Var(m.OFFERS, m.PERIODS, domain=pyo.NonNegativeReals)
    # section 7: L(s) varies with the placement period and a cancelled buy order never arrives,
    # so arrivals and departures are filed by period once
    arriving_at: dict[tuple[str, int], list[int]] = {}
    leaving_at: dict[tuple[str, int], list[int]] = {}
    for offer in p.offers:
        for s in offer.window:
            if offer.is_buy and not offer.is_delivered(s):
                continue
            arriving_at.setdefault((offer.id, offer.arrival(s)), []).append(s)
            if not offer.is_buy:
                leaving_at.setdefault((offer.id, offer.arrival(s) + offer.term), []).append(s)

    def stock(_, o, t):
        arriving = sum(m.units[o, s] for s in arriving_at.get((o, t), ()))
        leaving = sum(m.units[o, s] for s in leaving_at.get((o, t), ()))
        previous = m.in_service[o, t - 1] if t > 1 else 0
        return m.in_service[o, t] == previous + arriving - leaving

    m.count_units_in_service = pyo.Constraint(m.OFFERS, m.PERIODS, rule=stock)


def serving(o, t: int) -> bool:
    """Does the stock of `o` give capacity in t? Not in a lease's void periods (section 7)."""
    return t not in o.void


def capacity(m, p: Prepared, metric: str, t: int):
    """cap[m,t] / metric_scale[m] = sum_o perf[o,m] * s[o,t] / metric_scale[m]."""
    return sum(m.perf[o.id, metric] * m.in_service[o.id, t] for o in p.offers if metric in o.perf and serving(o, t))


# --------------------------------------------------------------------------- prices


def price_orders(m, p: Prepared) -> None:
    r"""All-units price breaks: one order falls in exactly one size segment k.

    .. math::
        n_{o,t} = \sum_k q_{o,t,k}, \quad lo_k z_{o,t,k} \le q_{o,t,k} \le hi_k z_{o,t,k},
        \quad \sum_k z_{o,t,k} \le 1

    and the order costs sum_k price_k q_{o,t,k}. The last segment is open above; its hi is the
    offer's order bound M (prepare.order_bounds). Segments start at min_order, so the minimum
    order holds here too.
    """
    m.segment_units = pyo.Var(m.PRICE_SEGMENTS, domain=pyo.NonNegativeReals)
    m.segment_chosen = pyo.Var(m.PRICE_SEGMENTS, domain=pyo.Binary)
    segments = {o.id: o.segments() for o in p.offers if o.price_breaks}  # once, not per row

    def split(_, o, t):
        ks = range(len(segments[o]))
        return m.units[o, t] == sum(m.segment_units[o, t, k] for k in ks)

    def lowest(_, o, t, k):
        lo, _hi, _price = segments[o][k]
        return m.segment_units[o, t, k] >= lo * m.segment_chosen[o, t, k]

    def highest(_, o, t, k):
        _lo, hi, _price = segments[o][k]
        return m.segment_units[o, t, k] <= (hi if hi is not None else p.offer(o).order_bound) * m.segment_chosen[o, t, k]

    def one_segment(_, o, t):
        ks = range(len(segments[o]))
        return sum(m.segment_chosen[o, t, k] for k in ks) <= 1

    slots = [(o.id, t) for o in p.offers if o.price_breaks for t in o.window]  # ORDER_SLOTS order
    m.PRICED_SLOTS = pyo.Set(initialize=slots, dimen=2, ordered=True)
    m.price_orders_split = pyo.Constraint(m.PRICED_SLOTS, rule=split)
    m.price_orders_lowest = pyo.Constraint(m.PRICE_SEGMENTS, rule=lowest)
    m.price_orders_highest = pyo.Constraint(m.PRICE_SEGMENTS, rule=highest)
    m.price_orders_one_segment = pyo.Constraint(m.PRICED_SLOTS, rule=one_segment)


def order_cost(m, p: Prepared, o: str, t: int):
    """Cost of the order/start (o,t), scaled money: f(t) * price(n) * n (section 7's factor)."""
    offer = p.offer(o)
    factor = offer.factor.get(t, 1.0)
    if offer.price_breaks:
        return sum(factor * m.price[o, k] * m.segment_units[o, t, k] for k in range(len(offer.segments())))
    return factor * m.price[o, 0] * m.units[o, t]


# --------------------------------------------------------------------------- order rules


def respect_min_order(m, p: Prepared) -> None:
    r"""Minimum order (MODEL.md 3.4): n = 0 or n >= min_order.

    .. math:: min\_order \cdot y_{o,t} \le n_{o,t} \le M_o \, y_{o,t}

    M_o is the order bound of prepare.order_bounds. Offers with price breaks get the same rule
    from their segments.
    """
    slots = [(o.id, t) for o in p.offers if o.min_order > 1 and not o.price_breaks for t in o.window]
    m.MIN_ORDER_SLOTS = pyo.Set(initialize=slots, dimen=2, ordered=True)
    m.order_placed = pyo.Var(m.MIN_ORDER_SLOTS, domain=pyo.Binary)
    m.respect_min_order_low = pyo.Constraint(
        m.MIN_ORDER_SLOTS, rule=lambda _, o, t: m.units[o, t] >= p.offer(o).min_order * m.order_placed[o, t]
    )
    m.respect_min_order_high = pyo.Constraint(
        m.MIN_ORDER_SLOTS, rule=lambda _, o, t: m.units[o, t] <= p.offer(o).order_bound * m.order_placed[o, t]
    )


def pay_fixed_costs(m, p: Prepared) -> None:
    r"""Fixed cost once if the offer is used: n_{o,t} <= M_o u_o for every t in W(o).

    Where the order already has a binary (a segment or a minimum-order flag) that binary is
    linked instead, which is tighter: z_{o,t,k} <= u_o, y_{o,t} <= u_o.
    """
    m.offer_used = pyo.Var(m.OFFERS_WITH_FIXED_COST, domain=pyo.Binary)
    slots = [(o.id, t) for o in p.offers if o.fixed_cost > 0 for t in o.window]
    m.FIXED_COST_SLOTS = pyo.Set(initialize=slots, dimen=2, ordered=True)
    with_min_order = set(m.OFFERS_WITH_MIN_ORDER)

    def link(_, o, t):
        offer = p.offer(o)
        if offer.price_breaks:
            ks = range(len(offer.segments()))
            return sum(m.segment_chosen[o, t, k] for k in ks) <= m.offer_used[o]
        if o in with_min_order:
            return m.order_placed[o, t] <= m.offer_used[o]
        return m.units[o, t] <= offer.order_bound * m.offer_used[o]

    m.pay_fixed_costs = pyo.Constraint(m.FIXED_COST_SLOTS, rule=link)


# --------------------------------------------------------------------------- requirements


def meet_capacity(m, p: Prepared) -> None:
    r"""Capacity requirement (MODEL.md 3.1): cap[m,t] >= schedule(t) where the schedule applies.

    With a `shortfall_price` (section 7) the gap may stay open at a price:

    .. math:: cap_{m,t} + u_{r,t} \ge schedule_r(t), \quad 0 \le u_{r,t} \le schedule_r(t)
    """
    rows = [(i, t) for i, req in enumerate(p.capacity_requirements) for t in req.required
            if req.required[t] > 0]
    m.CAPACITY_ROWS = pyo.Set(initialize=rows, dimen=2, ordered=True)
    m.SHORTFALL_ROWS = pyo.Set(initialize=[(i, t) for i, t in rows
                                           if p.capacity_requirements[i].shortfall_price is not None],
                               dimen=2, ordered=True)
    m.shortfall = pyo.Var(m.SHORTFALL_ROWS, domain=pyo.NonNegativeReals,
                          bounds=lambda _, i, t: (0, m.required[i, t]))

    def rule(_, i, t):
        cap = capacity(m, p, p.capacity_requirements[i].metric, t)
        if (i, t) in m.SHORTFALL_ROWS:
            return cap + m.shortfall[i, t] >= m.required[i, t]
        if isinstance(cap, (int, float)):
            return pyo.Constraint.Skip  # nothing eligible provides it: solve.unmeetable reports that
        return cap >= m.required[i, t]

    m.meet_capacity = pyo.Constraint(m.CAPACITY_ROWS, rule=rule)


def meet_work(m, p: Prepared) -> None:
    r"""Work requirement (MODEL.md 3.2), divided by 1e12 * 3600 * hours * utilization:

    .. math:: \sum_{t=from}^{until} cap_{m,t} \ge work\_flop / (10^{12} \cdot 3600 \cdot h \cdot u)
    """
    rows = [i for i, req in enumerate(p.work_requirements) if req.work_flop > 0]
    m.WORK_ROWS = pyo.Set(initialize=rows, ordered=True)

    def rule(_, i):
        req = p.work_requirements[i]
        total = sum(capacity(m, p, req.metric, t) for t in range(req.first, req.last + 1))
        if isinstance(total, (int, float)):
            return pyo.Constraint.Skip  # see meet_capacity
        return total >= m.work_required[i]

    m.meet_work = pyo.Constraint(m.WORK_ROWS, rule=rule)


# --------------------------------------------------------------------------- supply, site, policy


def respect_supply_caps(m, p: Prepared) -> None:
    """Supply caps (MODEL.md 3.3): sum_t n[o,t] <= max_total (max_per_period is a bound of n)."""
    capped = [o.id for o in p.offers if o.max_total is not None]
    m.OFFERS_WITH_MAX_TOTAL = pyo.Set(initialize=capped, ordered=True)
    m.respect_supply_caps = pyo.Constraint(
        m.OFFERS_WITH_MAX_TOTAL,
        rule=lambda _, o: sum(m.units[o, t] for t in p.offer(o).window) <= p.offer(o).max_total,
    )


def respect_site_power(m, p: Prepared) -> None:
    """Site power (MODEL.md 3.5): sum_{o buy} own[o,t] * power_kw[o] * pue <= site.power_kw(t)."""
    drawing = [o for o in p.offers if o.is_buy and o.power_kw > 0]
    rows = [t for t in p.site_power_kw if drawing]
    m.SITE_POWER_ROWS = pyo.Set(initialize=rows, ordered=True)
    m.respect_site_power = pyo.Constraint(
        m.SITE_POWER_ROWS,
        rule=lambda _, t: sum(m.power_draw[o.id] * m.in_service[o.id, t] for o in drawing) <= m.site_power_cap[t],
    )


def respect_policies(m, p: Prepared) -> None:
    r"""Policy shares (MODEL.md 3.6), every period:

    .. math:: \sum_{o \in sel} perf_{o,m} s_{o,t} \ge min\_share \cdot cap_{m,t}
              \quad\text{and}\quad \le max\_share \cdot cap_{m,t}
    """
    rows = []
    for i, pol in enumerate(p.policies):
        if not any(pol.metric in o.perf for o in p.offers):
            continue  # cap[m,t] is 0 for every plan: both sides are 0
        for bound in ("min", "max"):
            if getattr(pol, f"{bound}_share") is not None:
                rows += [(i, bound, t) for t in range(1, p.T + 1)]
    m.POLICY_ROWS = pyo.Set(initialize=rows, dimen=3, ordered=True)
    counted = []  # per policy: the offers it selects that provide its metric, in offer order
    for pol in p.policies:
        selected = set(pol.offers)
        counted.append([o.id for o in p.offers if o.id in selected and pol.metric in o.perf])

    def rule(_, i, bound, t):
        pol = p.policies[i]
        chosen = sum(m.perf[o, pol.metric] * m.in_service[o, t] for o in counted[i] if serving(p.offer(o), t))
        total = capacity(m, p, pol.metric, t)
        if bound == "min":
            return chosen - m.min_share[i] * total >= 0
        return chosen - m.max_share[i] * total <= 0

    m.respect_policies = pyo.Constraint(m.POLICY_ROWS, rule=rule)


# --------------------------------------------------------------------------- money


def account_cash(m, p: Prepared) -> None:
    """cash(t) = purchases placed in t + lease bills falling in t + power in t (MODEL.md 5).

    Lease bills run over the term's active periods s+L .. s+L+term-1, also past T.
    Kept as expressions (scaled money), used by budgets and the objective.
    """
    last = p.last_billed_period
    m.CASH_PERIODS = pyo.RangeSet(1, last)
    # one pass over the offers files every bill under its period, in offer order (and, within
    # an offer, purchase before power, lease starts by period), instead of a scan per period;
    # the cost of one order/start is one expression, shared by every bill and the residual
    costs = {(o.id, s): order_cost(m, p, o.id, s) for o in p.offers for s in o.window}
    bills: dict[int, list] = {t: [] for t in range(1, last + 1)}
    for o in p.offers:
        if o.is_buy:
            window = set(o.window)
            refunds = {}  # section 7: a cancelled order is paid back in its arrival period
            for s in o.window:
                if not o.is_delivered(s) and o.cancel_refund > 0:
                    refunds.setdefault(o.arrival(s), []).append(s)
            powered = o.power_kw > 0 and p.energy_price > 0
            for t in range(1, last + 1):
                if t in window:
                    bills[t].append(costs[o.id, t])
                for s in refunds.get(t, ()):
                    bills[t].append(-o.cancel_refund * costs[o.id, s])
                if t <= p.T and powered:
                    bills[t].append(m.energy_cost[o.id] * m.in_service[o.id, t])
        else:
            for s in o.window:
                for t in o.billed(s):  # the term's non-void active periods, also past T
                    bills[t].append(costs[o.id, s])

    m.cash = pyo.Expression(m.CASH_PERIODS, rule=lambda _, t: sum(bills[t]))
    m.fixed_costs = pyo.Expression(
        expr=sum(m.fixed_cost[o] * m.offer_used[o] for o in m.OFFERS_WITH_FIXED_COST)
    )
    m.residual_credit = pyo.Expression(
        expr=sum(m.residual_share[o.id] * costs[o.id, t]
                 for o in p.offers if o.is_buy and o.residual_value > 0 for t in o.window if o.is_delivered(t))
    )


def respect_budgets(m, p: Prepared) -> None:
    """Budgets (MODEL.md 5): cash(t) <= per_period(t) where it applies, for t <= T; and
    all purchases + all lease bills + all power + fixed costs <= total (undiscounted)."""
    m.BUDGET_ROWS = pyo.Set(initialize=sorted(p.budget_per_period), ordered=True)
    m.respect_budget_per_period = pyo.Constraint(
        m.BUDGET_ROWS, rule=lambda _, t: m.cash[t] <= m.budget_cap[t]
    )
    if p.budget_total is not None:
        m.respect_budget_total = pyo.Constraint(
            expr=sum(m.cash[t] for t in m.CASH_PERIODS) + m.fixed_costs <= m.budget_total_cap
        )


def set_objectives(m, p: Prepared) -> None:
    """min_cost: sum_t df(t) cash(t) + fixed - df(T+1) residual (MODEL.md 5)
    + sum_{r,t} df(t) p_r u[r,t] (shortfall, section 7), kept as `scenario_cost` for the
    extensive form.

    max_capacity maximises cap[metric, period] first (`max_capacity`, deactivated unless asked
    for); solve.py then fixes that capacity and minimises cost.
    """
    m.shortfall_penalty = pyo.Expression(expr=sum(
        m.discount[t] * m.shortfall_price[i] * m.shortfall[i, t] for i, t in m.SHORTFALL_ROWS))
    m.scenario_cost = pyo.Expression(
        expr=sum(m.discount[t] * m.cash[t] for t in m.CASH_PERIODS) + m.fixed_costs
        - m.discount[p.T + 1] * m.residual_credit + m.shortfall_penalty
    )
    m.total_cost = pyo.Objective(expr=m.scenario_cost, sense=pyo.minimize)
    if p.sense == "max_capacity":
        m.capacity_reached = pyo.Expression(expr=capacity(m, p, p.objective_metric, p.objective_period))
        m.max_capacity = pyo.Objective(expr=m.capacity_reached, sense=pyo.maximize)
        m.total_cost.deactivate()


def hold_capacity(m, p: Prepared, reached_scaled: float) -> None:
    """Second stage of max_capacity: keep the capacity reached, then least cost."""
    # a relative 1e-9 slack: the capacity is a sum of integers times perf, so no other plan
    # lies between; without it HiGHS's tolerances could cut off the optimum
    m.hold_capacity = pyo.Constraint(expr=m.capacity_reached >= reached_scaled - 1e-9 * max(1.0, abs(reached_scaled)))
    m.max_capacity.deactivate()
    m.total_cost.activate()


def offers_at_bound(m, p: Prepared, units: dict[tuple[str, int], int]) -> list[PreparedOffer]:
    """Offers whose heuristic order bound is reached by the plan (then solve doubles it)."""
    hit = []
    for o in p.offers:
        if o.bound_from_data or not o.needs_order_bound:
            continue
        if any(units.get((o.id, t), 0) >= o.order_bound for t in o.window):
            hit.append(o)
    return hit
