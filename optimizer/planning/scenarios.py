r"""Scenarios (MODEL.md section 8): one plan for several possible futures, as an extensive form.

A scenario is the same model on that scenario's data (mpi-sppy's scenario creator):
`scenario_model` builds one Block with `build.build_rules` on the scenario's Prepared. The
extensive form only links the Blocks: `decide_alike_until_known` (non-anticipativity) and the
risk objective (`weigh_risk`). Extraction reads each scenario's integer plan and recomputes its
cost exactly (extract.plan_accounts); the top-level objective is the risk measure of those
recomputed costs, never a solver value.

    expected:  min sum_s p_s C_s
    cvar:      min (1-w) sum_s p_s C_s + w (eta + sum_s p_s z_s / (1-a)),  z_s >= C_s - eta, z_s >= 0
    worst:     min theta,  theta >= C_s
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyomo.core as pyo

from models.instance import Instance
from models.result import Cost, Excluded, Result, RiskInfo, ScenarioResult
from models.scenarios import ScenarioData, scenario_instances
from optimizer.planning.build import build_rules, gc_paused, offers_at_bound
from optimizer.planning.extract import (
    cash_rows, cost_of, capacity_rows, excluded_rows, plan_accounts, plan_rows, shortfall_rows, solver_info,
    work_rows,
)
from optimizer.planning.highs import Outcome, SolveOptions, highs_version, run_highs
from optimizer.planning.prepare import (
    ORDER_BOUND_CAP, ORDER_BOUND_GROWTH, Prepared, money_scale, prepare, unmeetable,
)


@dataclass
class ScenarioPlan:
    """The extensive form's inputs: each scenario's data, prepared with one money scale."""

    scenarios: list[ScenarioData]
    prepared: list[Prepared]
    measure: str
    alpha: float
    weight: float

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]


def prepare_scenarios(instance: Instance, scenarios: list[ScenarioData] | None = None) -> ScenarioPlan:
    """Every scenario's Prepared, sharing one money scale (their costs meet in one objective)."""
    scenarios = scenarios if scenarios is not None else scenario_instances(instance)
    prepared = [prepare(s.instance) for s in scenarios]
    scale = money_scale(prepared)
    for p in prepared:
        p.money_scale = scale
    return ScenarioPlan(scenarios, prepared, instance.risk.measure, instance.risk.alpha, instance.risk.weight)


# --------------------------------------------------------------------------- the extensive form


def scenario_model(block, p: Prepared) -> None:
    """One scenario: every rule of sections 3-7 on its own data, its objective left inactive."""
    build_rules(block, p)
    block.total_cost.deactivate()


def build_extensive_form(plan: ScenarioPlan) -> pyo.ConcreteModel:
    """A Block per scenario, linked by non-anticipativity and weighed by the risk measure."""
    with gc_paused():
        m = pyo.ConcreteModel(name="extensive form")
        m.SCENARIOS = pyo.Set(initialize=plan.names, ordered=True)
        by_name = dict(zip(plan.names, plan.prepared))
        m.scenario = pyo.Block(m.SCENARIOS, rule=lambda b, s: scenario_model(b, by_name[s]))
        decide_alike_until_known(m, plan)
        weigh_risk(m, plan)
    return m


def decide_alike_until_known(m, plan: ScenarioPlan) -> None:
    r"""Non-anticipativity (MODEL.md section 8): until you can tell two worlds apart, you act alike.

    .. math:: n_s[o,t] = n_{s'}[o,t] \quad \forall s, s', o, \; t < \min(known_s, known_{s'})

    For each period t the scenarios not yet told apart (known > t) form one group; each member
    is tied to the group's first one, and a slot outside a member's window counts as 0 there,
    so the others' orders in that slot are 0 too.
    """
    known = {s.name: s.known for s in plan.scenarios}
    T = max(p.T for p in plan.prepared)
    offers = list(dict.fromkeys(o.id for p in plan.prepared for o in p.offers))
    slots = {s.name: {(o.id, t) for o in p.offers for t in o.window} for s, p in zip(plan.scenarios, plan.prepared)}
    pairs, zeros = [], []
    for t in range(1, T + 1):
        group = [s for s in plan.names if known[s] > t]
        if len(group) < 2:
            continue
        for o in offers:
            having = [s for s in group if (o, t) in slots[s]]
            if not having:
                continue
            if len(having) < len(group):
                zeros += [(s, o, t) for s in having]
            else:
                pairs += [(having[0], s, o, t) for s in having[1:]]
    m.ALIKE = pyo.Set(initialize=pairs, dimen=4, ordered=True)
    m.ALIKE_ZERO = pyo.Set(initialize=zeros, dimen=3, ordered=True)
    m.decide_alike_until_known = pyo.Constraint(
        m.ALIKE, rule=lambda _, a, b, o, t: m.scenario[a].units[o, t] == m.scenario[b].units[o, t])
    m.decide_alike_until_known_zero = pyo.Constraint(
        m.ALIKE_ZERO, rule=lambda _, s, o, t: m.scenario[s].units[o, t] == 0)


