"""A tiny exhaustive solver written from MODEL.md alone, to check the optimiser against.

Independence is the point: nothing here imports `optimizer.*` (not prepare, build, extract,
solve, check, nor compliance); eligibility (section 4), windows (section 3), prices, cash and the
objective (section 5) are written again from the contract. Only the pydantic `Instance` is
shared, because it is the contract's own reading of the file.

`brute_force(instance)` lists every integer plan n[o,t], t in W(o), with n in {0} U
[min_order, K_o], K_o = min(max_per_period, max_total), evaluates every rule of MODEL.md on all of
them at once (numpy, one row per plan) and returns the best. It is exact when every eligible
offer has `max_per_period`: no feasible plan can order more than that in one period, so the
enumeration is complete. Without it `brute_force` raises `NotEnumerable`.

`evaluate(instance, units)` evaluates one plan ({(offer, period): units}) the same way; the
property tests use it to recompute the costs of the plans the optimiser reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from models.instance import Chip, Instance, Offer

METRICS = ("bf16_tflops", "fp32_tflops", "fp64_tflops", "memory_gb", "gpus")
FLOP_METRICS = ("bf16_tflops", "fp32_tflops", "fp64_tflops")
# MODEL.md section 4: "at least CN, HK, MO for both us-* regimes"
RESTRICTED = {"us-2022-10": {"CN", "HK", "MO"}, "us-2023-10": {"CN", "HK", "MO"}}
FEAS_TOL = 1e-9  # relative slack on every row; integer plans lie far apart compared with it


class NotEnumerable(Exception):
    """The plan space is unbounded (an offer without max_per_period) or too large."""


# --------------------------------------------------------------------------- section 4


def chip_tpp(chip: Chip) -> float:
    if chip.tpp is not None:
        return chip.tpp
    return max(16 * chip.bf16_tflops, 32 * chip.fp32_tflops, 64 * chip.fp64_tflops,
               8 * chip.fp8_tflops, 8 * chip.int8_tops)


def controlled(chip: Chip, regime: str, unknown: str = "worst_case") -> bool:
    """Is the chip controlled under the regime's thresholds?

    A figure the chip lacks: MODEL.md says the chip "counts as controlled: nothing unknown slips
    through". `worst_case` (the reading the product documents) takes the unknown figure at the
    value that controls the chip, so a chip is controlled when some value of the figure would
    control it; `literal` controls every chip lacking a figure the regime names.
    """
    tpp = chip_tpp(chip)
    if regime == "us-2022-10":
        link = chip.interconnect_gbps
        if link is None:
            return True if unknown == "literal" else tpp >= 4800
        return tpp >= 4800 and link >= 600
    if regime == "us-2023-10":
        if tpp >= 4800:
            return True
        if not chip.die_area_mm2:  # absent (or 0: no density can be computed)
            return True if unknown == "literal" else tpp >= 1600
        pd = tpp / chip.die_area_mm2
        a = tpp >= 1600 and pd >= 5.92
        b = (tpp >= 2400 and 1.6 <= pd < 5.92) or (tpp >= 1600 and 3.2 <= pd < 5.92)
        return a or b
    return False


def regime_at(inst: Instance, t: int) -> str:
    """MODEL.md section 7: the regime in force in period t; a plain name = {1: name}; before the
    first key `none`; past T the value at T."""
    T = inst.horizon.periods
    regime = inst.compliance.regime
    schedule = {1: regime} if isinstance(regime, str) else dict(regime)
    keys = [k for k in schedule if k <= min(t, T)]
    return schedule[max(keys)] if keys else "none"


def blocked(inst: Instance, offer: Offer, unknown: str = "worst_case", regime: str | None = None) -> bool:
    """Section 4 under `regime` (default: the regime of period 1, i.e. the v1 plain name)."""
    chip = next(c for c in inst.chips if c.id == offer.chip)
    if chip.export_control == "blocked":
        return True
    if chip.export_control == "allowed":
        return False
    if regime is None:
        regime = regime_at(inst, 1)
    if regime not in RESTRICTED or inst.buyer is None:
        return False
    country = inst.buyer.country
    restricted = RESTRICTED[regime]
    if country not in restricted:
        return False
    if chip.origin == country:  # a missing origin is foreign
        return False
    if offer.kind == "lease" and (offer.location or country) not in restricted:
        return False
    return controlled(chip, regime, unknown)


# --------------------------------------------------------------------------- sections 2, 3, 5, 7


def step(schedule: dict[int, float] | None, t: int) -> float | None:
    """Step function: the value of the last key <= t; None before the first key."""
    if not schedule:
        return None
    keys = [k for k in schedule if k <= t]
    return schedule[max(keys)] if keys else None


def placed(value, t: int, default: float):
    """A section 7 schedule by placement period (scalar = every period): default before the
    first key. Placement periods are <= T, so "past T" never arises here."""
    if value is None:
        return default
    if not isinstance(value, dict):
        return value
    got = step(value, t)
    return default if got is None else got


@dataclass
class Off:
    """One eligible offer with a non-empty window, money in the instance currency.

    Section 7 per placement period s: `lead[s]` = L(s), `factor[s]` = f(s); `allowed[t]` =
    E(o, t) for t = 1..T (past T: the value at T).
    """

    id: str
    kind: str
    term: int
    window: list[int]
    lead: dict[int, int]
    factor: dict[int, float]
    allowed: dict[int, bool]
    perf: dict[str, float]
    unit_price: float
    breaks: list[tuple[int, float]]
    fixed: float
    power_kw: float
    residual: float
    cancel_refund: float
    min_order: int
    max_per_period: int | None
    max_total: int | None
    T: int
    offer: Offer

    def unit_prices(self, n: np.ndarray, s: int | None = None) -> np.ndarray:
        """Price per unit of one order/start of n units placed in s: the last break with
        min_units <= n, times f(s)."""
        price = np.full(n.shape, self.unit_price, dtype=float)
        for min_units, brk in self.breaks:
            price = np.where(n >= min_units, brk, price)
        return price * (1.0 if s is None else self.factor[s])

    def E(self, t: int) -> bool:
        return self.allowed[min(t, self.T)]

    def arrives(self, s: int) -> int:
        return s + self.lead[s]

    def delivered(self, s: int) -> bool:
        """Buy: delivered iff not blocked under the regime at arrival (leases: always True)."""
        return self.kind != "buy" or self.E(self.arrives(s))

    def active(self, s: int, T: int) -> list[int]:
        """Periods <= T in which an order/start placed in s counts as capacity."""
        first = self.arrives(s)
        if self.kind == "buy":
            return list(range(first, T + 1)) if self.delivered(s) else []
        return [t for t in range(first, min(T, first + self.term - 1) + 1) if self.E(t)]

    def billed(self, s: int) -> list[int]:
        """Lease: the active, non-void periods of a start in s (also past T)."""
        first = self.arrives(s)
        return [t for t in range(first, first + self.term) if self.E(t)]


def offers_of(inst: Instance, unknown: str = "worst_case") -> list[Off]:
    T = inst.horizon.periods
    out = []
    for o in inst.offers:
        allowed = {t: not blocked(inst, o, unknown, regime_at(inst, t)) for t in range(1, T + 1)}
        until = o.available_until if o.available_until is not None else T
        lead = {t: int(placed(o.lead_time, t, 0)) for t in range(1, T + 1)}
        factor = {t: float(placed(o.price_factor, t, 1.0)) for t in range(1, T + 1)}
        window = [t for t in range(o.available_from, min(until, T) + 1) if t + lead[t] <= T and allowed[t]]
        if not window:
            continue
        chip = next(c for c in inst.chips if c.id == o.chip)
        g = o.gpus_per_unit
        perf = {m: getattr(chip, m) * chip.efficiency * g for m in FLOP_METRICS}
        perf["memory_gb"] = chip.memory_gb * g
        perf["gpus"] = float(g)
        cur = o.currency or inst.currency
        rate = 1.0 if cur == inst.currency else inst.fx[cur]
        buy = o.kind == "buy"
        out.append(Off(
            id=o.id, kind=o.kind, term=o.term if not buy else 1, window=window,
            lead=lead, factor=factor, allowed=allowed,
            perf=perf, unit_price=o.unit_price * rate,
            breaks=[(b.min_units, b.unit_price * rate) for b in o.price_breaks],
            fixed=o.fixed_cost * rate,
            power_kw=(o.power_kw if o.power_kw is not None else chip.tdp_w * g / 1000) if buy else 0.0,
            residual=o.residual_value if buy else 0.0,
            cancel_refund=(o.cancel_refund if o.cancel_refund is not None else 1.0) if buy else 0.0,
            min_order=o.min_order, max_per_period=o.max_per_period, max_total=o.max_total, T=T, offer=o,
        ))
    return out


def _ge(lhs: np.ndarray, rhs, tol: float = FEAS_TOL) -> np.ndarray:
    return lhs >= rhs - tol * np.maximum(1.0, np.abs(rhs))


def _le(lhs: np.ndarray, rhs, tol: float = FEAS_TOL) -> np.ndarray:
    return lhs <= rhs + tol * np.maximum(1.0, np.abs(rhs))


@dataclass
class Evaluation:
    """Every quantity of MODEL.md for P plans at once (arrays of length P)."""

    feasible: np.ndarray
    broken: dict[str, np.ndarray]  # rule -> mask of plans breaking it
    capacity: dict[tuple[str, int], np.ndarray]
    capex: np.ndarray
    lease: np.ndarray
    power: np.ndarray
    fixed: np.ndarray
    residual: np.ndarray
    cash: dict[int, np.ndarray]
    discounted: np.ndarray  # the min_cost objective C (shortfall penalty included)
    refunds: np.ndarray
    shortfall: np.ndarray  # discounted penalty
    short: dict[tuple[int, int], np.ndarray]  # (requirement index, period) -> u

    @property
    def total_cash(self) -> np.ndarray:
        return self.capex - self.refunds + self.lease + self.power + self.fixed


def evaluate_matrix(inst: Instance, offers: list[Off], slots: list[tuple[int, int]], N: np.ndarray,
                    tol: float = FEAS_TOL) -> Evaluation:
    """N[p, v] = units of plan p in slot v = (offer index, period)."""
    T = inst.horizon.periods
    P = N.shape[0]
    zeros = lambda: np.zeros(P)  # noqa: E731
    broken: dict[str, np.ndarray] = {}

    def rule(name: str, ok: np.ndarray) -> None:
        broken[name] = broken.get(name, np.zeros(P, bool)) | ~ok

    # section 3: units in service and capacity
    in_service = {(i, t): zeros() for i in range(len(offers)) for t in range(1, T + 1)}
    for v, (i, s) in enumerate(slots):
        for t in offers[i].active(s, T):
            in_service[i, t] = in_service[i, t] + N[:, v]
    cap = {(m, t): sum((o.perf[m] * in_service[i, t] for i, o in enumerate(offers)), zeros())
           for m in METRICS for t in range(1, T + 1)}

    # 1, 2: requirements
    hours = inst.horizon.hours_per_period
    r = inst.horizon.discount_rate
    df = lambda t: (1 + r) ** -(t - 1)  # noqa: E731
    shortfall = zeros()  # section 7: the discounted penalty, at the least u that covers the gap
    short: dict[tuple[int, int], np.ndarray] = {}  # (requirement index, period) -> u
    for k, req in enumerate(inst.requirements):
        if req.schedule is not None:
            for t in range(1, T + 1):
                need = step(req.schedule, t)
                if need is None:
                    continue
                if req.shortfall_price is None:
                    rule("capacity", _ge(cap[req.metric, t], need, tol))
                else:  # cap + u >= need, 0 <= u <= need: always possible since cap >= 0
                    u = np.clip(need - cap[req.metric, t], 0.0, need)
                    short[k, t] = u
                    shortfall = shortfall + df(t) * req.shortfall_price * u
        else:
            first, last = req.from_ or 1, req.until or T
            done = sum((cap[req.metric, t] for t in range(first, last + 1)), zeros())
            rule("work", _ge(done * 1e12 * 3600 * hours * req.utilization, req.work_flop, tol))

    # 3, 4: supply caps and minimum order
    by_offer: dict[int, list[int]] = {}
    for v, (i, _s) in enumerate(slots):
        by_offer.setdefault(i, []).append(v)
    for i, vs in by_offer.items():
        o = offers[i]
        sub = N[:, vs]
        if o.max_per_period is not None:
            rule("max_per_period", (sub <= o.max_per_period).all(axis=1))
        if o.max_total is not None:
            rule("max_total", sub.sum(axis=1) <= o.max_total)
        rule("min_order", ((sub == 0) | (sub >= o.min_order)).all(axis=1))
    rule("integer", (N >= 0).all(axis=1))

    # 5: site power (owned hardware only)
    pue = inst.site.pue
    for t in range(1, T + 1):
        limit = step(inst.site.power_kw, t)
        if limit is not None:
            draw = sum((in_service[i, t] * o.power_kw * pue for i, o in enumerate(offers) if o.kind == "buy"),
                       zeros())
            rule("site_power", _le(draw, limit, tol))

    # 6: policies, every period
    for pol in inst.policies:
        chosen = [i for i, o in enumerate(offers) if selects(inst, pol.select, o.offer)]
        for t in range(1, T + 1):
            total = cap[pol.metric, t]
            sel = sum((offers[i].perf[pol.metric] * in_service[i, t] for i in chosen), zeros())
            scale = np.maximum(1.0, total)
            if pol.min_share is not None:
                rule("policy_min", sel - pol.min_share * total >= -tol * scale)
            if pol.max_share is not None:
                rule("policy_max", sel - pol.max_share * total <= tol * scale)

    # sections 5 and 7: cash (refunds negative in the arrival period, void lease periods unbilled)
    last_bill = T
    for i, s in slots:
        o = offers[i]
        if o.kind == "lease":
            last_bill = max(last_bill, s + o.lead[s] + o.term - 1)
    cash = {t: zeros() for t in range(1, last_bill + 1)}
    capex, refunds, lease, residual = zeros(), zeros(), zeros(), zeros()
    used = {i: np.zeros(P, bool) for i in range(len(offers))}
    for v, (i, s) in enumerate(slots):
        o = offers[i]
        n = N[:, v]
        cost = o.unit_prices(n, s) * n
        used[i] = used[i] | (n > 0)
        if o.kind == "buy":
            cash[s] = cash[s] + cost
            capex = capex + cost
            if o.delivered(s):
                residual = residual + o.residual * cost
            else:
                back = o.cancel_refund * cost
                cash[o.arrives(s)] = cash[o.arrives(s)] - back
                refunds = refunds + back
        else:
            for t in o.billed(s):
                cash[t] = cash[t] + cost
                lease = lease + cost
    power = zeros()
    energy = pue * hours * inst.site.energy_price
    for t in range(1, T + 1):
        p_t = sum((in_service[i, t] * o.power_kw * energy for i, o in enumerate(offers) if o.kind == "buy"),
                  zeros())
        cash[t] = cash[t] + p_t
        power = power + p_t
    fixed = sum((o.fixed * used[i] for i, o in enumerate(offers)), zeros())

    for t in range(1, T + 1):
        limit = step(inst.budget.per_period, t)
        if limit is not None:
            rule("budget_per_period", _le(cash[t], limit, tol))
    if inst.budget.total is not None:
        rule("budget_total", _le(capex - refunds + lease + power + fixed, inst.budget.total, tol))

    discounted = (sum((df(t) * c for t, c in cash.items()), zeros()) + fixed - df(T + 1) * residual
                  + shortfall)

    feasible = np.ones(P, bool)
    for mask in broken.values():
        feasible &= ~mask
    return Evaluation(feasible, broken, cap, capex, lease, power, fixed, residual, cash, discounted,
                      refunds, shortfall, short)


def selects(inst: Instance, select: dict, offer: Offer) -> bool:
    """MODEL.md 3.6: the offer matches every key; a list matches any of its values."""
    chip = next(c for c in inst.chips if c.id == offer.chip)
    for key, wanted in select.items():
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        if key == "tag":
            ok = any(tag in wanted for tag in offer.tags)
        else:
            have = {"vendor": chip.vendor, "origin": chip.origin, "ecosystem": chip.ecosystem,
                    "chip": offer.chip, "offer": offer.id, "kind": offer.kind}[key]
            ok = have is not None and have in wanted
        if not ok:
            return False
    return True


# --------------------------------------------------------------------------- one plan


@dataclass
class PlanValues:
    feasible: bool
    broken: list[str]
    capex: float
    lease: float
    power: float
    fixed: float
    residual: float
    total_cash: float
    discounted: float
    capacity: dict[tuple[str, int], float]
    refunds: float = 0.0
    shortfall: float = 0.0  # discounted penalty
    short: dict[tuple[int, int], float] = field(default_factory=dict)  # (requirement index, period) -> u


def evaluate(inst: Instance, units: dict[tuple[str, int], int], unknown: str = "worst_case") -> PlanValues:
    """One plan {(offer id, period): units} -> feasibility and costs.

    A unit count on an offer that is blocked, excluded or outside its window makes the plan
    infeasible (rule `window`).
    """
    offers = offers_of(inst, unknown)
    index = {o.id: i for i, o in enumerate(offers)}
    slots = [(i, t) for i, o in enumerate(offers) for t in o.window]
    where = {(offers[i].id, t): v for v, (i, t) in enumerate(slots)}
    N = np.zeros((1, len(slots)), dtype=np.int64)
    outside = []
    for (oid, t), n in units.items():
        if n == 0:
            continue
        if (oid, t) in where:
            N[0, where[oid, t]] += n
        else:
            outside.append((oid, t, oid in index))
    ev = evaluate_matrix(inst, offers, slots, N)
    broken = [name for name, mask in ev.broken.items() if mask[0]]
    if outside:
        broken.append("window")
    return PlanValues(
        feasible=bool(ev.feasible[0]) and not outside, broken=broken,
        capex=float(ev.capex[0]), lease=float(ev.lease[0]), power=float(ev.power[0]),
        fixed=float(ev.fixed[0]), residual=float(ev.residual[0]), total_cash=float(ev.total_cash[0]),
        discounted=float(ev.discounted[0]),
        capacity={k: float(v[0]) for k, v in ev.capacity.items()},
        refunds=float(ev.refunds[0]), shortfall=float(ev.shortfall[0]),
        short={k: float(v[0]) for k, v in ev.short.items()},
    )


# --------------------------------------------------------------------------- enumeration


@dataclass
class BruteResult:
    status: str  # optimal | infeasible
    objective: float | None  # min_cost: discounted cost; max_capacity: capacity reached
    cost: float | None  # discounted cost of the best plan (the tie-break of max_capacity)
    plan: dict[tuple[str, int], int] = field(default_factory=dict)
    space: int = 0  # number of plans enumerated
    feasible_plans: int = 0


def choices(o: Off) -> list[int]:
    """Unit counts worth listing for one order/start: 0 or min_order..K."""
    if o.max_per_period is None:
        raise NotEnumerable(f"offer {o.id} has no max_per_period")
    k = o.max_per_period if o.max_total is None else min(o.max_per_period, o.max_total)
    return [0] + list(range(o.min_order, k + 1))


def plan_space(inst: Instance, unknown: str = "worst_case") -> int:
    """How many plans `brute_force` would list (NotEnumerable when unbounded)."""
    offers = offers_of(inst, unknown)
    return math.prod(len(choices(o)) ** len(o.window) for o in offers)


def brute_force(inst: Instance, limit: int = 300_000, unknown: str = "worst_case") -> BruteResult:
    """The optimum of MODEL.md by listing every plan (exact when every offer has max_per_period)."""
    offers = offers_of(inst, unknown)
    slots = [(i, t) for i, o in enumerate(offers) for t in o.window]
    values = [choices(offers[i]) for i, _t in slots]
    space = math.prod(len(v) for v in values)
    if space > limit:
        raise NotEnumerable(f"{space} plans > {limit}")
    if slots:
        grids = np.meshgrid(*[np.array(v, dtype=np.int64) for v in values], indexing="ij")
        N = np.stack([g.ravel() for g in grids], axis=1)
    else:
        N = np.zeros((1, 0), dtype=np.int64)
    ev = evaluate_matrix(inst, offers, slots, N)
    ok = np.flatnonzero(ev.feasible)
    if ok.size == 0:
        return BruteResult("infeasible", None, None, space=N.shape[0])
    cost = ev.discounted
    if inst.objective.sense == "max_capacity":
        period = inst.objective.period or inst.horizon.periods
        reach = ev.capacity[inst.objective.metric, period]
        best = reach[ok].max()
        ties = ok[reach[ok] >= best - FEAS_TOL * max(1.0, abs(best))]
        pick = ties[np.argmin(cost[ties])]
        objective = float(reach[pick])
    else:
        pick = ok[np.argmin(cost[ok])]
        objective = float(cost[pick])
    plan = {(offers[i].id, t): int(N[pick, v]) for v, (i, t) in enumerate(slots) if N[pick, v]}
    return BruteResult("optimal", objective, float(cost[pick]), plan, N.shape[0], int(ok.size))



# --------------------------------------------------------------------------- section 8


def risk_value(costs, probabilities, measure: str, alpha: float = 0.9, weight: float = 1.0):
    """MODEL.md section 8 on arrays: costs[s] (each an array over combinations, or a float).

    CVaR_a = min over eta of eta + sum_s p_s max(0, C_s - eta) / (1 - a): a convex piecewise
    linear function of eta with its kinks at the C_s, slope 1 past the largest and
    1 - 1/(1 - a) <= 0 below the smallest, so the minimum is at one of the C_s.
    """
    costs = [np.asarray(c, dtype=float) for c in costs]
    expected = sum(p * c for p, c in zip(probabilities, costs))
    if measure == "expected":
        return expected
    if measure == "worst":
        return np.maximum.reduce(costs) if len(costs) > 1 else costs[0]
    cvar = None
    for eta in costs:
        value = eta + sum(p * np.maximum(0.0, c - eta) for p, c in zip(probabilities, costs)) / (1 - alpha)
        cvar = value if cvar is None else np.minimum(cvar, value)
    return (1 - weight) * expected + weight * cvar


@dataclass
class ScenarioBrute:
    status: str  # optimal | infeasible
    objective: float | None = None
    costs: dict[str, float] = field(default_factory=dict)  # C_s of the best combination
    plans: dict[str, dict[tuple[str, int], int]] = field(default_factory=dict)
    space: int = 0  # plans listed over all scenarios


def brute_force_scenarios(inst: Instance, limit: int = 300_000, combos: int = 2_000_000,
                          unknown: str = "worst_case") -> ScenarioBrute:
    """The optimum of MODEL.md section 8 by listing every plan of every scenario.

    Each scenario's plans are listed as `brute_force` does; a plan is a map (offer, period) ->
    units with 0 outside the scenario's window. Scenarios s, s' must agree on every slot with
    t < min(known_s, known_s'). Every risk measure is non-decreasing in each C_s, so within one
    scenario only the cheapest feasible plan of each `prefix` (its units on the slots it must
    share with some other scenario) matters; the prefixes of all scenarios are then combined and
    the compatible combinations evaluated exactly.
    """
    from models.scenarios import scenario_instances

    worlds = scenario_instances(inst)
    ids = [o.id for o in inst.offers]
    T = inst.horizon.periods
    best_by_prefix = []  # per scenario: {prefix tuple: (cost, plan)}
    space = 0
    for w in worlds:
        horizon_cut = max((min(w.known, v.known) for v in worlds if v is not w), default=1)
        shared = [(oid, t) for oid in ids for t in range(1, min(horizon_cut, T + 1))]
        offers = offers_of(w.instance, unknown)
        slots = [(i, t) for i, o in enumerate(offers) for t in o.window]
        values = [choices(offers[i]) for i, _t in slots]
        size = math.prod(len(v) for v in values)
        if size > limit:
            raise NotEnumerable(f"scenario {w.name}: {size} plans > {limit}")
        space += size
        if slots:
            grids = np.meshgrid(*[np.array(v, dtype=np.int64) for v in values], indexing="ij")
            N = np.stack([g.ravel() for g in grids], axis=1)
        else:
            N = np.zeros((1, 0), dtype=np.int64)
        ev = evaluate_matrix(w.instance, offers, slots, N)
        col = {(offers[i].id, t): v for v, (i, t) in enumerate(slots)}
        prefix = np.stack([N[:, col[k]] if k in col else np.zeros(N.shape[0], np.int64) for k in shared], axis=1) \
            if shared else np.zeros((N.shape[0], 0), np.int64)
        table: dict[tuple, tuple[float, dict]] = {}
        for p in np.flatnonzero(ev.feasible):
            key = tuple(int(x) for x in prefix[p])
            cost = float(ev.discounted[p])
            if key not in table or cost < table[key][0]:
                plan = {(offers[i].id, t): int(N[p, v]) for v, (i, t) in enumerate(slots) if N[p, v]}
                table[key] = (cost, plan)
        if not table:
            return ScenarioBrute("infeasible", space=space)
        best_by_prefix.append((w, shared, table))

    # combine: every tuple of prefixes, one per scenario, that agrees pairwise before min(known)
    def agrees(a, b) -> bool:
        (wa, sa, ka), (wb, sb, kb) = a, b
        cut = min(wa.known, wb.known)
        da, db = dict(zip(sa, ka)), dict(zip(sb, kb))
        return all(da[k] == db[k] for k in sa if k[1] < cut)

    choices_per = [[(w, shared, key) for key in table] for (w, shared, table) in best_by_prefix]
    if math.prod(len(c) for c in choices_per) > combos:
        raise NotEnumerable("too many prefix combinations")
    best = None
    for combo in _compatible(choices_per, agrees):
        costs = [best_by_prefix[j][2][combo[j][2]][0] for j in range(len(combo))]
        value = float(risk_value(costs, [w.probability for w in worlds], inst.risk.measure,
                                 inst.risk.alpha, inst.risk.weight))
        if best is None or value < best[0] - 1e-12 * max(1.0, abs(value)):
            best = (value, combo, costs)
    if best is None:
        return ScenarioBrute("infeasible", space=space)
    value, combo, costs = best
    return ScenarioBrute(
        "optimal", value,
        costs={w.name: c for w, c in zip(worlds, costs)},
        plans={w.name: best_by_prefix[j][2][combo[j][2]][1] for j, w in enumerate(worlds)},
        space=space,
    )


def _compatible(choices_per, agrees):
    """Every tuple (one choice per scenario) whose members agree pairwise."""
    def extend(prefix):
        if len(prefix) == len(choices_per):
            yield tuple(prefix)
            return
        for c in choices_per[len(prefix)]:
            if all(agrees(p, c) for p in prefix):
                yield from extend(prefix + [c])
    yield from extend([])
