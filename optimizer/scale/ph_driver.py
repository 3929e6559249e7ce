"""Progressive hedging over MPI (run by `plan solve --engine ph`, or directly on a cluster):

    mpiexec -n 3 python -m mpi4py -m optimizer.scale.ph_driver INSTANCE OUT.json [--set PATH=VALUE ...]

Rank groups: the PH hub, a Lagrangian spoke (outer bound), an xhatshuffle spoke (inner bound);
the number of ranks must be a multiple of 3 (each cylinder gets N/3 ranks, scenarios spread over
them). Rank 0 writes OUT.json: {inner, outer, slots, first_stage} in the instance's money (the
models' scaled money is converted back), or {error} for bad input. Run it under `python -m mpi4py`
so that a rank that fails aborts them all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


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
                        help="relative MIP gap of the hub's scenario solves (plan solve --gap); bounds stay exact")
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
    if args.subproblem_gap > 0:  # PH's iterates need not be exact; the spokes' bounds are
        cfg.add_mipgap_specs()
        cfg.iter0_mipgap = cfg.iterk_mipgap = args.subproblem_gap
    cfg.linearize_proximal_terms = True  # HiGHS has no quadratic proximal term
    cfg.linearize_binary_proximal_terms = True
    cfg.lagrangian = args.cylinders == 3
    cfg.xhatshuffle = True

    names = stage.plan.names
    beans = (cfg, scenario_creator, None, names)
    kwargs = {"scenario_creator_kwargs": {"stage": stage}}
    hub = vanilla.ph_hub(*beans, **kwargs)
    spokes = [vanilla.xhatshuffle_spoke(*beans, **kwargs)]
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
