"""The plan as an Excel workbook (`plan workbook`, `plan solve -o plan.xlsx`), from the result alone.

Sheets: Summary (cost lines; those the other sheets itemise are live formulas over them),
Orders, Leases, Capacity (available and required per period, one pair of columns per metric,
with a native chart per metric), Cash (per period by kind, with the budget), Excluded, and
Scenarios for a scenario result (then Capacity and Cash hold every scenario's rows, tagged).
Months are real dates when the horizon has a start; money carries the instance currency in its
number format; every table has a frozen header and a filter.
"""

from __future__ import annotations

import io
from datetime import date

from models.result import Result
from optimizer.output.plan_data import Horizon, horizon_of
from optimizer.output.quote import money_format



def _month(horizon: Horizon, t: int):
    m = horizon.months.get(t)
    if not m:
        return None
    year, month = (int(x) for x in m.split("-"))
    return date(year, month, 1)


class _Sheet:
    """A table on a sheet: header in row 1, frozen, filtered; columns formatted by kind."""

    def __init__(self, wb, title: str, columns: list[tuple[str, str]], currency: str):
        from openpyxl.styles import Font

        self.ws = wb.create_sheet(title)
        self.columns = columns  # (header, kind): kind in text, int, number, money, month, share
        self.fmt = {"money": money_format(currency), "month": "yyyy-mm", "int": "0", "number": "#,##0.##",
                    "share": "0.0%"}
        for j, (name, _) in enumerate(columns, start=1):
            self.ws.cell(row=1, column=j, value=name).font = Font(bold=True)
        self.rows = 1

    def add(self, values: list) -> int:
        self.rows += 1
        for j, ((_, kind), v) in enumerate(zip(self.columns, values), start=1):
            cell = self.ws.cell(row=self.rows, column=j, value=v)
            if kind in self.fmt and v is not None:
                cell.number_format = self.fmt[kind]
        return self.rows

    def col(self, header: str) -> str:
        from openpyxl.utils import get_column_letter

        return get_column_letter([h for h, _ in self.columns].index(header) + 1)

    def range(self, header: str) -> str:
        """The column's data cells as a formula range, e.g. Orders!$J$2:$J$11 (a header-only range when empty)."""
        c = self.col(header)
        return f"'{self.ws.title}'!${c}$2:${c}${max(self.rows, 2)}"

    def finish(self, widths: dict[str, int] | None = None) -> None:
        from openpyxl.utils import get_column_letter

        self.ws.freeze_panes = "A2"
        last = get_column_letter(len(self.columns))
        self.ws.auto_filter.ref = f"A1:{last}{max(self.rows, 1)}"
        for j, (name, kind) in enumerate(self.columns, start=1):
            width = (widths or {}).get(name) or {"money": 18, "month": 10, "text": 16}.get(kind, 12)
            self.ws.column_dimensions[get_column_letter(j)].width = max(width, len(name) + 2)


