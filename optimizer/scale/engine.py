"""`plan solve --engine ph`: launch ph_driver under mpiexec, then rebuild the Result.

The driver returns the bounds and the first-stage decisions of its best inner bound; the Result
is the extensive-form Result of those decisions (each scenario solved with them fixed, through
the planning room's own solve and extract), so it has the same fields as `--engine ef`, plus
`bounds`. This module does not import mpisppy (only the driver, in its own processes, does).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from models.errors import InputError
from models.instance import Instance
from models.result import Bounds, Result

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "--engine ph needs the mpi extra: pip install -e \".[mpi]\" (mpi-sppy, mpi4py, mpich, scipy)"


def mpiexec() -> str:
    """The mpiexec next to this Python (the mpich wheel's), else on PATH; InputError without
    the extra installed."""
    missing = [m for m in ("mpisppy", "mpi4py", "scipy") if importlib.util.find_spec(m) is None]
    local = Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    if missing or not found:
        raise InputError([f"{INSTALL}; missing: {', '.join(missing) or 'mpiexec'}"])
    return found


def cylinders(ranks: int) -> int:
    """3 (hub, Lagrangian outer-bound spoke, xhat inner-bound spoke) when the ranks divide by 3,
    else 2 (hub and xhat spoke; the outer bound is then the hub's wait-and-see bound)."""
    return 3 if ranks % 3 == 0 else 2


def check_ranks(instance: Instance, ranks: int) -> None:
    """A multiple of 3 or of 2 ranks, each rank of a cylinder holding at least one scenario."""
    count = len(instance.scenarios)
    if ranks < 2 or (ranks % 3 and ranks % 2):
        raise InputError([f"--ranks {ranks}: a multiple of 3 (hub, outer-bound and inner-bound cylinders) or of 2"
                          " (hub and inner-bound cylinder)"])
    per = ranks // cylinders(ranks)
    if per > count:
        raise InputError([f"--ranks {ranks}: more ranks per cylinder ({per}) than scenarios ({count})"])


def solve_ph(instance: Instance, path: Path, overrides: list[str] | None, ranks: int, options,
             max_iterations: int = 50, rel_gap: float = 0.01, rho: float = 1.0, log_dir: Path | None = None) -> Result:
    """Progressive hedging over `ranks` MPI processes; the Result of its best plan with `bounds`."""
    from optimizer.scale.model import two_stage

    started = time.perf_counter()
    launcher = mpiexec()
    check_ranks(instance, ranks)
    stage = two_stage(instance)  # bad input (risk measure, several `known`) before launching
    folder = Path(log_dir or tempfile.mkdtemp(prefix="plan-ph-"))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "ph.json"
    cmd = [launcher, "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "optimizer.scale.ph_driver",
           str(Path(path).resolve()), str(out), "--max-iterations", str(max_iterations), "--rel-gap", str(rel_gap),
           "--rho", str(rho), "--cylinders", str(cylinders(ranks)), "--subproblem-gap", str(options.gap)]
    if options.time_limit is not None:
        cmd += ["--time-limit", str(options.time_limit)]
    for o in overrides or []:
        cmd += ["--set", o]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    with open(folder / "ph.log", "w") as log:  # mpi-sppy's own files land in `folder` too
        rc = subprocess.run(cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    if rc != 0 or not out.exists():
        raise RuntimeError(f"progressive hedging failed (exit {rc}); its log: {folder / 'ph.log'}")
    found = json.loads(out.read_text())
    if "error" in found:
        raise InputError(found["error"])
    if found.get("first_stage") is None:
        return no_plan_within_limits(instance, stage, found, ranks, options, started, folder)
    decisions = {tuple(s): n for s, n in zip(found["slots"], found["first_stage"])}
    try:
        # its own time budget: PH may have used all of the first (the re-solve is per-scenario sized)
        result = solve_with_first_stage(instance, stage, decisions, options, time.perf_counter())
    except PlanNotRebuilt as exc:
        result = no_plan_within_limits(instance, stage, found, ranks, options, started, folder,
                                       why=f"its best plan (expected cost at most {found['inner']:,.6g}) could not"
                                           f" be re-solved to report it ({exc})")
        result.bounds.inner = found["inner"]
        return result
    # the plan re-solved here is feasible and priced exactly: it can only tighten the inner bound
    # (the spoke evaluated it with the hub's subproblem gap)
    inner, outer = min(found["inner"], result.objective), found["outer"]
    gap = (inner - outer) / abs(inner) if inner else None
    result.bounds = Bounds(inner=inner, outer=outer, gap=gap, ranks=ranks)
    result.message = (f"{result.message}; progressive hedging over {ranks} ranks: bounds {outer:,.6g} .. {inner:,.6g}"
                      f" (gap {gap:.2%}); log in {folder}")
    return result


class PlanNotRebuilt(RuntimeError):
    """The first stage PH chose could not be re-solved scenario by scenario within the time limit."""


def no_plan_within_limits(instance: Instance, stage, found: dict, ranks: int, options, started: float,
                          folder: Path, why: str | None = None) -> Result:
    """PH stopped (time or iteration limit) before its inner-bound spoke evaluated any plan: a
    result without a plan (exit 3, as any solve without one), with the outer bound it has."""
    from optimizer.planning.scenarios import _no_plan

    outer = found.get("outer")
    said = f"; the optimum is at least {outer:,.6g}" if outer is not None and abs(outer) < 1e300 else ""
    limit = f"{options.time_limit:g} s" if options.time_limit is not None else "none"
    why = why or f"found no plan within the limits (time limit {limit}): it stopped before any plan was evaluated"
    message = f"progressive hedging over {ranks} ranks {why}{said}: give it more time, or use --engine ef; log in {folder}"
    result = _no_plan(instance, stage.plan, "time_limit", message, options, time.perf_counter() - started, started)
    result.bounds = Bounds(inner=None, outer=outer if said else None, gap=None, ranks=ranks)
    return result


def solve_with_first_stage(instance: Instance, stage, decisions: dict, options, started: float) -> Result:
    """Every scenario solved with the first-stage units fixed (the extensive form falls apart
    into one small MIP per scenario), extracted as `--engine ef` would."""
    from optimizer.planning.scenarios import _solve_with_bounds, extract_scenarios

    plan = stage.plan
    for p in plan.prepared:
        p.fixed = {**p.fixed, **decisions}
    outcome = _solve_with_bounds(plan, options, started)
    if not outcome.has_plan:
        raise PlanNotRebuilt(outcome.status)
    return extract_scenarios(instance, plan, outcome, options, started)
