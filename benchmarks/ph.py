"""Extensive form against progressive hedging (issue 12): wall time, bounds' gap, memory.

    python benchmarks/ph.py [--offers 20 --periods 12 --counts 10,50,200,1000 --ranks 2,3 --cap 900]

The base is the generated `plain` instance (benchmarks/generate.py) with a sample: the price
factor of every offer from period 3 on drawn uniform in [0.8, 1.3] (one draw per offer and
scenario), told apart in period 3 (orders and leases of periods 1-2 are the first stage). Each
run is `plan solve --json` in its own process (`--engine ef`, then `--engine ph --ranks N`);
memory is the largest resident set of a process of the run (for PH: of one rank). Writes
benchmarks/results/ph.csv and docs/ph-scaling.png.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sampled(base: dict, count: int) -> dict:
    vary = {f"offers.{o['id']}.price_factor": {"uniform": [{3: 0.8}, {3: 1.3}], "round": 3} for o in base["offers"]}
    return {**base, "sample": {"count": count, "seed": 1, "known": 3, "vary": vary}}


def run(path: Path, *extra: str, time_limit: float, cap: float) -> dict:
    t0 = time.perf_counter()
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        # GNU time's %M: the largest resident set of any one process of the run (for PH: one rank)
        timer = ["/usr/bin/time", "-q", "-f", "%M", "-o", rss.name] if Path("/usr/bin/time").exists() else []
        # its own process group, so that a run past `cap` is ended with its MPI ranks
        proc = subprocess.Popen([*timer, sys.executable, "-m", "cli", "solve", str(path), "--json", "--gap", "1e-3",
                                 "--time-limit", str(time_limit), *extra], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True)
        try:
            stdout, _ = proc.communicate(timeout=cap)
            status = None
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, _ = proc.communicate()
            status = f"killed at {cap:g} s"
        text = Path(rss.name).read_text().split()
        peak = float(text[-1]) if timer and text and text[-1].isdigit() else float("nan")  # kB (GNU time)
    wall = time.perf_counter() - t0
    out = json.loads(stdout) if stdout.strip().startswith("{") else {}
    bounds = out.get("bounds") or {}
    status = status or out.get("status", f"exit {proc.returncode}")
    return {"wall_s": wall, "objective": out.get("objective"), "status": status,
            "gap": bounds.get("gap"), "inner": bounds.get("inner"), "outer": bounds.get("outer"),
            "peak_mb": peak / 1024}


def plot(rows: list[dict], path: Path, base: str) -> None:
    """Wall time, and the plan's cost above the best plan any engine found at that size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from optimizer.output.files import write_atomic

    def num(v):
        return float(v) if v not in (None, "") else None

    best = {}
    for r in rows:
        cost = num(r["inner"]) or num(r["objective"])
        if cost is not None:
            best[int(r["scenarios"])] = min(best.get(int(r["scenarios"]), cost), cost)
    fig, (wall, worse) = plt.subplots(1, 2, figsize=(11, 4))
    for engine in dict.fromkeys(r["engine"] for r in rows):
        mine = [r for r in rows if r["engine"] == engine]
        wall.plot([int(r["scenarios"]) for r in mine], [float(r["wall_s"]) for r in mine], marker="o", label=engine)
        costs = [(int(r["scenarios"]), num(r["inner"]) or num(r["objective"])) for r in mine]
        costs = [(n, 100 * (c / best[n] - 1)) for n, c in costs if c is not None]
        worse.plot([n for n, _ in costs], [c for _, c in costs], marker="o", label=engine)
    wall.set_ylabel("wall seconds (plan solve)")
    worse.set_ylabel("plan's cost above the best found, %")
    for ax in (wall, worse):
        ax.set_xlabel("sampled scenarios")
        ax.set_xscale("log")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(f"Extensive form vs progressive hedging (2 or 3 ranks), {base}, 2 shared cores")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    write_atomic(path, buf.getvalue())


def main(argv=None) -> int:
    from benchmarks.generate import generate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offers", type=int, default=20)
    ap.add_argument("--periods", type=int, default=12)
    ap.add_argument("--counts", default="10,50,200,1000")
    ap.add_argument("--ranks", default="2,3")
    ap.add_argument("--time-limit", type=float, default=300)
    ap.add_argument("--cap", type=float, default=900, help="wall seconds after which a run is ended (killed)")
    ap.add_argument("--append", action="store_true", help="keep the rows of --out for other scenario counts")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ph.csv")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "ph-scaling.png")
    ap.add_argument("--plot-only", action="store_true", help="redraw --plot from the rows in --out")
    args = ap.parse_args(argv)
    if args.plot_only:
        plot(list(csv.DictReader(args.out.open())), args.plot, f"{args.offers} offers x {args.periods} periods")
        return 0
    base = generate(args.offers, args.periods, "plain")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(c) for c in args.counts.split(",")):
            path = Path(tmp) / f"sampled-{count}.yaml"
            path.write_text(yaml.safe_dump(sampled(base, count)))
            engines = [("ef", [])] + [(f"ph-{r}", ["--engine", "ph", "--ranks", r]) for r in args.ranks.split(",")]
            for name, extra in engines:
                row = {"scenarios": count, "engine": name, **run(path, *extra, time_limit=args.time_limit, cap=args.cap)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.append and args.out.exists():
        measured = {r["scenarios"] for r in rows}
        kept = [{**r, "scenarios": int(r["scenarios"]), "wall_s": float(r["wall_s"])}
                for r in csv.DictReader(args.out.open()) if int(r["scenarios"]) not in measured]
        rows = sorted(kept + rows, key=lambda r: r["scenarios"])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    from optimizer.output.files import write_atomic

    write_atomic(args.out, buf.getvalue())
    plot(rows, args.plot, f"{args.offers} offers x {args.periods} periods")
    return 0


if __name__ == "__main__":
    sys.exit(main())