def plan_workbook(result: Result, instance=None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    cur = result.currency
    parts = [("", result)] if not result.scenarios else [(s.name, s) for s in result.scenarios]
    horizon = horizon_of(result, *result.scenarios, instance=instance)
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    tag = [("scenario", "text")] if result.scenarios else []

    orders = _Sheet(wb, "Orders", [("offer", "text"), ("chip", "text"), ("vendor", "text"), ("period", "int"),
                                   ("month", "month"), ("arrives", "int"), ("arrives month", "month"),
                                   ("units", "int"), ("gpus", "int"), ("unit price", "money"), ("cost", "money"),
                                   ("delivered", "text"), ("refund", "money")], cur)
    for o in sorted(result.orders, key=lambda o: (o.period, o.offer)):
        orders.add([o.offer, o.chip, o.vendor, o.period, _month(horizon, o.period), o.arrives,
                    _month(horizon, o.arrives), o.units, o.gpus, o.unit_price, o.cost,
                    "yes" if o.delivered else "cancelled", o.refund])
    orders.finish({"offer": 22, "chip": 18})

    leases = _Sheet(wb, "Leases", [("offer", "text"), ("chip", "text"), ("vendor", "text"), ("start", "int"),
                                   ("month", "month"), ("first period", "int"), ("last period", "int"),
                                   ("billed periods", "int"), ("units", "int"), ("gpus", "int"),
                                   ("unit price per period", "money"), ("cost", "money"), ("void periods", "text")], cur)
    for x in sorted(result.leases, key=lambda x: (x.start, x.offer)):
        billed = x.last_period - x.first_period + 1 - len(x.void_periods)
        leases.add([x.offer, x.chip, x.vendor, x.start, _month(horizon, x.start), x.first_period, x.last_period,
                    billed, x.units, x.gpus, x.unit_price, x.cost, ", ".join(map(str, x.void_periods))])
    leases.finish({"offer": 22, "chip": 18})

    metrics = list(dict.fromkeys(r.metric for _, p in parts for r in p.capacity))
    capacity = _Sheet(wb, "Capacity", tag + [("period", "int"), ("month", "month")]
                      + [c for m in metrics for c in ((f"{m} available", "number"), (f"{m} required", "number"))], cur)
    chart_rows: list[tuple[str, int, int]] = []
    for name, part in parts:
        rows = {(r.metric, r.period): r for r in part.capacity}
        first = capacity.rows + 1
        for t in horizon.periods:
            cells = []
            for m in metrics:
                r = rows.get((m, t))
                cells += [r.available if r else None, r.required if r else None]
            capacity.add(([name] if tag else []) + [t, _month(horizon, t)] + cells)
        if part.capacity:
            chart_rows.append((name, first, capacity.rows))
    capacity.finish()
    _capacity_charts(capacity, metrics, chart_rows, horizon)

    cash = _Sheet(wb, "Cash", tag + [("period", "int"), ("month", "month"), ("purchases", "money"),
                                     ("refunds", "money"), ("lease bills", "money"), ("power", "money"),
                                     ("total", "money"), ("budget", "money"), ("room", "money")], cur)
    for name, part in parts:
        by_t = {r.period: r for r in part.cash}
        for t in horizon.periods:
            r = by_t.get(t)
            if r is None:
                continue
            row = cash.rows + 1
            total = f"={cash.col('purchases')}{row}-{cash.col('refunds')}{row}+{cash.col('lease bills')}{row}" \
                    f"+{cash.col('power')}{row}"
            room = f"={cash.col('budget')}{row}-{cash.col('total')}{row}" if r.budget is not None else None
            cash.add(([name] if tag else []) + [t, _month(horizon, t), r.purchases, r.refunds, r.lease, r.power,
                                                total, r.budget, room])
    cash.finish()

    excluded = _Sheet(wb, "Excluded", [("offer", "text"), ("reason", "text"), ("rule", "text")], cur)
    for e in result.excluded:
        excluded.add([e.offer, e.reason, e.rule])
    excluded.finish({"offer": 22, "reason": 90, "rule": 22})

    scen = None
    if result.scenarios:
        scen = _Sheet(wb, "Scenarios", [("scenario", "text"), ("probability", "share"), ("known", "int"),
                                        ("objective", "money"), ("capex", "money"), ("refunds", "money"),
                                        ("lease", "money"), ("power", "money"), ("fixed", "money"),
                                        ("residual credit", "money"), ("shortfall", "money"), ("total cash", "money"),
                                        ("orders", "int"), ("leases", "int")], cur)
        for s in result.scenarios:
            c = s.cost
            scen.add([s.name, s.probability, s.known, s.objective, c.capex, c.refunds, c.lease, c.power, c.fixed,
                      c.residual_credit, c.shortfall, c.total_cash, len(s.orders), len(s.leases)])
        scen.finish()

    _summary(summary, result, cur, orders, leases, cash, scen)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _summary(ws, result: Result, cur: str, orders: _Sheet, leases: _Sheet, cash: _Sheet, scen: _Sheet | None) -> None:
    """Facts, then cost lines: formulas where another sheet itemises the line, the result's figure
    where none does (fixed costs, residual credit, shortfall penalty and the discounted objective
    are not itemised in a result)."""
    from openpyxl.styles import Font

    bold = Font(bold=True)
    money = money_format(cur)
    facts = [("instance", result.instance), ("status", result.status), ("objective sense", result.objective_sense),
             ("currency", cur), ("solver", f"{result.solver.name} {result.solver.version}"),
             ("gap", result.solver.mip_gap), ("result schema", result.schema_version)]
    if result.message:
        facts.append(("message", result.message))
    for i, (k, v) in enumerate(facts, start=1):
        ws.cell(row=i, column=1, value=k).font = bold
        ws.cell(row=i, column=2, value=v)
    r = len(facts) + 2
    ws.cell(row=r, column=1, value="cost line").font = bold
    ws.cell(row=r, column=2, value=f"amount ({cur})").font = bold
    ws.cell(row=r, column=3, value="from").font = bold
    if result.cost is None:
        ws.cell(row=r + 1, column=1, value="no plan: no cost")
        return
    c = result.cost
    if scen is None:
        lines = [("capex", f"=SUM({orders.range('cost')})", "Orders: cost"),
                 ("refunds", f"=SUM({orders.range('refund')})", "Orders: refund"),
                 ("lease", f"=SUM({leases.range('cost')})", "Leases: cost (bills past the horizon included)"),
                 ("power", f"=SUM({cash.range('power')})", "Cash: power"),
                 ("fixed", c.fixed, "the result (not itemised)")]
    else:  # the expectation over the scenarios, each weighted by its probability
        def expect(col: str) -> str:
            return f"=SUMPRODUCT({scen.range('probability')},{scen.range(col)})"

        lines = [(k, expect(k), f"Scenarios: {k}, probability-weighted") for k in
                 ("capex", "refunds", "lease", "power", "fixed")]
    first = r + 1
    for i, (name, value, source) in enumerate(lines):
        ws.cell(row=first + i, column=1, value=name)
        ws.cell(row=first + i, column=2, value=value).number_format = money
        ws.cell(row=first + i, column=3, value=source)
    row_of = {name: first + i for i, (name, _, _) in enumerate(lines)}
    r = first + len(lines)
    ws.cell(row=r, column=1, value="total cash").font = bold
    total = ws.cell(row=r, column=2, value=f"=B{row_of['capex']}-B{row_of['refunds']}+B{row_of['lease']}"
                                           f"+B{row_of['power']}+B{row_of['fixed']}")
    total.number_format, total.font = money, bold
    ws.cell(row=r, column=3, value="capex - refunds + lease + power + fixed")
    tail = [("residual credit", c.residual_credit, "the result"), ("shortfall penalty (discounted)", c.shortfall,
                                                                    "the result"),
            ("objective (discounted)" if scen is None else "expected discounted cost",
             c.discounted if scen is None else f"=SUMPRODUCT({scen.range('probability')},{scen.range('objective')})",
             "the result" if scen is None else "Scenarios: objective, probability-weighted")]
    if scen is not None and result.objective is not None:
        tail.append((f"objective ({result.risk.measure if result.risk else 'expected'})", result.objective, "the result"))
    for name, value, source in tail:
        r += 1
        ws.cell(row=r, column=1, value=name)
        ws.cell(row=r, column=2, value=value).number_format = money
        ws.cell(row=r, column=3, value=source)
    ws.column_dimensions["A"].width = 32
    ws.column_dimensions["B"].width = 24
    ws.column_dimensions["C"].width = 50


def _capacity_charts(sheet: _Sheet, metrics: list[str], blocks: list[tuple[str, int, int]], horizon: Horizon) -> None:
    """A native chart per metric (and scenario): available as columns, required as a line."""
    from openpyxl.chart import BarChart, LineChart, Reference

    ws = sheet.ws
    col_of = {h: j for j, (h, _) in enumerate(sheet.columns, start=1)}
    anchor_row = 2
    x_col = col_of["month"] if any(horizon.months.values()) else col_of["period"]
    for name, first, last in blocks[:4]:  # four scenarios at most: the rest are in the rows
        for m in metrics:
            bar = BarChart()
            bar.title = f"{m}: available vs required" + (f" ({name})" if name else "")
            bar.y_axis.title = m
            bar.add_data(Reference(ws, min_col=col_of[f"{m} available"], min_row=first, max_row=last), titles_from_data=False)
            bar.series[0].tx = None
            line = LineChart()
            line.add_data(Reference(ws, min_col=col_of[f"{m} required"], min_row=first, max_row=last), titles_from_data=False)
            from openpyxl.chart.series import SeriesLabel

            bar.series[0].tx = SeriesLabel(v="available")
            line.series[0].tx = SeriesLabel(v="required")
            cats = Reference(ws, min_col=x_col, min_row=first, max_row=last)
            bar.set_categories(cats)
            line.set_categories(cats)
            if x_col == col_of["month"]:
                bar.x_axis.number_format = "yyyy-mm"
            bar += line
            bar.width, bar.height = 18, 8
            ws.add_chart(bar, f"{_letter(len(sheet.columns) + 2)}{anchor_row}")
            anchor_row += 17


def _letter(j: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(j)
