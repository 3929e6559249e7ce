"""Sampled scenarios (issue 12): an instance's `sample` block expanded into `count`
equiprobable scenarios of MODEL.md section 8, before the instance is validated, so everything
downstream (scenario_instances, the extensive form, hedge) meets ordinary scenarios.

The draws are deterministic for a seed: `random.Random(seed)`, one uniform number per scenario
and per varied path, in the order the paths are written. A uniform or triangular distribution
turns that number into a value by its inverse distribution function; with schedules as bounds,
the same number is used for every period (a high-price future is high in every period). A
choice picks the value whose cumulative probability first exceeds the number.

A saved instance carries both `sample` and its expansion; that is accepted when the listed
scenarios are exactly the expansion, refused otherwise (give one or the other).
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

from models.errors import InputError


class SampleError(Exception):
    """Located errors of a sample: [(location tuple, message)]."""

    def __init__(self, errors: list[tuple[tuple, str]]):
        super().__init__("; ".join(m for _, m in errors))
        self.errors = errors


def expand_into(data: dict, sample) -> dict:
    """Raw instance data with its valid `sample` expanded into `scenarios`; SampleError if a path
    does not resolve, a bound is out of order, or other scenarios are listed too."""
    errors = list(_path_errors(data, sample))
    if errors:
        raise SampleError(errors)
    try:
        scenarios = sampled_scenarios(sample)
    except _DrawError as exc:
        raise SampleError([(("sample", "vary", exc.path), exc.message)]) from None
    listed = data.get("scenarios") or []
    if listed and _plain(listed) != _plain(scenarios):
        raise SampleError([(("sample",), "give either `sample` or `scenarios`, not both")])
    return {**data, "scenarios": scenarios}


def sampled_scenarios(sample) -> list[dict]:
    """The scenarios a valid Sample expands into (plain data, as a file would list them)."""
    rng = random.Random(sample.seed)
    width = len(str(sample.count))
    out = []
    for k in range(sample.count):
        overrides = {path: _draw(path, dist, rng.random()) for path, dist in sample.vary.items()}
        scenario = {"name": f"s{k + 1:0{width}d}", "probability": 1 / sample.count, "set": overrides}
        if sample.known is not None:
            scenario["known"] = sample.known
        out.append(scenario)
    return out


class _DrawError(Exception):
    def __init__(self, path: str, message: str):
        self.path, self.message = path, message


def _path_errors(data: dict, sample):
    """Every varied path must resolve in the instance as written (list items by id or name)."""
    base = json.loads(json.dumps({k: v for k, v in data.items() if k not in ("sample", "scenarios", "risk")},
                                 default=str))
    periods = (data.get("horizon") or {}).get("periods") if isinstance(data.get("horizon"), dict) else None
    if sample.known is not None and isinstance(periods, int) and not 1 <= sample.known <= periods + 1:
        yield ("sample", "known"), f"period {sample.known} is outside 1..T+1 = 1..{periods + 1}"
    for path in sample.vary:
        head = path.split(".")[0]
        if head in ("sample", "scenarios", "risk"):
            yield ("sample", "vary", path), f"a sample may not vary `{head}`"
            continue
        try:
            _resolve(base, path)
        except InputError as exc:
            yield ("sample", "vary", path), "; ".join(m.split(": ", 1)[-1] for m in exc.messages)


def _resolve(data: Any, path: str) -> None:
    """Walk a --set style path as models.scenarios.resolve_place does; InputError if it fails."""
    from models.overrides import _step, path_parts

    node = data
    for part in path_parts(path):
        container, key = _step(node, part, path)
        node = container[key] if isinstance(container, list) or key in container else {}


def _draw(path: str, dist, u: float) -> Any:
    if dist.choice is not None:
        probabilities = dist.probabilities or [1 / len(dist.choice)] * len(dist.choice)
        total = 0.0
        for value, p in zip(dist.choice, probabilities):
            total += p
            if u < total:
                return _rounded(value, dist.round)
        return _rounded(dist.choice[-1], dist.round)  # u at the rounding edge of the sum
    if dist.uniform is not None:
        return _rounded(_combine(path, dist.uniform, lambda lo, hi: lo + u * (hi - lo)), dist.round)
    return _rounded(_combine(path, dist.triangular, lambda a, c, b: _triangular(a, c, b, u)), dist.round)


def _triangular(a: float, c: float, b: float, u: float) -> float:
    """Inverse distribution function of the triangular distribution (low a, mode c, high b)."""
    if b == a:
        return a
    if u < (c - a) / (b - a):
        return a + math.sqrt(u * (b - a) * (c - a))
    return b - math.sqrt((1 - u) * (b - a) * (b - c))


def _combine(path: str, bounds: list, f) -> Any:
    """f applied to the bounds, period by period when any bound is a schedule."""
    def number(x):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise _DrawError(path, f"bounds must be numbers or schedules of numbers, not {x!r}")
        return float(x)

    def ordered(xs):
        if any(later < earlier for earlier, later in zip(xs, xs[1:])):
            raise _DrawError(path, f"bounds must be in order low <= (mode <=) high, not {xs}")
        return xs

    schedules = [b for b in bounds if isinstance(b, dict)]
    if not schedules:
        return f(*ordered([number(b) for b in bounds]))
    keys = [str(k) for k in schedules[0]]
    if any([str(k) for k in s] != keys for s in schedules):
        raise _DrawError(path, "schedules given as bounds need the same periods")
    out = {}
    for key, raw in zip(keys, schedules[0]):
        values = [b[raw] if isinstance(b, dict) else b for b in bounds]
        out[raw] = f(*ordered([number(v) for v in values]))
    return out


def _rounded(value: Any, decimals: int | None) -> Any:
    if decimals is None:
        return value
    if isinstance(value, dict):
        return {k: _rounded(v, decimals) for k, v in value.items()}
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return int(round(value)) if decimals == 0 else round(value, decimals)


def _plain(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str, sort_keys=True))
