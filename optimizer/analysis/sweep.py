"""Sensitivity sweeps: solve one instance at many values of a few of its numbers.

A sweep is a list of points; a point is a set of `--set`-style overrides (`PATH=VALUE`) on top of
the instance file and the sweep's own `--set`. Each point goes through exactly the pipeline of
`plan solve --set ...` (apply_overrides, validate, prepare, build or update, solve, extract), so
a row of a sweep is what `plan solve` gives for that point.

Speed: each worker keeps one `solve.Planner` (one model, one persistent HiGHS object); a point
of the same structure only moves the model's mutable Params and starts HiGHS from the previous
plan. Workers are this process (`workers=1`), local processes, or a Dask cluster.

Lossless: the caller commits every finished row to a `store.Store` as it arrives, keyed by the
point's content (`point_key`), and a rerun skips stored points.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from models.errors import InputError
from models.loading import _step, apply_overrides, parse_scalar, validate
from models.overrides import path_parts
from optimizer.planning.solve import Planner, SolveOptions, highs_version

KEY_VERSION = 1  # part of every point key: bump when a row's meaning or content changes
SOLVE_LOG_ENV = "PLAN_SWEEP_LOG"  # a file to which workers append the key of each point they solve


# --------------------------------------------------------------------------- axes and points


@dataclass
class Axis:
    """One swept number: its path and the values it takes (numbers, or text as for --set)."""

    path: str
    values: list[Any]
    spec: str  # what the user wrote, e.g. "--scale 0.5:1.5:5"


def pair_axes(raw: list[str], params: list[str], specs: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(path, kind, spec): the i-th --param takes the i-th of --values/--range/--scale, in the
    order they appear on the command line (`raw`: the arguments as typed)."""
    seen_params: list[str] = []
    seen_specs: list[tuple[str, str]] = []
    i = 0
    while i < len(raw) and raw[i] != "--":
        name, eq, inline = raw[i].partition("=")
        if name in ("--param", "--values", "--range", "--scale"):
            value = inline if eq else (raw[i + 1] if i + 1 < len(raw) else "")
            i += 1 if eq else 2
            if name == "--param":
                seen_params.append(value)
            else:
                seen_specs.append((name[2:], value))
            continue
        i += 1
    parsed_specs = sorted((k, v) for k, vs in specs.items() for v in vs)
    if seen_params != params or sorted(seen_specs) != parsed_specs:
        raise InputError(["--param: could not tell which values go with which --param; write each "
                          "--param PATH directly followed by one of --values, --range, --scale"])
    if not params:
        raise InputError(["--param: give at least one, e.g. --param offers.A800-server.unit_price --scale 0.5:1.5:5"])
    if len(seen_specs) != len(seen_params):
        raise InputError([f"--param: {len(seen_params)} --param but {len(seen_specs)} of --values/--range/--scale; "
                          "each --param takes exactly one"])
    return [(p, kind, spec) for p, (kind, spec) in zip(seen_params, seen_specs)]


def get_path(data: Any, path: str) -> Any:
    """The value at a `--set` path (same addressing: list items by id or name, else index)."""
    node = data
    for part in path_parts(path):
        container, key = _step(node, part, path)
        if isinstance(container, dict) and key not in container:
            raise InputError([f"--param {path}: the instance has no value at {part!r}"])
        node = container[key]
    return node


def _number(text: str, what: str) -> float | int:
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise InputError([f"{what}: {text!r} is not a number"]) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError([f"{what}: {text!r} is not a finite number"])
    return value


def _triple(spec: str, option: str) -> tuple[float | int, float | int, int]:
    parts = spec.split(":")
    if len(parts) != 3:
        raise InputError([f"{option} {spec}: expected start:stop:n, e.g. {option} 0.5:1.5:5"])
    start = _number(parts[0], f"{option} {spec}")
    stop = _number(parts[1], f"{option} {spec}")
    n = _number(parts[2], f"{option} {spec}")
    if not isinstance(n, int) or n < 1:
        raise InputError([f"{option} {spec}: n must be a whole number >= 1, got {parts[2]!r}"])
    return start, stop, n


