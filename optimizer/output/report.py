"""The terminal report of `plan solve`: rich tables made from a `Result` alone."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from models.result import Result


def money(x: float | None) -> str:
    if x is None:
        return "-"
    sign = "-" if x < 0 else ""
    x = abs(x)
    for limit, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if x >= limit:
            return f"{sign}{x / limit:,.2f}{suffix}"
    return f"{sign}{x:,.2f}"


def amount(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.6g}" if abs(x) < 1e6 else f"{x:,.0f}"


def when(period: int, month: str | None) -> str:
    return f"{period} ({month})" if month else str(period)


def print_report(result: Result, console: Console) -> None:
    cur = result.currency
    style = {"optimal": "bold green", "feasible": "bold yellow"}.get(result.status, "bold red")
    head = f"[bold]{result.instance}[/]: [{style}]{result.status}[/]"
    if result.objective is not None:
        if result.objective_sense == "max_capacity":
            head += f"  capacity reached {amount(result.objective)}"
        else:
            head += f"  cost (discounted) {money(result.objective)} {cur}"
    console.print(head)
    if result.message:
        console.print(f"  {result.message}", markup=False)

    if result.orders:
        table = Table(title="Orders (buy)", title_justify="left")
        for col in ("period", "offer", "units", "GPUs", "arrives", f"unit price {cur}", f"cost {cur}"):
            table.add_column(col, justify="right" if col not in ("offer",) else "left")
        for o in result.orders:
            table.add_row(when(o.period, o.month), o.offer, str(o.units), str(o.gpus), str(o.arrives),
                          money(o.unit_price), money(o.cost))
        console.print(table)
    if result.leases:
        table = Table(title="Leases", title_justify="left")
        for col in ("start", "offer", "units", "GPUs", "active", f"price/period {cur}", f"commitment {cur}"):
            table.add_column(col, justify="right" if col not in ("offer",) else "left")
        for lease in result.leases:
            table.add_row(when(lease.start, lease.month), lease.offer, str(lease.units), str(lease.gpus),
                          f"{lease.first_period}-{lease.last_period}", money(lease.unit_price), money(lease.cost))
        console.print(table)
    if result.has_plan and not result.orders and not result.leases:
        console.print("  nothing to buy or lease: no requirement needs capacity")

    if result.capacity:
        metrics = sorted({r.metric for r in result.capacity}, key=[r.metric for r in result.capacity].index)
        table = Table(title="Capacity", caption="available / required", title_justify="left", caption_justify="left")
        table.add_column("period")
        for m in metrics:
            table.add_column(m, justify="right")
        by = {(r.period, r.metric): r for r in result.capacity}
        for t in sorted({r.period for r in result.capacity}):
            cells = []
            for m in metrics:
                row = by[t, m]
                cell = amount(row.available)
                if row.required is not None:
                    cell += f" / {amount(row.required)}"
                cells.append(cell)
            table.add_row(when(t, by[t, metrics[0]].month), *cells)
        console.print(table)
    for w in result.work:
        console.print(
            f"work {w.requirement}: {w.delivered_flop:.4g} FLOP of {w.metric} in periods "
            f"{w.first_period}-{w.last_period}, required {w.required_flop:.4g}"
        )

    if result.cost is not None:
        c = result.cost
        table = Table(title=f"Cost ({cur})", title_justify="left", show_header=False)
        table.add_column("item")
        table.add_column("amount", justify="right")
        for label, value in (("purchases (capex)", c.capex), ("lease bills", c.lease), ("power", c.power),
                             ("fixed costs", c.fixed), ("total cash", c.total_cash),
                             ("residual credit", -c.residual_credit), ("objective (discounted)", c.discounted)):
            table.add_row(label, money(value))
        console.print(table)

    if result.excluded:
        table = Table(title="Excluded offers", title_justify="left")
        table.add_column("offer")
        table.add_column("reason")
        for e in result.excluded:
            table.add_row(e.offer, e.reason)
        console.print(table)

    s = result.solver
    gap = "-" if s.mip_gap is None else f"{s.mip_gap:.2e}"
    console.print(f"[dim]HiGHS {s.version}: {s.time_s:.2f} s solver, {s.wall_time_s or 0:.2f} s total, gap {gap}[/]")
