"""A second formulation of MODEL.md as a MILP, written for the tests without the optimiser's code.

It shares nothing with optimizer/planning/build.py: offers, eligibility, prices and windows come from
tests/bruteforce.py (written from MODEL.md), the rows are built here as plain coefficient lists
and handed to HiGHS through highspy directly (no Pyomo). The formulation differs on purpose:
capacity rows sum the orders that are in service in a period (no stock variables), and every
order with a minimum size, price breaks or a fixed cost gets its own segment binaries.

Used by the property tests on instances too big to list: when the optimiser reports a plan the
two optima must agree; when it reports `infeasible`, this formulation (and its LP relaxation,
reported for information) must find no plan either. An uncapped order with binaries is bounded
by `big_m` (10,000, then 1,000,000 when the answer could depend on it), one without by 1e9; a
plan still at such a bound is flagged (`at_bound`, and `unbounded` for max_capacity).
Costs go to HiGHS unscaled (rows are scaled): the tests need exact optima more than speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from models.instance import Instance
from tests.bruteforce import evaluate, offers_of, selects, step

TERA_HOUR = 1e12 * 3600  # FLOP per TFLOPS-hour


@dataclass
class RefResult:
    status: str  # optimal | infeasible | other HiGHS statuses
    objective: float | None = None  # min_cost: discounted cost; max_capacity: capacity
    cost: float | None = None
    units: dict[tuple[str, int], int] = field(default_factory=dict)
    at_bound: list[str] = field(default_factory=list)  # offers whose big_m bound a slot reached
    unbounded: bool = False  # max_capacity: the capacity reached is held back only by big_m
    lp_status: str | None = None  # status of the LP relaxation (for information)
    exact_ok: bool | None = None  # the plan holds every rule in the exact evaluator (tests/bruteforce.py)


class _Model:
    """Columns and rows as plain lists; rows are {column: coefficient} with bounds."""

    def __init__(self, scale_rows: bool = True):
        self.scale_rows = scale_rows
        self.lb, self.ub, self.integer, self.names = [], [], [], []
        self.rows: list[tuple[float, dict[int, float], float]] = []

    def col(self, name: str, lb: float, ub: float, integer: bool) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.integer.append(integer)
        self.names.append(name)
        return len(self.lb) - 1

    def row(self, lo: float, expr: dict[int, float], hi: float, scaled: bool = True) -> None:
        expr = {j: v for j, v in expr.items() if v != 0}
        if (not scaled or not self.scale_rows) and expr:  # risk rows: theta/eta next to costs; scaling would shrink them below 1e-9
            self.rows.append((lo, expr, hi))
            return
        if not expr:
            if (lo is not None and lo > 1e-9) or (hi is not None and hi < -1e-9):  # cannot hold
                self.rows.append((lo, {}, hi))
            return
        scale = max(abs(v) for v in expr.values())  # row scaling keeps HiGHS's tolerances relative
        self.rows.append((None if lo is None else lo / scale, {j: v / scale for j, v in expr.items()},
                          None if hi is None else hi / scale))


def _add(expr: dict[int, float], other: dict[int, float], factor: float = 1.0) -> None:
    for j, v in other.items():
        expr[j] = expr.get(j, 0.0) + factor * v


# what the tests need (exact optima); benchmarks/reference.py sets the gap and time limit of its run
HIGHS_OPTIONS: dict[str, float] = {"mip_rel_gap": 0.0, "mip_abs_gap": 1e-9}


def _solve(model: _Model, objective: dict[int, float], maximise: bool, relax: bool = False):
    import highspy

    if not model.lb:  # no decision at all (HiGHS calls such a model "empty"): only constant rows
        cannot = any(not expr for _lo, expr, _hi in model.rows)
        return ("infeasible", None) if cannot else ("optimal", [])
    inf = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    for name, value in HIGHS_OPTIONS.items():
        h.setOptionValue(name, value)
    h.setOptionValue("mip_feasibility_tolerance", 1e-9)  # a binary at 1e-7 must not open big_m
    # costs as they are: dividing by the largest would push small ones (energy, a cheap lease
    # next to a 1e8 purchase) below HiGHS's dual tolerance, where every plan looks as cheap
    scale = 1.0
    for j in range(len(model.lb)):
        h.addVar(model.lb[j], model.ub[j] if model.ub[j] is not None else inf)
        h.changeColCost(j, objective.get(j, 0.0) / scale)
        if model.integer[j] and not relax:
            h.changeColIntegrality(j, highspy.HighsVarType.kInteger)
    for lo, expr, hi in model.rows:
        idx = list(expr)
        h.addRow(lo if lo is not None else -inf, hi if hi is not None else inf,
                 len(idx), idx, [expr[j] for j in idx])
    h.changeObjectiveSense(highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize)
    h.run()
    status = h.modelStatusToString(h.getModelStatus()).lower()
    values = list(h.getSolution().col_value) if "optimal" in status else None
    return status, values


PLAIN_BOUND = 1e9  # bound on an uncapped order without binaries: only a guard against rays


def reference_solve(inst: Instance, big_m: int = 10_000, lp: bool = False) -> RefResult:
    """Solve MODEL.md for `inst` with the formulation above (gap 0).

    Uncapped orders with binaries (minimum order, price breaks, fixed cost) are bounded by
    `big_m`; when the answer may depend on it (infeasible, or a plan at the bound) the model is
    solved again with a bound 100 times larger, and that answer stands.
    """
    def run(scale_rows: bool) -> RefResult:
        out = _reference_once(inst, big_m, lp, scale_rows)
        uncapped_binaries = any(
            o.max_per_period is None and o.max_total is None and (o.breaks or o.min_order > 1 or o.fixed > 0)
            for o in offers_of(inst))
        if uncapped_binaries and (out.status == "infeasible" or out.at_bound or out.unbounded):
            out = _reference_once(inst, big_m * 100, lp, scale_rows)
        return out

    return _trusted(run)


def _trusted(run):
    """Rows are scaled by their largest coefficient so that HiGHS's tolerances are relative; a
    row mixing a 5e6 price with a 0.005 energy cost then carries a 1e-9 coefficient that HiGHS
    treats as nothing (a plan breaking a zero budget by 0.01 passed). So every plan is evaluated
    exactly (tests/bruteforce.py) and, when it fails or there is no plan, the model is solved
    again with rows as written, and that answer stands; its plan, if any, must hold exactly too,
    else the status is `suspect` (the tests then fail rather than trust it)."""
    out = run(True)
    if out.status == "infeasible" or (out.status == "optimal" and not out.exact_ok):
        raw = run(False)
        if raw.status == "optimal" and not raw.exact_ok:
            raw.status = "suspect"
        return raw
    return out


def _scenario_part(mdl: "_Model", inst: Instance, big_m: int, tag: str = ""):
    """Columns and rows of one instance (one scenario) in `mdl`; returns its pieces."""
    T = inst.horizon.periods
    offers = offers_of(inst)
    n: dict[tuple[int, int], int] = {}  # (offer index, start) -> column
    cost: dict[tuple[int, int], dict[int, float]] = {}  # cost of one order/start, linear
    used: dict[int, int] = {}
    bound_of: dict[int, float] = {}
    heuristic: set[int] = set()  # offers whose bound is big_m or PLAIN_BOUND, not the data

    for i, o in enumerate(offers):
        caps = [c for c in (o.max_per_period, o.max_total) if c is not None]
        binaries = bool(o.breaks) or o.min_order > 1 or o.fixed > 0
        bound_of[i] = min(caps) if caps else big_m if binaries else PLAIN_BOUND
        if not caps:
            heuristic.add(i)
        if o.fixed > 0:
            used[i] = mdl.col(f"{tag}used[{o.id}]", 0, 1, True)
        for s in o.window:
            U = bound_of[i]
            col = n[i, s] = mdl.col(f"{tag}n[{o.id},{s}]", 0, U, True)
            edges = [(1, o.unit_price)] + list(o.breaks)
            needs_segments = o.breaks or o.min_order > 1
            f = o.factor[s]  # MODEL.md section 7: every price of an order/start placed in s
            if not needs_segments:
                cost[i, s] = {col: o.unit_price * f}
                if i in used:
                    mdl.row(None, {col: 1.0, used[i]: -float(U)}, 0.0)
                continue
            split = {col: 1.0}
            expr: dict[int, float] = {}
            choose: dict[int, float] = {}
            for k, (lo, price) in enumerate(edges):
                hi = edges[k + 1][0] - 1 if k + 1 < len(edges) else U
                lo, hi = max(lo, o.min_order), min(hi, U)
                if lo > hi:
                    continue
                q = mdl.col(f"{tag}q[{o.id},{s},{k}]", 0, hi, False)
                z = mdl.col(f"{tag}z[{o.id},{s},{k}]", 0, 1, True)
                mdl.row(0.0, {q: 1.0, z: -float(lo)}, None)
                mdl.row(None, {q: 1.0, z: -float(hi)}, 0.0)
                split[q] = -1.0
                expr[q] = price * f
                choose[z] = 1.0
                if i in used:
                    mdl.row(None, {z: 1.0, used[i]: -1.0}, 0.0)
            mdl.row(0.0, split, 0.0)  # n = sum of segment units (0 when no segment chosen)
            if choose:
                mdl.row(None, choose, 1.0)
            cost[i, s] = expr

    def in_service(i: int, t: int) -> dict[int, float]:
        """Columns of the orders/starts of offer i counting in period t (<= T)."""
        o = offers[i]
        return {n[i, s]: 1.0 for s in o.window if t in o.active(s, T)}

    def capacity(metric: str, t: int, which=None) -> dict[int, float]:
        expr: dict[int, float] = {}
        for i, o in enumerate(offers):
            if (which is None or i in which) and o.perf[metric]:
                _add(expr, in_service(i, t), o.perf[metric])
        return expr

    r = inst.horizon.discount_rate
    df = lambda t: (1 + r) ** -(t - 1)  # noqa: E731
    hours = inst.horizon.hours_per_period
    penalty: dict[int, float] = {}  # section 7: shortfall columns and their discounted price
    for k, req in enumerate(inst.requirements):
        if req.schedule is not None:
            for t in range(1, T + 1):
                need = step(req.schedule, t)
                if not need:
                    continue
                expr = capacity(req.metric, t)
                if req.shortfall_price is not None:
                    u = mdl.col(f"{tag}u[{k},{t}]", 0.0, float(need), False)
                    expr[u] = 1.0
                    penalty[u] = df(t) * req.shortfall_price
                mdl.row(need, expr, None)
        elif req.work_flop:
            expr: dict[int, float] = {}
            for t in range((req.from_ or 1), (req.until or T) + 1):
                _add(expr, capacity(req.metric, t))
            mdl.row(req.work_flop / (TERA_HOUR * hours * req.utilization), expr, None)

    for i, o in enumerate(offers):
        if o.max_total is not None:
            mdl.row(None, {n[i, s]: 1.0 for s in o.window}, o.max_total)

    pue = inst.site.pue
    for t in range(1, T + 1):
        limit = step(inst.site.power_kw, t)
        if limit is not None:
            expr = {}
            for i, o in enumerate(offers):
                if o.kind == "buy":
                    _add(expr, in_service(i, t), o.power_kw * pue)
            mdl.row(None, expr, limit)

    for pol in inst.policies:
        chosen = {i for i, o in enumerate(offers) if selects(inst, pol.select, o.offer)}
        for t in range(1, T + 1):
            sel, total = capacity(pol.metric, t, chosen), capacity(pol.metric, t)
            if pol.min_share is not None:
                expr = dict(sel)
                _add(expr, total, -pol.min_share)
                mdl.row(0.0, expr, None)
            if pol.max_share is not None:
                expr = dict(sel)
                _add(expr, total, -pol.max_share)
                mdl.row(None, expr, 0.0)

    # cash by period, including lease bills past T; refunds negative in the arrival period
    cash: dict[int, dict[int, float]] = {}
    residual: dict[int, float] = {}
    refunds: dict[int, float] = {}
    for (i, s), c in cost.items():
        o = offers[i]
        if o.kind == "buy":
            _add(cash.setdefault(s, {}), c)
            if o.delivered(s):
                _add(residual, c, o.residual)
            else:
                _add(cash.setdefault(o.arrives(s), {}), c, -o.cancel_refund)
        else:
            for t in o.billed(s):
                _add(cash.setdefault(t, {}), c)
    energy = pue * hours * inst.site.energy_price
    for t in range(1, T + 1):
        for i, o in enumerate(offers):
            if o.kind == "buy" and o.power_kw and energy:
                _add(cash.setdefault(t, {}), in_service(i, t), o.power_kw * energy)
    fixed = {used[i]: offers[i].fixed for i in used}

    for t in range(1, T + 1):
        limit = step(inst.budget.per_period, t)
        if limit is not None:
            mdl.row(None, cash.get(t, {}), limit)
    if inst.budget.total is not None:
        expr = dict(fixed)
        for c in cash.values():
            _add(expr, c)
        mdl.row(None, expr, inst.budget.total)

    objective = dict(fixed)
    for t, c in cash.items():
        _add(objective, c, df(t))
    _add(objective, residual, -df(T + 1))
    _add(objective, penalty)
    return offers, n, bound_of, heuristic, objective, capacity


def _reference_once(inst: Instance, big_m: int, lp: bool, scale_rows: bool = True) -> RefResult:
    T = inst.horizon.periods
    mdl = _Model(scale_rows)
    offers, n, bound_of, heuristic, objective, capacity = _scenario_part(mdl, inst, big_m)

    out = RefResult(status="")
    if lp:
        out.lp_status, _ = _solve(mdl, objective, False, relax=True)
    if inst.objective.sense == "max_capacity":
        period = inst.objective.period or T
        reach = capacity(inst.objective.metric, period)
        status, values = _solve(mdl, reach, True)
        if values is None:
            out.status = status
            return out
        best = sum(v * values[j] for j, v in reach.items())
        # unbounded when an order at big_m adds to the capacity maximised: with a larger bound
        # the capacity would be larger still
        out.unbounded = any(values[j] >= bound_of[i] - 0.5 and i in heuristic
                            for (i, s), j in n.items() if j in reach)
        if out.unbounded:
            out.status = "unbounded"
            return out
        mdl.row(best - 1e-9 * max(1.0, abs(best)), reach, None)
    status, values = _solve(mdl, objective, False)
    out.status = status
    if values is None:
        return out
    units = {(offers[i].id, s): int(round(values[col])) for (i, s), col in n.items()}
    out.units = {k: v for k, v in units.items() if v}
    out.at_bound = sorted({offers[i].id for (i, s), col in n.items()
                           if units[offers[i].id, s] >= bound_of[i] - 0.5 and i in heuristic})
    # figures of the plan recomputed exactly from the integer units, not read from the solver
    values_of = evaluate(inst, out.units)
    out.exact_ok = values_of.feasible
    out.cost = values_of.discounted
    if inst.objective.sense == "max_capacity":
        out.objective = values_of.capacity[inst.objective.metric, inst.objective.period or T]
    else:
        out.objective = out.cost
    return out


# --------------------------------------------------------------------------- section 8


@dataclass
class ScenarioRef:
    status: str
    objective: float | None = None  # the risk measure of the C_s recomputed from the integer plans
    costs: dict[str, float] = field(default_factory=dict)
    units: dict[str, dict[tuple[str, int], int]] = field(default_factory=dict)
    at_bound: list[str] = field(default_factory=list)
    exact_ok: bool | None = None  # every scenario's plan holds its rules in the exact evaluator


def reference_solve_scenarios(inst: Instance, big_m: int = 10_000) -> ScenarioRef:
    """The extensive form of MODEL.md section 8, written here: one copy of every column and row
    per scenario (its own data), n_s[o,t] = n_s'[o,t] for t < min(known_s, known_s') (a slot
    outside a window is 0 there), and the risk measure: `expected` sum p_s C_s; `worst` theta >= C_s;
    `cvar` (1 - w) sum p_s C_s + w (eta + sum p_s z_s / (1 - a)), z_s >= C_s - eta, z_s >= 0
    (theta, eta >= 0: every C_s is). Money in these rows is scaled (see below)."""
    def run(scale_rows: bool) -> ScenarioRef:
        out = _scenarios_once(inst, big_m, scale_rows)
        if out.status == "infeasible" or out.at_bound:
            again = _scenarios_once(inst, big_m * 100, scale_rows)
            if again.status != out.status or again.at_bound != out.at_bound or out.status == "infeasible":
                out = again
        return out

    return _trusted(run)


def _scenarios_once(inst: Instance, big_m: int, scale_rows: bool = True) -> ScenarioRef:
    from models.scenarios import scenario_instances
    from tests.bruteforce import risk_value

    worlds = scenario_instances(inst)
    mdl = _Model(scale_rows)
    parts = [_scenario_part(mdl, w.instance, big_m, tag=f"{w.name}:") for w in worlds]
    by_slot = []  # per scenario: (offer id, period) -> column
    for offers, n, *_ in parts:
        by_slot.append({(offers[i].id, s): col for (i, s), col in n.items()})
    T = inst.horizon.periods
    ids = [o.id for o in inst.offers]
    for a in range(len(worlds)):
        for b in range(a + 1, len(worlds)):
            cut = min(worlds[a].known, worlds[b].known)
            for oid in ids:
                for t in range(1, min(cut, T + 1)):
                    expr: dict[int, float] = {}
                    if (oid, t) in by_slot[a]:
                        expr[by_slot[a][oid, t]] = 1.0
                    if (oid, t) in by_slot[b]:
                        expr[by_slot[b][oid, t]] = expr.get(by_slot[b][oid, t], 0.0) - 1.0
                    mdl.row(0.0, expr, 0.0)

    measure, alpha, w = inst.risk.measure, inst.risk.alpha, inst.risk.weight
    probabilities = [x.probability for x in worlds]
    # money in units of the geometric middle of the cost coefficients: theta, eta and z sit in
    # rows with the costs, and HiGHS called such a model infeasible with a 7.6e8 shortfall price
    # next to theta's 1 (a feasible model: used = n = 1, theta = 5e6)
    sizes = [abs(v) for part in parts for v in part[4].values() if v]
    money = math.sqrt(min(sizes) * max(sizes)) if sizes else 1.0
    costs = [{j: v / money for j, v in part[4].items()} for part in parts]
    objective: dict[int, float] = {}
    if measure == "expected" or (measure == "cvar" and w < 1):
        share = 1.0 if measure == "expected" else 1 - w
        for p, c in zip(probabilities, costs):
            _add(objective, c, share * p)
    if measure == "worst":
        # every C_s >= 0 (refunds and residual credits are shares <= 1 of a cost paid no later,
        # discounted no less), so theta and eta may start at 0: a free column with a flat
        # objective made HiGHS answer "infeasible or unbounded"
        theta = mdl.col("theta", 0.0, None, False)
        objective[theta] = 1.0
        for c in costs:
            expr = {theta: 1.0}
            _add(expr, c, -1.0)
            mdl.row(0.0, expr, None, scaled=False)
    elif measure == "cvar" and w > 0:
        eta = mdl.col("eta", 0.0, None, False)  # the minimum is at one of the C_s >= 0
        objective[eta] = objective.get(eta, 0.0) + w
        for x, p, c in zip(worlds, probabilities, costs):
            z = mdl.col(f"z[{x.name}]", 0.0, None, False)
            objective[z] = w * p / (1 - alpha)
            expr = {z: 1.0, eta: 1.0}
            _add(expr, c, -1.0)
            mdl.row(0.0, expr, None, scaled=False)
    status, values = _solve(mdl, objective, False)
    out = ScenarioRef(status=status)
    if values is None:
        return out
    for x, (offers, n, bound_of, heuristic, *_rest) in zip(worlds, parts):
        units = {(offers[i].id, s): int(round(values[col])) for (i, s), col in n.items()}
        out.units[x.name] = {k: v for k, v in units.items() if v}
        exact = evaluate(x.instance, out.units[x.name])
        out.costs[x.name] = exact.discounted
        out.exact_ok = exact.feasible and out.exact_ok is not False
        out.at_bound += [f"{x.name}:{offers[i].id}" for (i, s), col in n.items()
                         if units[offers[i].id, s] >= bound_of[i] - 0.5 and i in heuristic]
    out.at_bound = sorted(set(out.at_bound))
    out.objective = float(risk_value([out.costs[x.name] for x in worlds], probabilities, measure, alpha, w))
    return out
