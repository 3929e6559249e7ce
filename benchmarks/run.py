"""Where the time of a solve goes, size by size: the product's overhead around HiGHS.

    python benchmarks/run.py                        # 18 instances (offers 10/50/200 x periods 12/36/60,
                                                    # plain and full), ~5-10 min on 2 cores
    python benchmarks/run.py --quick                # the smallest size only, a few seconds
    python benchmarks/run.py --compare benchmarks/results/benchmark-before.csv
    python benchmarks/run.py --speed                # issue 15's rows (benchmarks/speed.py): start-up,
                                                    # infeasible with diagnosis, explain, side by side
                                                    # with plain highspy, sweep point

Each instance is solved in its own process (`--child`), so start-up, imports and peak memory
are those of one `plan solve`. Phases, from in-process timers around the product's own functions
(wrapped here, not modified):

  startup   interpreter start (process launch to the first line of this script, wall clock)
            plus importing models/optimizer/Pyomo/HiGHS
  validate  read the YAML and validate it (models.loading.load_instance)
  prepare   optimizer.planning.prepare.prepare
  build     optimizer.planning.build.build_model (Pyomo components)
  handover  Pyomo model -> HiGHS arrays (optimizer.planning.highs; appsi set_instance/update for sweeps)
  highs     HiGHS's own run time (Highs.getRunTime, as optimizer/planning/solve.py reports it)
  readback  the rest of run_highs: options, reading the solution back into Pyomo
  extract   optimizer.planning.extract.extract (the Result object)
  other     the rest of solve_instance (bound checks, second runs) and of the child's span
  exit      the child's last line to the process's end: interpreter teardown (freeing the model)
  total     whole-process wall time, from the parent

outside = total - highs. Peak memory is the child's ru_maxrss. A sweep point (`--sweep`, on by
default for instances whose first solve stays under --sweep-max seconds) is what
`optimizer.analysis.sweep.solve_point` does for a second price point on a warm worker: apply the
override, validate, update the kept model's Params, re-solve on the persistent HiGHS object
(started from the previous plan), extract; its ratio is that wall time over HiGHS's time for it.

Output: a table on stdout, `benchmark.csv` and `summary.txt` (the targets of issue 7 as ratios
from this one run) and `scaling.png` (total and HiGHS time against offers x periods) in --out.
Timings are from one run on a shared machine: compare ratios within a run, not seconds across
machines.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # the child's in-process span starts here (before any heavy import)
T0_WALL = time.time()  # the same instant on the wall clock, which the parent can compare with

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

MARK = "BENCHMARK-RESULT "
PHASES = ("startup", "validate", "prepare", "build", "handover", "highs", "readback", "extract", "other", "exit")
COLUMNS = (
    "instance", "offers", "periods", "variant", "cells", "columns", "rows", "nonzeros", "binaries",
    "status", "objective", "mip_gap", "hit_time_limit",
    *(f"{p}_s" for p in PHASES), "total_s", "outside_s", "outside_share", "outside_share_in_process",
    "import_s", "peak_mb", "base_mb", "model_mb", "mb_per_kcell",
    "sweep_point_s", "sweep_highs_s", "sweep_handover_s", "sweep_ratio", "sweep_model",
)
MEDIUM, LARGE = (50, 36), (200, 60)


# --------------------------------------------------------------------------- child: one solve


class Timers:
    """Accumulating wall-clock timers around the product's functions (wrapped, not changed)."""

    def __init__(self):
        self.spent: dict[str, float] = {}
        self.highs = 0.0
        self.run_highs = 0.0

    def add(self, name: str, seconds: float) -> None:
        self.spent[name] = self.spent.get(name, 0.0) + seconds

    def wrap(self, owner, attr: str, name: str) -> None:
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - started)

        setattr(owner, attr, timed)

    def reset(self) -> None:
        self.spent.clear()
        self.highs = self.run_highs = 0.0


