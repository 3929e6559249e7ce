"""Solve an instance: prepare, build, hand the model to HiGHS (through highs.py, the one boundary), extract.

Statuses (MODEL.md section 6): `optimal` when HiGHS proved the plan optimal within the
requested gap; `feasible` when it stopped (time limit) with a plan; `time_limit` when it
stopped without one; `infeasible`; `unbounded` (only max_capacity can be).
"""

from __future__ import annotations

import time

from models.instance import Instance
from models.result import Result
from optimizer.planning.highs import (  # noqa: F401  (SolveOptions and DEFAULT_GAP are re-exported)
    DEFAULT_GAP, Outcome, SolveOptions, highs_version, new_highs, quiet_stdout, run_highs,
)
from optimizer.planning.prepare import (  # noqa: F401  (unmeetable is re-exported)
    ORDER_BOUND_CAP, ORDER_BOUND_GROWTH, Prepared, prepare, unmeetable,
)

# a sweep's kept model reaches HiGHS through appsi's persistent update (True) or as fresh arrays
PERSISTENT_APPSI = False


def solve_instance(instance: Instance, options: SolveOptions | None = None) -> Result:
    """Instance -> Result, the whole pipeline."""
    return Planner(options).solve(instance)


class Planner:
    """Prepare, build, solve, extract for one process; a sweep keeps one per worker.

    With `reuse=False` (what `plan solve` does) every solve builds a new model and a new HiGHS
    object. With `reuse=True` the model and a persistent HiGHS object are kept: when the next
    instance has the same structure (`build.structure_key`) only the mutable Params move
    (`build.update_parameters`) and appsi passes the changed coefficients to HiGHS; otherwise
    the model is built again. `warm_start` starts HiGHS from the previous plan (see run_highs).
    A Planner is not thread-safe, and HiGHS fixes its thread count per process: one per worker.
    """

    def __init__(self, options: SolveOptions | None = None, reuse: bool = False, warm_start: bool = False):
        self.options = options or SolveOptions()
        self.reuse = reuse
        self.warm_start = warm_start
        self.model = None  # kept only when reuse
        self.key = None  # structure_key of the model kept
        self.solver = None  # persistent appsi Highs, only when reuse
        self.dirty = True  # the model's components changed since HiGHS last saw them
        self.prepared: Prepared | None = None  # of the last solve, for callers that report on it
        self.built = self.updated = 0  # models built / updated in place, for benchmarks

    def solve(self, instance: Instance, fixed: dict[tuple[str, int], int] | None = None) -> Result:
        """The plan of `instance`; with `fixed`, those decisions {(offer, period): units} are
        taken already and only the others are optimised."""
        from optimizer.planning.extract import extract, no_plan

        options = self.options
        started = time.perf_counter()
        if instance.scenarios:  # MODEL.md section 8: the extensive form
            from models.scenarios import scenario_instances
            from optimizer.planning.scenarios import solve_scenarios

            # callers that report on the plan (sweep rows) read the now-decisions, which every
            # scenario shares: the first scenario's data describes their offers
            self.prepared = prepare(scenario_instances(instance)[0].instance)
            return verified(instance, solve_scenarios(instance, options, started))
        prepared = self.prepared = prepare(instance)
        unmet = unmeetable(prepared)
        if fixed:
            unmet += fix_decisions(prepared, fixed)
        if unmet:
            return no_plan(prepared, "infeasible", "; ".join(unmet), options, 0.0, started)
        if options.progress is not None:
            self.options = _in_money(options, prepared)
        try:
            outcome, model, message = _solve_prepared(prepared, self.options, started, planner=self)
        finally:
            self.options = options
        if outcome.status == "error":
            raise RuntimeError("HiGHS stopped without a plan and without saying why")
        if not outcome.has_plan:
            return no_plan(prepared, outcome.status, message, options, outcome.time_s, started)
        return verified(instance, extract(prepared, outcome, options, started, message))

    def model_for(self, p: Prepared):
        """A model of `p`: the kept one with its Params moved when the structure allows, else new."""
        from optimizer.planning.build import build_model, structure_key, update_parameters

        if not self.reuse:
            self.built += 1
            return build_model(p)
        key = structure_key(p)
        if self.model is not None and key == self.key:
            _back_to_first_stage(self.model, self)
            update_parameters(self.model, p)
            self.updated += 1
            return self.model
        self.model, self.key, self.dirty = build_model(p), key, True
        self.built += 1
        return self.model

    def run(self, model, time_limit: float | None) -> Outcome:
        if not self.reuse:
            return run_highs(model, self.options, time_limit)
        if not PERSISTENT_APPSI:
            # the kept model's moved Params go to a fresh HiGHS as arrays: measured faster than
            # appsi's update, which re-evaluates every mutable coefficient (docs/performance.md)
            return run_highs(model, self.options, time_limit, warm_start=self.warm_start)
        if self.solver is None:
            self.solver = new_highs(self.options)
        try:
            outcome = run_highs(model, self.options, time_limit, solver=self.solver,
                                full_update=self.dirty, warm_start=self.warm_start)
        except KeyboardInterrupt:
            self.solver = self.model = self.key = None  # a cancelled HiGHS object stays cancelled
            raise
        self.dirty = False
        return outcome

    def forget(self, model) -> None:
        """The model was changed in a way not undone here: build anew next time."""
        if model is self.model:
            self.model = self.key = None


