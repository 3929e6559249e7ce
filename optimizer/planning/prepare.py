"""Data preparation: everything the model needs, computed once before it is built.

Currencies become the instance currency, chip specs become per-unit contributions, export
controls and order windows decide which offers are eligible, schedules become per-period
values, and scale factors are chosen for the solver. The result is a plain, testable object;
the model builder reads it and nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from models.instance import FLOP_METRICS, METRICS, Instance, Offer, schedule_value

SECONDS_PER_HOUR = 3600.0
ORDER_BOUND_GROWTH = 16  # a guessed order bound grows this much when it is in doubt
# the largest bound on one order: with HiGHS's integrality tolerance (1e-6) a binary at 1e-6
# could carry up to M * 1e-6 units, which must stay well below one unit
ORDER_BOUND_CAP = 100_000
TERA = 1e12


@dataclass
class PreparedOffer:
    """One eligible offer, money in the instance currency."""

    id: str
    chip: str
    kind: str  # buy | lease
    gpus_per_unit: int
    lead_time: int  # the longest L(t) over the window (for messages; arrivals use `lead`)
    term: int  # 1 for buy offers (unused)
    window: list[int]  # periods W(o) in which an order/start may be placed
    perf: dict[str, float]  # perf[o, m] per unit, only metrics > 0
    unit_price: float
    price_breaks: list[tuple[int, float]]  # (min_units, unit_price), increasing
    fixed_cost: float
    power_kw: float  # wall power per unit (buy only; 0 for leases)
    residual_value: float
    min_order: int
    max_per_period: int | None
    max_total: int | None
    order_bound: int  # a finite upper bound on one order/start, for binaries (see order_bounds)
    bound_from_data: bool  # True when order_bound comes from caps or budgets, not a heuristic
    vendor: str | None = None  # the chip's vendor, carried to the result for quotes
    # MODEL.md section 7, per placement period s of the window: L(s), f(s), and for a buy
    # order whether it is delivered (not blocked at arrival); lease periods that are void
    lead: dict[int, int] = field(default_factory=dict)
    factor: dict[int, float] = field(default_factory=dict)
    delivered: dict[int, bool] = field(default_factory=dict)
    void: frozenset[int] = frozenset()  # periods (also past T) in which a lease gives nothing and bills nothing
    cancel_refund: float = 1.0

    @property
    def is_buy(self) -> bool:
        return self.kind == "buy"

    def arrival(self, s: int) -> int:
        """s + L(s): the first period an order/start placed in s is available."""
        return s + self.lead.get(s, self.lead_time)

    def is_delivered(self, s: int) -> bool:
        return self.delivered.get(s, True)

    def active(self, s: int, T: int) -> range:
        """Periods in which an order/start placed in s is in service, before voids (leases:
        the whole term, also past T; buys: arrival to T, none when cancelled)."""
        first = self.arrival(s)
        if self.is_buy:
            return range(first, T + 1) if self.is_delivered(s) else range(0)
        return range(first, first + self.term)

    def can_serve(self, t: int) -> bool:
        """Can any order or start of this offer be in service in period t? (lead times by
        placement period, cancelled deliveries and void lease periods included)"""
        if self.is_buy:
            return any(self.is_delivered(s) and self.arrival(s) <= t for s in self.window)
        return t not in self.void and any(self.arrival(s) <= t < self.arrival(s) + self.term for s in self.window)

    def billed(self, s: int) -> list[int]:
        """A lease start's billed periods: its active periods that are not void."""
        return [t for t in range(self.arrival(s), self.arrival(s) + self.term) if t not in self.void]

    @property
    def time_varying(self) -> bool:
        """Uses section 7 (lead time or price schedules, cancellations, void lease periods)."""
        return (len(set(self.lead.values())) > 1 or any(f != 1 for f in self.factor.values())
                or not all(self.delivered.values()) or bool(self.void))

    @property
    def needs_order_bound(self) -> bool:
        """Minimum orders, fixed costs and price breaks use binaries, which need a bound M."""
        return bool(self.price_breaks) or self.min_order > 1 or self.fixed_cost > 0

    def price_for(self, units: int) -> float:
        """All-units price per unit for one order/start of `units` (MODEL.md section 5)."""
        price = self.unit_price
        for min_units, break_price in self.price_breaks:
            if units >= min_units:
                price = break_price
        return price

    def segments(self) -> list[tuple[int, int | None, float]]:
        """Order sizes sharing one price: (lowest, highest or None, unit price), min_order applied."""
        edges = [(1, self.unit_price)] + list(self.price_breaks)
        out = []
        for k, (lo, price) in enumerate(edges):
            hi = edges[k + 1][0] - 1 if k + 1 < len(edges) else None
            lo = max(lo, self.min_order)
            if hi is not None and lo > hi:
                continue
            out.append((lo, hi, price))
        return out