def instrument(timers: Timers) -> None:
    from pyomo.contrib.appsi.solvers.highs import Highs

    import optimizer.planning.build
    import optimizer.planning.extract
    import optimizer.planning.solve

    import optimizer.planning.highs

    # `plan solve` hands its model over as arrays (optimizer.planning.highs); sweeps keep appsi
    timers.wrap(optimizer.planning.highs, "compile_to_highs", "handover")
    timers.wrap(optimizer.planning.solve, "prepare", "prepare")  # solve.py imported it by name
    timers.wrap(optimizer.planning.build, "build_model", "build")  # imported inside functions: patched here
    timers.wrap(optimizer.planning.extract, "extract", "extract")
    timers.wrap(Highs, "set_instance", "handover")
    timers.wrap(Highs, "update", "handover")
    original = optimizer.planning.solve.run_highs

    def run_highs(*args, **kwargs):
        started = time.perf_counter()
        outcome = original(*args, **kwargs)
        timers.run_highs += time.perf_counter() - started
        timers.highs += outcome.time_s
        return outcome

    optimizer.planning.solve.run_highs = run_highs


def rss_mb() -> float | None:
    """Resident memory now (Linux /proc), MB."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def model_size(model) -> dict:
    import pyomo.environ as pyo

    cols = sum(len(v) for v in model.component_objects(pyo.Var, active=True))
    rows = sum(len(c) for c in model.component_objects(pyo.Constraint, active=True))
    binaries = sum(len(getattr(model, n)) for n in ("segment_chosen", "order_placed", "offer_used")
                   if model.component(n) is not None)
    return {"columns": cols, "rows": rows, "binaries": binaries}


def child(path: str, gap: float, time_limit: float, sweep_max: float) -> dict:
    started_imports = time.perf_counter()
    import highspy  # noqa: F401
    import pyomo.environ  # noqa: F401
    from pyomo.contrib.appsi.solvers import Highs

    import models.loading
    import optimizer.planning.build
    import optimizer.planning.extract
    import optimizer.planning.solve

    import_s = time.perf_counter() - started_imports
    base_mb = rss_mb()
    timers = Timers()
    instrument(timers)
    sizes: dict = {}
    nonzeros = [0]
    original_set_instance = Highs.set_instance

    def set_instance(self, model):  # model size as HiGHS sees it, once (its time not counted)
        out = original_set_instance(self, model)
        if not nonzeros[0]:
            started = time.perf_counter()
            nonzeros[0] = self._solver_model.getNumNz()
            sizes.update(model_size(model), model_mb=rss_mb())
            timers.run_highs -= time.perf_counter() - started
        return out

    Highs.set_instance = set_instance
    # the route `plan solve` takes (optimizer.planning.highs); appsi's above serves sweeps
    import optimizer.planning.highs as route

    timed_compile = route.compile_to_highs

    def compile_to_highs(model, highs=None):
        h, variables = timed_compile(model, highs)
        if not nonzeros[0]:
            started = time.perf_counter()
            nonzeros[0] = h.getNumNz()
            sizes.update(model_size(model), model_mb=rss_mb())
            timers.run_highs -= time.perf_counter() - started
        return h, variables

    route.compile_to_highs = compile_to_highs

    a = time.perf_counter()
    instance = models.loading.load_instance(path)
    validate_s = time.perf_counter() - a
    options = optimizer.planning.solve.SolveOptions(gap=gap, time_limit=time_limit)
    a = time.perf_counter()
    result = optimizer.planning.solve.solve_instance(instance, options)
    solve_s = time.perf_counter() - a
    span = time.perf_counter() - T0
    spent = dict(timers.spent)  # copied now: the sweep point resets the timers
    readback = max(0.0, timers.run_highs - spent.get("handover", 0.0) - timers.highs)
    known = sum(spent.get(k, 0.0) for k in ("prepare", "build", "extract")) + timers.run_highs
    out = {
        "t0_wall": T0_WALL, "import_s": import_s, "validate_s": validate_s,
        "prepare_s": spent.get("prepare", 0.0), "build_s": spent.get("build", 0.0),
        "handover_s": spent.get("handover", 0.0), "highs_s": timers.highs, "readback_s": readback,
        "extract_s": spent.get("extract", 0.0),
        # the rest of the solve, and of the span outside the timed steps (imports, loading)
        "other_s": max(0.0, solve_s - known) + max(0.0, span - solve_s - validate_s - import_s),
        "status": result.status, "objective": result.objective,
        "mip_gap": result.solver.mip_gap if result.solver else None,
        "nonzeros": nonzeros[0], **sizes,
        "base_mb": base_mb,
    }
    out["hit_time_limit"] = result.status in ("feasible", "time_limit") and timers.highs >= 0.9 * time_limit
    import resource

    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    a = time.perf_counter()
    if result.has_plan and timers.highs <= sweep_max:
        out.update(sweep_point(path, instance, options, timers))
    out["after_s"] = time.perf_counter() - a  # not part of the solve: the parent subtracts it
    out["end_wall"] = time.time()
    return out


def sweep_point(path: str, instance, options, timers: Timers) -> dict:
    """Time one sweep point on a warm worker: the product's solve_point, second price point."""
    from models.loading import read_data

    base = read_data(path)
    offer = instance.offers[0]
    where = f"offers.{offer.id}.unit_price"
    try:
        from optimizer.analysis.sweep import options_dict, override_text, solve_point
    except ImportError:  # no sweep module: the same steps by hand
        return {}
    opts = options_dict(options)
    points = [{where: offer.unit_price}, {where: round(offer.unit_price * 0.97, 2)}]
    rows = []
    for params in points:
        timers.reset()
        point = {"params": params, "overrides": [override_text(p, v) for p, v in params.items()], "key": "bench"}
        started = time.perf_counter()
        row = solve_point(base, [], point, opts, warm_start=True)
        rows.append((time.perf_counter() - started, timers.highs, row.get("model"), timers.spent.get("handover", 0.0)))
    wall, highs, model, handover = rows[-1]
    return {"sweep_point_s": wall, "sweep_highs_s": highs, "sweep_handover_s": handover,
            "sweep_ratio": wall / highs if highs > 0 else None, "sweep_model": model}


