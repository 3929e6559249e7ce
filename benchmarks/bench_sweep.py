"""How fast is a sweep point, against `plan solve` and against HiGHS itself?

    python benchmarks/bench_sweep.py                      # both instances, 24 points each
    python benchmarks/bench_sweep.py --points 24 --workers 2 --json /tmp/sweep-bench.json

For each instance one offer's unit_price is swept over 0.7x .. 1.3x, and each point is solved:
  process   `plan solve INSTANCE --set PATH=V --json` in a new process (what a shell loop does),
            wall time of the process, for the first 3 points;
  fresh     solve_instance in this process: a new model and a new HiGHS object per point;
  reuse     one Planner for all points: the model is built once, each point moves its Params
            and appsi passes the changed coefficients to the persistent HiGHS object (cold start);
  warm      as reuse, and HiGHS starts from the previous point's plan (what `plan sweep` does);
  workers   `plan sweep --workers N` end to end (process start, N spawned workers), per point.
"HiGHS" is HiGHS's own run time (getRunTime differences); "overhead" is the rest of the wall
time of a point (validate, prepare, build or update, hand-over, extract).

Instances: instances/cn-2023-h1.yaml (12 offers x 12 periods, the real story) and a generated
20 offers x 24 periods (benchmarks/generate.py, variant plain, solved to a 1% gap so that one
point takes ~0.5 s; prices there are estimates). Timings are of one run on this machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def cases(points: int):
    import yaml

    from generate import generate

    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    generated = tmp / "o20_t24_plain.yaml"
    generated.write_text(yaml.safe_dump(generate(20, 24, "plain"), sort_keys=False))
    return [
        ("cn-2023-h1 (12x12)", ROOT / "instances" / "cn-2023-h1.yaml", "offers.A800-server-CN.unit_price", 1e-6),
        ("generated 20x24", generated, "offers.A800-SXM-80G-buy-000.unit_price", 1e-2),
    ]


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def bench_case(label, path, param, gap, points, workers):
    from models.loading import apply_overrides, read_data, resolve_includes, validate
    from optimizer.planning.solve import Planner, SolveOptions, solve_instance
    from optimizer.analysis.sweep import grid, make_axis, resolve_points

    base = resolve_includes(read_data(path), path)
    options = SolveOptions(gap=gap)
    pts = resolve_points(base, [], grid([make_axis(param, "scale", f"0.7:1.3:{points}", base)]), options)
    out = {"case": label, "instance": str(path), "param": param, "gap": gap, "points": len(pts)}

    # `plan solve` in a new process, as a shell loop over --set would do
    walls = []
    for p in pts[:3]:
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "solve", str(path), "--json",
                               "--gap", str(gap), "--set", p.overrides[0]], cwd=ROOT, capture_output=True, text=True)
        walls.append(time.perf_counter() - t)
        assert proc.returncode == 0, proc.stderr
    out["process"] = {"wall": median(walls)}

    # fresh model and HiGHS per point, in this process
    walls, highs, objs = [], [], {}
    for i, p in enumerate(pts):
        inst = validate(apply_overrides(base, p.overrides))
        t = time.perf_counter()
        r = solve_instance(inst, options)
        if i > 0:  # the same points as the kept-model modes below
            walls.append(time.perf_counter() - t)
            highs.append(r.solver.time_s)
        objs[p.key] = r.objective
    out["fresh"] = {"wall": median(walls), "highs": median(highs)}

    # one kept model, cold and warm
    for mode, warm in (("reuse", False), ("warm", True)):
        planner = Planner(options, reuse=True, warm_start=warm)
        walls, highs, diff = [], [], 0.0
        for i, p in enumerate(pts):
            inst = validate(apply_overrides(base, p.overrides))
            t = time.perf_counter()
            r = planner.solve(inst)
            w = time.perf_counter() - t
            if i > 0:  # the first point builds the model: reported apart
                walls.append(w)
                highs.append(r.solver.time_s)
            else:
                out[f"{mode}_first_point"] = w
            diff = max(diff, abs(r.objective - objs[p.key]) / max(1.0, abs(objs[p.key])))
        out[mode] = {"wall": median(walls), "highs": median(highs), "built": planner.built,
                     "updated": planner.updated, "max_rel_objective_diff_vs_fresh": diff}

    # end to end through the command, serial and with workers
    for n in sorted({1, workers}):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "sweep", str(path), "--param", param,
                                   "--scale", f"0.7:1.3:{points}", "--gap", str(gap), "--workers", str(n), "--json",
                                   "--store", str(Path(tmp) / "s.sqlite")], cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - t
            assert proc.returncode == 0, proc.stderr
            rows = json.loads(proc.stdout)["rows"]
        out[f"command_workers_{n}"] = {"total": wall, "per_point": wall / len(rows)}
    out["command_speedup"] = out["command_workers_1"]["total"] / out[f"command_workers_{workers}"]["total"]
    return out


def print_table(results, workers):
    head = f"{'case':<20} {'mode':<22} {'wall/pt':>9} {'HiGHS/pt':>9} {'overhead':>9}"
    print(head)
    print("-" * len(head))
    for r in results:
        rows = [("plan solve (process)", r["process"]["wall"], None),
                ("fresh model per point", r["fresh"]["wall"], r["fresh"]["highs"]),
                ("kept model, cold", r["reuse"]["wall"], r["reuse"]["highs"]),
                ("kept model, warm", r["warm"]["wall"], r["warm"]["highs"])]
        for n in sorted({1, workers}):
            rows.append((f"plan sweep --workers {n}", r[f"command_workers_{n}"]["per_point"], None))
        for mode, wall, hi in rows:
            hs = f"{hi:9.3f}" if hi is not None else f"{'':>9}"
            ov = f"{wall - hi:9.3f}" if hi is not None else f"{'':>9}"
            print(f"{r['case']:<20} {mode:<22} {wall:9.3f} {hs} {ov}")
        warm = r["warm"]["wall"]
        print(f"{'':<20} ratios: sweep point (warm) / plan solve process = {warm / r['process']['wall']:.2f}; "
              f"/ fresh in-process = {warm / r['fresh']['wall']:.2f}; / its HiGHS time = "
              f"{warm / max(r['warm']['highs'], 1e-9):.2f}; warm / cold HiGHS = "
              f"{r['warm']['highs'] / max(r['reuse']['highs'], 1e-9):.2f}")
        print(f"{'':<20} plan sweep, whole command: {r['command_workers_1']['total']:.1f} s with 1 worker, "
              f"{r[f'command_workers_{workers}']['total']:.1f} s with {workers} (x{r['command_speedup']:.2f}; "
              f"includes process start and spawning the workers)")
        print(f"{'':<20} models built {r['warm']['built']}, updated {r['warm']['updated']}; max relative "
              f"objective difference vs fresh: {r['warm']['max_rel_objective_diff_vs_fresh']:.1e} (gap {r['gap']})")
        print()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=("cn", "generated"), help="one instance only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    results = []
    for label, path, param, gap in cases(args.points):
        if args.only and not label.startswith(args.only):
            continue
        print(f"... {label}", file=sys.stderr, flush=True)
        results.append(bench_case(label, path, param, gap, args.points, args.workers))
    print_table(results, args.workers)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
