"""The service's store: results and sweep jobs in one SQLite file (the embedded default).

Every finished solve and every finished sweep point is written in its own transaction before it
is reported, so a restart (or a crash) loses no finished result: a sweep that was running when
the server stopped is resumed at the next start, and the points already stored are skipped.
WAL mode lets readers (`GET /v1/jobs/...`) proceed while the job runner writes.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    instance TEXT NOT NULL,
    status TEXT NOT NULL,
    job_id TEXT,
    body TEXT NOT NULL              -- the Result JSON exactly as returned
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,             -- sweep
    status TEXT NOT NULL,           -- queued | running | done | failed
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    total INTEGER NOT NULL,         -- points in the grid
    request TEXT NOT NULL,          -- the request JSON (instance, params, options)
    error TEXT
);
CREATE TABLE IF NOT EXISTS job_rows (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    point INTEGER NOT NULL,         -- index in the grid, 0-based
    created TEXT NOT NULL,
    row TEXT NOT NULL,              -- the row JSON (params, status, objective, cost, result_id)
    PRIMARY KEY (job_id, point)
);
"""

UNFINISHED = ("queued", "running")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def new_id() -> str:
    return uuid.uuid4().hex


class Store:
    """A thin layer over one SQLite file; a connection per call keeps it safe across threads."""

    def __init__(self, path: str | Path):
        self.path = str(path)  # a file: each call opens its own connection
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a crash of the process
            yield db
        finally:
            db.close()

    # ------------------------------------------------------------------ results

    def put_result(self, body: str, job_id: str | None = None, db: sqlite3.Connection | None = None) -> str:
        data = json.loads(body)
        rid = new_id()
        row = (rid, now(), data.get("instance", ""), data.get("status", ""), job_id, body)
        if db is not None:
            db.execute("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)", row)
        else:
            with self._db() as conn:
                conn.execute("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)", row)
        return rid

    def get_result(self, rid: str) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT body FROM results WHERE id = ?", (rid,)).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------ jobs

    def create_job(self, kind: str, request: dict[str, Any], total: int) -> str:
        jid = new_id()
        stamp = now()
        with self._db() as db:
            db.execute(
                "INSERT INTO jobs (id, kind, status, created, updated, total, request)"
                " VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                (jid, kind, stamp, stamp, total, json.dumps(request)),
            )
        return jid

    def set_status(self, jid: str, status: str, error: str | None = None) -> None:
        with self._db() as db:
            db.execute("UPDATE jobs SET status = ?, error = ?, updated = ? WHERE id = ?", (status, error, now(), jid))

    def add_point(self, jid: str, point: int, row: dict[str, Any], result_body: str | None) -> None:
        """Store one finished point (and its full result) in one transaction: all or nothing."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if result_body is not None:
                    row = {**row, "result_id": self.put_result(result_body, jid, db)}
                db.execute("INSERT OR IGNORE INTO job_rows VALUES (?, ?, ?, ?)", (jid, point, now(), json.dumps(row)))
                db.execute("UPDATE jobs SET updated = ? WHERE id = ?", (now(), jid))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def done_points(self, jid: str) -> set[int]:
        with self._db() as db:
            return {p for (p,) in db.execute("SELECT point FROM job_rows WHERE job_id = ?", (jid,))}

    def job_request(self, jid: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT request FROM jobs WHERE id = ?", (jid,)).fetchone()
        return json.loads(row[0]) if row else None

    def job(self, jid: str, with_rows: bool = True) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute(
                "SELECT id, kind, status, created, updated, total, error FROM jobs WHERE id = ?", (jid,)
            ).fetchone()
            if row is None:
                return None
            rows = [
                {"point": p, **json.loads(r)}
                for p, r in db.execute("SELECT point, row FROM job_rows WHERE job_id = ? ORDER BY point", (jid,))
            ] if with_rows else []
            done = db.execute("SELECT COUNT(*) FROM job_rows WHERE job_id = ?", (jid,)).fetchone()[0]
        keys = ("id", "kind", "status", "created", "updated", "total", "error")
        job = dict(zip(keys, row))
        total = job.pop("total")
        job["progress"] = {"done": done, "total": total}
        job["rows"] = rows
        return job

    def unfinished_jobs(self) -> list[str]:
        """Jobs to (re)start, oldest first: queued ones and those running when the server stopped."""
        with self._db() as db:
            return [jid for (jid,) in db.execute(
                "SELECT id FROM jobs WHERE status IN (?, ?) ORDER BY created", UNFINISHED)]

    def count_unfinished(self) -> int:
        with self._db() as db:
            return db.execute("SELECT COUNT(*) FROM jobs WHERE status IN (?, ?)", UNFINISHED).fetchone()[0]


# --------------------------------------------------------------------------- worker side
# Run in the solver processes; kept here, away from FastAPI, so a worker starts light.

WARM_UP_INSTANCE = {
    "name": "warm-up",
    "horizon": {"periods": 1},
    "chips": [{"id": "w", "bf16_tflops": 1}],
    "offers": [{"id": "w", "chip": "w", "kind": "buy", "unit_price": 1}],
    "requirements": [{"metric": "bf16_tflops", "schedule": 1}],
}


def warm_up(threads: int, memory_mb: int | None = None, starts: Any = None) -> None:
    """Once per worker process: load the solver stack and run one trivial solve, so the first
    request is as fast as the rest. It also fixes HiGHS's thread count for the process (HiGHS
    keeps the first one it is given), which is why a server has one `solver_threads`.
    `memory_mb` caps the process's address space: a solve needing more fails with MemoryError
    in its own worker instead of taking the machine's memory. `starts`: the pool's queue on which
    run_timed says when a call starts (the watchdog's clock)."""
    from optimizer.process import die_with_parent

    global _starts
    die_with_parent()
    _starts = starts
    if memory_mb:
        import resource

        limit = memory_mb * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    solve_in_worker(WARM_UP_INSTANCE, 0.0, 10.0, threads)


def noop() -> None:
    return None


_starts: Any = None  # set by warm_up in each worker


def run_timed(token: int, fn, *args) -> Any:
    """Run `fn(*args)` in a worker, first telling the pool's watchdog when it started: a call
    waiting in the executor's queue is not running yet, so it cannot be running late."""
    if _starts is not None:
        _starts.put((token, time.time()))
    return fn(*args)


def solve_in_worker(data: Any, gap: float, time_limit: float, threads: int) -> tuple[str, Any]:
    """One solve. Returns ('ok', result JSON) or ('invalid', messages): plain values only, since
    exceptions with extra fields (InputError.messages) do not survive pickling intact."""
    from models.errors import InputError
    from models.loading import validate
    from optimizer.planning.solve import SolveOptions, solve_instance

    try:
        inst = validate(data)
    except InputError as exc:
        return "invalid", exc.messages
    result = solve_instance(inst, SolveOptions(gap=gap, time_limit=time_limit, threads=threads))
    return "ok", result.model_dump_json()