@dataclass
class CapacityRequirement:
    name: str  # requirement id or its index, e.g. "train" or "requirements[0]"
    metric: str
    required: dict[int, float]  # period -> capacity, only where the schedule applies
    shortfall_price: float | None = None  # MODEL.md section 7: unmet capacity at this price


@dataclass
class WorkRequirement:
    name: str
    metric: str
    first: int
    last: int
    work_flop: float
    flop_per_capacity_period: float  # 1e12 * 3600 * hours * utilization

    @property
    def capacity_periods(self) -> float:
        """work_flop in TFLOPS-periods: what sum(cap[m,t]) must reach."""
        return self.work_flop / self.flop_per_capacity_period


@dataclass
class SharePolicy:
    name: str
    metric: str
    offers: list[str]  # eligible offers it selects
    min_share: float | None
    max_share: float | None


@dataclass
class Prepared:
    """The instance as the model sees it."""

    name: str
    currency: str
    T: int
    start: str | None
    hours_per_period: float
    discount: dict[int, float]  # df(t) for t = 1 .. last billed period, and T+1
    offers: list[PreparedOffer]
    excluded: list[tuple[str, str, str | None]]  # (offer, reason, rule)
    capacity_requirements: list[CapacityRequirement]
    work_requirements: list[WorkRequirement]
    policies: list[SharePolicy]
    site_power_kw: dict[int, float]  # period -> cap, where it applies
    pue: float
    energy_price: float
    budget_total: float | None
    budget_per_period: dict[int, float]  # period -> cap, where it applies
    sense: str
    objective_metric: str
    objective_period: int
    metrics: list[str]  # metrics reported: required, constrained by policy, or maximised
    money_scale: float = 1.0  # money is divided by this inside the solver
    metric_scale: dict[str, float] = field(default_factory=dict)
    # decisions taken already: (offer, period) -> units, fixed in the model (plan hedge's naive plan)
    fixed: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def last_billed_period(self) -> int:
        last = self.T
        for o in self.offers:
            if o.kind == "lease" and o.window:
                last = max(last, max(o.arrival(s) for s in o.window) + o.term - 1)
        return last

    def offer(self, offer_id: str) -> PreparedOffer:
        return self._by_id[offer_id]

    def __post_init__(self) -> None:
        self._by_id = {o.id: o for o in self.offers}

    def month(self, period: int) -> str | None:
        return month_label(self.start, period)


