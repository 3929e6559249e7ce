"""Hand-over routes from the Pyomo model to HiGHS, timed on the benchmark instances.

    python benchmarks/handover.py INSTANCE.yaml [...]

The product hands its model to HiGHS through appsi's persistent `set_instance`
(optimizer/solve.py). This script times the alternatives on the same built model and checks
that each one gives HiGHS the same problem (same columns in the same order, same rows, same
coefficients), so a change of route cannot change a plan:

  appsi        appsi Highs(only_child_vars=True).set_instance (what solve.py does today)
  appsi-nogc   the same with Python's cyclic garbage collector paused (build.gc_paused)
  lp-file      Pyomo's LP writer to a temporary file, then Highs.readModel
  compiled     `compile_to_highs` below: Pyomo's LinearRepnVisitor (the LP writer's compiler,
               no file) -> row-wise arrays -> Highs.addVars/addRows, declaration order kept
  compiled-nogc  the same with the collector paused

`run_highs_compiled` is `optimizer.solve.run_highs` with the compiled route, so that
`benchmarks/run.py --handover compiled` measures the whole pipeline with it (same Outcome).

and the re-solve step of a sweep point (new prices on a kept model): appsi's `update` after
`update_parameters`, against compiling again. CPU seconds (time.process_time), best of
--repeat runs, so that other processes on the machine disturb the comparison less.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))


def compile_to_highs(model, highs=None):
    """The active linear model -> a highspy.Highs holding it; returns (highs, variables).

    Columns in declaration order (as appsi's only_child_vars=True), rows in declaration order
    (as appsi), the active objective's constant as HiGHS's offset. Mutable Params are read at
    their current values: after `update_parameters`, compile again (or change the affected
    coefficients, which is what appsi's update does).
    """
    import highspy
    import numpy as np
    import pyomo.environ as pyo
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


def run_highs_compiled(model, options, time_limit, solver=None, full_update=True, warm_start=False):
    """A stand-in for optimizer.solve.run_highs that hands over with `compile_to_highs`.

    Same signature and the same Outcome, for `benchmarks/run.py --handover compiled` only: it
    measures what the product would gain, it is not called by the product. The model is compiled
    again at every run (a sweep's update_parameters has moved the Params by then); `warm_start`
    passes the variables' current values as HiGHS's starting solution, as appsi does.
    """
    import highspy
    import numpy as np

    from optimizer.solve import Outcome, _empty_model_outcome, quiet_stdout

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
        if warm_start and all(v.value is not None for v in variables):
            start = highspy.HighsSolution()
            start.col_value = [float(v.value) for v in variables]
            h.setSolution(start)
        h.run()
    run_time = h.getRunTime()
    status = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    found = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if status == S.kModelEmpty:
        return _empty_model_outcome(model, run_time)
    name = {S.kOptimal: "optimal", S.kInfeasible: "infeasible", S.kUnbounded: "unbounded",
            S.kUnboundedOrInfeasible: "infeasible_or_unbounded"}.get(status)
    if name is None:
        name = "feasible" if found else ("time_limit" if status in (S.kTimeLimit, S.kIterationLimit) else "error")
    outcome = Outcome(status=name, has_plan=name in ("optimal", "feasible"), time_s=run_time)
    if outcome.has_plan:
        values = np.asarray(h.getSolution().col_value)
        for v, x in zip(variables, values):
            v.set_value(float(x), skip_validation=True)
        outcome.objective_scaled = info.objective_function_value
        outcome.units = {idx: round(v.value or 0) for idx, v in model.units.items()}
        gap = float(info.mip_gap) if info.mip_gap < 1e30 else None
        outcome.mip_gap = max(0.0, gap or 0.0) if name == "optimal" else gap
    return outcome


def lp_arrays(h) -> dict:
    """The problem a Highs object holds, row-wise, for comparison."""
    import numpy as np

    lp = h.getLp()
    n, m = lp.num_col_, lp.num_row_
    start, index, val = (np.array(x) for x in (lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_))
    entries = {}
    colwise = int(lp.a_matrix_.format_) == 1
    for outer in range(n if colwise else m):
        for k in range(start[outer], start[outer + 1]):
            r, c = (index[k], outer) if colwise else (outer, index[k])
            entries[int(r), int(c)] = float(val[k])
    integ = [int(x) for x in lp.integrality_] or [0] * n
    return {"cost": np.array(lp.col_cost_), "col_lower": np.array(lp.col_lower_), "col_upper": np.array(lp.col_upper_),
            "row_lower": np.array(lp.row_lower_), "row_upper": np.array(lp.row_upper_), "entries": entries,
            "integrality": integ, "offset": lp.offset_, "sense": int(lp.sense_)}


def same_problem(a: dict, b: dict, rel: float = 1e-12) -> str | None:
    """None when equal (to `rel`), else what differs."""
    import numpy as np

    for key in ("cost", "col_lower", "col_upper", "row_lower", "row_upper"):
        x, y = a[key], b[key]
        if x.shape != y.shape:
            return f"{key}: sizes {x.shape} vs {y.shape}"
        big = np.maximum(1.0, np.maximum(np.abs(np.nan_to_num(x, posinf=0, neginf=0)), np.abs(np.nan_to_num(y, posinf=0, neginf=0))))
        finite = np.isfinite(x) & np.isfinite(y)
        if not (np.array_equal(np.isfinite(x), np.isfinite(y)) and np.all(np.abs(x[finite] - y[finite]) <= rel * big[finite])):
            return f"{key} differs"
    if set(a["entries"]) != set(b["entries"]):
        return f"matrix pattern differs ({len(a['entries'])} vs {len(b['entries'])} nonzeros)"
    worst = max((abs(v - b["entries"][k]) / max(1.0, abs(v)) for k, v in a["entries"].items()), default=0.0)
    if worst > rel:
        return f"matrix values differ (worst relative {worst:.1e})"
    if a["integrality"] != b["integrality"] or a["sense"] != b["sense"] or abs(a["offset"] - b["offset"]) > rel * max(1, abs(a["offset"])):
        return "integrality, sense or offset differs"
    return None


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        started = time.process_time()
        out = fn()
        times.append(time.process_time() - started)
    return min(times), out


def measure(path: Path, repeat: int) -> str:
    """One instance: every route timed and compared with appsi's problem; one table line."""
    import highspy
    from pyomo.contrib.appsi.solvers import Highs

    from models.loading import load_instance
    from optimizer.build import build_model, gc_paused, update_parameters
    from optimizer.prepare import prepare

    instance = load_instance(path)
    p = prepare(instance)
    t_build, model = best(lambda: build_model(p), 1)

    def appsi():
        opt = Highs(only_child_vars=True)
        opt.highs_options = {"output_flag": False}
        opt.set_instance(model)
        return opt

    def no_gc(fn):
        def run():
            with gc_paused():
                return fn()
        return run

    def lp_file():
        fd, name = tempfile.mkstemp(suffix=".lp")
        os.close(fd)
        try:
            model.write(name, io_options={"symbolic_solver_labels": False})
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.readModel(name)
            return h
        finally:
            os.unlink(name)

    def compiled():
        return compile_to_highs(model)

    t_appsi, opt = best(appsi, repeat)
    t_appsi_nogc, _ = best(no_gc(appsi), repeat)
    t_lp, h_lp = best(lp_file, repeat)
    t_comp, (h_comp, _vars) = best(compiled, repeat)
    t_comp_nogc, _ = best(no_gc(compiled), repeat)
    reference = lp_arrays(opt._solver_model)
    verdict = same_problem(reference, lp_arrays(h_comp)) or "compiled: same"
    lp_note = same_problem(reference, lp_arrays(h_lp))
    verdict += "; lp-file: " + ("same" if lp_note is None else lp_note)

    # a sweep point: the first offer's unit price 3% lower, same structure
    first = instance.offers[0]
    q = prepare(instance.model_copy(update={"offers": [
        first.model_copy(update={"unit_price": first.unit_price * 0.97}), *instance.offers[1:]]}))
    update_parameters(model, q)
    t_upd, _ = best(opt.update, 1)
    t_upd_comp, _ = best(compiled, 1)
    nnz = opt._solver_model.getNumNz()
    return (f"{path.stem:18} {nnz:7d} {t_build:6.3f} {t_appsi:6.3f} {t_appsi_nogc:6.3f} {t_lp:7.3f} {t_comp:8.3f} "
            f"{t_comp_nogc:6.3f} {t_upd:9.3f} {t_upd_comp:12.3f}  {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("instances", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'instance':18} {'nnz':>7} {'build':>6} {'appsi':>6} {'nogc':>6} {'lp-file':>7} {'compiled':>8} "
          f"{'nogc':>6} {'upd-appsi':>9} {'upd-compiled':>12}  same problem")
    for path in args.instances:
        print(measure(path, args.repeat), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