def _in_money(options: SolveOptions, p: Prepared) -> SolveOptions:
    """Progress reports in the instance currency (min_cost) instead of scaled solver units."""
    import dataclasses

    report = options.progress

    def progress(info: dict) -> None:
        if p.sense != "min_cost":
            info = {**info, "incumbent": None, "bound": None}
        else:
            info = {k: (v * p.money_scale if k in ("incumbent", "bound") and v is not None else v)
                    for k, v in info.items()}
        report({**info, "currency": p.currency})

    return dataclasses.replace(options, progress=progress)


def _back_to_first_stage(model, planner: Planner) -> None:
    """Undo max_capacity's second stage (hold_capacity) on a kept model."""
    if model.component("hold_capacity") is not None:
        model.del_component(model.hold_capacity)
        model.total_cost.deactivate()
        model.max_capacity.activate()
        planner.dirty = True


def _remaining(options: SolveOptions, started: float) -> float | None:
    if options.time_limit is None:
        return None
    return options.time_limit - (time.perf_counter() - started)


def _solve_prepared(p: Prepared, options: SolveOptions, started: float, planner: Planner | None = None):
    """Solve, then make sure no guessed order bound decided the answer.

    Offers with minimum orders, fixed costs or price breaks need an upper bound M on one order
    (prepare.order_bounds). Where the data gives none, M is a guess; the answer is in doubt when
    a plan reaches M (then the Ms it reaches grow), or when the model is infeasible (then every
    guessed M grows): 16-fold, and the model is solved again, until the value stops changing (the
    earlier plan is kept) or the Ms in doubt reach ORDER_BOUND_CAP. A max_capacity plan whose
    capacity still grew on the way to the cap is reported unbounded.
    """
    from optimizer.planning.build import offers_at_bound

    planner = planner or Planner(options)  # the Planner decides: new model or kept one, which HiGHS
    outcome, model, message, reached = _solve_once(p, options, started, planner)
    total_time = outcome.time_s
    guessed = [o for o in p.offers if not o.bound_from_data and o.needs_order_bound]
    growing = False
    while guessed:
        if outcome.status == "infeasible":
            doubt = [o for o in guessed if o.order_bound < ORDER_BOUND_CAP]
        elif outcome.has_plan:
            hit = offers_at_bound(model, p, outcome.units)
            doubt = [o for o in hit if o.order_bound < ORDER_BOUND_CAP]
            if hit and not doubt and growing and p.sense == "max_capacity":
                outcome = Outcome(status="unbounded", has_plan=False)
                message = f"capacity grows without limit: {', '.join(o.id for o in hit)} can be ordered without a cap"
                break
        else:
            break
        if not doubt:
            break
        for o in doubt:  # only the bounds in doubt grow, so a repeat value speaks for them
            o.order_bound = min(o.order_bound * ORDER_BOUND_GROWTH, ORDER_BOUND_CAP)
        new, new_model, new_message, new_reached = _solve_once(p, options, started, planner)
        total_time += new.time_s
        if outcome.has_plan and new.has_plan:
            if _same(outcome.objective_scaled, new.objective_scaled) and _same(reached, new_reached):
                break  # a larger bound buys nothing: keep the plan found first
            growing = reached is not None and new_reached is not None and new_reached > reached
        outcome, model, message, reached = new, new_model, new_message, new_reached
    outcome.time_s = total_time
    if message is None and not outcome.has_plan:
        message = {
            "infeasible": "no plan meets every requirement within the caps, budgets and policies",
            "time_limit": "the time limit was reached before any plan was found",
        }.get(outcome.status, outcome.status)
    return outcome, model, message


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _solve_once(p: Prepared, options: SolveOptions, started: float, planner: Planner):
    """One solve at the current order bounds: (outcome, model, message, capacity reached).

    max_capacity takes two runs: the most capacity, then the least cost holding it.
    """
    from optimizer.planning.build import hold_capacity

    model = planner.model_for(p)
    outcome = planner.run(model, _remaining(options, started))
    total_time = outcome.time_s
    message = reached = None
    if outcome.status == "infeasible_or_unbounded" or outcome.status == "unbounded":
        outcome.status, message = _infeasible_or_unbounded(p, model, options, started, planner)
    if outcome.has_plan and p.sense == "max_capacity":
        reached = outcome.objective_scaled
        hold_capacity(model, p, reached)
        planner.dirty = True  # a new row and another objective: appsi must look for them
        second = planner.run(model, _remaining(options, started))
        total_time += second.time_s
        if second.has_plan:
            second.status = "optimal" if outcome.status == second.status == "optimal" else "feasible"
            second.mip_gap = max(outcome.mip_gap or 0.0, second.mip_gap or 0.0) if second.status == "feasible" else 0.0
            outcome = second
    outcome.time_s = total_time
    return outcome, model, message, reached


