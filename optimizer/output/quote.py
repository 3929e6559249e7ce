"""Quote lines from a plan: what a purchasing team sends to vendors (`plan quote`).

One line per order and per lease start of the result, with its vendor, chip, quantity in units
and GPUs, unit price, extended price, currency, order and delivery month and lease term, plus
the fixed charges of the offers used, and totals. Everything comes from the result (schema 1.1.0
or later carries the vendor); an instance, when given, fills the vendor of older results and
itemises fixed costs by offer. Power is a site cost, not a vendor charge, and is not quoted.

Money is in the result's currency (the instance currency: offers in other currencies were
converted with the instance's fx when the plan was solved).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.errors import InputError
from models.instance import Instance
from models.result import Result
from optimizer.planning.prepare import month_label

QUOTE_FORMAT = "plan-quote/1"


class QuoteLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: int = Field(description="Line number, 1-based, in order-period order.")
    offer: str = Field(description="Offer id; '(all offers)' for fixed costs not itemised.")
    vendor: str | None = None
    chip: str | None = None
    kind: Literal["buy", "lease", "fixed"]
    units: int | None = Field(default=None, description="Units ordered or leased (servers, instances).")
    gpus: int | None = None
    unit_price: float = Field(description="buy: per unit; lease: per unit per period; fixed: the charge.")
    price_basis: Literal["per unit", "per unit per period", "once"]
    billed_periods: int = Field(description="1 for a purchase or a fixed charge; the term for a lease.")
    extended_price: float = Field(description="units * unit_price * billed_periods (the fixed charge itself).")
    currency: str
    order_period: int | None = None
    order_month: str | None = Field(default=None, description="YYYY-MM when the instance has horizon.start.")
    delivery_period: int | None = Field(default=None, description="First period the units are available.")
    delivery_month: str | None = None
    lease_term: int | None = Field(default=None, description="Active periods of a lease contract.")
    lease_last_period: int | None = None
    lease_last_month: str | None = None
    vendor_currency: str | None = Field(
        default=None, description="The offer's own currency (with the instance given), the vendor's terms.")
    vendor_unit_price: float | None = Field(default=None, description="unit_price in vendor_currency (before fx).")
    vendor_extended_price: float | None = Field(default=None, description="extended_price in vendor_currency.")


class QuoteTotals(BaseModel):
    buy: float
    lease: float
    fixed: float
    total: float = Field(description="buy + lease + fixed: everything owed to vendors, undiscounted.")
    units: int
    gpus: int


class Quote(BaseModel):
    format: str = QUOTE_FORMAT
    instance: str
    status: str
    schema_version: str = Field(description="Schema version of the result quoted.")
    currency: str
    lines: list[QuoteLine]
    totals: QuoteTotals
    notes: list[str] = Field(default_factory=list)


COLUMNS = list(QuoteLine.model_fields)
MONEY_COLUMNS = ("unit_price", "extended_price", "vendor_unit_price", "vendor_extended_price")
MONTH_COLUMNS = ("order_month", "delivery_month", "lease_last_month")


def _shift(month: str | None, periods: int) -> str | None:
    # month_label counts period 1 as `start`, so a shift by k periods is label k + 1
    return month_label(month, periods + 1) if month else None


def build_quote(result: Result, instance: Instance | None = None) -> Quote:
    """Result (with a plan) -> Quote. InputError when there is nothing to quote or data disagree."""
    if not result.has_plan:
        raise ValueError(f"no plan to quote: the result is {result.status}"
                         + (f" ({result.message})" if result.message else ""))
    cur = result.currency
    notes: list[str] = []
    vendors: dict[str, str | None] = {}
    fixed_by_offer: dict[str, float] = {}
    if instance is not None:
        vendors, fixed_by_offer = _from_instance(result, instance)

    rows: list[tuple[tuple, dict]] = []
    for o in result.orders:
        rows.append(((o.period, 0, o.offer), dict(
            offer=o.offer, vendor=o.vendor or vendors.get(o.offer), chip=o.chip, kind="buy",
            units=o.units, gpus=o.gpus, unit_price=o.unit_price, price_basis="per unit", billed_periods=1,
            extended_price=o.cost, order_period=o.period, order_month=o.month,
            delivery_period=o.arrives, delivery_month=_shift(o.month, o.arrives - o.period),
        )))
    for lease in result.leases:
        term = lease.last_period - lease.first_period + 1
        rows.append(((lease.start, 1, lease.offer), dict(
            offer=lease.offer, vendor=lease.vendor or vendors.get(lease.offer), chip=lease.chip, kind="lease",
            units=lease.units, gpus=lease.gpus, unit_price=lease.unit_price, price_basis="per unit per period",
            billed_periods=term, extended_price=lease.cost, order_period=lease.start, order_month=lease.month,
            delivery_period=lease.first_period, delivery_month=_shift(lease.month, lease.first_period - lease.start),
            lease_term=term, lease_last_period=lease.last_period,
            lease_last_month=_shift(lease.month, lease.last_period - lease.start),
        )))
    fixed_total = result.cost.fixed if result.cost else 0.0
    if fixed_by_offer:
        first = {}  # a fixed charge is listed with the offer's first order or start
        for key, row in sorted(rows, key=lambda r: r[0]):
            first.setdefault(row["offer"], (key[0], row))
        for offer, charge in fixed_by_offer.items():
            period, row = first[offer]
            rows.append(((period, 2, offer), dict(
                offer=offer, vendor=row["vendor"], chip=row["chip"], kind="fixed", unit_price=charge,
                price_basis="once", billed_periods=1, extended_price=charge,
                order_period=row["order_period"], order_month=row["order_month"],
            )))
    elif fixed_total > 0:
        rows.append(((10**9, 2, ""), dict(
            offer="(all offers)", kind="fixed", unit_price=fixed_total, price_basis="once", billed_periods=1,
            extended_price=fixed_total,
        )))
        notes.append("fixed costs are not itemised by offer in the result; pass the instance to itemise them")
    if instance is not None:  # the vendor's own currency next to the converted one
        for _, row in rows:
            row.update(_vendor_money(instance, row["offer"], row["unit_price"], row["extended_price"]))
    rows.sort(key=lambda r: r[0])
    lines = [QuoteLine(line=i, currency=cur, **row) for i, (_, row) in enumerate(rows, start=1)]

    def total(kind: str) -> float:
        return sum(x.extended_price for x in lines if x.kind == kind)

    totals = QuoteTotals(
        buy=total("buy"), lease=total("lease"), fixed=total("fixed"),
        total=sum(x.extended_price for x in lines),
        units=sum(x.units or 0 for x in lines), gpus=sum(x.gpus or 0 for x in lines),
    )
    if result.cost and result.cost.power > 0:
        notes.append(f"power ({result.cost.power:,.2f} {cur}) is a site cost, not a vendor charge: not quoted")
    if result.cost and result.cost.residual_credit > 0:
        notes.append(f"residual value credit ({result.cost.residual_credit:,.2f} {cur}) is not deducted")
    if result.status == "feasible":
        notes.append(f"the plan is not proven optimal (gap {result.solver.mip_gap})")
    if any(x.kind != "fixed" and x.vendor is None for x in lines):
        notes.append("some chips name no vendor")
    return Quote(instance=result.instance, status=result.status, schema_version=result.schema_version,
                 currency=cur, lines=lines, totals=totals, notes=notes)


def _vendor_money(instance: Instance, offer_id: str, unit_price: float, extended: float) -> dict:
    from optimizer.planning.prepare import fx_rate

    offer = next((o for o in instance.offers if o.id == offer_id), None)
    if offer is None:
        return {}
    rate = fx_rate(instance, offer)
    return {"vendor_currency": offer.currency or instance.currency, "vendor_unit_price": unit_price / rate,
            "vendor_extended_price": extended / rate}


def _from_instance(result: Result, instance: Instance) -> tuple[dict[str, str | None], dict[str, float]]:
    """Vendor by offer, and fixed cost by used offer in the instance currency."""
    from optimizer.planning.prepare import fx_rate

    errors = []
    if instance.currency != result.currency:
        errors.append(f"the plan is in {result.currency} but the instance in {instance.currency}")
    offers = {o.id: o for o in instance.offers}
    used = list(dict.fromkeys([o.offer for o in result.orders] + [x.offer for x in result.leases]))
    missing = [oid for oid in used if oid not in offers]
    if missing:
        errors.append(f"offers of the plan not in the instance: {', '.join(missing)}")
    if errors:
        raise InputError(errors)
    vendors = {oid: instance.chip(offers[oid].chip).vendor for oid in used}
    fixed = {oid: offers[oid].fixed_cost * fx_rate(instance, offers[oid]) for oid in used if offers[oid].fixed_cost > 0}
    if result.cost is not None and abs(sum(fixed.values()) - result.cost.fixed) > 1e-6 * max(1.0, result.cost.fixed):
        raise InputError([f"fixed costs of the instance ({sum(fixed.values()):,.2f}) differ from the plan's"
                          f" ({result.cost.fixed:,.2f}): is this the instance the plan was solved for?"])
    return vendors, fixed


# --------------------------------------------------------------------------- formats


def to_json(quote: Quote) -> str:
    return quote.model_dump_json(indent=2) + "\n"


def to_csv(quote: Quote) -> str:
    """One row per line, then a `total` row; money with 2 decimals, blanks for what does not apply."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for line in quote.lines:
        data = line.model_dump()
        writer.writerow([_csv_cell(col, data[col]) for col in COLUMNS])
    totals = {"line": "total", "units": quote.totals.units, "gpus": quote.totals.gpus,
              "extended_price": quote.totals.total, "currency": quote.currency}
    writer.writerow([_csv_cell(col, totals.get(col)) for col in COLUMNS])
    return buf.getvalue()


