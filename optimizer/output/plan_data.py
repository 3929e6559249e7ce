"""Tables behind the pictures of a plan (HTML report, workbook): read from the result alone.

A `part` is the top-level result or one of its scenarios (`ScenarioResult`): both carry orders,
leases, capacity, cash, shortfall and excluded. Nothing here reads the model (STYLE.md 12); an
instance, when given, only tells how much of each metric one unit of an offer brings, which a
result does not record. Without it that figure is inferred from the result itself (capacity is
linear in the GPUs in service, per chip) when the capacity rows determine it exactly.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

from models.errors import InputError
from models.result import SCHEMA_VERSION, Result


# --------------------------------------------------------------------------- reading results


def read_json(path) -> object:
    """The JSON in `path`, or InputError naming what is wrong (models.reading.read_json_file)."""
    from models.reading import read_json_file

    return read_json_file(path)


def load_result_data(data, source: str | None = None) -> Result:
    """A result of `plan solve` from its JSON data: the schema's major version must be ours
    (older minor versions lack the v2 fields, which default), every field valid."""
    from optimizer.output.quote import load_result

    if not isinstance(data, dict):
        raise InputError([f"a result is a JSON object, not a {type(data).__name__}"], source)
    version = data.get("schema_version")
    if not isinstance(version, str):
        raise InputError(["schema_version: missing: not a result of `plan solve`"], source)
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise InputError([f"schema_version: {version!r} is not a version this `plan` reads"
                          f" (1.x, the current one is {SCHEMA_VERSION})"], source)
    try:
        return load_result(data)
    except InputError as exc:
        raise InputError(exc.messages, source) from None


def load_report_input(path):
    """(Result, Explanation | None) from a result JSON or a `plan explain --json` file."""
    data = read_json(path)
    if isinstance(data, dict) and "result" in data and "binding" in data:
        from pydantic import ValidationError

        from models.errors import messages
        from optimizer.analysis.explain import Explanation

        result = load_result_data(data["result"], str(path))  # the version check, with its message
        try:
            ex = Explanation.model_validate({**data, "result": result.model_dump()})
        except ValidationError as exc:
            raise InputError(["not an explanation of `plan explain --json`: " + m for m in messages(exc)],
                             str(path)) from None
        return ex.result, ex
    return load_result_data(data, str(path)), None


def instance_hash(instance) -> str:
    """sha256 of the instance as validated (includes resolved, --set applied), first 12 digits."""
    text = instance.model_dump_json()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


# --------------------------------------------------------------------------- periods and units


def month_after(month: str | None, k: int) -> str | None:
    if not month:
        return None
    year, m = (int(x) for x in month.split("-"))
    index = year * 12 + m - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass
class Horizon:
    periods: list[int]
    months: dict[int, str | None]  # period -> YYYY-MM, or None without horizon.start

    def label(self, t: int) -> str:
        return self.months.get(t) or f"period {t}"

    @property
    def T(self) -> int:
        return self.periods[-1] if self.periods else 0


def horizon_of(*parts, instance=None) -> Horizon:
    """Periods 1..T and their months, from the rows of the parts (or the instance)."""
    anchor: tuple[int, str] | None = None
    T = instance.T if instance is not None else 0
    for part in parts:
        for row in [*part.capacity, *part.cash, *getattr(part, "shortfall", [])]:
            T = max(T, row.period)
            if row.month and anchor is None:
                anchor = (row.period, row.month)
        for o in part.orders:
            T = max(T, o.period)  # a plan's orders are placed within the horizon
            if o.month and anchor is None:
                anchor = (o.period, o.month)
        for x in part.leases:
            T = max(T, x.start)
            if x.month and anchor is None:
                anchor = (x.start, x.month)
    if instance is not None and instance.horizon.start and anchor is None:
        anchor = (1, instance.horizon.start)
    periods = list(range(1, T + 1))
    months = {t: month_after(anchor[1], t - anchor[0]) if anchor else None for t in periods}
    return Horizon(periods, months)


@dataclass
class InService:
    """Units of one offer in service per period (delivered orders from arrival on; leases in
    their active, non-void periods)."""

    offer: str
    chip: str
    gpus_per_unit: float
    units: dict[int, int] = field(default_factory=dict)


def in_service(part, periods: list[int]) -> dict[str, InService]:
    out: dict[str, InService] = {}
    for o in part.orders:
        row = out.setdefault(o.offer, InService(o.offer, o.chip, o.gpus / o.units if o.units else 0.0))
        if not o.delivered:
            continue
        for t in periods:
            if t >= o.arrives:
                row.units[t] = row.units.get(t, 0) + o.units
    for x in part.leases:
        row = out.setdefault(x.offer, InService(x.offer, x.chip, x.gpus / x.units if x.units else 0.0))
        for t in periods:
            if x.first_period <= t <= x.last_period and t not in x.void_periods:
                row.units[t] = row.units.get(t, 0) + x.units
    return out


def metrics_of(part) -> list[str]:
    return list(dict.fromkeys(r.metric for r in part.capacity))


def perf_from_instance(instance) -> dict[str, dict[str, float]]:
    """offer -> metric -> contribution of one unit (MODEL.md section 2)."""
    from optimizer.planning.prepare import unit_performance

    return {o.id: unit_performance(instance, o) for o in instance.offers}


def infer_perf(part, periods: list[int]) -> dict[str, dict[str, float]] | None:
    """offer -> metric -> per-unit contribution, inferred from the result alone.

    Capacity is sum over chips of (per-GPU figure of the chip) x (GPUs in service). When the
    periods determine each chip's figure (full column rank) and the fit reproduces every
    available figure, return it; else None (the report then shows capacity unsplit).
    """
    import numpy as np

    units = in_service(part, periods)
    chips = sorted({u.chip for u in units.values() if u.units})
    if not chips:
        return {}
    gpus = np.array([[sum(u.units.get(t, 0) * u.gpus_per_unit for u in units.values() if u.chip == c)
                      for c in chips] for t in periods], dtype=float)
    if np.linalg.matrix_rank(gpus) < len(chips):
        return None
    per_gpu: dict[str, dict[str, float]] = {c: {} for c in chips}
    for m in metrics_of(part):
        avail = {r.period: r.available for r in part.capacity if r.metric == m}
        y = np.array([avail.get(t, 0.0) for t in periods])
        x, *_ = np.linalg.lstsq(gpus, y, rcond=None)
        if np.max(np.abs(gpus @ x - y), initial=0.0) > 1e-6 * max(1.0, float(np.max(np.abs(y), initial=0.0))):
            return None
        for c, v in zip(chips, x):
            per_gpu[c][m] = float(v)
    return {u.offer: {m: per_gpu[u.chip][m] * u.gpus_per_unit for m in per_gpu[u.chip]}
            for u in units.values() if u.chip in per_gpu}


@dataclass
class CapacitySeries:
    metric: str
    periods: list[int]
    labels: list[str]
    available: list[float]
    required: list[float | None]
    by_chip: dict[str, list[float]] | None  # None: the split is unknown
    hover: dict[str, list[str]]  # chip -> per period "offer: n units x p" lines
    shortfall: list[float]


def capacity_series(part, horizon: Horizon, perf: dict[str, dict[str, float]] | None) -> list[CapacitySeries]:
    """Per metric: available and required per period, and the split by chip when known."""
    periods = horizon.periods
    units = in_service(part, periods)
    out = []
    for m in metrics_of(part):
        rows = {r.period: r for r in part.capacity if r.metric == m}
        by_chip: dict[str, list[float]] | None = None
        hover: dict[str, list[str]] = {}
        if perf is not None and all(u.offer in perf for u in units.values() if u.units):
            by_chip = {}
            for u in sorted(units.values(), key=lambda u: (u.chip, u.offer)):
                per_unit = perf[u.offer].get(m, 0.0)
                if not u.units or per_unit <= 0:
                    continue
                series = by_chip.setdefault(u.chip, [0.0] * len(periods))
                lines = hover.setdefault(u.chip, [""] * len(periods))
                for i, t in enumerate(periods):
                    n = u.units.get(t, 0)
                    series[i] += n * per_unit
                    if n:
                        lines[i] += f"<br>{u.offer}: {n} units x {per_unit:,.6g}"
        short = [sum(s.amount for s in getattr(part, "shortfall", []) if s.metric == m and s.period == t)
                 for t in periods]
        out.append(CapacitySeries(
            metric=m, periods=periods, labels=[horizon.label(t) for t in periods],
            available=[rows[t].available if t in rows else 0.0 for t in periods],
            required=[rows[t].required if t in rows else None for t in periods],
            by_chip=by_chip, hover=hover, shortfall=short))
    return out


def cvar(costs: list[float], probabilities: list[float], alpha: float) -> float:
    """CVaR_alpha of a discrete cost distribution: min over eta of eta + E[max(0, C - eta)] / (1 - alpha).
    The minimum lies at one of the costs (the function is piecewise linear with kinks there)."""
    if not costs:
        return math.nan
    return min(eta + sum(p * max(0.0, c - eta) for c, p in zip(costs, probabilities)) / (1 - alpha)
               for eta in costs)
