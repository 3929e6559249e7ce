"""Scenario models against the number of scenarios (issue 11): build and HiGHS time.

    python benchmarks/scenarios.py [--offers 50 --periods 36 --counts 2,5,10,20 --gap 1e-3]

The base is the generated 50-offer x 36-period `plain` instance (benchmarks/generate.py). Scenario
s (s >= 1) is told apart in period 6 + s mod 12 and multiplies every offer's prices from period 6 on
by 1 + 0.05 s (a price shock, section 7's price_factor); scenario 0 is the base. Each count is
solved in one process, phase by phase: prepare (scenario instances + Prepared), build (the
extensive form in Pyomo), hand-over to HiGHS, HiGHS itself, extraction. Writes
benchmarks/results/scenarios.csv and, with matplotlib, docs/scenarios-scaling.png.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def scenario_data(base: dict, count: int) -> dict:
    data = dict(base)
    scenarios = [{"name": "base"}]
    for s in range(1, count):
        factor = round(1 + 0.05 * s, 4)
        scenarios.append({
            "name": f"shock-{s}", "probability": round(0.5 / (count - 1), 12), "known": 6 + s % 12,
            "set": {f"offers.{o['id']}.price_factor": {6: factor} for o in base["offers"]},
        })
    scenarios[0]["probability"] = round(1 - sum(x["probability"] for x in scenarios[1:]), 12)
    data["scenarios"] = scenarios
    return data


def measure(data: dict, gap: float) -> dict:
    from models.loading import validate
    from optimizer.planning import highs as boundary
    from optimizer.planning.highs import SolveOptions
    from optimizer.planning.scenarios import build_extensive_form, extract_scenarios, prepare_scenarios

    t0 = time.perf_counter()
    instance = validate(data)
    plan = prepare_scenarios(instance)
    t1 = time.perf_counter()
    model = build_extensive_form(plan)
    t2 = time.perf_counter()
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h, variables = boundary.compile_to_highs(model, h)
    t3 = time.perf_counter()
    options = SolveOptions(gap=gap, time_limit=60.0)  # a bound per count: the benchmark must end
    outcome = boundary.run_highs(model, options, None)  # a fresh run: hand-over again + HiGHS
    t4 = time.perf_counter()
    result = extract_scenarios(instance, plan, outcome, options, t0)
    t5 = time.perf_counter()
    highs_s = outcome.time_s
    total = t5 - t0 - (t3 - t2)  # the measured hand-over above is a probe; run_highs hands over again
    return {
        "scenarios": len(plan.scenarios), "columns": h.getNumCol(), "rows": h.getNumRow(),
        "prepare_s": t1 - t0, "build_s": t2 - t1, "handover_s": t3 - t2, "highs_s": highs_s,
        "extract_s": t5 - t4, "total_s": total, "outside_share": (total - highs_s) / total,
        "status": result.status, "objective": result.objective,
    }


def main(argv=None) -> int:
    from benchmarks.generate import generate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offers", type=int, default=50)
    ap.add_argument("--periods", type=int, default=36)
    ap.add_argument("--counts", default="2,5,10,20")
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scenarios.csv")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "scenarios-scaling.png")
    args = ap.parse_args(argv)
    base = generate(args.offers, args.periods, "plain")
    rows = []
    for count in (int(c) for c in args.counts.split(",")):
        row = measure(scenario_data(base, count), args.gap)
        rows.append(row)
        print(f"{row['scenarios']:>3} scenarios: {row['columns']:>7} cols {row['rows']:>7} rows  prepare "
              f"{row['prepare_s']:.2f}s build {row['build_s']:.2f}s hand-over {row['handover_s']:.2f}s HiGHS "
              f"{row['highs_s']:.2f}s extract {row['extract_s']:.2f}s  outside HiGHS {row['outside_share']:.0%}"
              f"  {row['status']}", flush=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    from optimizer.output.files import write_atomic

    write_atomic(args.out, buf.getvalue())
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return 0
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = [r["scenarios"] for r in rows]
    for key, label in (("prepare_s", "prepare"), ("build_s", "build"), ("handover_s", "hand-over"),
                       ("highs_s", "HiGHS"), ("total_s", "total")):
        ax.plot(xs, [r[key] for r in rows], marker="o", label=label)
    ax.set_xlabel("scenarios")
    ax.set_ylabel("seconds")
    ax.set_title(f"Extensive form, {args.offers} offers x {args.periods} periods, gap {args.gap:g}")
    ax.legend()
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    write_atomic(args.plot, buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
