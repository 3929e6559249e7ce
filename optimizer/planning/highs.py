"""The HiGHS boundary: the only module that imports highspy or Pyomo's appsi interface.

Everything that talks to the solver lives here: a fresh run fed as arrays (`compile_to_highs`,
the route `plan solve` takes), a persistent appsi run for callers that re-solve one model
(`new_highs`, `run_highs(solver=...)`), the LP duals and the irreducible infeasible subset the
analyses read, and the version string. Callers get plain values (`Outcome`), never a solver.

The array hand-over: Pyomo's LinearRepnVisitor (the compiler behind its LP writer, without the
file) turns each active row into coefficients; the columns and rows go to HiGHS in declaration
order through highspy's bulk `addVars`/`addRows`. Measured against appsi's `set_instance` on the
benchmark instances (benchmarks/handover.py): 0.375 -> 0.080 s at 50 offers x 36 periods, 2.31 ->
0.52 s at 200 x 60, the same problem to 1e-12 and the same optima. Persistent re-solves
(break-even probes) keep appsi, whose `update` moves only mutable Params.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field

DEFAULT_GAP = 0.0  # proven optimality unless the user asks for less


@dataclass
class SolveOptions:
    gap: float = DEFAULT_GAP  # relative MIP gap at which HiGHS may stop; 0 proves optimality
    time_limit: float | None = None  # seconds for the whole solve
    threads: int = 1  # 1 keeps runs deterministic
    seed: int = 0
    # called now and then during a HiGHS run with {elapsed, incumbent, bound, gap} (scaled
    # objective values); `plan solve` shows it on a terminal's stderr. Not part of a sweep's key.
    progress: object = field(default=None, compare=False, repr=False)


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
    (optimizer.planning.highs, ~4x faster than appsi's set_instance). A
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
        outcome.units = plan_units(model)
        if status == "optimal":
            outcome.mip_gap = 0.0 if info is None else max(0.0, float(info.mip_gap)) if info.mip_gap < 1e30 else 0.0
        else:
            outcome.mip_gap = float(info.mip_gap) if info is not None and info.mip_gap < 1e30 else None
    return outcome


def plan_units(model) -> dict:
    """The integer plan in the model's variables: {(offer, period): n}, or for an extensive
    form (a Block per scenario) {(scenario, offer, period): n}."""
    if model.component("units") is not None:
        return {idx: int(round(v.value or 0)) for idx, v in model.units.items()}
    return {(s, *idx): int(round(v.value or 0))
            for s, block in model.scenario.items() for idx, v in block.units.items()}


def _run_fresh(model, options: SolveOptions, time_limit: float | None, warm_start: bool) -> Outcome:
    """One run on a fresh highspy object fed by optimizer.planning.highs.compile_to_highs."""
    import highspy

    
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
        if options.progress is not None:
            _report_progress(h, options.progress)
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
        outcome.units = plan_units(model)
        gap = float(info.mip_gap) if info.mip_gap < 1e30 else None
        outcome.mip_gap = max(0.0, gap or 0.0) if name == "optimal" else gap
    return outcome


def _report_progress(h, progress, every: float = 0.5) -> None:
    """Subscribe to HiGHS's MIP callbacks; pass incumbent, bound and gap on, at most every `every` s."""
    last = [0.0]

    def on_event(event) -> None:
        d = event.data_out
        now = d.running_time
        if now - last[0] < every:
            return
        last[0] = now
        incumbent = d.mip_primal_bound if abs(d.mip_primal_bound) < 1e30 else None
        bound = d.mip_dual_bound if abs(d.mip_dual_bound) < 1e30 else None
        gap = d.mip_gap if incumbent is not None and d.mip_gap < 1e30 else None
        try:
            progress({"elapsed": now, "incumbent": incumbent, "bound": bound, "gap": gap})
        except Exception:  # noqa: BLE001 - a display must never stop a solve
            pass

    h.cbMipInterrupt.subscribe(on_event)
    h.cbMipImprovingSolution.subscribe(on_event)


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
    import pyomo.core as pyo

    for var in model.component_data_objects(pyo.Var):
        var.set_value(0, skip_validation=True)
    for con in model.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(con.body)
        if (con.has_lb() and body < pyo.value(con.lower) - 1e-9) or (con.has_ub() and body > pyo.value(con.upper) + 1e-9):
            return Outcome(status="infeasible", has_plan=False, time_s=run_time)
    objective = next(model.component_data_objects(pyo.Objective, active=True))
    return Outcome(status="optimal", has_plan=True, time_s=run_time, mip_gap=0.0,
                   units=plan_units(model), objective_scaled=pyo.value(objective))


