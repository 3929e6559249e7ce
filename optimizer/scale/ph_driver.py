"""Progressive hedging over MPI (run by `plan solve --engine ph`, or directly on a cluster):

    mpiexec -n 3 python -m mpi4py -m optimizer.scale.ph_driver INSTANCE OUT.json [--set PATH=VALUE ...]

Rank groups (--cylinders 3): the PH hub, a Lagrangian spoke (outer bound), an xhatshuffle spoke
(inner bound), each with N/3 ranks; --cylinders 2: the hub and the xhatshuffle spoke, N/2 each
(the outer bound is then the hub's wait-and-see bound). The scenarios are spread over a
cylinder's ranks. Before PH's first iterate the xhat spoke evaluates the first stage of a small
extensive form (--xhat-first scenarios), so there is an inner bound even when iteration 0 (every
scenario solved once on the hub) outlasts the time limit; rho is proportional to each first-stage
unit's cost coefficient (--rho-setter coeff, --rho the multiplier).

Rank 0 writes OUT.json: {inner, outer, slots, first_stage} in the instance's money (the models'
scaled money is converted back), or {error} for bad input. Run it under `python -m mpi4py` so
that a rank that fails aborts them all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from functools import partial


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ph_driver")
    parser.add_argument("instance")
    parser.add_argument("out")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--max-iterations", type=int, default=50)
    parser.add_argument("--rel-gap", type=float, default=0.01)
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--rho", type=float, default=1.0)
    parser.add_argument("--subproblem-gap", type=float, default=0.0,
                        help="relative MIP gap of iteration 0's scenario solves (plan solve --gap); bounds stay valid")
    parser.add_argument("--iterk-gap", type=float, default=None,
                        help="relative MIP gap of the scenario solves after iteration 0 (default: the larger of"
                             " --subproblem-gap and 1%%): PH's iterates need not be exact")
    parser.add_argument("--rho-setter", choices=("coeff", "fixed"), default="coeff",
                        help="coeff: rho of each first-stage unit = --rho x |its cost coefficient| (mpi-sppy's"
                             " CoeffRho); fixed: rho = --rho for all")
    parser.add_argument("--xhat-first", type=int, default=3,
                        help="before PH's first iterate, the inner-bound spoke evaluates the first stage of the"
                             " extensive form of this many scenarios spread over the list (0: off)")
    parser.add_argument("--cylinders", type=int, choices=(2, 3), default=3,
                        help="3: hub, Lagrangian (outer) and xhat (inner) spokes; 2: hub and xhat spoke, the"
                             " outer bound then being the hub's wait-and-see bound of iteration 0")
    args = parser.parse_args(argv)

    from mpi4py import MPI

    from models.errors import InputError
    from models.loading import load_instance
    from optimizer.scale.model import scenario_creator, two_stage

    rank = MPI.COMM_WORLD.Get_rank()
    try:
        stage = two_stage(load_instance(args.instance, args.overrides))
    except InputError as exc:
        if rank == 0:
            _write(args.out, {"error": exc.messages})
        return
    _silently_import_mpisppy()
    import mpisppy.utils.cfg_vanilla as vanilla
    from mpisppy.spin_the_wheel import WheelSpinner
    from mpisppy.utils import config

    cfg = config.Config()
    cfg.popular_args()
    cfg.two_sided_args()
    cfg.ph_args()
    cfg.lagrangian_args()
    cfg.xhatshuffle_args()
    cfg.solver_name = "appsi_highs"
    cfg.default_rho = args.rho
    cfg.max_iterations = args.max_iterations
    cfg.rel_gap = args.rel_gap
    cfg.time_limit = args.time_limit
    cfg.max_solver_threads = 1  # one HiGHS thread per rank
    # PH's iterates need not be exact: the outer bounds use each solve's dual bound and the inner
    # bound is a feasible plan's cost, so both stay valid at any subproblem gap
    cfg.add_mipgap_specs()
    cfg.iter0_mipgap = args.subproblem_gap
    cfg.iterk_mipgap = args.iterk_gap if args.iterk_gap is not None else max(args.subproblem_gap, 0.01)
    # ... but a bound is only as tight as its solves: the Lagrangian's (dual bounds) and the xhat
    # spoke's (its plans' costs) stay at the solve's gap (with the first stage fixed they are quick)
    cfg.add_mipgap_specs("lagrangian")
    cfg.lagrangian_iter0_mipgap = cfg.lagrangian_iterk_mipgap = args.subproblem_gap
    cfg.coeff_rho_args()
    cfg.coeff_rho = args.rho_setter == "coeff"
    cfg.coeff_rho_multiplier = args.rho
    if args.xhat_first > 0:  # an inner bound before the hub's first iterate (which may take long)
        cfg.xhatshuffle_try_feasible_xhat_first = True
    cfg.linearize_proximal_terms = True  # HiGHS has no quadratic proximal term
    cfg.linearize_binary_proximal_terms = True
    cfg.lagrangian = args.cylinders == 3
    cfg.xhatshuffle = True

    names = stage.plan.names
    beans = (cfg, scenario_creator, None, names)
    kwargs = {"scenario_creator_kwargs": {"stage": stage}}
    hub = vanilla.ph_hub(*beans, **kwargs)
    if cfg.coeff_rho:
        vanilla.add_coeff_rho(hub, cfg)
    candidate = (partial(subsample_first_stage, count=args.xhat_first, gap=args.subproblem_gap)
                 if args.xhat_first > 0 else None)
    xhat = vanilla.xhatshuffle_spoke(*beans, **kwargs, feasible_xhat_creator=candidate)
    exact = {**xhat["opt_kwargs"]["options"]["iterk_solver_options"], "mipgap": args.subproblem_gap}
    xhat["opt_kwargs"]["options"]["xhat_looper_options"]["xhat_solver_options"] = exact
    xhat["opt_kwargs"]["options"]["solver_options"] = exact  # the first candidate's evaluation
    spokes = [xhat]
    if args.cylinders == 3:
        spokes.insert(0, vanilla.lagrangian_spoke(*beans, **kwargs))
    wheel = WheelSpinner(hub, spokes)
    wheel.spin()

    # the rank holding the best inner bound's decisions writes them; the hub's rank 0 the bounds
    first_file = args.out + ".first.json"

    def writer(file_name, scenario, bundling):
        root = scenario._mpisppy_node_list[0]
        _write(file_name, {"first_stage": [round(v.value or 0) for v in root.nonant_vardata_list]})

    wheel.write_first_stage_solution(first_file, first_stage_solution_writer=writer)
    MPI.COMM_WORLD.Barrier()
    if rank == 0:
        first = json.loads(open(first_file).read())["first_stage"] if os.path.exists(first_file) else None
        scale = stage.plan.prepared[0].money_scale
        _write(args.out, {
            "inner": wheel.BestInnerBound * scale if first is not None else None,
            "outer": wheel.BestOuterBound * scale,
            "now": stage.now,
            "slots": [list(s) for s in stage.slots],
            "first_stage": first,
        })


def subsample_first_stage(solver_name, solver_options=None, *, stage, count: int, gap: float = 0.0) -> dict:
    """A first candidate for the inner-bound spoke, before PH's first iterate: the extensive form of
    `count` scenarios spread evenly over the list (a small sample-average problem), its first stage
    rounded. Every rank of the spoke computes the same one (the same model, one thread, no time
    limit); mpi-sppy then fixes it in all scenarios and, when all are feasible, that expected cost is
    an inner bound. Solved at the solve's `gap`, not at the iterates' looser one that mpi-sppy
    passes in `solver_options` (at 1% the candidate cost 0.3% more at 50 futures)."""
    import pyomo.environ as pyo
    from mpisppy.utils import sputils

    from optimizer.scale.model import scenario_creator

    names = stage.plan.names
    k = max(1, min(count, len(names)))
    chosen = [names[i * len(names) // k] for i in range(k)]
    ef = sputils.create_EF(chosen, scenario_creator, scenario_creator_kwargs={"stage": stage}, suppress_warnings=True)
    solver = pyo.SolverFactory(solver_name)
    solver.options.update({"threads": 1, "mip_rel_gap": gap})
    solver.solve(ef, load_solutions=True)
    if len(chosen) == 1:
        values = [v.value for v in ef._mpisppy_node_list[0].nonant_vardata_list]
    else:
        values = [ef.ref_vars[("ROOT", i)].value for i in range(len(stage.slots))]
    return {"ROOT": [float(round(v or 0)) for v in values]}


def _silently_import_mpisppy() -> None:
    """`import mpisppy` prints to stdout; keep it out of the caller's output."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        import mpisppy  # noqa: F401


def _write(path: str, data: dict) -> None:
    from optimizer.output.files import write_atomic

    write_atomic(path, json.dumps(data))


if __name__ == "__main__":
    main(sys.argv[1:])