# --------------------------------------------------------------------------- parent


def run_child(path: Path, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), "--gap", str(args.gap),
           "--time-limit", str(args.time_limit), "--sweep-max", str(args.sweep_max if args.sweep else -1)]
    started, started_wall = time.perf_counter(), time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=args.time_limit * 4 + 300,
                          check=False)
    wall, ended_wall = time.perf_counter() - started, time.time()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{path.name}: child failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    data = json.loads(lines[-1][len(MARK):])
    wall -= data.pop("after_s")  # the sweep point ran after the solve, in the same process
    data["total_s"] = wall
    data["startup_s"] = max(0.0, data.pop("t0_wall") - started_wall) + data["import_s"]
    data["exit_s"] = max(0.0, ended_wall - data.pop("end_wall"))
    return data


def row_for(name: str, offers: int, periods: int, variant: str, data: dict) -> dict:
    row = {"instance": name, "offers": offers, "periods": periods, "variant": variant, "cells": offers * periods}
    row.update({k: v for k, v in data.items() if k in COLUMNS})
    total, highs = row["total_s"], row["highs_s"]
    row["outside_s"] = total - highs
    row["outside_share"] = row["outside_s"] / total if total > 0 else None
    inside = sum(row[f"{p}_s"] for p in PHASES if p not in ("startup", "highs", "exit"))
    row["outside_share_in_process"] = inside / (inside + highs) if inside + highs > 0 else None
    if row.get("peak_mb") is not None and row.get("base_mb") is not None:
        row["mb_per_kcell"] = (row["peak_mb"] - row["base_mb"]) / (row["cells"] / 1000)
    return row