def weigh_risk(m, plan: ScenarioPlan) -> None:
    """The objective of section 8 over the scenarios' costs C_s (`scenario_cost`, scaled money)."""
    p = {s.name: s.probability for s in plan.scenarios}
    cost = {s: m.scenario[s].scenario_cost for s in plan.names}
    expected = sum(p[s] * cost[s] for s in plan.names)
    if plan.measure == "worst":
        m.worst_cost = pyo.Var(domain=pyo.Reals)
        m.above_every_scenario = pyo.Constraint(m.SCENARIOS, rule=lambda _, s: m.worst_cost >= cost[s])
        m.risk_objective = pyo.Objective(expr=m.worst_cost, sense=pyo.minimize)
    elif plan.measure == "cvar":
        m.value_at_risk = pyo.Var(domain=pyo.Reals)  # eta
        m.excess_cost = pyo.Var(m.SCENARIOS, domain=pyo.NonNegativeReals)  # z_s
        m.excess_over_var = pyo.Constraint(
            m.SCENARIOS, rule=lambda _, s: m.excess_cost[s] >= cost[s] - m.value_at_risk)
        cvar = m.value_at_risk + sum(p[s] * m.excess_cost[s] for s in plan.names) / (1 - plan.alpha)
        m.risk_objective = pyo.Objective(expr=(1 - plan.weight) * expected + plan.weight * cvar, sense=pyo.minimize)
    else:
        m.risk_objective = pyo.Objective(expr=expected, sense=pyo.minimize)


# --------------------------------------------------------------------------- the risk measure, exactly


def risk_value(costs: list[float], probabilities: list[float], measure: str, alpha: float = 0.9,
               weight: float = 1.0) -> float:
    """The section 8 objective of scenario costs, computed exactly (no solver).

    CVaR's min over eta is attained at one of the costs (a convex piecewise-linear function
    with its kinks there), so it is evaluated at each.
    """
    expected = sum(p * c for p, c in zip(probabilities, costs))
    if measure == "worst":
        return max(costs)
    if measure == "cvar":
        cvar = min(eta + sum(p * max(0.0, c - eta) for p, c in zip(probabilities, costs)) / (1 - alpha)
                   for eta in costs)
        return (1 - weight) * expected + weight * cvar
    return expected


# --------------------------------------------------------------------------- solve and extract


def solve_scenarios(instance: Instance, options: SolveOptions, started: float | None = None,
                    scenarios: list[ScenarioData] | None = None) -> Result:
    """The scenario instance -> Result with each scenario's plan and the decisions to place now."""
    started = time.perf_counter() if started is None else started
    plan = prepare_scenarios(instance, scenarios)
    unmet = [f"scenario {s.name}: {msg}" for s, p in zip(plan.scenarios, plan.prepared) for msg in unmeetable(p)]
    if unmet:
        return _no_plan(instance, plan, "infeasible", "; ".join(unmet), options, 0.0, started)
    outcome = _solve_with_bounds(plan, options, started)
    if outcome.status == "error":
        raise RuntimeError("HiGHS stopped without a plan and without saying why")
    if not outcome.has_plan:
        status = "infeasible" if outcome.status in ("infeasible", "infeasible_or_unbounded") else outcome.status
        message = ("no plan meets every scenario's requirements, caps, budgets and policies while acting alike"
                   " until the scenarios are told apart") if status == "infeasible" else \
            "the time limit was reached before any plan was found"
        return _no_plan(instance, plan, status, message, options, outcome.time_s, started)
    return extract_scenarios(instance, plan, outcome, options, started)


