"""Warnings about an instance that is valid but probably not what its author meant.

`instance_warnings(instance, raw_data)` returns messages that each start with their place
(`offers[3].unit_price: ...`); `plan solve` and `plan validate` print them to stderr as
`warning: ...` without changing the exit code. Each check is one small function in CHECKS, so
more can be added without touching the others.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from models.instance import Instance


def _month_index(text: str) -> int | None:
    """'2023-10' or '2023-10-21' -> months since year 0; None when unreadable."""
    try:
        year, month = (int(x) for x in str(text).split("-")[:2])
    except ValueError:
        return None
    return year * 12 + month - 1


def stale_prices(instance: Instance, raw_data: Any) -> Iterator[str]:
    """A price seen (`as_of`) more than a year before the plan starts (horizon.start)."""
    start = _month_index(instance.horizon.start) if instance.horizon.start else None
    if start is None:
        return
    for i, offer in enumerate(instance.offers):
        seen = _month_index(offer.as_of) if offer.as_of else None
        if seen is not None and start - seen > 12:
            yield (f"offers[{i}].unit_price: price of {offer.id} is as of {offer.as_of}, more than a year"
                   f" before horizon.start {instance.horizon.start}; check it is still current")


def default_lead_times(instance: Instance, raw_data: Any) -> Iterator[str]:
    """An offer brought in by `include` that nobody gave a lead time (0 = delivered at once)."""
    if not isinstance(raw_data, dict) or not raw_data.get("include"):
        return  # nothing included: the author wrote every offer
    for i, offer in enumerate(instance.offers):
        if "lead_time" not in offer.model_fields_set:
            yield (f"offers[{i}].lead_time: {offer.id} keeps the default lead time 0 (delivered in the"
                   " period it is ordered); set this buyer's lead time")


CHECKS: list[Callable[[Instance, Any], Iterator[str]]] = [stale_prices, default_lead_times]


def instance_warnings(instance: Instance, raw_data: Any = None) -> list[str]:
    """Every warning of every check, in order. `raw_data`: the file's data before includes."""
    return [message for check in CHECKS for message in check(instance, raw_data)]