def validate_startup(path: Path, repeats: int = 5) -> dict:
    """`plan validate` on a small instance against a bare `python -c pass`; medians of `repeats`."""
    probe = (f"import sys, json; sys.argv = ['plan', 'validate', {str(path)!r}]\n"
             "import cli\n"
             "try:\n    cli.main()\nexcept SystemExit as e:\n    code = e.code\n"
             "heavy = ['pandas', 'pyomo', 'highspy', 'matplotlib', 'numpy', 'fastapi', 'dask', 'openpyxl']\n"
             "sys.stderr.write('LOADED ' + json.dumps([m for m in heavy if m in sys.modules]) + '\\n')\n"
             "sys.exit(code)\n")

    def timed(cmd):
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        return time.perf_counter() - started, proc

    bare = statistics.median(timed([sys.executable, "-c", "pass"])[0] for _ in range(repeats))
    runs = [timed([sys.executable, "-c", probe]) for _ in range(repeats)]
    loaded = []
    for _, proc in runs:
        if proc.returncode != 0:
            raise RuntimeError(f"plan validate {path} failed: {proc.stderr[-1000:]}")
        for line in proc.stderr.splitlines():
            if line.startswith("LOADED "):
                loaded = json.loads(line[7:])
    validate = statistics.median(t for t, _ in runs)
    return {"bare_python_s": bare, "plan_validate_s": validate, "validate_overhead_s": validate - bare,
            "heavy_modules_loaded": loaded}


def fmt(value, width: int, digits: int = 2) -> str:
    if value is None or value == "":
        return "-".rjust(width)
    if isinstance(value, float):
        return f"{value:.{digits}f}".rjust(width)
    return str(value).rjust(width)


def table(rows: list[dict]) -> str:
    cols = [("instance", 18, 0), ("nonzeros", 8, 0), ("status", 9, 0), ("startup_s", 7, 2), ("validate_s", 7, 2),
            ("prepare_s", 7, 2), ("build_s", 7, 2), ("handover_s", 7, 2), ("highs_s", 7, 2), ("readback_s", 7, 2),
            ("extract_s", 7, 2), ("other_s", 7, 2), ("exit_s", 7, 2), ("total_s", 7, 2), ("outside_share", 7, 2),
            ("outside_share_in_process", 7, 2), ("peak_mb", 6, 0), ("sweep_ratio", 6, 2)]
    heads = {"startup_s": "start", "validate_s": "valid", "prepare_s": "prep", "build_s": "build",
             "handover_s": "hand", "highs_s": "HiGHS", "readback_s": "read", "extract_s": "extr",
             "other_s": "other", "exit_s": "exit", "total_s": "total", "outside_share": "out%", "outside_share_in_process": "outin%",
             "peak_mb": "MB", "sweep_ratio": "sweep", "nonzeros": "nnz"}
    out = io.StringIO()
    out.write(" ".join(heads.get(c, c).rjust(w) if c != "instance" else c.ljust(w) for c, w, _ in cols) + "\n")
    for r in rows:
        cells = []
        for c, w, d in cols:
            v = r.get(c)
            if c == "instance":
                cells.append(str(v).ljust(w))
            elif c in ("outside_share", "outside_share_in_process") and v is not None:
                cells.append(f"{100 * v:.0f}%".rjust(w))
            elif c == "status" and r.get("hit_time_limit"):
                cells.append("LIMIT".rjust(w))
            else:
                cells.append(fmt(v, w, d))
        out.write(" ".join(cells) + "\n")
    return out.getvalue()


