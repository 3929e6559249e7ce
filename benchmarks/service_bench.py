"""`plan serve` under load: solve throughput with 1 and 2 worker processes, and /healthz latency
while every worker is busy.

    python benchmarks/service_bench.py            # ~30 s on 2 cores

Starts real servers on 127.0.0.1 (free ports) and sends only loopback traffic, a bounded number
of requests. Prints ratios from one run; no thresholds (speed is measured here, never asserted).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.test_service import Server, hard  # noqa: E402

SOLVES = 8


def run(workers: int, folder: Path) -> dict:
    srv = Server(folder / f"bench-{workers}.db", folder / f"bench-{workers}.log", workers=workers,
                 queue=SOLVES).start()
    body = {"instance": hard(30, 12, seed=5), "time_limit": 30, "gap": 0.01}  # CPU-bound, not time-bound
    try:
        with httpx.Client(base_url=srv.url, timeout=120) as c:
            idle = [_health_ms(srv.url) for _ in range(20)]
            started = time.perf_counter()
            with ThreadPoolExecutor(SOLVES) as ex:
                futures = [ex.submit(c.post, "/v1/solve", json=body) for _ in range(SOLVES)]
                time.sleep(0.5)
                busy = [_health_ms(srv.url) for _ in range(20)]
                codes = [f.result().status_code for f in futures]
            elapsed = time.perf_counter() - started
    finally:
        srv.kill()
    assert codes == [200] * SOLVES, codes
    return {"elapsed": elapsed, "idle_ms": statistics.median(idle), "busy_ms": statistics.median(busy)}


def _health_ms(url: str) -> float:
    t = time.perf_counter()
    httpx.get(url + "/healthz", timeout=10).raise_for_status()
    return (time.perf_counter() - t) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        one = run(1, Path(tmp))
        two = run(2, Path(tmp))
    print(f"{SOLVES} concurrent solves: 1 worker {one['elapsed']:.1f} s, 2 workers {two['elapsed']:.1f} s"
          f" (ratio {two['elapsed'] / one['elapsed']:.2f})")
    for name, r in (("1 worker", one), ("2 workers", two)):
        print(f"/healthz median, {name}: idle {r['idle_ms']:.1f} ms, all workers busy {r['busy_ms']:.1f} ms"
              f" (ratio {r['busy_ms'] / r['idle_ms']:.1f})")


if __name__ == "__main__":
    main()
