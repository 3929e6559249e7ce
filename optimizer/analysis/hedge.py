"""`plan hedge`: what planning for several futures is worth (MODEL.md section 8).

- RP, the recourse problem: the scenario plan's objective.
- Wait-and-see: each scenario solved alone, as if known from period 1; EVPI = RP - R(WS), with R
  the instance's risk measure applied to the wait-and-see costs.
- The naive plan: the plan made for one scenario only (default the most probable). In every
  scenario s its decisions before `known_s` are kept and the rest re-optimised in s; its cost per
  scenario (or why it has no plan there), and VSS = R(naive) - RP when every scenario has one.
- The decisions to place now that differ between the naive and the hedged plan, in words.

A thin layer over the planner (STYLE.md 11): every number comes from `solve_instance` runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.instance import Instance
from models.result import Result
from models.scenarios import ScenarioData, scenario_instances


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NaiveOutcome(Out):
    status: str = Field(description="optimal | feasible | infeasible | time_limit in this scenario.")
    objective: float | None = Field(description="C_s of the naive plan completed in this scenario.")
    why: list[str] = Field(default_factory=list, description="Without a plan: which requirement fails when.")


class Naive(Out):
    plan_for: str = Field(description="The scenario the naive plan was made for.")
    objective: float | None = Field(description="R(naive): the risk measure of its costs; null when a scenario has no plan.")
    scenarios: dict[str, NaiveOutcome]


class Hedge(Out):
    instance: str
    currency: str
    measure: str
    status: str = Field(description="Status of the scenario plan (RP).")
    rp: float | None = Field(description="The scenario plan's objective.")
    wait_and_see: dict[str, float | None] = Field(description="Each scenario solved alone: its objective.")
    ws: float | None = Field(description="R(WS): the risk measure of the wait-and-see objectives.")
    evpi: float | None = Field(description="RP - R(WS): what knowing the future from period 1 would be worth.")
    naive: Naive
    vss: float | None = Field(description="R(naive) - RP: what the hedge saves; null when undefined.")
    differences: list[str] = Field(description="Decisions to place now: the hedged plan against the naive one.")
    hedged_now: list[str] = Field(description="The hedged plan's decisions to place now.")
    naive_now: list[str] = Field(description="The naive plan's decisions before the earliest known.")


def hedge(instance: Instance, options, plan_for: str | None = None) -> Hedge:
    from models.errors import InputError
    from optimizer.analysis.explain import plan_units
    from optimizer.planning.scenarios import risk_value
    from optimizer.planning.solve import Planner, solve_instance

    scenarios = scenario_instances(instance)
    if not scenarios:
        raise InputError(["scenarios: plan hedge needs an instance with scenarios (MODEL.md section 8)"])
    names = [s.name for s in scenarios]
    if plan_for is None:
        plan_for = max(scenarios, key=lambda s: s.probability).name  # the first of the most probable
    elif plan_for not in names:
        raise InputError([f"--plan-for: no scenario {plan_for!r} (known: {', '.join(names)})"])
    p = [s.probability for s in scenarios]
    risk = instance.risk

    def measure(values: list[float | None]) -> float | None:
        if any(v is None for v in values):
            return None
        return risk_value(values, p, risk.measure, risk.alpha, risk.weight)

    rp = solve_instance(instance, options)
    alone = {s.name: solve_instance(s.instance, options) for s in scenarios}
    ws = {name: r.objective for name, r in alone.items()}
    naive_result = alone[plan_for]
    naive_units = plan_units(naive_result)
    outcomes = {}
    for s in scenarios:
        fixed = {(o, t): n for (o, t), n in naive_units.items() if t < s.known}
        # slots the naive plan left empty before known_s are decisions too: 0 units
        fixed.update({(o.id, t): 0 for o in s.instance.offers for t in range(1, s.known) if (o.id, t) not in fixed})
        if naive_result.has_plan:
            r = Planner(options).solve(s.instance, fixed=fixed)
            outcomes[s.name] = NaiveOutcome(status=r.status, objective=r.objective,
                                            why=[] if r.has_plan else _why(s, fixed, options, r))
        else:
            outcomes[s.name] = NaiveOutcome(status=naive_result.status, objective=None,
                                            why=[f"no plan for {plan_for} alone: {naive_result.message}"])
    naive_objective = measure([o.objective for o in outcomes.values()])
    now = min(s.known for s in scenarios)
    hedged_now = _decisions(rp.orders, rp.leases, now)
    naive_now = _decisions(naive_result.orders, naive_result.leases, now)
    return Hedge(
        instance=instance.name, currency=instance.currency, measure=risk.measure, status=rp.status,
        rp=rp.objective, wait_and_see=ws, ws=measure(list(ws.values())),
        evpi=None if rp.objective is None or measure(list(ws.values())) is None
        else rp.objective - measure(list(ws.values())),
        naive=Naive(plan_for=plan_for, objective=naive_objective, scenarios=outcomes),
        vss=None if naive_objective is None or rp.objective is None else naive_objective - rp.objective,
        differences=_differences(hedged_now, naive_now, now),
        hedged_now=hedged_now, naive_now=naive_now,
    )


def _decisions(orders, leases, before: int) -> list[str]:
    out = [f"buy {o.units} {o.offer} in period {o.period}" + (f" ({o.month})" if o.month else "")
           for o in orders if o.period < before]
    out += [f"lease {x.units} {x.offer} from period {x.start}" + (f" ({x.month})" if x.month else "")
            for x in leases if x.start < before]
    return out


def _differences(hedged: list[str], naive: list[str], now: int) -> list[str]:
    only_hedged = [d for d in hedged if d not in naive]
    only_naive = [d for d in naive if d not in hedged]
    if not only_hedged and not only_naive:
        return [f"before period {now} the hedged and the naive plan place the same orders and leases"]
    return [f"the hedge does: {d}" for d in only_hedged] + [f"the hedge does not: {d}" for d in only_naive]


def _why(s: ScenarioData, fixed: dict, options, result: Result) -> list[str]:
    """Which requirement fails when: the same completion with every capacity shortfall allowed
    at a price far above any plan, so the least shortfall shows where the naive plan falls short."""
    from optimizer.planning.solve import Planner

    data = s.instance.model_copy(deep=True)
    prices = [o.unit_price for o in data.offers] + [b.unit_price for o in data.offers for b in o.price_breaks]
    penalty = 1e3 * max(prices + [1.0])
    elastic = False
    for req in data.requirements:
        if req.schedule is not None:
            req.shortfall_price, elastic = penalty, True
    if elastic:
        r = Planner(options).solve(data, fixed=fixed)
        if r.has_plan and r.shortfall:
            return [f"{row.requirement}: {row.amount:,.6g} {row.metric} short in period {row.period}"
                    + (f" ({row.month})" if row.month else "") for row in r.shortfall]
    return [result.message or "no plan"]