def linspace(start: float, stop: float, n: int) -> list[float | int]:
    """n evenly spaced values from start to stop, both included; whole numbers stay integers
    when start and stop are (a lead time or a cap swept 1:4:4 gives 1, 2, 3, 4)."""
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1)
    values = [start + k * step for k in range(n - 1)] + [stop]
    if isinstance(start, int) and isinstance(stop, int) and float(step).is_integer():
        return [int(round(v)) for v in values]
    return [float(v) for v in values]


def make_axis(path: str, kind: str, spec: str, data: Any) -> Axis:
    """An axis from `--values a,b,c`, `--range start:stop:n` or `--scale lo:hi:n`.

    `--scale` multiplies the value the instance (after `--set`) has at PATH.
    """
    if not path or "=" in path:
        raise InputError([f"--param {path!r}: expected a path such as offers.A800-server.unit_price"])
    option = f"--{kind}"
    if kind == "values":
        tokens = [t.strip() for t in spec.split(",")]
        if not spec.strip() or any(t == "" for t in tokens):
            raise InputError([f"--values {spec!r}: expected a comma-separated list, e.g. --values 1e6,1.2e6"])
        return Axis(path, [parse_scalar(t) for t in tokens], f"--values {spec}")
    start, stop, n = _triple(spec, option)
    if kind == "range":
        return Axis(path, linspace(start, stop, n), f"--range {spec}")
    if kind == "scale":
        base = get_path(data, path)
        if isinstance(base, bool) or not isinstance(base, (int, float)):
            raise InputError([f"--param {path}: --scale needs a number there, found {base!r}; use --values or --range"])
        return Axis(path, [base * f for f in linspace(float(start), float(stop), n)], f"--scale {spec}")
    raise InputError([f"unknown value option {option}"])


def grid(axes: list[Axis]) -> list[dict[str, Any]]:
    """Every combination, the first axis varying slowest (rows read like nested loops)."""
    points: list[dict[str, Any]] = [{}]
    for axis in axes:
        points = [{**p, axis.path: v} for p in points for v in axis.values]
    return points


def sample(axes: list[Axis], n: int, dist: str, seed: int, data: Any) -> list[dict[str, Any]]:
    """n random scenarios: each parameter drawn independently between its axis's least and
    greatest value, uniformly or triangularly with its mode at the instance's value (clipped to
    the range; the middle of the range when the instance has none there). Seeded: the same
    command draws the same scenarios. Parameters whose values are all integers draw integers.
    """
    if dist not in ("uniform", "triangular"):
        raise InputError([f"--dist {dist!r}: expected uniform or triangular"])
    rng = random.Random(seed)
    bounds = []
    for axis in axes:
        numbers = [v for v in axis.values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) != len(axis.values):
            raise InputError([f"--param {axis.path}: --samples needs numbers ({axis.spec})"])
        lo, hi = min(numbers), max(numbers)
        try:
            base = get_path(data, axis.path)
        except InputError:
            base = None
        mode = base if isinstance(base, (int, float)) and not isinstance(base, bool) else (lo + hi) / 2
        bounds.append((axis.path, lo, hi, min(max(mode, lo), hi), all(isinstance(v, int) for v in numbers)))
    points = []
    for _ in range(n):
        point = {}
        for path, lo, hi, mode, whole in bounds:
            v = rng.uniform(lo, hi) if dist == "uniform" else rng.triangular(lo, hi, mode)
            point[path] = int(round(v)) if whole else v
        points.append(point)
    return points


