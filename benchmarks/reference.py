"""One solve of an instance by the plain-highspy formulation of MODEL.md (tests/reference_milp.py:
no modelling layer, rows built as coefficient lists and handed to highspy), for side-by-side
timings with `plan solve` (benchmarks/speed.py runs both, each in its own process).

    python benchmarks/reference.py INSTANCE.yaml [--gap 1e-4] [--time-limit 120]

Prints one JSON line: status, objective (discounted cost or capacity), seconds in-process.
One thread, the given relative gap, as `plan solve --gap G --threads 1`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance")
    ap.add_argument("--gap", type=float, default=0.0)
    ap.add_argument("--time-limit", type=float, default=None)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    from models.loading import load_instance
    from tests import reference_milp

    reference_milp.HIGHS_OPTIONS = {"mip_rel_gap": args.gap, "mip_abs_gap": 1e-9 if args.gap == 0 else 1e-6}
    if args.time_limit:
        reference_milp.HIGHS_OPTIONS["time_limit"] = args.time_limit
    out = reference_milp.reference_solve(load_instance(args.instance))
    print(json.dumps({"status": out.status, "objective": out.objective, "seconds": time.perf_counter() - started}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