def _solve_with_bounds(plan: ScenarioPlan, options: SolveOptions, started: float) -> Outcome:
    """Solve; grow the guessed order bounds a plan reaches (or all of them when infeasible) until
    the objective stops changing, as solve._solve_prepared does for one scenario."""
    def remaining():
        return None if options.time_limit is None else options.time_limit - (time.perf_counter() - started)

    guessed = [o for p in plan.prepared for o in p.offers if not o.bound_from_data and o.needs_order_bound]
    total_time, previous = 0.0, None
    while True:
        model = build_extensive_form(plan)
        outcome = run_highs(model, options, remaining())
        total_time += outcome.time_s
        if outcome.has_plan:
            doubt = [o for name, p in zip(plan.names, plan.prepared)
                     for o in offers_at_bound(model.scenario[name], p, _units_of(outcome.units, name))
                     if o.order_bound < ORDER_BOUND_CAP]
        elif outcome.status in ("infeasible", "infeasible_or_unbounded"):
            doubt = [o for o in guessed if o.order_bound < ORDER_BOUND_CAP]
        else:
            doubt = []
        if previous is not None and previous.has_plan and outcome.has_plan and \
                abs(previous.objective_scaled - outcome.objective_scaled) <= 1e-9 * max(1.0, abs(outcome.objective_scaled)):
            outcome = previous  # a larger bound buys nothing: keep the plan found first
            break
        if not doubt:
            break
        for o in doubt:
            o.order_bound = min(o.order_bound * ORDER_BOUND_GROWTH, ORDER_BOUND_CAP)
        previous = outcome
    outcome.time_s = total_time
    return outcome


def _units_of(units: dict, name: str) -> dict:
    return {(o, t): n for (s, o, t), n in units.items() if s == name}


def extract_scenarios(instance: Instance, plan: ScenarioPlan, outcome: Outcome, options: SolveOptions,
                      started: float) -> Result:
    scenario_results = []
    for s, p in zip(plan.scenarios, plan.prepared):
        units = _units_of(outcome.units, s.name)
        acc = plan_accounts(p, units)
        orders, leases = plan_rows(p, units)
        scenario_results.append(ScenarioResult(
            name=s.name, probability=s.probability, known=s.known, objective=acc["discounted"], cost=cost_of(acc),
            orders=orders, leases=leases, capacity=capacity_rows(p, acc), work=work_rows(p, acc),
            cash=cash_rows(p, acc), shortfall=shortfall_rows(p, acc), excluded=excluded_rows(p),
        ))
    probabilities = [s.probability for s in plan.scenarios]
    costs = [r.objective for r in scenario_results]
    now = min(s.known for s in plan.scenarios)
    first = scenario_results[0]  # before the earliest `known` every scenario acts alike
    return Result(
        instance=instance.name, currency=instance.currency, status=outcome.status,
        message=f"{len(plan.scenarios)} scenarios, risk {plan.measure}; orders and leases placed before period {now}"
                " are the decisions common to every scenario",
        objective_sense="min_cost",
        objective=risk_value(costs, probabilities, plan.measure, plan.alpha, plan.weight),
        expected_cost=sum(p * c for p, c in zip(probabilities, costs)),
        cost=_expected_cost_lines(scenario_results),
        orders=[o for o in first.orders if o.period < now],
        leases=[lease for lease in first.leases if lease.start < now],
        excluded=_excluded_everywhere(plan),
        scenarios=scenario_results,
        risk=RiskInfo(measure=plan.measure, alpha=plan.alpha, weight=plan.weight),
        solver=solver_info(outcome.time_s, outcome.mip_gap, options, started, highs_version()),
    )


def _expected_cost_lines(results: list[ScenarioResult]) -> Cost:
    fields = Cost.model_fields
    return Cost(**{f: sum(r.probability * getattr(r.cost, f) for r in results) for f in fields})


def _excluded_everywhere(plan: ScenarioPlan) -> list[Excluded]:
    rows = [excluded_rows(p) for p in plan.prepared]
    everywhere = set.intersection(*({e.offer for e in r} for r in rows)) if rows else set()
    return [e for e in rows[0] if e.offer in everywhere] if rows else []


def _no_plan(instance: Instance, plan: ScenarioPlan, status: str, message: str, options, time_s, started) -> Result:
    if status not in ("infeasible", "unbounded", "time_limit"):
        status = "infeasible"
    return Result(
        instance=instance.name, currency=instance.currency, status=status, message=message,
        objective_sense="min_cost", objective=None, cost=None, excluded=_excluded_everywhere(plan),
        risk=RiskInfo(measure=plan.measure, alpha=plan.alpha, weight=plan.weight),
        solver=solver_info(time_s, None, options, started, highs_version()),
    )