def override_text(path: str, value: Any) -> str:
    """`PATH=VALUE` as `--set` reads it back to the same value (repr keeps every float digit)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, (list, dict)):
        text = json.dumps(value)
    else:
        text = str(value)
    return f"{path}={text}"


# --------------------------------------------------------------------------- resolved points


@dataclass
class Point:
    params: dict[str, Any]  # {path: value} of this sweep
    overrides: list[str]  # the point's own PATH=VALUE, applied after the sweep's --set
    key: str  # content key: the resolved instance and the solve options


def options_dict(options: SolveOptions) -> dict:
    return {k: v for k, v in asdict(options).items() if k != "progress"}  # a display, not a setting


def point_key(instance, options: SolveOptions) -> str:
    """Hash of the canonical JSON of the resolved instance, the solve options and the HiGHS
    version: equal keys mean the same problem solved the same way."""
    payload = {
        "v": KEY_VERSION,
        "instance": instance.model_dump(mode="json", by_alias=True),
        "options": options_dict(options),
        "highs": highs_version(),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resolve_points(base: Any, set_overrides: list[str], param_sets: list[dict[str, Any]],
                   options: SolveOptions, source: str | None = None) -> list[Point]:
    """Apply and validate every point before anything is solved; all errors at once."""
    points, found = [], {}  # message -> the points it was found at, in order
    for params in param_sets:
        overrides = [override_text(p, v) for p, v in params.items()]
        where = ", ".join(f"{p}={v}" for p, v in params.items()) or "base"
        try:
            instance = validate(apply_overrides(base, list(set_overrides) + overrides), source)
        except InputError as exc:
            for m in exc.messages:
                found.setdefault(m, []).append(where)
            if len(found) >= 20:
                break
            continue
        points.append(Point(params, overrides, point_key(instance, options)))
    if found:
        # one line per problem: a bad path fails at every point the same way
        raise InputError([f"point {at[0]}: {m}" if len(at) == 1 else
                          f"{m} (at every point)" if len(at) == len(param_sets) else f"{m} (at {len(at)} points)"
                          for m, at in found.items()], source)
    return points


# --------------------------------------------------------------------------- one point (a worker)

_local = threading.local()  # one Planner per worker thread: a Planner is not thread-safe


def _planner(options: SolveOptions, warm_start: bool) -> Planner:
    planner = getattr(_local, "planner", None)
    if planner is None or planner.options != options or planner.warm_start != warm_start:
        planner = _local.planner = Planner(options, reuse=True, warm_start=warm_start)
    return planner


def solve_point(base: Any, set_overrides: list[str], point: dict, options: dict, warm_start: bool = True) -> dict:
    """Solve one point in this process with its worker's Planner; returns the row.

    `point` is {"params", "overrides", "key"}; plain data in and out, so that local processes
    and Dask workers can call it.
    """
    started = time.perf_counter()
    opts = SolveOptions(**options)
    instance = validate(apply_overrides(base, list(set_overrides) + list(point["overrides"])))
    planner = _planner(opts, warm_start)
    built = planner.built
    result = planner.solve(instance)
    row = make_row(point["params"], point["key"], result, planner.prepared, time.perf_counter() - started)
    row["model"] = "built" if planner.built > built else "updated"
    log = os.environ.get(SOLVE_LOG_ENV)
    if log:  # an audit trail of solves (the resume test counts them); O_APPEND lines are atomic
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(point["key"] + "\n")
    return row


def mix_metric(prepared) -> str:
    """The metric whose capacity the plan's mix is measured in: what is maximised, else the
    first requirement's metric, else GPUs."""
    if prepared.sense == "max_capacity":
        return prepared.objective_metric
    for req in [*prepared.capacity_requirements, *prepared.work_requirements]:
        return req.metric
    return "gpus"


