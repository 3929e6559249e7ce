"""`plan serve`: the planner as an HTTP service for the quoting system (FastAPI, run by uvicorn).

    POST /v1/solve          instance (JSON or YAML) -> Result; stored, GET /v1/results/{id}
    POST /v1/sweeps         instance + {PATH: [values]} grid -> a job, run in the background
    GET  /v1/jobs/{id}      status, progress and the rows finished so far
    GET  /v1/results/{id}   a stored Result
    GET  /v1/schema/{which} JSON Schema of `instance` or `result`
    GET  /healthz           liveness and load; the only endpoint without the token

Solves run in a bounded pool of worker processes (isolation: a crash or a leak stays in the
worker; HiGHS's thread count is fixed per process, so every solve of a server uses the same one).
The event loop only parses, validates and waits, so /healthz answers while every worker is busy.
Requests beyond the workers plus a bounded queue get 503 with Retry-After. Results and jobs
live in SQLite (optimizer.service.jobs): a restart loses no finished result and resumes unfinished jobs.

Settings come from `plan serve` options or PLAN_* environment variables (Settings.from_env);
the bearer token only from PLAN_API_TOKEN, never from the command line (it would show in `ps`).
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import itertools
import json
import logging
import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.errors import InputError
from models.instance import Instance
from models.result import SCHEMA_VERSION, Cost, Result
from optimizer.service.jobs import Store, noop, run_timed, solve_in_worker, warm_up

log = logging.getLogger("plan.service")

TOKEN_ENV = "PLAN_API_TOKEN"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
RETRY_AFTER_S = 5


@dataclass
class Settings:
    """Limits and resources of one server. Each field can be set by PLAN_<FIELD> in the environment."""

    db: str = "plan-service.db"  # SQLite file for results and jobs
    workers: int = 2  # solver processes
    queue: int = 8  # solves admitted beyond the busy workers; more get 503
    solver_threads: int = 1  # HiGHS threads per solve (fixed per worker process)
    max_body_bytes: int = 2_000_000  # request bodies over this get 413
    max_offer_periods: int = 20_000  # offers x periods of one instance; over it 413
    max_time_limit: float = 300.0  # seconds; a larger time_limit gets 422; also the default
    max_sweep_points: int = 200  # grid points of one sweep; over it 413
    max_pending_jobs: int = 20  # sweeps queued or running; more get 503
    job_grace: float = 60.0  # a solve running this long past its time limit is killed (its worker replaced)
    worker_memory_mb: int = 4096  # address space of one worker process; a solve needing more fails alone
    header_timeout: float = 10.0  # seconds for a request's headers to arrive; then the connection is closed
    body_timeout: float = 30.0  # seconds between two pieces of a request body; then 408
    body_deadline: float = 120.0  # seconds for a whole request body (a trickle never pauses long); then 408
    max_depth: int = 64  # nesting of a request body's JSON or YAML; deeper gets 400
    token: str | None = None  # from PLAN_API_TOKEN only

    @classmethod
    def from_env(cls, **overrides: Any) -> "Settings":
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "token":
                continue
            raw = os.environ.get(f"PLAN_{f.name.upper()}")
            if raw is not None and raw != "":
                kind = type(f.default)
                try:
                    values[f.name] = kind(raw)
                except ValueError:
                    noun = "a whole number" if kind is int else "a number"
                    raise InputError([f"PLAN_{f.name.upper()}: expected {noun}, got {raw!r}"]) from None
        values["token"] = os.environ.get(TOKEN_ENV) or None
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        bad = [f"{name} must be >= 1" for name in ("workers", "solver_threads", "max_body_bytes", "max_offer_periods",
                                                   "max_sweep_points", "max_pending_jobs")
               if getattr(self, name) < 1]
        if self.queue < 0:
            bad.append("queue must be >= 0")
        if not self.db or self.db == ":memory:" or self.db.startswith("file:"):
            bad.append("db must be a file: results and jobs must outlive the server")
        if self.max_time_limit <= 0:
            bad.append("max_time_limit must be > 0")
        for name in ("job_grace", "header_timeout", "body_timeout", "body_deadline"):
            if getattr(self, name) <= 0:
                bad.append(f"{name} must be > 0")
        if self.worker_memory_mb < 256:
            bad.append("worker_memory_mb must be >= 256")
        if self.max_depth < 8:
            bad.append("max_depth must be >= 8")
        if bad:
            raise InputError(bad)


# --------------------------------------------------------------------------- API models


class SolveOptionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "0.5" or true is not a gap

    gap: float = Field(default=0.0, ge=0, le=1, description="Relative MIP gap; 0 proves optimality.")
    time_limit: float | None = Field(
        default=None, gt=0, description="Seconds per solve; at most the server's cap, which is also the default."
    )
    threads: int | None = Field(
        default=None, ge=1, description="HiGHS threads; must equal the server's setting when given."
    )


class SolveRequest(SolveOptionsIn):
    """A solve request with options. The body may also be a bare instance (options in the query)."""

    instance: Instance


class SweepOptionsIn(SolveOptionsIn):
    params: dict[str, list[Any]] = Field(
        min_length=1,
        description="Grid: {PATH: [values]} with PATH as in `plan solve --set` (offers.X.unit_price);"
        " every combination is one point, in the order given.",
    )


class SweepRequest(SweepOptionsIn):
    instance: Instance


class Progress(BaseModel):
    done: int
    total: int


class SweepRow(BaseModel):
    point: int = Field(description="Index of the point in the grid, 0-based.")
    params: dict[str, Any]
    status: str = Field(description="The result's status, or `invalid` / `error` when the point could not be solved.")
    objective: float | None = None
    message: str | None = None
    cost: Cost | None = None
    result_id: str | None = Field(default=None, description="GET /v1/results/{result_id} for the whole result.")


class JobOut(BaseModel):
    id: str
    kind: str
    status: str = Field(description="queued | running | done | failed")
    created: str
    updated: str
    error: str | None = None
    progress: Progress
    rows: list[SweepRow]


class JobCreated(BaseModel):
    id: str
    status: str
    total: int
    location: str


class Health(BaseModel):
    status: str = "ok"
    schema_version: str = SCHEMA_VERSION
    workers: int
    in_flight: int = Field(description="Solves running or queued in the pool (sweep points included).")
    queue_limit: int
    jobs_pending: int


class Problem(BaseModel):
    detail: str
    errors: list[str] = Field(default_factory=list)


class HTTPProblem(Exception):
    def __init__(self, status: int, detail: str, errors: list[str] | None = None, headers: dict | None = None):
        self.status, self.detail, self.errors, self.headers = status, detail, errors or [], headers or {}


class SolvePool:
    """Worker processes with admission control: at most `workers + queue` solves in flight.

    A watchdog bounds each solve's wall clock as a whole (validation, build, HiGHS, extraction),
    not only HiGHS's time: a solve still running `grace` seconds past its own time limit gets
    its workers killed and replaced (a process pool cannot lose one worker alone, so the other
    solves in flight then fail with 503 and Retry-After; sweep points are retried once).
    The clock starts when a worker starts the call (the worker says so on a queue), not when the
    executor hands the call to its queue: a solve waiting behind a long one is not running late.
    """

    def __init__(self, workers: int, queue_limit: int, threads: int = 1, grace: float = 60.0,
                 memory_mb: int | None = None):
        self.workers = workers
        self.threads = threads
        self.queue_limit = queue_limit
        self.grace = grace
        self.memory_mb = memory_mb
        self._lock = threading.Lock()
        self._in_flight = 0
        self._tokens = itertools.count()
        self._starts: dict[ProcessPoolExecutor, Any] = {}  # executor -> queue of (token, time started)
        self._executor = self._new_executor()
        self._limits: dict[int, tuple[Future, float, ProcessPoolExecutor]] = {}  # token -> wall-clock s allowed
        self._started: dict[int, float] = {}  # token -> time.time() when its worker started it
        self.overran: set[Future] = set()
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="solve-watchdog", daemon=True)
        self._watchdog.start()

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server has threads (event loop, job runner) that fork would copy mid-state
        context = multiprocessing.get_context("spawn")
        starts = context.Queue()  # one per executor: a worker killed mid-put can only jam its own
        executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=context,
            initializer=warm_up, initargs=(self.threads, self.memory_mb, starts), max_tasks_per_child=500,
        )
        self._starts[executor] = starts
        return executor

    def _drain_starts(self) -> None:
        for starts in list(self._starts.values()):
            while True:
                try:
                    token, started = starts.get_nowait()
                except (queue.Empty, OSError, ValueError, EOFError):
                    break
                with self._lock:
                    if token in self._limits:
                        self._started[token] = started

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            self._drain_starts()
            now = time.time()  # the workers' stamps are time.time(): one clock across processes
            with self._lock:
                late = [(token, fut, executor) for token, (fut, allowed, executor) in self._limits.items()
                        if not fut.done() and token in self._started and now - self._started[token] > allowed]
                doomed = []
                for token, fut, executor in late:
                    self.overran.add(fut)
                    self._limits.pop(token, None)
                    self._started.pop(token, None)
                    if executor is self._executor:
                        log.error("a solve ran over its wall-clock limit; replacing the solver processes")
                        self._executor = self._new_executor()
                        doomed.append(executor)
                for executor in doomed:
                    self._starts.pop(executor, None)
            for executor in doomed:  # outside the lock: cancelling runs done-callbacks that take it
                _kill_workers(executor)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def warm(self, timeout: float = 120) -> None:
        """Start every worker now and wait until each has warmed up: ready means fast."""
        futures = [self._executor.submit(noop) for _ in range(self.workers)]
        wait(futures, timeout=timeout)

    def submit(self, fn, *args, background: bool = False, wall_limit: float | None = None) -> Future | None:
        """Submit, or None when full. Background work (sweep points) only takes an idle worker,
        so interactive solves never wait behind a whole sweep. `wall_limit`: seconds the call may
        run once a worker has started it (the watchdog adds `grace`)."""
        with self._lock:
            limit = self.workers if background else self.workers + self.queue_limit
            if self._in_flight >= limit:
                return None
            token = next(self._tokens)
            executor = self._executor
            try:
                fut = executor.submit(run_timed, token, fn, *args)
            except BrokenProcessPool:
                self._starts.pop(executor, None)
                executor = self._executor = self._new_executor()
                fut = executor.submit(run_timed, token, fn, *args)
            self._in_flight += 1
            if wall_limit is not None:
                self._limits[token] = (fut, wall_limit + self.grace, executor)
        fut.add_done_callback(lambda f: self._release(f, token, executor))
        return fut

    def _release(self, fut: Future, token: int, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            self._in_flight -= 1
            self._limits.pop(token, None)
            self._started.pop(token, None)
            broken = not fut.cancelled() and isinstance(fut.exception(), BrokenProcessPool)
            if broken and executor is self._executor:
                log.error("a solver process died; starting a new pool")
                self._starts.pop(executor, None)
                self._executor = self._new_executor()
                executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._stop.set()
        executor = self._executor
        if self._in_flight == 0:
            executor.shutdown(wait=True)
            return
        executor.shutdown(wait=False, cancel_futures=True)
        # a solve in progress would hold the shutdown for up to its time limit: end the workers
        _kill_workers(executor, terminate=True)


def _kill_workers(executor: ProcessPoolExecutor, terminate: bool = False) -> None:
    for proc in list((getattr(executor, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate() if terminate else proc.kill()
    if not terminate:
        executor.shutdown(wait=False, cancel_futures=True)


# --------------------------------------------------------------------------- request parsing


def _reject_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def nesting_depth(data: Any, limit: int) -> int:
    """How deep lists and dicts nest in `data`, counted without recursion; stops past `limit`."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_body(body: bytes, content_type: str | None, max_depth: int = 64) -> Any:
    """JSON or YAML (safe loader, alias bombs refused) -> plain data; 400/415 with a clear message.
    Runs in a thread, off the event loop: a 2 MB YAML body takes seconds to parse."""
    data = _parse_body(body, content_type)
    if nesting_depth(data, max_depth) > max_depth:
        raise HTTPProblem(400, f"the body nests more than {max_depth} levels deep; an instance needs about 6")
    return data