def month_label(start: str | None, period: int) -> str | None:
    """'2023-04', period 3 -> '2023-06'."""
    if not start:
        return None
    year, month = (int(x) for x in start.split("-"))
    index = year * 12 + (month - 1) + (period - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# --------------------------------------------------------------------------- contributions


def unit_performance(instance: Instance, offer: Offer) -> dict[str, float]:
    """perf[o, m] of MODEL.md section 2, for every metric."""
    chip = instance.chip(offer.chip)
    n = offer.gpus_per_unit
    perf = {m: getattr(chip, m) * chip.efficiency * n for m in FLOP_METRICS}
    perf["memory_gb"] = chip.memory_gb * n
    perf["gpus"] = float(n)
    return perf


def fx_rate(instance: Instance, offer: Offer) -> float:
    """Value of one unit of the offer's currency in the instance currency."""
    currency = offer.currency or instance.currency
    if currency == instance.currency:
        return 1.0
    return instance.fx[currency]


def order_window(instance: Instance, offer: Offer, eligible: dict[int, bool] | None = None) -> list[int]:
    """W(o) = {t : available_from <= t <= available_until, t + L(t) <= T, E(o,t)} (MODEL.md
    section 7; with a constant lead time and regime, [available_from, min(available_until, T - L)])."""
    T = instance.T
    until = offer.available_until if offer.available_until is not None else T
    return [t for t in range(offer.available_from, min(until, T) + 1)
            if t + offer.lead_time_at(t) <= T and (eligible is None or eligible[t])]


def eligibility(instance: Instance, offer: Offer):
    """E(o,t) for t = 1..T (MODEL.md section 7: section 4 under the regime in force in t), and
    the decision of the first period that blocks it (None when no period does)."""
    from optimizer.compliance import offer_decision

    by_regime = {}
    eligible, blocking = {}, None
    for t in range(1, instance.T + 1):
        regime = instance.compliance.regime_in(t)
        if regime not in by_regime:
            by_regime[regime] = offer_decision(instance, offer, regime)
        decision = by_regime[regime]
        eligible[t] = not decision.blocked
        if decision.blocked and blocking is None:
            blocking = decision
    return eligible, blocking


def policy_selects(instance: Instance, select: dict, offer: Offer) -> bool:
    """An offer is selected when it matches every key of `select` (MODEL.md 3.6)."""
    chip = instance.chip(offer.chip)
    for key, wanted in select.items():
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        if key == "tag":
            if not set(wanted) & set(offer.tags):
                return False
            continue
        value = {
            "vendor": chip.vendor,
            "origin": chip.origin,
            "ecosystem": chip.ecosystem,
            "chip": offer.chip,
            "offer": offer.id,
            "kind": offer.kind,
        }[key]
        if value not in wanted:
            return False
    return True


# --------------------------------------------------------------------------- prepare


def prepare(instance: Instance) -> Prepared:
    """Instance -> Prepared: eligibility, windows, money, schedules, scales."""
    T = instance.T
    offers: list[PreparedOffer] = []
    excluded: list[tuple[str, str, str | None]] = []
    for offer in instance.offers:
        eligible, blocking = eligibility(instance, offer)
        if blocking is not None and not any(eligible.values()):
            excluded.append((offer.id, blocking.reason, blocking.rule))
            continue
        window = order_window(instance, offer, eligible)
        if not window:
            excluded.append((offer.id, _no_window_reason(instance, offer, blocking), None))
            continue
        lead = {s: offer.lead_time_at(s) for s in window}
        delivered, void = {}, frozenset()
        if offer.kind == "buy":
            delivered = {s: eligible[s + lead[s]] for s in window}  # only the regime at arrival decides
        else:
            last = max(s + lead[s] for s in window) + offer.term - 1
            void = frozenset(t for t in range(1, last + 1) if not eligible[min(t, T)])
        rate = fx_rate(instance, offer)
        chip = instance.chip(offer.chip)
        power_kw = 0.0
        if offer.kind == "buy":
            power_kw = offer.power_kw if offer.power_kw is not None else chip.tdp_w * offer.gpus_per_unit / 1000
        offers.append(
            PreparedOffer(
                id=offer.id,
                chip=offer.chip,
                kind=offer.kind,
                gpus_per_unit=offer.gpus_per_unit,
                lead_time=max(lead.values()),
                term=offer.term if offer.kind == "lease" else 1,
                window=window,
                perf={m: v for m, v in unit_performance(instance, offer).items() if v > 0},
                unit_price=offer.unit_price * rate,
                price_breaks=[(b.min_units, b.unit_price * rate) for b in offer.price_breaks],
                fixed_cost=offer.fixed_cost * rate,
                power_kw=power_kw,
                residual_value=offer.residual_value if offer.kind == "buy" else 0.0,
                min_order=offer.min_order,
                max_per_period=offer.max_per_period,
                max_total=offer.max_total,
                order_bound=0,
                bound_from_data=False,
                vendor=chip.vendor,
                lead=lead,
                factor={s: offer.price_factor_at(s) for s in window},
                delivered=delivered,
                void=void,
                cancel_refund=offer.cancel_refund if offer.kind == "buy" else 0.0,
            )
        )

    capacity, work = _requirements(instance)
    policies = [
        SharePolicy(
            name=p.name,
            metric=p.metric,
            offers=[o.id for o in instance.offers if policy_selects(instance, p.select, o)
                    and any(po.id == o.id for po in offers)],
            min_share=p.min_share,
            max_share=p.max_share,
        )
        for p in instance.policies
    ]
    prepared = Prepared(
        name=instance.name,
        currency=instance.currency,
        T=T,
        start=instance.horizon.start,
        hours_per_period=instance.horizon.hours_per_period,
        discount={},
        offers=offers,
        excluded=excluded,
        capacity_requirements=capacity,
        work_requirements=work,
        policies=policies,
        site_power_kw=_per_period(instance.site.power_kw, T),
        pue=instance.site.pue,
        energy_price=instance.site.energy_price,
        budget_total=instance.budget.total,
        budget_per_period=_per_period(instance.budget.per_period, T),
        sense=instance.objective.sense,
        objective_metric=instance.objective.metric,
        objective_period=instance.objective.period or T,
        metrics=_reported_metrics(instance),
    )
    rate = 1.0 + instance.horizon.discount_rate
    last = max(prepared.last_billed_period, T + 1)
    prepared.discount = {t: rate ** -(t - 1) for t in range(1, last + 1)}
    order_bounds(prepared)
    _choose_scales(prepared)
    return prepared


def _no_window_reason(instance: Instance, offer: Offer, blocking=None) -> str:
    T = instance.T
    until = offer.available_until if offer.available_until is not None else T
    if until < offer.available_from:
        return (f"cannot be ordered: available_until {until} is before available_from "
                f"{offer.available_from}")
    if isinstance(offer.lead_time, dict) or blocking is not None:
        why = "lead times " + ", ".join(f"{offer.lead_time_at(t)} in {t}" for t in range(offer.available_from, min(until, T) + 1))
        if blocking is not None:
            why += f"; {blocking.reason} in some periods"
        return f"cannot arrive within the horizon: no period in which an order could be placed and arrive by T={T} ({why})"
    latest = T - offer.lead_time
    return (
        f"cannot arrive within the horizon: lead time {offer.lead_time}, first order in period "
        f"{offer.available_from}, latest useful order in period {latest} (T={T})"
    )


def _per_period(schedule: dict[int, float] | None, T: int) -> dict[int, float]:
    out = {}
    for t in range(1, T + 1):
        value = schedule_value(schedule, t)
        if value is not None:
            out[t] = value
    return out


def _requirements(instance: Instance) -> tuple[list[CapacityRequirement], list[WorkRequirement]]:
    T = instance.T
    capacity, work = [], []
    for i, req in enumerate(instance.requirements):
        name = req.id or f"requirements[{i}]"
        if req.schedule is not None:
            capacity.append(CapacityRequirement(name, req.metric, _per_period(req.schedule, T), req.shortfall_price))
        else:
            work.append(
                WorkRequirement(
                    name=name,
                    metric=req.metric,
                    first=req.from_ or 1,
                    last=req.until or T,
                    work_flop=req.work_flop,
                    flop_per_capacity_period=TERA * SECONDS_PER_HOUR
                    * instance.horizon.hours_per_period * req.utilization,
                )
            )
    return capacity, work


def _reported_metrics(instance: Instance) -> list[str]:
    used = {r.metric for r in instance.requirements} | {p.metric for p in instance.policies}
    if instance.objective.sense == "max_capacity":
        used.add(instance.objective.metric)
    return [m for m in METRICS if m in used]


# --------------------------------------------------------------------------- bounds and scales


def order_bounds(prepared: Prepared) -> None:
    """A finite upper bound on one order/start of each offer, for the big-M of binaries.

    Minimum orders, fixed costs and price breaks need `n[o,t] <= M * y`. M comes from the data
    where the data bounds an order: `max_per_period`, `max_total`, or the budget (no order can
    cost more than `budget.total`, nor, for a purchase, more than the per-period cap in force
    when it is paid). Otherwise M is a generous estimate (4x the units that would meet the
    largest requirement alone, at least 4x the largest price break), and `solve` doubles it and
    solves again whenever a plan reaches it, so it never binds a reported plan.
    """
    # refunds of cancelled orders (MODEL.md section 7) are negative cash: with any of them a
    # budget no longer bounds one order's size, so only caps and the guessed bound remain
    refunds = any(o.cancel_refund > 0 and not all(o.delivered.values()) for o in prepared.offers)
    for o in prepared.offers:
        bounds = [b for b in (o.max_per_period, o.max_total) if b is not None]
        cheapest = min([o.unit_price * min(o.factor.values(), default=1.0)] +
                       [p * min(o.factor.values(), default=1.0) for _, p in o.price_breaks])
        if refunds:
            cheapest = 0.0
        if cheapest > 0 and prepared.budget_total is not None:
            bounds.append(math.floor(prepared.budget_total / cheapest + 1e-9))
        if cheapest > 0 and o.is_buy and prepared.budget_per_period and \
                all(t in prepared.budget_per_period for t in o.window):
            bounds.append(math.floor(max(prepared.budget_per_period[t] for t in o.window) / cheapest + 1e-9))
        if bounds:
            o.order_bound, o.bound_from_data = max(0, min(bounds)), True
            continue
        needed = 1
        for req in prepared.capacity_requirements:
            if o.perf.get(req.metric, 0) > 0 and req.required:
                needed = max(needed, math.ceil(max(req.required.values()) / o.perf[req.metric]))
        for req in prepared.work_requirements:
            if o.perf.get(req.metric, 0) > 0:
                needed = max(needed, math.ceil(req.capacity_periods / o.perf[req.metric]))
        largest_break = max([o.min_order] + [b for b, _ in o.price_breaks])
        o.order_bound, o.bound_from_data = 4 * max(needed, largest_break), False


SMALLEST_SCALED = 1e-4  # the smallest amount of money one decision moves, as HiGHS sees it (at least)


def money_scale(prepared: list[Prepared]) -> float:
    """The geometric middle of the smallest and largest amounts one decision moves, over one
    prepared instance or every scenario of one (which share one objective, so one scale)."""
    amounts = []
    for p in prepared:
        energy = p.pue * p.hours_per_period * p.energy_price
        amounts += [o.unit_price for o in p.offers] + [b for o in p.offers for _, b in o.price_breaks]
        amounts += [o.unit_price * f for o in p.offers for f in set(o.factor.values()) if f != 1]
        amounts += [o.fixed_cost for o in p.offers] + [o.power_kw * energy for o in p.offers]
    amounts = [a for a in amounts if a > 0]
    if not amounts:
        return 1.0
    # the smallest amount stays at SMALLEST_SCALED or more, well above HiGHS's tolerances (1e-7 to
    # 1e-9): below them plans that differ only in small amounts all look alike (issue 17: 1e-6 and
    # 2.5e-6 leases beside a 1e8 one came out 60% dear, "optimal"); the large ones may grow instead
    return min(math.sqrt(min(amounts) * max(amounts)), min(amounts) / SMALLEST_SCALED)


def _choose_scales(prepared: Prepared) -> None:
    """Scale factors so that HiGHS sees coefficients near 1.

    Money is divided by the geometric middle of the smallest and largest amounts one decision
    moves (prices, price breaks, fixed costs, a unit's energy cost per period): the scaled
    amounts then spread evenly around 1, unless that puts the smallest below SMALLEST_SCALED
    (amounts spanning more than 1e8): the smallest then stays there and the largest grow, which
    HiGHS handles (tests/test_extremes.py, up to the 1e21 span validation allows). Dividing by the largest price instead would push small
    amounts that still decide the plan (energy of 0.003, a price difference of 8 beside a 6e7
    offer) below HiGHS's absolute tolerances (1e-7), where it can no longer see them.
    Each metric is divided by the largest contribution of one unit. Work (1e23 FLOP) is already
    expressed in TFLOPS-periods (1e23 / (1e12 * 3600 * 730) ~ 3.8e4), then scaled like its metric.
    Reported values are recomputed from the integer plan in original units, never unscaled.
    """
    prepared.money_scale = money_scale([prepared])
    for m in METRICS:
        values = [o.perf[m] for o in prepared.offers if m in o.perf]
        prepared.metric_scale[m] = max(values, default=1.0)


def unmeetable(p: Prepared) -> list[str]:
    """Requirements nothing eligible can serve when they apply (no offer with the metric, or
    none in service then: lead times, windows, cancellations, void lease periods): infeasible
    before any solve. A requirement with a shortfall price may stay unmet."""
    out = []
    for req in p.capacity_requirements:
        if req.shortfall_price is not None:
            continue
        providers = [o for o in p.offers if req.metric in o.perf]
        dead = [t for t, v in sorted(req.required.items()) if v > 0 and not any(o.can_serve(t) for o in providers)]
        if dead and not providers:
            out.append(f"{req.name}: no eligible offer provides {req.metric} (required from period {dead[0]})")
        elif dead:
            out.append(f"{req.name}: nothing eligible with {req.metric} is in service in period {dead[0]}"
                       + (f" (nor in {len(dead) - 1} other periods)" if len(dead) > 1 else ""))
    for req in p.work_requirements:
        if req.work_flop <= 0:
            continue
        providers = [o for o in p.offers if req.metric in o.perf]
        if req.first > req.last:
            out.append(f"{req.name}: the work has no periods (from {req.first} is after until {req.last})")
        elif not providers:
            out.append(f"{req.name}: no eligible offer provides {req.metric} for the work")
        elif not any(o.can_serve(t) for o in providers for t in range(req.first, req.last + 1)):
            out.append(f"{req.name}: nothing eligible with {req.metric} is in service in periods"
                       f" {req.first}-{req.last} for the work")
    return out
