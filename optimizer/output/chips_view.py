"""What `plan chips` shows: every chip with its export-control figures, its BF16 and memory, the
cheapest price per BF16 TFLOPS among the catalog's buy offers, and its status under one regime
(or each, side by side)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import InputError


@dataclass
class ChipListing:
    country: str
    regimes: list[str]
    rows: list[dict[str, Any]]
    date: str | None
    currency: str

    def payload(self) -> dict[str, Any]:
        from optimizer.compliance import regime_summary

        return {"country": self.country, "offer_kind": "buy", "currency": self.currency,
                "regimes": [regime_summary(r) for r in self.regimes], "chips": self.rows}


def chip_listing(catalog: str, regime: str | None, country: str | None, date: str | None) -> ChipListing:
    """The chips of `catalog` and their status; InputError naming the option at fault."""
    from models.catalog import read_chips
    from optimizer.compliance import chip_decision, chip_tpp, known_regimes, latest_regime, performance_density

    chips, defaults = read_chips(catalog)
    known = known_regimes()
    if regime is not None and regime not in (*known, "all"):
        raise InputError([f"--regime: unknown regime {regime!r} (known: {', '.join(known)}, or all)"])
    if date is not None:
        from models.regimes import parse_month, regime_in_month

        if regime is not None:
            raise InputError(["--date and --regime: give one of them"])
        month = parse_month(date)
        if month is None:
            raise InputError([f"--date: expected a month as YYYY-MM, got {date!r}"])
        regime = regime_in_month(*month)
    regime = regime or defaults.get("regime") or latest_regime()
    regimes = [r for r in known if r != "none"] if regime == "all" else [regime]
    country = (country or defaults.get("country") or "CN").strip()
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        raise InputError([f"--country: {country!r} is not an ISO 3166 alpha-2 code such as CN or US"])
    country = country.upper()
    prices, currency = _cheapest_per_tflops(catalog)
    rows = []
    for chip in chips:
        rows.append({
            "id": chip.id, "vendor": chip.vendor, "origin": chip.origin,
            "tpp": chip_tpp(chip), "tpp_given": chip.tpp is not None,
            "die_area_mm2": chip.die_area_mm2 or None, "performance_density": performance_density(chip),
            "interconnect_gbps": chip.interconnect_gbps, "fp64_tflops": chip.fp64_tflops,
            "bf16_tflops": chip.bf16_tflops, "memory_gb": chip.memory_gb,
            "price_per_bf16_tflops": prices.get(chip.id),
            "export_control": chip.export_control, "source": chip.source,
            "status": {r: vars(chip_decision(chip, r, country)) for r in regimes},
        })
    return ChipListing(country, regimes, rows, date, currency)


def _cheapest_per_tflops(catalog: str) -> tuple[dict[str, float], str]:
    """Chip id -> the lowest buy price per BF16 TFLOPS (dense peak) among the offers the catalog
    (or the built-in one, for a chips-only name) has, in its currency."""
    from models.catalog import BUILTIN, merge_includes
    from models.loading import read_data
    from optimizer.output.offers_view import DEFAULT_CURRENCY, DEFAULT_FX

    try:
        if catalog in BUILTIN:
            data = merge_includes({"include": ["catalog"]}, Path.cwd() / "<command line>")
        else:
            data = read_data(catalog)
            if isinstance(data, dict) and "include" in data:
                data = merge_includes(data, Path(catalog))
    except InputError:
        return {}, DEFAULT_CURRENCY
    if not isinstance(data, dict):
        return {}, DEFAULT_CURRENCY
    currency = data.get("currency") if isinstance(data.get("currency"), str) else DEFAULT_CURRENCY
    fx = {**DEFAULT_FX, **(data.get("fx") or {})} if "currency" not in data else dict(data.get("fx") or {})
    bf16 = {c.get("id"): c.get("bf16_tflops") for c in data.get("chips") or [] if isinstance(c, dict)}
    best: dict[str, float] = {}
    for offer in data.get("offers") or []:
        if not isinstance(offer, dict) or offer.get("kind") != "buy":
            continue
        peak, gpus, price = bf16.get(offer.get("chip")), offer.get("gpus_per_unit", 1), offer.get("unit_price")
        own = offer.get("currency") or currency
        rate = 1.0 if own == currency else fx.get(own)
        if not peak or not price or rate is None or not isinstance(gpus, int):
            continue
        per = price * rate / (peak * gpus)
        best[offer["chip"]] = min(best.get(offer["chip"], per), per)
    return best, currency


def print_chips(listing: ChipListing, console) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from optimizer.compliance import regime_summary

    regimes = listing.regimes

    def num(x: float | None, fmt: str = "{:,.0f}") -> str:
        return "?" if x is None else fmt.format(x)

    def name(r: str, sep: str = " ") -> str:
        ended = regime_summary(r)["ended"]
        return r + (f"{sep}until {ended}" if ended else "")

    def short(reason: str, r: str) -> str:  # the title names the regime already
        return reason.replace(f"below {r}: ", "below the thresholds: ").replace(f"{r} ", "")

    where = f"bought for delivery to {listing.country}"
    title = f"Chips under {name(regimes[0])}, {where}" if len(regimes) == 1 else f"Chips {where}"
    if listing.date is not None:
        title += f", in {listing.date}"
    table = Table(title=title, box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False, caption=(
        "TPP* derived from the peaks (MODEL.md section 4); PD = TPP per mm^2 of die; link = chip-to-chip GB/s;"
        f" BF16 dense TFLOPS; mem GB; {listing.currency}/TF = the cheapest catalog buy offer per BF16 TFLOPS;"
        " ? = not published (counts as controlled where a rule needs it). A lease running outside the"
        " restricted destinations is never blocked."))
    table.add_column("chip", no_wrap=True)
    if len(regimes) == 1:
        for col in ("origin", "TPP", "PD", "link", "FP64", "BF16", "mem", f"{listing.currency}/TF"):
            table.add_column(col, justify="left" if col == "origin" else "right", no_wrap=True)
        table.add_column("decision", ratio=1)
    else:
        table.add_column("TPP", justify="right", no_wrap=True)
        for r in regimes:  # the caption names each regime in full
            table.add_column(r.removeprefix("us-20"), no_wrap=True)
        table.caption += " Columns (US rules by month in force): " + "; ".join(
            f"{r} from {regime_summary(r)['in_force']}" + (f" to {regime_summary(r)['ended']}" if regime_summary(r)["ended"] else "")
            for r in regimes) + ". no a = blocked by 3A090.a; named = blocked by name (a letter);" \
            " lic. = allowed with a licence reviewed case by case."
    for row in listing.rows:
        tpp = num(row["tpp"], "{:,.6g}") + ("" if row["tpp_given"] else "*")
        if len(regimes) == 1:
            d = row["status"][regimes[0]]
            colour = "red" if d["blocked"] else "green"
            table.add_row(escape(row["id"]), row["origin"] or "?", tpp, num(row["performance_density"], "{:.2f}"),
                          num(row["interconnect_gbps"]), num(row["fp64_tflops"], "{:,.6g}"),
                          num(row["bf16_tflops"], "{:,.6g}"), num(row["memory_gb"], "{:,.6g}"),
                          num(row["price_per_bf16_tflops"], "{:,.0f}"),
                          f"[{colour}]{escape(short(d['reason'], regimes[0]))}[/]")
        else:
            cells = []
            for r in regimes:
                d = row["status"][r]
                rule = (d["rule"] or "").removeprefix(r).strip()  # the column already names the regime
                licence = "case by case" in d["reason"]
                named = "named in" in d["reason"]
                cells.append(("[red]named[/]" if named else f"[red]no {escape(rule.removeprefix('3A090').lstrip('.'))}[/]")
                             if d["blocked"] else "[yellow]lic.[/]" if licence else "[green]yes[/]")
            table.add_row(escape(row["id"]), tpp, *cells)
    console.print(table)