def make_row(params: dict, key: str, result, prepared, wall_s: float) -> dict:
    """The row of one point: status, objective, cost breakdown, units bought and leased per
    chip, the mix (each chip's share of capacity-periods in `mix_metric`) and the plan."""
    metric = mix_metric(prepared) if prepared is not None else "gpus"
    chips = sorted({o.chip for o in prepared.offers}) if prepared is not None else []
    units = {c: {"bought": 0, "leased": 0, "bought_gpus": 0, "leased_gpus": 0} for c in chips}
    delivered = {c: 0.0 for c in chips}
    T = prepared.T if prepared is not None else 0
    for o in result.orders:
        units[o.chip]["bought"] += o.units
        units[o.chip]["bought_gpus"] += o.gpus
        perf = prepared.offer(o.offer).perf.get(metric, 0.0)
        delivered[o.chip] += perf * o.units * max(0, T - o.arrives + 1)
    for lease in result.leases:
        units[lease.chip]["leased"] += lease.units
        units[lease.chip]["leased_gpus"] += lease.gpus
        perf = prepared.offer(lease.offer).perf.get(metric, 0.0)
        delivered[lease.chip] += perf * lease.units * max(0, min(lease.last_period, T) - lease.first_period + 1)
    total = sum(delivered.values())
    return {
        "key": key,
        "params": dict(params),
        "status": result.status,
        "objective": result.objective,
        "objective_sense": result.objective_sense,
        "message": result.message,
        "cost": result.cost.model_dump() if result.cost is not None else None,
        "units": units,
        "mix_metric": metric,
        "mix": {c: (delivered[c] / total if total > 0 else 0.0) for c in chips} if result.has_plan else {},
        "orders": [[o.offer, o.period, o.units] for o in result.orders],
        "leases": [[x.offer, x.start, x.units] for x in result.leases],
        "mip_gap": result.solver.mip_gap,
        "highs_time_s": result.solver.time_s,
        "time_s": wall_s,
    }


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepOutcome:
    rows: list[dict]  # one per point, in point order (missing points absent)
    solved: int = 0  # solved in this run
    from_store: int = 0  # taken from the store
    failed: list[tuple[dict, str]] = field(default_factory=list)  # (params, error) of points that raised
    interrupted: bool = False


class WorkerFailure(Exception):
    """The worker pool broke (a worker was killed): finished rows are stored, the rest is not."""


def run_sweep(
    base: Any,
    set_overrides: list[str],
    points: list[Point],
    options: SolveOptions,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    store=None,
    warm_start: bool = True,
    on_row: Callable[[dict, int, int], None] | None = None,
) -> SweepOutcome:
    """Solve every point not already in `store`; commit each row as it arrives.

    Rows come back in point order with this sweep's `params` (a stored row may have been made
    by another sweep reaching the same instance by another path). Raises KeyboardInterrupt and
    WorkerFailure after committing what finished.
    """
    unique: dict[str, Point] = {}
    for p in points:
        unique.setdefault(p.key, p)
    stored = store.get_many(list(unique)) if store is not None else {}
    todo = [p for k, p in unique.items() if k not in stored]
    done: dict[str, dict] = dict(stored)
    outcome = SweepOutcome(rows=[], from_store=len(stored))
    total = len(unique)
    count = len(stored)
    if on_row is not None:
        on_row(None, count, total)  # progress starts at the stored count

    def finished(row: dict) -> None:
        nonlocal count
        if store is not None:
            store.put(row["key"], row)  # committed before anything else looks at it
        done[row["key"]] = row
        outcome.solved += 1
        count += 1
        if on_row is not None:
            on_row(row, count, total)

    def failed(point: Point, error: BaseException) -> None:
        outcome.failed.append((point.params, f"{type(error).__name__}: {error}"))

    tasks = [{"params": p.params, "overrides": p.overrides, "key": p.key} for p in todo]
    opts = options_dict(options)
    try:
        if scheduler:
            _run_dask(scheduler, base, set_overrides, tasks, todo, opts, warm_start, finished, failed)
        elif workers > 1 and len(tasks) > 1:
            _run_pool(min(workers, len(tasks)), base, set_overrides, tasks, todo, opts, warm_start, finished, failed)
        else:
            for task, point in zip(tasks, todo):
                try:
                    row = solve_point(base, set_overrides, task, opts, warm_start)
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # noqa: BLE001 - one bad point must not stop the sweep
                    failed(point, exc)
                    continue
                finished(row)
    except KeyboardInterrupt:
        outcome.interrupted = True
        raise
    finally:
        outcome.rows = _ordered(points, done, set(stored))
    return outcome


def _ordered(points: list[Point], done: dict[str, dict], stored: set[str]) -> list[dict]:
    rows = []
    for p in points:
        if p.key in done:
            row = dict(done[p.key])
            row["params"] = dict(p.params)
            row["from_store"] = p.key in stored
            rows.append(row)
    return rows


# local processes: each keeps the base data and its Planner between points

_worker_state: dict = {}