def _infeasible_or_unbounded(p: Prepared, model, options: SolveOptions, started: float,
                             planner: Planner | None = None) -> tuple[str, str]:
    """HiGHS may not tell the two apart; a plan with any objective settles it."""
    import pyomo.core as pyo

    if p.sense == "min_cost":
        # cost is bounded below (every price >= 0, residual credit <= purchase cost)
        return "infeasible", "no plan meets every requirement within the caps, budgets and policies"
    for obj in model.component_objects(pyo.Objective, active=True):
        obj.deactivate()
    model.find_any_plan = pyo.Objective(expr=0)
    probe = run_highs(model, options, _remaining(options, started))  # a fresh HiGHS: a one-off probe
    model.del_component(model.find_any_plan)
    if planner is not None:
        planner.forget(model)  # its objectives are deactivated now
    if probe.has_plan:
        return "unbounded", f"{p.objective_metric} in period {p.objective_period} can grow without limit (no cap or budget binds it)"
    return "infeasible", "no plan meets every requirement within the caps, budgets and policies"


class PlanCheckFailed(RuntimeError):
    """The independent checker refused a plan the solver reported: never report it as a plan."""


def verified(instance: Instance, result: Result) -> Result:
    """Every plan is checked by optimizer/check.py (MODEL.md recomputed from the plan alone)
    before it is reported; a plan it refuses raises PlanCheckFailed instead of being returned
    as `optimal` (numbers beyond what the solver's tolerances can separate end here)."""
    from optimizer.check import check_plan

    if not result.has_plan:
        return result
    report = check_plan(instance, result)
    if not report.ok:
        raise PlanCheckFailed("the plan HiGHS returned fails the independent check, so it is not reported: "
                              + report.summary() + "; " + "; ".join(
                                  f"{v.rule} at {v.place}: {v.message}" for v in report.lead()[:3]))
    return result


def fix_decisions(p: Prepared, fixed: dict[tuple[str, int], int]) -> list[str]:
    """Take `fixed` decisions as given; what cannot be placed in this instance is returned."""
    out = []
    for (o, t), n in sorted(fixed.items(), key=lambda x: (x[0][1], x[0][0])):
        offer = next((x for x in p.offers if x.id == o), None)
        if n > 0 and (offer is None or t not in offer.window):
            out.append(f"{n} units of {o} in period {t} cannot be placed here (not orderable then)")
            continue
        if offer is not None and t in offer.window:
            p.fixed[o, t] = n
            if offer.needs_order_bound and n > offer.order_bound:
                offer.order_bound = n
    return out
