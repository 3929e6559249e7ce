"""The terminal report of `plan solve`: rich tables made from a `Result` alone."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
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


def print_report(result: Result, console: Console, scenario: str | None = None) -> None:
    """The whole report; a scenario result leads with the decisions to place now and a table of
    the scenarios, and shows one scenario's own plan when `scenario` names it."""
    cur = result.currency
    style = {"optimal": "bold green", "feasible": "bold yellow"}.get(result.status, "bold red")
    head = f"[bold]{escape(result.instance)}[/]: [{style}]{result.status}[/]"
    if result.objective is not None:
        if result.objective_sense == "max_capacity":
            head += f"  capacity reached {amount(result.objective)}"
        elif result.scenarios:
            measure = result.risk.measure if result.risk else "expected"
            head += f"  objective ({measure}) {money(result.objective)} {cur}, expected cost {money(result.expected_cost)} {cur}"
        else:
            head += f"  cost (discounted) {money(result.objective)} {cur}"
    console.print(head)
    if result.message:
        console.print(f"  {result.message}", markup=False)

    if result.scenarios:
        now = min(s.known for s in result.scenarios)
        _print_plan(console, cur, result.orders, result.leases, title=f"to place now (before period {now})")
        if result.has_plan and not result.orders and not result.leases:
            console.print(f"  nothing to order or lease before period {now}")
        _print_scenarios(console, result)
        chosen = [s for s in result.scenarios if s.name == scenario]
        for s in chosen:
            console.print(f"[bold]Scenario {escape(s.name)}[/]: cost {money(s.objective)} {cur}")
            _print_plan(console, cur, s.orders, s.leases, s.capacity, s.work, s.shortfall)
            _print_cost(console, cur, s.cost)
            _print_excluded(console, s.excluded)
        if scenario is None:
            console.print("[dim]each scenario's own plan: --scenario NAME[/]")
    else:
        _print_plan(console, cur, result.orders, result.leases, result.capacity, result.work, result.shortfall)
        if result.has_plan and not result.orders and not result.leases:
            console.print("  nothing to buy or lease: no requirement needs capacity")
        if result.cost is not None:
            _print_cost(console, cur, result.cost)
    _print_excluded(console, result.excluded)

    s = result.solver
    gap = "-" if s.mip_gap is None else f"{s.mip_gap:.2e}"
    console.print(f"[dim]HiGHS {s.version}: {s.time_s:.2f} s solver, {s.wall_time_s or 0:.2f} s total, gap {gap}[/]")


def _print_plan(console, cur, orders, leases, capacity=(), work=(), shortfall=(), title: str = "") -> None:
    suffix = f", {title}" if title else ""
    if orders:
        cancelled = any(not o.delivered for o in orders)
        table = Table(title=f"Orders (buy){suffix}", title_justify="left")
        cols = ["period", "offer", "units", "GPUs", "arrives", f"unit price {cur}", f"cost {cur}"]
        for col in cols + (["cancelled: refund " + cur] if cancelled else []):
            table.add_column(col, justify="right" if col != "offer" else "left")
        for o in orders:
            row = [when(o.period, o.month), escape(o.offer), str(o.units), str(o.gpus), str(o.arrives),
                   money(o.unit_price), money(o.cost)]
            if cancelled:
                row.append("-" if o.delivered else money(o.refund))
            table.add_row(*row)
        console.print(table)
    if leases:
        void = any(lease.void_periods for lease in leases)
        table = Table(title=f"Leases{suffix}", title_justify="left")
        cols = ["start", "offer", "units", "GPUs", "active", f"price/period {cur}", f"commitment {cur}"]
        for col in cols + (["void periods"] if void else []):
            table.add_column(col, justify="right" if col != "offer" else "left")
        for lease in leases:
            row = [when(lease.start, lease.month), escape(lease.offer), str(lease.units), str(lease.gpus),
                   f"{lease.first_period}-{lease.last_period}", money(lease.unit_price), money(lease.cost)]
            if void:
                row.append(", ".join(map(str, lease.void_periods)) or "-")
            table.add_row(*row)
        console.print(table)
    if capacity:
        metrics = sorted({r.metric for r in capacity}, key=[r.metric for r in capacity].index)
        table = Table(title="Capacity", caption="available / required", title_justify="left", caption_justify="left")
        table.add_column("period")
        for m in metrics:
            table.add_column(m, justify="right")
        by = {(r.period, r.metric): r for r in capacity}
        for t in sorted({r.period for r in capacity}):
            cells = []
            for m in metrics:
                row = by[t, m]
                cell = amount(row.available)
                if row.required is not None:
                    cell += f" / {amount(row.required)}"
                cells.append(cell)
            table.add_row(when(t, by[t, metrics[0]].month), *cells)
        console.print(table)
    for w in work:
        console.print(
            f"work {escape(w.requirement)}: {w.delivered_flop:.4g} FLOP of {w.metric} in periods "
            f"{w.first_period}-{w.last_period}, required {w.required_flop:.4g}"
        )
    for row in shortfall:
        console.print(f"shortfall {escape(row.requirement)}: {amount(row.amount)} {row.metric} short in period "
                      f"{when(row.period, row.month)}")


def _print_cost(console, cur, c) -> None:
    table = Table(title=f"Cost ({cur})", title_justify="left", show_header=False)
    table.add_column("item")
    table.add_column("amount", justify="right")
    lines = [("purchases (capex)", c.capex)]
    if c.refunds:
        lines.append(("refunds of cancelled orders", -c.refunds))
    lines += [("lease bills", c.lease), ("power", c.power), ("fixed costs", c.fixed), ("total cash", c.total_cash),
              ("residual credit", -c.residual_credit)]
    if c.shortfall:
        lines.append(("shortfall penalty (discounted)", c.shortfall))
    lines.append(("objective (discounted)", c.discounted))
    for label, value in lines:
        table.add_row(label, money(value))
    console.print(table)


def _print_excluded(console, excluded) -> None:
    if excluded:
        table = Table(title="Excluded offers", title_justify="left")
        table.add_column("offer")
        table.add_column("reason")
        for e in excluded:
            table.add_row(escape(e.offer), escape(e.reason))
        console.print(table)


def _print_scenarios(console, result: Result) -> None:
    cur = result.currency
    table = Table(title="Scenarios", title_justify="left")
    for col in ("scenario", "probability", "known from", f"cost {cur}", "shortfall", "orders", "leases"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for s in result.scenarios:
        short = ", ".join(f"{amount(r.amount)} {r.metric} in {r.period}" for r in s.shortfall[:3]) or "-"
        if len(s.shortfall) > 3:
            short += f", +{len(s.shortfall) - 3} more"
        cancelled = sum(1 for o in s.orders if not o.delivered)
        orders = f"{len(s.orders)}" + (f" ({cancelled} cancelled)" if cancelled else "")
        table.add_row(escape(s.name), f"{s.probability:.3g}", str(s.known), money(s.objective), short, orders,
                      str(len(s.leases)))
    console.print(table)