def _init_worker(base, set_overrides, options, warm_start) -> None:
    import signal

    from optimizer.process import die_with_parent

    die_with_parent()
    # Ctrl-C (from the terminal, or forwarded by the parent) only marks the worker as stopping:
    # it then refuses queued points and exits cleanly when the parent shuts the pool down.
    # During a HiGHS run highspy's own handler stops the run instead (see run_highs).
    signal.signal(signal.SIGINT, lambda *_: _worker_state.update(stop=True))
    _worker_state.update(base=base, set_overrides=set_overrides, options=options, warm_start=warm_start,
                         stop=False)


class PointInterrupted(Exception):
    """A worker's HiGHS saw the Ctrl-C meant for the sweep (highspy catches it during a run)."""


def _pool_task(task: dict) -> dict:
    s = _worker_state
    if s["stop"]:
        raise PointInterrupted("interrupted")
    try:
        return solve_point(s["base"], s["set_overrides"], task, s["options"], s["warm_start"])
    except KeyboardInterrupt:
        # an ordinary exception keeps the worker process alive; the parent decides what stops
        s["stop"] = True
        raise PointInterrupted("interrupted") from None


def _run_pool(workers, base, set_overrides, tasks, todo, opts, warm_start, finished, failed) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # spawn: the parent may run threads (the progress display); forking those is unsafe
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(base, set_overrides, opts, warm_start))
    clean = False
    try:
        pending = {pool.submit(_pool_task, task): point for task, point in zip(tasks, todo)}
        broken = None
        while pending and broken is None:
            ready, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in ready:
                point = pending.pop(fut)
                try:
                    row = fut.result()
                except BrokenProcessPool as exc:
                    broken = exc
                    continue
                except Exception as exc:  # noqa: BLE001
                    failed(point, exc)
                    continue
                finished(row)
        if broken is not None:
            # a worker died: every other point already finished is stored before giving up
            for fut in [f for f in pending if f.done() and not f.cancelled() and f.exception() is None]:
                finished(fut.result())
            raise WorkerFailure(f"a worker process died ({broken}); finished points are stored")
        clean = True
    finally:
        if clean:
            pool.shutdown(wait=True)
        else:
            # interrupted or broken: queued points are dropped and running ones stopped (their rows
            # were not stored, so a rerun solves them). SIGINT first: HiGHS stops its run and the
            # worker exits cleanly; one that does not within a few seconds is terminated.
            import signal

            procs = list((pool._processes or {}).values())
            for proc in procs:
                try:
                    os.kill(proc.pid, signal.SIGINT)
                except ProcessLookupError:  # already gone (the worker that died)
                    pass
            pool.shutdown(wait=False, cancel_futures=True)
            deadline = time.monotonic() + 5
            for proc in procs:
                proc.join(timeout=max(0.0, deadline - time.monotonic()))
                if proc.is_alive():
                    proc.terminate()
                    proc.join(timeout=5)
            pool.shutdown(wait=True)  # joins the pool's own thread, which releases its queues


# a Dask cluster: the base data goes to every worker once; each point is one task


def check_scheduler(address: str) -> None:
    """A clear message for a malformed or unreachable address, before Dask tries (and retries)."""
    import re
    import socket

    match = re.fullmatch(r"(?:tcp|tls)://(\[[0-9a-fA-F:]+\]|[^:/\s]+):(\d{1,5})", address)
    if not match:
        raise InputError([f"--scheduler {address!r}: expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786"])
    host, port = match.group(1).strip("[]"), int(match.group(2))
    try:
        socket.create_connection((host, port), timeout=10).close()
    except OSError as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}") from None