def compile_to_highs(model, highs=None):
    """The active linear model -> a highspy.Highs holding it; returns (highs, variables).

    Columns in declaration order (as appsi's only_child_vars=True), rows in declaration order
    (as appsi), the active objective's constant as HiGHS's offset. Mutable Params are read at
    their current values: after `update_parameters`, compile again (or change the affected
    coefficients, which is what appsi's update does).
    """
    import highspy
    import numpy as np
    import pyomo.core as pyo
    from pyomo.repn.linear import LinearRepnVisitor
    from pyomo.repn.util import OrderedVarRecorder

    inf = highspy.kHighsInf
    variables = list({id(v): v for v in model.component_data_objects(pyo.Var, descend_into=True)}.values())
    var_map = {id(v): v for v in variables}
    order = {vid: i for i, vid in enumerate(var_map)}
    visitor = LinearRepnVisitor({}, var_recorder=OrderedVarRecorder(var_map, order, None))

    lower, upper, integer = [], [], []
    for v in variables:
        lb, ub = v.bounds
        if v.fixed:
            lb = ub = v.value
        lower.append(-inf if lb is None else lb)
        upper.append(inf if ub is None else ub)
        integer.append(1 if v.is_integer() else 0)

    row_lower, row_upper, starts, index, value = [], [], [], [], []
    for con in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        lb, body, ub = con.to_bounded_expression(True)
        repn = visitor.walk_expression(body)
        if repn.nonlinear is not None:
            raise ValueError(f"{con.name} is not linear")
        mult = repn.multiplier
        constant = mult * repn.constant
        starts.append(len(index))
        for vid, coef in repn.linear.items():
            if coef:
                index.append(order[vid])
                value.append(mult * coef)
        row_lower.append(-inf if lb is None else lb - constant)
        row_upper.append(inf if ub is None else ub - constant)

    objectives = list(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    cost = np.zeros(len(variables))
    offset, sense = 0.0, highspy.ObjSense.kMinimize
    if objectives:
        (obj,) = objectives
        repn = visitor.walk_expression(obj.expr)
        for vid, coef in repn.linear.items():
            cost[order[vid]] += repn.multiplier * coef
        offset = repn.multiplier * repn.constant
        if obj.sense == pyo.maximize:
            sense = highspy.ObjSense.kMaximize

    h = highs or highspy.Highs()
    h.setOptionValue("output_flag", False)
    n = len(variables)
    h.addVars(n, np.array(lower, dtype=np.double), np.array(upper, dtype=np.double))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                            np.array([highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                                      for i in integer]))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    h.changeObjectiveOffset(offset)
    h.changeObjectiveSense(sense)
    h.addRows(len(row_lower), np.array(row_lower, dtype=np.double), np.array(row_upper, dtype=np.double),
              len(index), np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32),
              np.array(value, dtype=np.double))
    return h, variables


def lp_duals(model, time_limit: float | None, threads: int = 1) -> tuple[dict | None, str]:
    """Solve the (continuous) `model` and return ({constraint data: dual}, status name).

    Duals need the solver object, which `run_highs` keeps to itself by design: callers that
    price a fixed plan (plan explain) come here. The variables hold the LP's values afterwards.
    """
    from pyomo.contrib.appsi.base import TerminationCondition as TC
    from pyomo.contrib.appsi.solvers import Highs

    opt = Highs(only_child_vars=True)
    opt.config.stream_solver = False
    opt.config.load_solution = False
    if time_limit is not None:
        opt.config.time_limit = max(time_limit, 0.01)
    opt.highs_options = {"output_flag": False, "threads": threads}  # one count per process (HiGHS)
    with quiet_stdout():
        results = opt.solve(model)
    if results.termination_condition != TC.optimal:
        return None, str(results.termination_condition)
    results.solution_loader.load_vars()
    return dict(opt.get_duals()), "optimal"


@dataclass
class IisAnswer:
    """An irreducible infeasible subset of a model's LP relaxation, as Pyomo components."""

    status: str  # infeasible (rows/columns valid) | optimal (the LP has a plan) | no_iis | other statuses
    rows: list = field(default_factory=list)  # constraint data objects
    upper_bounds: list = field(default_factory=list)  # variable data whose upper bound takes part


def lp_iis(model, time_limit: float | None, threads: int = 1) -> IisAnswer:
    """The LP relaxation of `model` (integrality dropped on HiGHS's copy only) and, when it is
    infeasible, an irreducible infeasible subset (strategy kIisStrategyIrreducible)."""
    import highspy
    from pyomo.contrib.appsi.solvers import Highs

    opt = Highs(only_child_vars=True)
    opt.config.stream_solver = False
    with quiet_stdout():
        opt.set_instance(model)
        h = opt._solver_model
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", threads)  # HiGHS keeps the first count of the process
        n = h.getNumCol()
        if n:
            h.changeColsIntegrality(n, list(range(n)), [highspy.HighsVarType.kContinuous] * n)
        if time_limit is not None:
            h.setOptionValue("time_limit", max(float(time_limit), 0.01))
            h.setOptionValue("iis_time_limit", max(float(time_limit), 0.01))
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kInfeasible:
            return IisAnswer(status="optimal" if status == highspy.HighsModelStatus.kOptimal else status.name)
        h.setOptionValue("iis_strategy", int(highspy.IisStrategy.kIisStrategyIrreducible))
        ok, iis = h.getIis()
    if ok != highspy.HighsStatus.kOk or not iis.valid_:
        return IisAnswer(status="no_iis")
    by_column = {col: opt._vars[vid][0] for vid, col in opt._pyomo_var_to_solver_var_map.items()}
    upper = {int(highspy.IisBoundStatus.kIisBoundStatusUpper), int(highspy.IisBoundStatus.kIisBoundStatusBoxed)}
    return IisAnswer(
        status="infeasible",
        rows=[opt._solver_con_to_pyomo_con_map[row] for row in iis.row_index_],
        upper_bounds=[by_column[col] for col, bound in zip(iis.col_index_, iis.col_bound_) if int(bound) in upper],
    )