def summary(rows: list[dict], startup: dict | None, args) -> str:
    """The targets of issue 7, as ratios from this run."""
    lines = [(f"benchmark run: gap {args.gap}, time limit {args.time_limit} s per solve, "
              f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}")]

    def pick(size, variant):
        return next((r for r in rows if (r["offers"], r["periods"]) == size and r["variant"] == variant), None)

    for variant in args.variants:
        r = pick(MEDIUM, variant)
        if r:
            limit = " (HiGHS hit the time limit)" if r.get("hit_time_limit") else ""
            lines.append(f"medium {MEDIUM[0]}x{MEDIUM[1]} {variant}: outside HiGHS {100 * r['outside_share']:.0f}% of "
                         f"the whole process, {100 * r['outside_share_in_process']:.0f}% in-process (target <= 25%)"
                         f"{limit}")
        r = pick(LARGE, variant)
        if r:
            limit = " (HiGHS hit the time limit)" if r.get("hit_time_limit") else ""
            lines.append(f"large {LARGE[0]}x{LARGE[1]} {variant}: outside / HiGHS = "
                         f"{r['outside_s'] / max(r['highs_s'], 1e-9):.2f} (target < 1){limit}")
    for r in rows:
        if (r["offers"], r["periods"]) == MEDIUM and r.get("sweep_ratio"):
            lines.append(f"sweep point {r['instance']}: {r['sweep_point_s']:.3f} s against HiGHS {r['sweep_highs_s']:.3f} s"
                         f" = {r['sweep_ratio']:.2f}x (target <= 1.2x; model {r['sweep_model']}, "
                         f"hand-over {r['sweep_handover_s']:.3f} s)")
    if startup:
        lines.append(f"plan validate (small instance): {startup['plan_validate_s']:.3f} s against bare python "
                     f"{startup['bare_python_s']:.3f} s: +{startup['validate_overhead_s']:.3f} s (target <= 0.5 s); "
                     f"heavy modules loaded: {startup['heavy_modules_loaded'] or 'none'}")
    for variant in args.variants:
        for key, what in (("model_mb", "model built and handed over"), ("peak_mb", "peak (HiGHS's search included)")):
            fit = linear_fit([(r["cells"], r[key]) for r in rows if r["variant"] == variant and r.get(key)])
            if fit:
                a, b, worst = fit
                lines.append(f"memory {variant}, {what}: MB ~ {a:.0f} + {1000 * b:.1f} per 1000 offer-periods; "
                             f"largest deviation from that line {100 * worst:.0f}% (linear when small)")
    limited = [r["instance"] for r in rows if r.get("hit_time_limit")]
    if limited:
        lines.append(f"HiGHS hit the {args.time_limit:g} s time limit on: {', '.join(limited)}")
    return "\n".join(lines) + "\n"


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float, float] | None:
    """Least squares y = a + b x; returns (a, b, largest |residual| / y)."""
    if len({x for x, _ in points}) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    a = my - b * mx
    return a, b, max(abs(y - a - b * x) / y for x, y in points)


def write_atomic(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (repr(v) if k == "objective" else f"{v:.6g}") if isinstance(v, float) else v
                         for k, v in r.items()})
    return buf.getvalue()


def plot(rows: list[dict], path: Path) -> None:
    """Total, HiGHS and outside time against offers x periods (log-log), per variant.

    Points, not lines, for total and HiGHS: HiGHS's time follows how hard an instance is more
    than its size. The outside time (total - HiGHS) is joined: it is what grows with size.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    colours = {"plain": "tab:blue", "full": "tab:orange"}
    for variant in sorted({r["variant"] for r in rows}, reverse=True):
        pts = sorted((r for r in rows if r["variant"] == variant), key=lambda r: (r["cells"], r["offers"]))
        x = [r["cells"] for r in pts]
        c = colours.get(variant)
        ax.scatter(x, [r["total_s"] for r in pts], marker="o", color=c, label=f"{variant}: total (whole process)")
        ax.scatter(x, [max(r["highs_s"], 1e-3) for r in pts], marker="s", facecolors="none", edgecolors=c,
                   label=f"{variant}: HiGHS")
        ax.plot(x, [max(r["outside_s"], 1e-3) for r in pts], "^-", color=c, alpha=0.6, markersize=4,
                label=f"{variant}: outside HiGHS")
        for r in pts:
            if r.get("hit_time_limit"):
                ax.annotate("limit", (r["cells"], r["highs_s"]), textcoords="offset points", xytext=(4, -10),
                            fontsize=7, color=c)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offers x periods (10/50/200 offers x 12/36/60 periods)")
    ax.set_ylabel("seconds")
    ax.set_title("plan solve: total, HiGHS and outside time by size (one run)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(path, buf.getvalue())


def _number(text: str):
    """A CSV cell back to a number where it is one (True/False stay text)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text) if text != "" else None


