"""Hand-over routes from the Pyomo model to HiGHS, timed on the benchmark instances.

    python benchmarks/handover.py INSTANCE.yaml [...]

`plan solve` hands its model to HiGHS as arrays (optimizer/planning/highs.py, the `compiled` route
below, adopted after this study); sweeps keep appsi's persistent `set_instance`/`update`. This script times the alternatives on the same built model and checks
that each one gives HiGHS the same problem (same columns in the same order, same rows, same
coefficients), so a change of route cannot change a plan:

  appsi        appsi Highs(only_child_vars=True).set_instance (what solve.py did before)
  appsi-nogc   the same with Python's cyclic garbage collector paused (build.gc_paused)
  lp-file      Pyomo's LP writer to a temporary file, then Highs.readModel
  compiled     `compile_to_highs` below: Pyomo's LinearRepnVisitor (the LP writer's compiler,
               no file) -> row-wise arrays -> Highs.addVars/addRows, declaration order kept
  compiled-nogc  the same with the collector paused

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


from optimizer.planning.highs import compile_to_highs  # noqa: E402 - after the path set-up above


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
    from optimizer.planning.build import build_model, gc_paused, update_parameters
    from optimizer.planning.prepare import prepare

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
