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


def unit_mistakes(instance: Instance, raw_data: Any) -> Iterator[str]:
    """Values that are almost surely a unit mistake (issue 14): a rate per year where one per
    period is meant, a speed-up taken for an efficiency, W taken for kW."""
    if instance.horizon.discount_rate > 0.1:
        yield (f"horizon.discount_rate: {instance.horizon.discount_rate:g} per period is over 10%; the rate is per"
               " period (month), not per year")
    for i, chip in enumerate(instance.chips):
        if chip.efficiency > 2:
            yield (f"chips[{i}].efficiency: {chip.efficiency:g} multiplies the datasheet peak; software maturity"
                   " is a share (usually <= 1)")
    for t, kw in sorted((instance.site.power_kw or {}).items()):
        if kw > 1e6:
            yield f"site.power_kw.{t}: {kw:g} kW is over 1 GW; the cap is in kW, not W"


def empty_windows(instance: Instance, raw_data: Any) -> Iterator[str]:
    """An order window that closes before it opens: the offer can never be used (MODEL.md 3)."""
    for i, offer in enumerate(instance.offers):
        if offer.available_until is not None and offer.available_until < offer.available_from:
            yield (f"offers[{i}].available_until: {offer.available_until} is before available_from"
                   f" {offer.available_from}: {offer.id} can never be ordered")


def tiny_requirements(instance: Instance, raw_data: Any) -> Iterator[str]:
    """A capacity requirement smaller than one unit of every offer that serves it: a unit
    mistake (PFLOPS written for TFLOPS, TB for GB) more often than a real need."""
    chips = {c.id: c for c in instance.chips}
    for i, req in enumerate(instance.requirements):
        if not req.schedule:
            continue
        largest = max(req.schedule.values())
        units = []
        for offer in instance.offers:
            chip = chips.get(offer.chip)
            if chip is None:
                continue
            if req.metric == "gpus":
                per_unit = offer.gpus_per_unit
            elif req.metric == "memory_gb":
                per_unit = chip.memory_gb * offer.gpus_per_unit
            else:
                per_unit = getattr(chip, req.metric) * chip.efficiency * offer.gpus_per_unit
            if per_unit > 0:
                units.append(per_unit)
        if units and 0 < largest < min(units):
            yield (f"requirements[{i}].schedule: at most {largest:g} {req.metric}, less than one unit of any offer"
                   f" ({min(units):g} at least); is the unit right?")


CHECKS: list[Callable[[Instance, Any], Iterator[str]]] = [
    stale_prices, default_lead_times, unit_mistakes, empty_windows, tiny_requirements,
]


def instance_warnings(instance: Instance, raw_data: Any = None) -> list[str]:
    """Every warning of every check, in order. `raw_data`: the file's data before includes."""
    return [message for check in CHECKS for message in check(instance, raw_data)]


def file_warnings(path, instance: Instance) -> list[str]:
    """The warnings of an instance read from `path` (its data before includes decides which
    offers came from a catalog)."""
    from models.errors import InputError
    from models.reading import read_data

    try:
        raw = read_data(path)
    except InputError:
        raw = None
    return instance_warnings(instance, raw)