def compare(rows: list[dict], old_csv: Path) -> str:
    """New over old, per instance: total, outside HiGHS, and each phase outside HiGHS."""
    with open(old_csv, newline="", encoding="utf-8") as fh:
        old = {r["instance"]: r for r in csv.DictReader(fh)}
    keys = ("total_s", "outside_s", "validate_s", "prepare_s", "build_s", "handover_s", "extract_s", "peak_mb")
    out = io.StringIO()
    out.write(f"ratios new/old against {old_csv}\n" + "instance".ljust(18)
              + "".join(k.removesuffix("_s").rjust(10) for k in keys) + "\n")
    for r in rows:
        o = old.get(r["instance"])
        if not o:
            continue
        cells = []
        for k in keys:
            try:
                cells.append(f"{r[k] / float(o[k]):.2f}".rjust(10))
            except (TypeError, ValueError, ZeroDivisionError, KeyError):
                cells.append("-".rjust(10))
        out.write(r["instance"].ljust(18) + "".join(cells) + "\n")
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    from generate import SIZES_OFFERS, SIZES_PERIODS, VARIANTS, generate, write_instance

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offers", type=int, nargs="+", default=list(SIZES_OFFERS))
    parser.add_argument("--periods", type=int, nargs="+", default=list(SIZES_PERIODS))
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--quick", action="store_true", help="only the smallest size (10 offers x 12 periods)")
    parser.add_argument("--gap", type=float, default=1e-3, help="relative MIP gap (default 0.1%%)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false", help="skip the sweep-point timing")
    parser.add_argument("--sweep-max", type=float, default=15.0,
                        help="time a sweep point only where the first solve's HiGHS time is below this")
    parser.add_argument("--no-startup", dest="startup", action="store_false", help="skip the plan validate timing")
    parser.add_argument("--no-plot", dest="plot", action="store_false")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder for CSV, summary and PNG")
    parser.add_argument("--name", default="benchmark", help="base name of the CSV (default benchmark)")
    parser.add_argument("--instances", type=Path, help="keep the generated instances in this folder")
    parser.add_argument("--compare", type=Path, help="an earlier CSV: print new/old ratios")
    parser.add_argument("--from-csv", type=Path, help="redraw the plot from an earlier CSV, no solving")
    parser.add_argument("--speed", action="store_true", help="issue 15's rows instead (benchmarks/speed.py)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.speed:
        import speed

        return speed.main([])

    if args.child:
        data = child(args.child, args.gap, args.time_limit, args.sweep_max)
        sys.stdout.write(MARK + json.dumps(data) + "\n")
        return 0
    if args.from_csv:
        with open(args.from_csv, newline="", encoding="utf-8") as fh:
            rows = [{k: _number(v) for k, v in r.items()} for r in csv.DictReader(fh)]
        plot(rows, args.from_csv.with_name(args.from_csv.stem + "-scaling.png"))
        return 0
    if args.quick:
        args.offers, args.periods = [min(args.offers)], [min(args.periods)]

    folder = args.instances or Path(tempfile.mkdtemp(prefix="plan-bench-"))
    rows = []
    print(f"instances in {folder}; gap {args.gap}, time limit {args.time_limit:g} s", flush=True)
    for variant in args.variants:
        for n in args.offers:
            for T in args.periods:
                path = write_instance(generate(n, T, variant), folder)
                data = run_child(path, args)
                row = row_for(path.stem, n, T, variant, data)
                rows.append(row)
                print(f"  {path.stem}: {row['status']}, total {row['total_s']:.2f} s, HiGHS {row['highs_s']:.2f} s",
                      flush=True)
    startup = validate_startup(folder / f"{rows[0]['instance']}.yaml") if args.startup and rows else None
    text = table(rows)
    notes = summary(rows, startup, args)
    print("\n" + text + "\n" + notes, end="")
    write_atomic(args.out / f"{args.name}.csv", csv_text(rows))
    write_atomic(args.out / f"{args.name}-summary.txt", notes + "\n" + text)
    if args.plot:
        plot(rows, args.out / f"{args.name}-scaling.png")
    if args.compare:
        print("\n" + compare(rows, args.compare), end="")
    print(f"\nwritten: {args.out / (args.name + '.csv')}, {args.name}-summary.txt"
          + (f", {args.name}-scaling.png" if args.plot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
