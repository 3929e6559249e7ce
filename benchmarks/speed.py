"""Issue 15's rows, measured in one run: whole-process wall times (the minimum of `--repeats`
runs, each a fresh process) against their targets, and ratios against bare start-up.

    python benchmarks/speed.py [--repeats 3]

Rows: a tiny solve against `python -c "import highspy"` (the floor of any solve), the quick
diagnosis of an infeasible 50-offer x 36-period instance, `plan explain` of cn-2023-h1, and the
scenario extensive form's share of time outside HiGHS (benchmarks/scenarios.py, 10 scenarios).
Writes benchmarks/results/speed.txt.
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
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
    scen = ROOT / "benchmarks" / "results" / "scenarios.csv"
    if scen.exists():
        for r in csv.DictReader(scen.open()):
            if r["scenarios"] == "10":
                share = float(r["outside_share"])
                rows.append(("10 scenarios, 50x36: time outside HiGHS", f"{share:.0%} of {float(r['total_s']):.0f} s",
                             "< 25%", share < 0.25))
    width = max(len(r[0]) for r in rows)
    lines = [f"{'row':<{width}}  measured  |  target  |  met"]
    lines += [f"{name:<{width}}  {got}  |  {target}  |  {'yes' if ok else 'NO'}" for name, got, target, ok in rows]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    from optimizer.output.files import write_atomic

    write_atomic(ROOT / "benchmarks" / "results" / "speed.txt", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