def _run_dask(address, base, set_overrides, tasks, todo, opts, warm_start, finished, failed) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError(["--scheduler needs Dask: pip install 'plan[dask]' (dask[distributed])"]) from None
    check_scheduler(address)
    try:
        client = Client(address, timeout="15s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    futures = []
    try:
        base_f, sets_f = client.scatter([base, list(set_overrides)], broadcast=True)
        futures = [client.submit(solve_point, base_f, sets_f, task, opts, warm_start, pure=False)
                   for task in tasks]
        by_future = dict(zip(futures, todo))
        for fut in as_completed(futures, loop=client.loop):
            point = by_future[fut]
            if fut.status == "error":
                failed(point, fut.exception())
                continue
            finished(fut.result())
    finally:
        if futures:
            client.cancel(futures)
        client.close()


# --------------------------------------------------------------------------- tornado


@dataclass
class Price:
    path: str
    label: str
    value: float
    currency: str = ""  # the currency the value is in (an offer may price in its own)


def instance_prices(instance, prepared) -> tuple[list[Price], list[str]]:
    """Every price of the instance that a plan can feel: each eligible offer's unit_price,
    price breaks and fixed cost, the energy price, and the fx rates offers are priced in.
    Zero prices (a swing of 0 is 0) and excluded offers are left out; the second list says so."""
    eligible = {o.id for o in prepared.offers}
    prices, skipped = [], []
    for i, offer in enumerate(instance.offers):  # the same order as the data's `offers`
        if offer.id not in eligible:
            skipped.append(f"{offer.id}: excluded from the plan")
            continue
        # paths address list items by id; an id that the path syntax would split goes by index
        ref = f"offers.{offer.id if '.' not in offer.id and not offer.id.isdigit() else i}"
        own = offer.currency or instance.currency
        for name, value in (("unit_price", offer.unit_price), ("fixed_cost", offer.fixed_cost)):
            if value > 0:
                prices.append(Price(f"{ref}.{name}", f"{offer.id} {name}", value, own))
        for k, brk in enumerate(offer.price_breaks):
            if brk.unit_price > 0:
                prices.append(Price(f"{ref}.price_breaks.{k}.unit_price",
                                    f"{offer.id} price from {brk.min_units} units", brk.unit_price, own))
    if instance.site.energy_price > 0:
        prices.append(Price("site.energy_price", "energy price per kWh", instance.site.energy_price,
                            f"{instance.currency}/kWh"))
    used = {o.currency for o in instance.offers if o.id in eligible and o.currency and o.currency != instance.currency}
    for cur in sorted(used):
        prices.append(Price(f"fx.{cur}", f"fx {cur} in {instance.currency}", instance.fx[cur],
                            f"{instance.currency}/{cur}"))
    return prices, skipped


def path_unit(instance, path: str) -> str:
    """The unit of the number at a --set path, for axis labels: an offer's price is in the
    offer's currency, the energy price per kWh, an fx rate in the instance currency."""
    parts = path_parts(path)
    if parts[0] == "offers" and parts[-1] in ("unit_price", "fixed_cost") and len(parts) >= 3:
        offer = next((o for i, o in enumerate(instance.offers) if parts[1] in (o.id, str(i))), None)
        return (offer.currency or instance.currency) if offer is not None else instance.currency
    if path == "site.energy_price":
        return f"{instance.currency}/kWh"
    if parts[0] == "fx":
        return f"{instance.currency} per {parts[-1]}"
    if parts[0] == "budget":
        return instance.currency
    return ""


def parse_swing(text: str) -> float:
    """'20%' or '0.2' -> 0.2; in (0, 1] so that no price turns negative."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InputError([f"--swing {text!r}: expected a share such as 20% or 0.2"]) from None
    if not 0 < value <= 1 or not math.isfinite(value):
        raise InputError([f"--swing {text!r}: must be above 0% and at most 100%"])
    return value


def tornado_points(prices: list[Price], swing: float) -> list[dict[str, Any]]:
    """The base point, then each price at value*(1-swing) and value*(1+swing)."""
    sets: list[dict[str, Any]] = [{}]
    for price in prices:
        sets.append({price.path: price.value * (1 - swing)})
        sets.append({price.path: price.value * (1 + swing)})
    return sets


def tornado_bars(prices: list[Price], rows_by_params: Callable[[dict], dict | None], swing: float) -> tuple[dict | None, list[dict]]:
    """Bars ranked by the larger |change of the objective| of the two swings; a swing that
    leaves no plan ranks first (its impact is unbounded)."""
    base = rows_by_params({})
    base_obj = base["objective"] if base is not None else None
    bars = []
    for price in prices:
        low = rows_by_params({price.path: price.value * (1 - swing)})
        high = rows_by_params({price.path: price.value * (1 + swing)})
        bar = {"path": price.path, "label": price.label, "value": price.value, "currency": price.currency,
               "low_value": price.value * (1 - swing), "high_value": price.value * (1 + swing)}
        impacts = []
        for side, row in (("low", low), ("high", high)):
            obj = row["objective"] if row is not None else None
            bar[f"{side}_status"] = row["status"] if row is not None else "missing"
            bar[f"{side}_objective"] = obj
            delta = obj - base_obj if obj is not None and base_obj is not None else None
            bar[f"{side}_delta"] = delta
            impacts.append(math.inf if delta is None else abs(delta))
        bar["impact"] = max(impacts)
        bars.append(bar)
    bars.sort(key=lambda b: (-b["impact"], b["path"]))
    for bar in bars:
        if math.isinf(bar["impact"]):
            bar["impact"] = None  # JSON has no infinity: None means "a swing leaves no plan"
    return base, bars


def tornado_from_rows(prices: list[Price], rows: list[dict], swing: float) -> tuple[dict | None, list[dict]]:
    """`tornado_bars` read from a run's rows (each row carries the params it was solved at)."""
    by_params = {tuple(sorted(r["params"].items())): r for r in rows}
    return tornado_bars(prices, lambda p: by_params.get(tuple(sorted(p.items()))), swing)


# --------------------------------------------------------------------------- tables


def flat_rows(rows: list[dict], paths: list[str]) -> list[dict]:
    """One flat record per row, for CSV and Parquet: the params, the status, the objective, the
    cost breakdown, and per chip the units bought and leased and its share of the mix."""
    chips = sorted({c for r in rows for c in r.get("units", {})})
    cost_fields = ("capex", "lease", "power", "fixed", "residual_credit", "total_cash", "discounted")
    out = []
    for r in rows:
        rec: dict[str, Any] = {p: r["params"].get(p) for p in paths}
        rec["status"] = r["status"]
        rec["objective"] = r["objective"]
        for f in cost_fields:
            rec[f"cost_{f}"] = (r["cost"] or {}).get(f) if r.get("cost") else None
        for c in chips:
            u = r.get("units", {}).get(c, {})
            rec[f"bought:{c}"] = u.get("bought", 0)
            rec[f"leased:{c}"] = u.get("leased", 0)
            rec[f"share:{c}"] = r.get("mix", {}).get(c) if r.get("mix") else None
        rec["mip_gap"] = r.get("mip_gap")
        rec["highs_time_s"] = r.get("highs_time_s")
        rec["time_s"] = r.get("time_s")
        rec["key"] = r["key"]
        out.append(rec)
    return out


# --------------------------------------------------------------------------- requests


def prepare_sweep(path, set_: list[str], raw_args: list[str], params: list[str], specs: dict[str, list[str]],
                  samples: int | None, dist: str, seed: int, options: SolveOptions):
    """`plan sweep`'s arguments -> (base data, data with --set, axes, points), all validated
    before anything is solved. InputError names the option (--param, not --set)."""
    from models.loading import read_data, resolve_includes

    try:
        axes_spec = pair_axes(raw_args, params, specs)
        base = resolve_includes(read_data(path), path)
        with_sets = apply_overrides(base, set_)
        axes = [make_axis(p, kind, spec, with_sets) for p, kind, spec in axes_spec]
        if len({a.path for a in axes}) != len(axes):
            raise InputError(["--param: each path may be swept once"])
        param_sets = sample(axes, samples, dist, seed, with_sets) if samples else grid(axes)
        points = resolve_points(base, set_, param_sets, options, str(path))
    except InputError as exc:
        raise InputError([m.replace("--set ", "--param ", 1) if m.startswith("--set ") else m
                          for m in exc.messages], exc.source) from None
    return base, with_sets, axes, points


def prepare_tornado(path, instance, set_: list[str], swing: str, options: SolveOptions):
    """`plan tornado`'s arguments -> (base data, prices, skipped, share, points)."""
    from models.loading import read_data, resolve_includes
    from optimizer.planning.prepare import prepare

    share = parse_swing(swing)
    base = resolve_includes(read_data(path), path)
    prices, skipped = instance_prices(instance, prepare(instance))
    points = resolve_points(base, set_, tornado_points(prices, share), options, str(path))
    return base, prices, skipped, share, points