def _csv_cell(col: str, value) -> str:
    if value is None:
        return ""
    if col in MONEY_COLUMNS:
        return f"{value:.2f}"
    return str(value)


def money_format(currency: str) -> str:
    """Spreadsheet number format: thousands separators, 2 decimals, the ISO currency code."""
    return f'#,##0.00 "{currency}";-#,##0.00 "{currency}"'


def to_xlsx(quote: Quote) -> bytes:
    """A workbook with one sheet, `Quote`: a heading, the lines, subtotals and a total, money formatted."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "Quote"
    bold = Font(bold=True)
    fmt = money_format(quote.currency)
    ws.append(["Quote for", quote.instance])
    ws.append(["Plan status", quote.status])
    ws.append(["Currency", quote.currency])
    ws.append(["Result schema", quote.schema_version])
    for row in ws.iter_rows(min_row=1, max_row=4, max_col=1):
        row[0].font = bold
    header_row = 6
    for j, col in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=header_row, column=j, value=col.replace("_", " "))
        cell.font = bold
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    r = header_row
    for line in quote.lines:
        r += 1
        data = line.model_dump()
        for j, col in enumerate(COLUMNS, start=1):
            value = data[col]
            cell = ws.cell(row=r, column=j)
            if col in MONTH_COLUMNS and value:
                year, month = (int(x) for x in value.split("-"))
                cell.value = date(year, month, 1)  # a real date: sortable, filterable
                cell.number_format = "yyyy-mm"
            else:
                cell.value = value
            if col in MONEY_COLUMNS:
                vendor = col.startswith("vendor_") and data["vendor_currency"]
                cell.number_format = money_format(data["vendor_currency"]) if vendor else fmt
    last_line = r
    ext = COLUMNS.index("extended_price") + 1
    r += 1
    for label, value in (("subtotal buy", quote.totals.buy), ("subtotal lease", quote.totals.lease),
                         ("subtotal fixed", quote.totals.fixed), ("total", quote.totals.total)):
        r += 1
        ws.cell(row=r, column=1, value=label).font = bold
        cell = ws.cell(row=r, column=ext, value=value)
        cell.number_format = fmt
        if label == "total":
            cell.font = bold
            ws.cell(row=r, column=COLUMNS.index("units") + 1, value=quote.totals.units).font = bold
            ws.cell(row=r, column=COLUMNS.index("gpus") + 1, value=quote.totals.gpus).font = bold
    for note in quote.notes:
        r += 1
        ws.cell(row=r + 1, column=1, value=f"Note: {note}")
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(COLUMNS))}{max(last_line, header_row)}"
    widths = {"offer": 22, "vendor": 14, "chip": 18, "unit_price": 18, "extended_price": 20, "price_basis": 18}
    for j, col in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(j)].width = widths.get(col, 12)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render(quote: Quote, fmt: str) -> str | bytes:
    if fmt == "json":
        return to_json(quote)
    if fmt == "csv":
        return to_csv(quote)
    if fmt == "xlsx":
        return to_xlsx(quote)
    raise ValueError(f"unknown quote format {fmt!r}: expected csv, xlsx or json")


def load_result(data) -> Result:
    """Plain JSON data -> Result, with located messages when it is not a result of `plan solve`."""
    from pydantic import ValidationError

    from models.errors import messages

    if not isinstance(data, dict):
        raise InputError([f"a result is a JSON object, not a {type(data).__name__}"])
    try:
        return Result.model_validate(data)
    except ValidationError as exc:
        raise InputError(["not a result of `plan solve`: " + m for m in messages(exc)]) from None




def quote_format(fmt: str, output, has_instance: bool, has_sets: bool) -> str:
    """The format asked for (or -o's suffix, else csv), with the options it needs."""
    suffix = output.suffix.lstrip(".").lower() if output is not None else ""
    fmt = (fmt or (suffix if suffix in ("csv", "xlsx", "json") else "csv")).lower()
    if fmt not in ("csv", "xlsx", "json"):
        raise InputError([f"--format: expected csv, xlsx or json, got {fmt!r}"])
    if fmt == "xlsx" and output is None:
        raise InputError(["--format xlsx writes a workbook: give -o FILE.xlsx"])
    if has_sets and not has_instance:
        raise InputError(["--set changes the instance: give --instance too"])
    if output is not None and str(output.parent) and not output.parent.exists():
        raise InputError([f"-o {output}: folder {output.parent} does not exist"])
    return fmt


def quote_result(plan_file, fmt: str, instance=None):
    """(quote, rendered body) of a result file; (None, why) for a result without a plan."""
    from models.loading import read_json_file

    result = load_result(read_json_file(plan_file))
    try:
        quote = build_quote(result, instance)
    except ValueError as exc:
        return None, str(exc)
    return quote, render(quote, fmt)