def _parse_body(body: bytes, content_type: str | None) -> Any:
    from models.loading import parse_text

    media = (content_type or "application/json").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPProblem(400, "the body is not UTF-8 text") from None
    deep = HTTPProblem(400, "the body nests too deeply to be an instance")
    if media in YAML_TYPES:
        try:
            return parse_text(text, "body")
        except InputError as exc:
            raise HTTPProblem(400, "the body is not valid YAML", exc.messages) from None
        except RecursionError:
            raise deep from None
    if media == "application/json" or media.endswith("+json"):
        try:
            return json.loads(text, object_pairs_hook=_reject_duplicates)
        except json.JSONDecodeError as exc:
            raise HTTPProblem(400, "the body is not valid JSON",
                              [f"line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
        except ValueError as exc:
            raise HTTPProblem(400, "the body is not valid JSON", [str(exc)]) from None
        except RecursionError:
            raise deep from None
    raise HTTPProblem(415, f"unsupported content type {media!r}: send application/json or application/yaml")


async def read_body(request, limit: int, timeout: float = 30.0, deadline: float = 120.0) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` bytes (declared or streamed), and
    with 408 when the client stops sending for `timeout` seconds or has not sent it all within
    `deadline` seconds (a byte every few seconds would never pause for `timeout`)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPProblem(413, f"request body of {int(declared):,} bytes is over the limit of {limit:,} bytes")
    chunks, size = [], 0
    stream = request.stream().__aiter__()
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        left = end - loop.time()
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), min(timeout, max(left, 0)))
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:
            detail = (f"the request body stopped arriving for {timeout:g} s" if left > timeout
                      else f"the request body did not arrive within {deadline:g} s")
            raise HTTPProblem(408, detail, headers={"Connection": "close"}) from None
        size += len(chunk)
        if size > limit:
            raise HTTPProblem(413, f"request body is over the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _pydantic_problems(exc) -> list[str]:
    from models.errors import messages

    return messages(exc)


def split_request(data: Any, options_model: type[BaseModel], query: dict[str, Any]) -> tuple[Any, BaseModel]:
    """Body -> (instance data, options). A body with an `instance` key is a request object (options
    inside); any other body is the instance itself, with options from the query string. The
    built-in catalog is merged in here (`include: [catalog]`); no other include is accepted."""
    from pydantic import ValidationError

    from models.catalog import merge_builtin_includes

    if isinstance(data, dict) and "instance" in data:
        # query options are defaults; the request object's own options win
        # query options are defaults (each checked on its own, below); the request object's own win
        rest = {**{k: v for k, v in query.items() if v is not None}, **{k: v for k, v in data.items() if k != "instance"}}
        instance_data = data["instance"]
    else:
        rest, instance_data = {k: v for k, v in query.items() if v is not None}, data
    try:
        instance_data = merge_builtin_includes(instance_data)
    except InputError as exc:
        raise HTTPProblem(422, "invalid instance", exc.messages) from None
    try:
        options = options_model.model_validate(rest)
    except ValidationError as exc:
        raise HTTPProblem(422, "invalid request options", _pydantic_problems(exc)) from None
    return instance_data, options


def effective_options(options: SolveOptionsIn, settings: Settings) -> tuple[float, float, int]:
    errors = []
    if options.time_limit is not None and options.time_limit > settings.max_time_limit:
        errors.append(f"time_limit: {options.time_limit:g} s is over this server's cap of"
                      f" {settings.max_time_limit:g} s")
    if options.threads is not None and options.threads != settings.solver_threads:
        errors.append(f"threads: this server solves with {settings.solver_threads} thread(s) per solve"
                      " (plan serve --solver-threads); leave threads out or send that number")
    if errors:
        raise HTTPProblem(422, "invalid request options", errors)
    time_limit = options.time_limit if options.time_limit is not None else settings.max_time_limit
    return options.gap, time_limit, settings.solver_threads


def check_instance(data: Any, settings: Settings, where: str = "") -> Instance:
    """Validate (422 with every located message) and enforce the size limit (413)."""
    from models.loading import validate

    try:
        inst = validate(data)
    except InputError as exc:
        raise HTTPProblem(422, f"invalid instance{where}", exc.messages) from None
    size = len(inst.offers) * inst.T
    if size > settings.max_offer_periods:
        raise HTTPProblem(413, f"instance{where} too large: {len(inst.offers)} offers x {inst.T} periods = {size:,}"
                               f" is over this server's limit of {settings.max_offer_periods:,}")
    return inst


# --------------------------------------------------------------------------- sweeps


def grid(params: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the parameter values, the first parameter varying slowest."""
    paths = list(params)
    return [dict(zip(paths, combo)) for combo in itertools.product(*(params[p] for p in paths))]


def normalized(data: Any) -> Any:
    """A deep copy with JSON-safe values and period keys as numbers (what `--set` expects)."""
    from models.loading import apply_overrides

    return apply_overrides(data, [])


def point_data(base: Any, point: dict[str, Any]) -> Any:
    from models.loading import set_path

    data = copy.deepcopy(base)
    for path, value in point.items():
        set_path(data, path, value)
    return data


def summary_row(point: dict[str, Any], outcome: tuple[str, Any] | None, error: str | None) -> tuple[dict, str | None]:
    """A job row for one finished point and the full result JSON to store beside it."""
    if error is not None:
        return {"params": point, "status": "error", "message": error}, None
    kind, payload = outcome
    if kind == "invalid":
        return {"params": point, "status": "invalid", "message": "; ".join(payload)}, None
    result = json.loads(payload)
    return {"params": point, "status": result["status"], "objective": result["objective"],
            "message": result.get("message"), "cost": result.get("cost")}, payload


class JobRunner:
    """One background thread running sweep jobs in order, their points on idle workers."""

    def __init__(self, store: Store, pool: SolvePool):
        self.store, self.pool = store, pool
        self._queue: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="plan-jobs", daemon=True)

    @property
    def pending(self) -> int:
        return self._pending

    def start(self) -> None:
        for jid in self.store.unfinished_jobs():  # running when the server stopped: resume
            self.enqueue(jid)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def enqueue(self, jid: str) -> None:
        with self._lock:
            self._pending += 1
        self._queue.put(jid)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                jid = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._run(jid)
            except Exception as exc:  # noqa: BLE001 - a job failing must not stop the runner
                log.exception("job %s failed", jid)
                self.store.set_status(jid, "failed", f"{type(exc).__name__}: {exc}")
            finally:
                with self._lock:
                    self._pending -= 1

    def _run(self, jid: str) -> None:
        request = self.store.job_request(jid)
        points = grid(request["params"])
        base = request["instance"]
        done = self.store.done_points(jid)
        todo = [i for i in range(len(points)) if i not in done]
        self.store.set_status(jid, "running")
        args = (request["gap"], request["time_limit"], request["threads"])
        running: dict[Future, int] = {}
        crashes: dict[int, int] = {}
        while todo or running:
            if self._stop.is_set():
                return  # stays `running` in the store: resumed at the next start
            while todo:
                fut = self.pool.submit(solve_in_worker, point_data(base, points[todo[0]]), *args, background=True,
                                       wall_limit=request["time_limit"])
                if fut is None:
                    break
                running[fut] = todo.pop(0)
            if not running:
                self._stop.wait(0.05)
                continue
            finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in finished:
                i = running.pop(fut)
                try:
                    row, body = summary_row(points[i], fut.result(), None)
                except BrokenProcessPool:
                    if fut in self.pool.overran:
                        self.pool.overran.discard(fut)
                        row, body = summary_row(points[i], None, "ran over its wall-clock limit (time limit + "
                                                f"{self.pool.grace:g} s): stopped")
                        self.store.add_point(jid, i, row, body)
                        continue
                    # a worker died, maybe on another request: try this point once more
                    crashes[i] = crashes.get(i, 0) + 1
                    if crashes[i] < 2:
                        todo.insert(0, i)
                        continue
                    row, body = summary_row(points[i], None, "the solver process died twice on this point")
                except Exception as exc:  # noqa: BLE001 - one failed point is a row, not a failed job
                    row, body = summary_row(points[i], None, f"{type(exc).__name__}: {exc}")
                self.store.add_point(jid, i, row, body)
        self.store.set_status(jid, "done")


# --------------------------------------------------------------------------- the app


def instance_path_pattern(exclude: tuple[str, ...] = ()) -> str:
    """A `--set` path as a regular expression: an instance field first, then non-empty segments."""
    names = sorted((f.alias or name) for name, f in Instance.model_fields.items() if (f.alias or name) not in exclude)
    return rf"^({'|'.join(names)})(\.[^.]+)*$"


def _openapi_limits(schema: dict, settings: Settings) -> None:
    """This server's limits in its OpenAPI, so that a request valid by the schema is not refused
    for a limit the schema does not show: time_limit, threads, sweep size, body size, 401."""
    problem = {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    said = {
        "401": "Missing or wrong bearer token (when the server has PLAN_API_TOKEN).",
        "408": f"The request body stopped arriving for {settings.body_timeout:g} s, or took over"
               f" {settings.body_deadline:g} s in all.",
        "413": f"Body over {settings.max_body_bytes:,} bytes, an instance over {settings.max_offer_periods:,}"
               f" offers x periods, or a sweep over {settings.max_sweep_points:,} points.",
        "503": "Every worker busy and the queue full, or a worker lost: retry after Retry-After seconds.",
        "504": f"The solve ran over its time limit plus {settings.job_grace:g} s and was stopped.",
    }
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            if path == "/healthz":
                continue
            codes = ["401"] + (["408", "413", "503"] if method == "post" else []) + (["504"] if path == "/v1/solve" else [])
            for code in codes:
                op.setdefault("responses", {})[code] = {**problem, "description": said[code]}
            for param in op.get("parameters", []):
                if param["name"] == "time_limit":
                    param["schema"] = {"anyOf": [{"type": "number", "exclusiveMinimum": 0,
                                                  "maximum": settings.max_time_limit}, {"type": "null"}]}
                if param["name"] == "threads":
                    param["schema"] = {"anyOf": [{"type": "integer", "enum": [settings.solver_threads]},
                                                 {"type": "null"}]}
    for name in ("SolveRequest", "SweepRequest"):
        props = schema["components"]["schemas"][name]["properties"]
        props["time_limit"]["anyOf"] = [{"type": "number", "exclusiveMinimum": 0, "maximum": settings.max_time_limit},
                                        {"type": "null"}]
        props["threads"]["anyOf"] = [{"type": "integer", "enum": [settings.solver_threads]}, {"type": "null"}]
    params = schema["components"]["schemas"]["SweepRequest"]["properties"]["params"]
    params["additionalProperties"] = {"type": "array", "minItems": 1, "maxItems": settings.max_sweep_points, "items": {}}
    params["propertyNames"] = {"pattern": instance_path_pattern()}
    params["description"] += f" At most {settings.max_sweep_points:,} points in all (the product of the list lengths)."


def _openapi_bodies(app, settings: Settings | None = None) -> None:
    """OpenAPI from the same pydantic models: request bodies (JSON or YAML) and the bearer scheme."""
    from fastapi.openapi.utils import get_openapi
    from pydantic.json_schema import models_json_schema

    def build():
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        _, defs = models_json_schema(
            [(SolveRequest, "validation"), (SweepRequest, "validation"), (Instance, "validation")],
            ref_template="#/components/schemas/{model}",
        )
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(defs.get("$defs", {}))
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer",
                                                    "description": f"Required when {TOKEN_ENV} is set."}}
        schema["security"] = [{"bearer": []}]
        schema["paths"]["/healthz"]["get"]["security"] = []
        for path, model in (("/v1/solve", "SolveRequest"), ("/v1/sweeps", "SweepRequest")):
            one_of = {"oneOf": [{"$ref": f"#/components/schemas/{model}"}, {"$ref": "#/components/schemas/Instance"}]}
            if model == "SweepRequest":
                one_of = {"$ref": "#/components/schemas/SweepRequest"}
            schema["paths"][path]["post"]["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": one_of}, "application/yaml": {"schema": one_of}},
            }
        if settings is not None:
            schema["components"]["schemas"].setdefault("Problem", Problem.model_json_schema())
            _openapi_limits(schema, settings)
        app.openapi_schema = schema
        return schema

    app.openapi = build


def create_app(settings: Settings | None = None):
    """The FastAPI app. `uvicorn optimizer.service.app:create_app --factory` reads PLAN_* settings."""
    settings = settings or Settings.from_env()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app):
        store = Store(settings.db)
        pool = SolvePool(settings.workers, settings.queue, settings.solver_threads, settings.job_grace,
                         settings.worker_memory_mb)
        await asyncio.get_running_loop().run_in_executor(None, pool.warm)
        runner = JobRunner(store, pool)
        runner.start()
        state.update(store=store, pool=pool, runner=runner)
        log.info("plan service: %d workers, db %s, token %s", settings.workers, settings.db,
                 "required" if settings.token else "not set")
        try:
            yield
        finally:
            runner.stop()
            pool.shutdown()

    app = FastAPI(
        title="plan",
        version=SCHEMA_VERSION,
        description="Procurement planner for AI compute, as a quoting service. Results follow the versioned"
        " result schema (GET /v1/schema/result).",
        lifespan=lifespan,
    )
    problem_responses = {code: {"model": Problem} for code in (400, 401, 404, 413, 415, 422, 503)}

    @app.exception_handler(HTTPProblem)
    async def _problem(request: Request, exc: HTTPProblem):
        return JSONResponse({"detail": exc.detail, "errors": exc.errors}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    @app.middleware("http")
    async def _auth(request: Request, call_next):
        if settings.token and request.url.path != "/healthz":
            header = request.headers.get("authorization", "")
            scheme, _, given = header.partition(" ")
            ok = scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), settings.token.encode())
            if not ok:
                detail = "missing bearer token" if not header else "invalid bearer token"
                return JSONResponse({"detail": f"{detail}: send Authorization: Bearer <{TOKEN_ENV}>", "errors": []},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    def busy() -> HTTPProblem:
        return HTTPProblem(503, f"all {settings.workers} solver workers are busy and the queue of {settings.queue}"
                                " is full; retry later", headers={"Retry-After": str(RETRY_AFTER_S)})

    @app.get("/healthz", response_model=Health, tags=["service"])
    async def healthz() -> Health:
        pool: SolvePool = state["pool"]
        return Health(workers=pool.workers, in_flight=pool.in_flight, queue_limit=pool.queue_limit,
                      jobs_pending=state["runner"].pending)

    @app.post("/v1/solve", response_model=Result, responses=problem_responses, tags=["solve"])
    async def solve(
        request: Request,
        gap: float | None = Query(None, ge=0, description="Relative MIP gap (bare-instance bodies)."),
        time_limit: float | None = Query(None, gt=0, description="Seconds (bare-instance bodies)."),
        threads: int | None = Query(None, ge=1, description="Must equal the server's setting when given."),
    ):
        """Solve an instance (JSON or YAML; bare, or wrapped as {instance, gap, time_limit, threads}).
        The result is stored: its id is in the Location and X-Result-Id headers."""
        unknown = sorted(set(request.query_params) - {"gap", "time_limit", "threads"})
        if unknown:
            raise HTTPProblem(422, "unknown query option(s)", [f"{k}: not an option of /v1/solve (gap, time_limit,"
                                                              " threads)" for k in unknown])
        body = await read_body(request, settings.max_body_bytes, settings.body_timeout, settings.body_deadline)
        data = await run_in_threadpool(parse_body, body, request.headers.get("content-type"), settings.max_depth)
        instance_data, options = await run_in_threadpool(
            split_request, data, SolveOptionsIn, {"gap": gap, "time_limit": time_limit, "threads": threads})
        query = {k: v for k, v in (("gap", gap), ("time_limit", time_limit), ("threads", threads)) if v is not None}
        if query:  # also when the body's options replace them: a query beyond the limits is refused
            try:
                effective_options(SolveOptionsIn.model_validate(query, strict=False), settings)
            except ValidationError as exc:
                raise HTTPProblem(422, "invalid query options", _pydantic_problems(exc)) from None
        gap_, limit, threads_ = effective_options(options, settings)
        await run_in_threadpool(check_instance, instance_data, settings)
        pool: SolvePool = state["pool"]
        fut = pool.submit(solve_in_worker, instance_data, gap_, limit, threads_, wall_limit=limit)
        if fut is None:
            raise busy()
        try:
            kind, payload = await asyncio.wrap_future(fut)
        except BrokenProcessPool:
            if fut in pool.overran:
                pool.overran.discard(fut)
                raise HTTPProblem(504, f"the solve ran over its wall-clock limit ({limit:g} s time limit + "
                                       f"{settings.job_grace:g} s): it was stopped and its worker replaced") from None
            raise HTTPProblem(503, "the solver process died (out of memory, or another solve ran over its limit);"
                                   " retry later", headers={"Retry-After": str(RETRY_AFTER_S)}) from None
        except MemoryError:
            raise HTTPProblem(503, f"the solve needed more than a worker's memory limit of"
                                   f" {settings.worker_memory_mb:,} MB", headers={"Retry-After": str(RETRY_AFTER_S)}) from None
        except Exception as exc:  # noqa: BLE001 - the solve failed in the worker: say so, in one line
            log.exception("solve failed")
            raise HTTPProblem(500, f"the solve failed: {type(exc).__name__}: {exc}") from None
        if kind == "invalid":  # validated above; kept for safety
            raise HTTPProblem(422, "invalid instance", payload)
        rid = await run_in_threadpool(state["store"].put_result, payload)
        return Response(payload, media_type="application/json",
                        headers={"Location": f"/v1/results/{rid}", "X-Result-Id": rid})

    @app.get("/v1/results/{result_id}", response_model=Result, responses={404: {"model": Problem}}, tags=["solve"])
    async def get_result(result_id: str):
        body = await run_in_threadpool(state["store"].get_result, result_id)
        if body is None:
            raise HTTPProblem(404, f"no result {result_id!r}")
        return Response(body, media_type="application/json")

    @app.post("/v1/sweeps", status_code=202, response_model=JobCreated, responses=problem_responses, tags=["sweeps"])
    async def create_sweep(request: Request):
        """Start a sweep: one solve per combination of parameter values, run in the background."""
        body = await read_body(request, settings.max_body_bytes, settings.body_timeout, settings.body_deadline)
        data = await run_in_threadpool(parse_body, body, request.headers.get("content-type"), settings.max_depth)
        if not isinstance(data, dict) or "instance" not in data:
            raise HTTPProblem(422, "a sweep request is {instance, params, gap?, time_limit?}", ["instance: required"])
        instance_data, options = await run_in_threadpool(split_request, data, SweepOptionsIn, {})
        gap_, limit, threads_ = effective_options(options, settings)
        total = 1
        for path, values in options.params.items():
            if not values:
                raise HTTPProblem(422, "invalid request options", [f"params.{path}: needs at least one value"])
            if len(values) > settings.max_sweep_points:
                raise HTTPProblem(422, "invalid request options", [f"params.{path}: {len(values)} values, more than"
                                                                   f" this server's {settings.max_sweep_points:,} points"])
            total *= len(values)
        if total > settings.max_sweep_points:
            raise HTTPProblem(413, f"the sweep has {total:,} points, over this server's limit of"
                                   f" {settings.max_sweep_points:,}")
        if state["runner"].pending >= settings.max_pending_jobs:
            raise HTTPProblem(503, f"{settings.max_pending_jobs} sweeps are already pending; retry later",
                              headers={"Retry-After": str(RETRY_AFTER_S)})

        def prepare_job() -> str:
            try:
                base = normalized(instance_data)
            except InputError as exc:
                raise HTTPProblem(422, "invalid instance", exc.messages) from None
            for i, point in enumerate(grid(options.params)):
                label = ", ".join(f"{k}={json.dumps(v)}" for k, v in point.items())
                try:
                    pdata = point_data(base, point)
                except InputError as exc:
                    raise HTTPProblem(422, "invalid sweep parameter",  # the CLI's flag means nothing here
                                      [m.replace("--set ", "params.", 1) for m in exc.messages]) from None
                check_instance(pdata, settings, f" at point {i} ({label})")
            request_doc = {"instance": base, "params": options.params, "gap": gap_, "time_limit": limit,
                           "threads": threads_}
            return state["store"].create_job("sweep", request_doc, total)

        jid = await run_in_threadpool(prepare_job)
        state["runner"].enqueue(jid)
        location = f"/v1/jobs/{jid}"
        return JSONResponse(JobCreated(id=jid, status="queued", total=total, location=location).model_dump(),
                            status_code=202, headers={"Location": location})

    @app.get("/v1/jobs/{job_id}", response_model=JobOut, responses={404: {"model": Problem}}, tags=["sweeps"])
    async def get_job(job_id: str):
        job = await run_in_threadpool(state["store"].job, job_id)
        if job is None:
            raise HTTPProblem(404, f"no job {job_id!r}")
        return job

    @app.get("/v1/schema/{which}", responses={404: {"model": Problem}}, tags=["schema"])
    async def get_schema(which: str) -> dict:
        """The JSON Schema of `instance` or `result` (the versioned contract)."""
        from models.schema import json_schema

        name = which.removesuffix(".json").removesuffix(".schema")
        if name not in ("instance", "result"):
            raise HTTPProblem(404, f"no schema {which!r}: expected instance or result")
        return json_schema(name)

    _openapi_bodies(app, settings)
    return app


def check_db(path: str) -> None:
    """--db must be a SQLite file the service can write (or a new one): a usage error otherwise."""
    import sqlite3
    from pathlib import Path

    from optimizer.service.jobs import Store

    if Path(path).is_dir():
        raise InputError([f"--db {path}: is a folder; give a file name such as plan.sqlite"])
    try:
        Store(path)
    except sqlite3.DatabaseError as exc:  # not a database, read-only, locked...
        raise InputError([f"--db {path}: cannot be used as the service's SQLite store ({exc})"]) from None
    except OSError as exc:
        raise InputError([f"--db {path}: {exc.strerror or exc}"]) from None


def check_port(host: str, port: int) -> None:
    """The address must be free before uvicorn starts (it would exit 3 on its own)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is free
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise InputError([f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})"]) from None


def header_timeout_protocol(seconds: float):
    """uvicorn's h11 protocol, closing a connection whose request headers do not arrive within
    `seconds` (from the connection or from the end of the last response). uvicorn has only an
    idle keep-alive timeout, which any byte resets: a client sending headers slowly held a
    connection open indefinitely."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11(H11Protocol):
        _header_timer = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(seconds, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _waiting_for_headers(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _headers_late(self) -> None:
            self._header_timer = None
            if self._waiting_for_headers() and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if not self._waiting_for_headers():
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutH11


def serve(host: str, port: int, log_level: str, console, **options) -> None:
    """`plan serve`: settings from the options and the environment, a line saying what runs,
    then uvicorn until SIGTERM (requests still waiting get 10 s; a sweep resumes at the next start)."""
    from pathlib import Path

    import uvicorn

    settings = Settings.from_env(**options)
    if log_level.lower() not in ("critical", "error", "warning", "info", "debug", "trace"):
        raise InputError([f"--log-level: expected critical, error, warning, info, debug or trace, got {log_level!r}"])
    if not Path(settings.db).resolve().parent.exists():
        raise InputError([f"--db {settings.db}: folder {Path(settings.db).parent} does not exist"])
    check_db(settings.db)
    check_port(host, port)
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.token:
        console.print(f"[bold yellow]warning[/]: listening on {host} without {TOKEN_ENV}: anyone who"
                      " can reach it can run solves")
    console.print(
        f"plan serve: http://{host}:{port}  {settings.workers} workers x {settings.solver_threads} thread(s),"
        f" queue {settings.queue}, time limit <= {settings.max_time_limit:g} s, db {settings.db},"
        f" token {'required' if settings.token else 'not set'}", markup=False, soft_wrap=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level.lower(), timeout_graceful_shutdown=10,
                http=header_timeout_protocol(settings.header_timeout))
