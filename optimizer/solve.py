"""Solve an instance: prepare, build, call HiGHS (here and nowhere else), extract.

Statuses (MODEL.md section 6): `optimal` when HiGHS proved the plan optimal within the
requested gap; `feasible` when it stopped (time limit) with a plan; `time_limit` when it
stopped without one; `infeasible`; `unbounded` (only max_capacity can be).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field

from models.instance import Instance
from models.result import Result
from optimizer.prepare import Prepared, prepare

DEFAULT_GAP = 0.0  # proven optimality unless the user asks for less
ORDER_BOUND_GROWTH = 16  # a guessed order bound grows this much when it is in doubt
# the largest bound on one order: with HiGHS's integrality tolerance (1e-6) a binary at 1e-6
# could carry up to M * 1e-6 units, which must stay well below one unit
ORDER_BOUND_CAP = 100_000
# a sweep's kept model reaches HiGHS through appsi's persistent update (True) or as fresh arrays
PERSISTENT_APPSI = False


@dataclass
class SolveOptions:
    gap: float = DEFAULT_GAP  # relative MIP gap at which HiGHS may stop; 0 proves optimality
    time_limit: float | None = None  # seconds for the whole solve
    threads: int = 1  # 1 keeps runs deterministic
    seed: int = 0


@dataclass
class Outcome:
    """What one HiGHS run returned, in plain values."""

    status: str  # optimal | feasible | infeasible | unbounded | time_limit | infeasible_or_unbounded
    has_plan: bool
    units: dict = field(default_factory=dict)  # (offer, period) -> integer units
    mip_gap: float | None = None
    time_s: float = 0.0
    objective_scaled: float | None = None


@contextlib.contextmanager
def quiet_stdout():
    """Silence C-level stdout while HiGHS runs, so `--json` output stays pure JSON.

    HiGHS prints its banner when a solver object is created, before `output_flag` can be set
    (every later message is off by that flag): it goes to /dev/null.
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (e.g. under a test runner)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def highs_version() -> str:
    """HiGHS's version without creating a solver (which prints a banner to stdout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("highspy")
    except PackageNotFoundError:
        return "unknown"


def new_highs(options: SolveOptions):
    """An appsi HiGHS object set up for `options` (time limit and warm start are set per run)."""
    from pyomo.contrib.appsi.solvers import Highs

    opt = Highs(only_child_vars=True)  # declaration order: HiGHS is up to 5x faster that way
    opt.config.stream_solver = False
    opt.config.load_solution = False
    opt.config.mip_gap = options.gap
    opt.highs_options = {
        "threads": options.threads,
        "random_seed": options.seed,
        "mip_abs_gap": 1e-9 if options.gap == 0 else 1e-6,
        "output_flag": False,
    }
    return opt


def run_highs(model, options: SolveOptions, time_limit: float | None, solver=None,
              full_update: bool = True, warm_start: bool = False) -> Outcome:
    """The one place HiGHS is called. Returns plain values; the model is left untouched.

    Without `solver` (what `plan solve` does) the model goes to a fresh HiGHS object as arrays
    (optimizer.handover, ~4x faster than appsi's set_instance). A
    `Planner` that reuses one model passes its persistent `solver` (appsi): appsi then updates only the
    coefficients of mutable Params, and with `full_update=False` skips its walks looking for
    new or removed components (the caller knows the structure has not changed). `warm_start`
    hands the variables' current values (the previous plan) to HiGHS as a starting solution;
    HiGHS checks it and ignores it where it is no longer feasible.
    """
    if solver is None:
        return _run_fresh(model, options, time_limit, warm_start)
    from pyomo.contrib.appsi.base import TerminationCondition as TC

    opt = solver
    # a persistent object keeps the last run's option values: always set the time limit
    opt.config.time_limit = max(time_limit, 0.01) if time_limit is not None else 1e30
    opt.config.warmstart = warm_start
    for flag in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                 "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
                 "update_vars", "update_named_expressions", "update_objective"):
        setattr(opt.update_config, flag, full_update)
    reused = opt._model is model and opt._solver_model is not None
    with quiet_stdout():
        # HiGHS's run-time counter accumulates over runs of one object: take the difference
        before = opt._solver_model.getRunTime() if reused else 0.0
        with _stop_on_ctrl_c(lambda: opt._solver_model) as interrupted:
            results = opt.solve(model)
        if interrupted():
            raise KeyboardInterrupt
        highs = opt._solver_model  # the highspy object, for run time and gap
        run_time = highs.getRunTime() - before if highs is not None else 0.0
        info = highs.getInfo() if highs is not None else None

    tc = results.termination_condition
    found = results.best_feasible_objective is not None
    if tc == TC.unknown and highs is not None and highs.getModelStatus().name == "kModelEmpty":
        return _empty_model_outcome(model, run_time)
    if tc == TC.optimal:
        status = "optimal"
    elif tc == TC.maxTimeLimit or tc in (TC.maxIterations,):
        status = "feasible" if found else "time_limit"
    elif tc == TC.infeasible:
        status = "infeasible"
    elif tc == TC.unbounded:
        status = "unbounded"
    elif tc == TC.infeasibleOrUnbounded:
        status = "infeasible_or_unbounded"
    else:
        status = "feasible" if found else "error"
    outcome = Outcome(status=status, has_plan=status in ("optimal", "feasible"), time_s=run_time)
    if outcome.has_plan:
        results.solution_loader.load_vars()
        outcome.objective_scaled = results.best_feasible_objective
        outcome.units = {idx: int(round(v.value or 0)) for idx, v in model.units.items()}
        if status == "optimal":
            outcome.mip_gap = 0.0 if info is None else max(0.0, float(info.mip_gap)) if info.mip_gap < 1e30 else 0.0
        else:
            outcome.mip_gap = float(info.mip_gap) if info is not None and info.mip_gap < 1e30 else None
    return outcome


def _run_fresh(model, options: SolveOptions, time_limit: float | None, warm_start: bool) -> Outcome:
    """One run on a fresh highspy object fed by optimizer.handover.compile_to_highs."""
    import highspy

    from optimizer.handover import compile_to_highs

    with quiet_stdout():
        h = highspy.Highs()  # prints its banner here: kept off stdout
        h.setOptionValue("output_flag", False)
        h, variables = compile_to_highs(model, h)
        h.setOptionValue("threads", options.threads)
        h.setOptionValue("random_seed", options.seed)
        h.setOptionValue("mip_rel_gap", options.gap)
        h.setOptionValue("mip_abs_gap", 1e-9 if options.gap == 0 else 1e-6)
        if time_limit is not None:
            h.setOptionValue("time_limit", max(time_limit, 0.01))
        if warm_start and variables and all(v.value is not None for v in variables):
            start = highspy.HighsSolution()
            start.col_value = [float(v.value) for v in variables]
            h.setSolution(start)
        with _stop_on_ctrl_c(lambda: h) as interrupted:
            h.run()
        if interrupted():
            raise KeyboardInterrupt
    run_time = h.getRunTime()
    status = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    if status == S.kModelEmpty or not variables:
        return _empty_model_outcome(model, run_time)
    found = info.primal_solution_status == 2  # kSolutionStatusFeasible
    name = {S.kOptimal: "optimal", S.kInfeasible: "infeasible", S.kUnbounded: "unbounded",
            S.kUnboundedOrInfeasible: "infeasible_or_unbounded"}.get(status)
    if name is None:
        name = "feasible" if found else ("time_limit" if status in (S.kTimeLimit, S.kIterationLimit) else "error")
    outcome = Outcome(status=name, has_plan=name in ("optimal", "feasible"), time_s=run_time)
    if outcome.has_plan:
        for v, x in zip(variables, h.getSolution().col_value):
            if not v.fixed:
                v.set_value(float(x), skip_validation=True)
        outcome.objective_scaled = info.objective_function_value
        outcome.units = {idx: int(round(v.value or 0)) for idx, v in model.units.items()}
        gap = float(info.mip_gap) if info.mip_gap < 1e30 else None
        outcome.mip_gap = max(0.0, gap or 0.0) if name == "optimal" else gap
    return outcome


@contextlib.contextmanager
def _stop_on_ctrl_c(get_highs):
    """Ctrl-C during a HiGHS run: ask HiGHS to stop and tell the caller, who raises KeyboardInterrupt.

    appsi runs HiGHS with highspy's interrupt callbacks on; a Ctrl-C would otherwise surface in
    such a callback and end the run as a solver error ("stopped without a plan"). Signal handlers
    can only be set in the main thread; elsewhere (a Dask worker thread) nothing changes.
    """
    import logging
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    hit: list[int] = []

    def handler(signum, _frame):
        hit.append(signum)
        highs = get_highs()
        if highs is not None:
            highs.cancelSolve()  # checked by HiGHS between iterations and nodes

    def quiet(record) -> bool:  # appsi logs the interrupted status as "unhandled": it is handled here
        return not (hit and "kInterrupt" in record.getMessage())

    appsi_log = logging.getLogger("pyomo.contrib.appsi.solvers.highs")
    previous = signal.signal(signal.SIGINT, handler)
    appsi_log.addFilter(quiet)
    try:
        yield lambda: bool(hit)
    finally:
        signal.signal(signal.SIGINT, previous)
        appsi_log.removeFilter(quiet)


def _empty_model_outcome(model, run_time: float) -> Outcome:
    """HiGHS got no columns (every decision fixed at 0 by its bounds): check the zero plan here."""
    import pyomo.environ as pyo

    for var in model.component_data_objects(pyo.Var):
        var.set_value(0, skip_validation=True)
    for con in model.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(con.body)
        if (con.has_lb() and body < pyo.value(con.lower) - 1e-9) or (con.has_ub() and body > pyo.value(con.upper) + 1e-9):
            return Outcome(status="infeasible", has_plan=False, time_s=run_time)
    objective = next(model.component_data_objects(pyo.Objective, active=True))
    return Outcome(status="optimal", has_plan=True, time_s=run_time, mip_gap=0.0,
                   units={idx: 0 for idx in model.units}, objective_scaled=pyo.value(objective))


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

    def solve(self, instance: Instance) -> Result:
        from optimizer.extract import extract, no_plan

        options = self.options
        started = time.perf_counter()
        prepared = self.prepared = prepare(instance)
        unmet = unmeetable(prepared)
        if unmet:
            return no_plan(prepared, "infeasible", "; ".join(unmet), options, 0.0, started)
        outcome, model, message = _solve_prepared(prepared, options, started, planner=self)
        if outcome.status == "error":
            raise RuntimeError("HiGHS stopped without a plan and without saying why")
        if not outcome.has_plan:
            return no_plan(prepared, outcome.status, message, options, outcome.time_s, started)
        return extract(prepared, outcome, options, started, message)

    def model_for(self, p: Prepared):
        """A model of `p`: the kept one with its Params moved when the structure allows, else new."""
        from optimizer.build import build_model, structure_key, update_parameters

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
    from optimizer.build import offers_at_bound

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
    from optimizer.build import hold_capacity

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
    import pyomo.environ as pyo

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


def unmeetable(p: Prepared) -> list[str]:
    """Requirements no eligible offer can contribute to: infeasible before any solve."""
    out = []
    for req in p.capacity_requirements:
        if any(v > 0 for v in req.required.values()) and not any(req.metric in o.perf for o in p.offers):
            first = min(t for t, v in req.required.items() if v > 0)
            out.append(f"{req.name}: no eligible offer provides {req.metric} (required from period {first})")
    for req in p.work_requirements:
        if req.work_flop > 0 and req.first > req.last:
            out.append(f"{req.name}: the work has no periods (from {req.first} is after until {req.last})")
        elif req.work_flop > 0 and not any(req.metric in o.perf for o in p.offers):
            out.append(f"{req.name}: no eligible offer provides {req.metric} for the work")
    return out
