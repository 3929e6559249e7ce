"""Issue 15's rows, measured in one run: whole-process wall times (the minimum of `--repeats`
runs, each a fresh process) against their targets, and ratios against bare start-up.

    python benchmarks/speed.py [--repeats 3]

Rows: a tiny solve against `python -c "import highspy"` (the floor of any solve), the quick
diagnosis of an infeasible 50-offer x 36-period instance, `plan explain` of cn-2023-h1, the
scenario extensive form's share of time outside HiGHS (benchmarks/scenarios.py, 10 scenarios),
and `plan solve` side by side with plain highspy, each a whole process, one thread, the same gap:

- "bare": HiGHS reading the very model `plan` builds (written as MPS beforehand) and solving it,
  in a process that imports nothing but highspy: the floor for this formulation, so the ratio
  is what the modelling layer (Pyomo, validation, extraction, the in-process check) costs;
- "reference": tests/reference_milp.py, a second formulation of MODEL.md written without the
  optimiser's code (rows as coefficient lists straight into highspy; segment binaries on every
  order, so HiGHS's own time differs: the ratio mixes formulation and layer).

The sweep-point row is benchmarks/run.py's (a second price point on a warm model against
HiGHS's time for that re-solve). Writes benchmarks/results/speed.txt.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def wall(argv: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - started)
    return best


def infeasible_instance(folder: Path) -> Path:
    """The generated 50 x 36 instance with its first BF16 requirement 40 times larger: no plan."""
    import yaml

    from benchmarks.generate import generate

    data = generate(50, 36, "plain")
    req = data["requirements"][0]
    first = min(req["schedule"])
    req["schedule"][first] *= 40
    path = folder / "infeasible.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def export_mps(instance: Path, out: Path) -> Path:
    """The model `plan solve` hands to HiGHS, as an MPS file (same columns and rows)."""
    from models.loading import load_instance
    from optimizer.planning.build import build_model
    from optimizer.planning.highs import compile_to_highs, quiet_stdout
    from optimizer.planning.prepare import prepare

    with quiet_stdout():
        highs, _ = compile_to_highs(build_model(prepare(load_instance(str(instance)))))
        highs.writeModel(str(out))
    return out


BARE = ("import sys, highspy; h = highspy.Highs(); h.setOptionValue('output_flag', False); "
        "h.setOptionValue('threads', 1); h.setOptionValue('mip_rel_gap', float(sys.argv[2])); "
        "h.setOptionValue('time_limit', float(sys.argv[3])); h.readModel(sys.argv[1]); h.run()")


def side_by_side(folder: Path, sizes, gap: float, limit: float, repeats: int, reference: bool) -> list[dict]:
    """Whole-process seconds of `plan solve`, bare highspy on the same model, and the reference."""
    import yaml

    from benchmarks.generate import generate

    out = []
    for offers, periods, variant in sizes:
        path = folder / f"o{offers}_t{periods}_{variant}.yaml"
        path.write_text(yaml.safe_dump(generate(offers, periods, variant)))
        mps = export_mps(path, path.with_suffix(".mps"))
        row = {"instance": path.stem,
               "plan": wall([sys.executable, "-c", "import cli; cli.main()", "solve", str(path), "--gap", str(gap),
                             "--threads", "1", "--time-limit", str(limit)], repeats),
               "bare": wall([sys.executable, "-c", BARE, str(mps), str(gap), str(limit)], repeats)}
        if reference:
            row["reference"] = wall([sys.executable, str(ROOT / "benchmarks" / "reference.py"), str(path), "--gap",
                                     str(gap), "--time-limit", str(limit)], 1)
        print(f"  {row}", flush=True)
        out.append(row)
    return out


def geo_mean(values: list[float]) -> float:
    import math

    return math.exp(sum(math.log(v) for v in values) / len(values))


def sweep_ratio(folder: Path) -> float | None:
    """benchmarks/run.py's sweep point on the medium plain instance (50 x 36)."""
    out = folder / "run"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--offers", "50", "--periods", "36",
                    "--variants", "plain", "--no-startup", "--no-plot", "--out", str(out)], cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    rows = list(csv.DictReader((out / "benchmark.csv").open())) if (out / "benchmark.csv").exists() else []
    return float(rows[0]["sweep_ratio"]) if rows and rows[0].get("sweep_ratio") else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-large", dest="large", action="store_false", help="skip the 50x36 .. 120x60 rows")
    args = ap.parse_args(argv)
    plan = [sys.executable, "-c", "import cli; cli.main()"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        floor = wall([sys.executable, "-c", "import highspy"], args.repeats)
        tiny = wall(plan + ["solve", "instances/features/tiny.yaml"], args.repeats)
        rows.append(("tiny instance, whole process", f"{tiny:.2f} s ({tiny / floor:.1f}x bare highspy import {floor:.2f} s)",
                     "<= 0.6 s", tiny <= 0.6))
        infeasible = wall(plan + ["solve", str(infeasible_instance(Path(tmp)))], args.repeats)
        rows.append(("infeasible 50x36 with its quick diagnosis", f"{infeasible:.2f} s", "<= 3 s", infeasible <= 3))
        explain = wall(plan + ["explain", "instances/cn-2023-h1.yaml"], 1)
        rows.append(("plan explain instances/cn-2023-h1.yaml", f"{explain:.2f} s", "<= 3 s", explain <= 3))
        small = side_by_side(Path(tmp), [(10, 12, "plain"), (10, 12, "full"), (10, 36, "plain"), (50, 12, "plain"),
                                         (50, 36, "plain")], 1e-3, 120, args.repeats, reference=True)
        bare = geo_mean([r["plan"] / r["bare"] for r in small])
        ref = geo_mean([r["plan"] / r["reference"] for r in small])
        rows.append(("small and medium (10x12 .. 50x36), gap 1e-3, whole process, geometric mean",
                     f"{bare:.2f}x bare highspy on the same model; {ref:.2f}x the reference formulation", "<= 1.2x",
                     ref <= 1.2))
        if args.large:
            for r in side_by_side(Path(tmp), [(50, 36, "plain"), (80, 48, "plain"), (120, 60, "plain")], 1e-4, 120, 1,
                                  reference=True):
                hit = " (a time limit of 120 s came first)" if max(r["plan"], r["reference"]) >= 114 else ""
                rows.append((f"{r['instance']}, gap 1e-4{hit}", f"{r['plan'] / r['reference']:.2f}x the reference "
                             f"({r['plan']:.1f} s vs {r['reference']:.1f} s); {r['plan'] / r['bare']:.2f}x bare highspy",
                             "<= 1.0x", None if hit else r["plan"] <= r["reference"]))
        ratio = sweep_ratio(Path(tmp))
        if ratio is not None:
            rows.append(("sweep point against HiGHS's re-solve (50x36 plain)", f"{ratio:.2f}x", "<= 1.1x", ratio <= 1.1))
    scen = ROOT / "benchmarks" / "results" / "scenarios.csv"
    if scen.exists():
        for r in csv.DictReader(scen.open()):
            share = float(r["outside_share"])
            rows.append((f"{r['scenarios']} scenarios, 50x36: time outside HiGHS (benchmarks/scenarios.py)",
                         f"{share:.1%} of {float(r['total_s']):.0f} s", "< 25%", share < 0.25))
    width = max(len(r[0]) for r in rows)
    lines = [f"{'row':<{width}}  measured  |  target  |  met"]
    lines += [f"{name:<{width}}  {got}  |  {target}  |  {'n/a' if ok is None else 'yes' if ok else 'NO'}"
              for name, got, target, ok in rows]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    from optimizer.output.files import write_atomic

    write_atomic(ROOT / "benchmarks" / "results" / "speed.txt", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
