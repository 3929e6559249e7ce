"""`plan offers`: the offers of a catalog or instance as rows and as a terminal table.

Prices are shown in the offer's own currency and converted to one currency: the instance's
(with its `fx`), or CNY with the catalog's default rate when a bare catalog is listed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# a bare catalog has no instance currency: list in CNY at the rate the shipped instances assume
DEFAULT_CURRENCY, DEFAULT_FX = "CNY", {"USD": 7.2}


def _read(catalog: str) -> dict:
    from models.catalog import BUILTIN, merge_includes
    from models.errors import InputError
    from models.loading import read_data

    if catalog in BUILTIN:
        data = merge_includes({"include": ["catalog/chips", catalog]}, Path.cwd() / "<command line>")
    else:
        data = read_data(catalog)
        if not isinstance(data, dict):
            raise InputError(["expected a mapping with `offers` (a catalog or an instance)"], catalog)
        if "include" in data:
            data = merge_includes(data, Path(catalog))
    if not isinstance(data.get("offers"), list) or not data["offers"]:
        raise InputError(["offers: no offers here (expected a list under `offers`)"], catalog)
    return data


def offer_rows(catalog: str) -> tuple[list[dict[str, Any]], str]:
    """Plain rows, one per offer, and the currency of `price_converted`."""
    from pydantic import ValidationError

    from models.errors import InputError, messages
    from models.instance import Chip, Offer

    data = _read(catalog)
    currency = data.get("currency") if isinstance(data.get("currency"), str) else DEFAULT_CURRENCY
    fx = {**DEFAULT_FX, **(data.get("fx") or {})} if "currency" not in data else dict(data.get("fx") or {})
    chips = {}
    for item in data.get("chips") or []:
        try:
            chip = Chip.model_validate(item)
            chips[chip.id] = chip
        except ValidationError:
            pass  # a chip's own errors are `plan chips`'s to report
    rows, errors = [], []
    for i, item in enumerate(data["offers"]):
        try:
            offer = Offer.model_validate(item)
        except ValidationError as exc:
            errors += [f"offers[{i}].{m}" for m in messages(exc)]
            continue
        own = offer.currency or currency
        rate = 1.0 if own == currency else fx.get(own)
        chip = chips.get(offer.chip)
        rows.append({
            "id": offer.id, "vendor": chip.vendor if chip else None, "chip": offer.chip, "kind": offer.kind,
            "gpus_per_unit": offer.gpus_per_unit, "unit_price": offer.unit_price, "currency": own,
            "price_converted": None if rate is None else offer.unit_price * rate,
            "lead_time": offer.lead_time, "lead_time_given": "lead_time" in offer.model_fields_set,
            "max_per_period": offer.max_per_period, "max_total": offer.max_total,
            "as_of": offer.as_of, "source": offer.source,
        })
    if errors:
        raise InputError(errors, catalog)
    return rows, currency


def print_offers(rows: list[dict[str, Any]], currency: str, console) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Offers (price per unit, leases per month; converted to {currency})",
                  box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False, caption="lead = periods from order to delivery (* = default 0, not given);"
                  " caps = most units per period / in total. Sources below.")
    for col in ("offer", "chip", "kind", "price", currency, "lead", "caps", "as of"):
        table.add_column(col, justify="right" if col in ("price", currency, "lead") else "left",
                         no_wrap=col not in ("offer", "chip"))
    for row in rows:
        caps = f"{row['max_per_period'] if row['max_per_period'] is not None else '-'}/" \
               f"{row['max_total'] if row['max_total'] is not None else '-'}"
        lead = row["lead_time"] if isinstance(row["lead_time"], int) else "sched."
        table.add_row(escape(row["id"]), escape(row["chip"]), row["kind"],
                      f"{row['unit_price']:,.0f} {row['currency']}",
                      "?" if row["price_converted"] is None else f"{row['price_converted']:,.0f}",
                      f"{lead}{'' if row['lead_time_given'] else '*'}", caps, row["as_of"] or "?")
    console.print(table)
    for row in rows:
        vendor = f" ({escape(row['vendor'])})" if row["vendor"] else ""
        console.print(f"[bold]{escape(row['id'])}[/]{vendor}: {escape(row['source'] or 'no source given')}")
