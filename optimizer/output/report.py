"""The terminal report of `plan solve`: rich tables made from a `Result` alone."""

from __future__ import annotations

from rich import box
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


def month_of(period: int, first_period: int, first_month: str | None) -> str | None:
    """The month of `period`, from a row whose period and month are known."""
    if not first_month:
        return None
    year, month = (int(x) for x in first_month.split("-"))
    index = year * 12 + month - 1 + period - first_period
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def span(first: int, last: int, anchor: int, month: str | None) -> str:
    """Periods first..last, as months when the horizon has a start: '2023-12 - 2024-03'."""
    a, b = month_of(first, anchor, month), month_of(last, anchor, month)
    if a:
        if first == last:
            return a
        return f"{a}..{b[5:]}" if a[:4] == b[:4] else f"{a}..{b}"  # 2023-04..07, 2023-12..2024-03
    return str(first) if first == last else f"{first}-{last}"


def group_leases(leases) -> list[tuple[list, object]]:
    """Repeated starts of one offer in consecutive periods, same units, price and term, as one
    row: [(starts, first lease)] in order (17 one-period leases of cn-2023-h1 read as a few)."""
    groups: list[list] = []
    for lease in sorted(leases, key=lambda x: (x.offer, x.start)):
        last = groups[-1][-1] if groups else None
        if (last is not None and last.offer == lease.offer and last.units == lease.units
                and last.unit_price == lease.unit_price and lease.start == last.start + 1
                and lease.last_period - lease.first_period == last.last_period - last.first_period
                and not lease.void_periods and not last.void_periods):
            groups[-1].append(lease)
        else:
            groups.append([lease])
    groups.sort(key=lambda g: (g[0].start, g[0].offer))
    return [( [x.start for x in g], g) for g in groups]


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
    if result.status == "feasible":
        gap = result.solver.mip_gap
        console.print(f"  [yellow]stopped at the time limit: not proven optimal"
                      + (f", gap {gap:.2%}" if gap is not None else "") + "[/]")
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
            _print_plan(console, cur, s.orders, s.leases, s.capacity, s.work, s.shortfall, cash=s.cash)
            _print_cost(console, cur, s.cost)
            _print_excluded(console, s.excluded)
        if scenario is None:
            console.print("[dim]each scenario's own plan: --scenario NAME[/]")
    else:
        _print_plan(console, cur, result.orders, result.leases, result.capacity, result.work, result.shortfall,
                    cash=result.cash)
        if result.has_plan and not result.orders and not result.leases:
            console.print("  nothing to buy or lease: no requirement needs capacity")
        if result.cost is not None:
            _print_cost(console, cur, result.cost)
    _print_excluded(console, result.excluded)

    s = result.solver
    gap = "-" if s.mip_gap is None else f"{s.mip_gap:.2e}"
    console.print(f"[dim]HiGHS {s.version}: {s.time_s:.2f} s solver, {s.wall_time_s or 0:.2f} s total, gap {gap}[/]")


def _print_plan(console, cur, orders, leases, capacity=(), work=(), shortfall=(), title: str = "",
                cash=()) -> None:
    suffix = f", {title}" if title else ""
    narrow = console.width < 100  # fewer columns rather than cut ids
    ids = [o.offer for o in orders] + [x.offer for x in leases]
    id_width = max((len(i) for i in ids), default=5)
    if orders:
        cancelled = any(not o.delivered for o in orders)
        table = Table(title=f"Orders (buy){suffix}", title_justify="left",
                      box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD, pad_edge=not narrow)
        table.add_column("ordered", no_wrap=True)
        table.add_column("offer", no_wrap=True, min_width=id_width)
        table.add_column("units", justify="right", no_wrap=True, min_width=5)
        if not narrow:
            table.add_column("GPUs", justify="right")
        table.add_column("arrives", no_wrap=True)
        if not narrow:
            table.add_column(f"unit price {cur}", justify="right")
        table.add_column(f"cost {cur}", justify="right", no_wrap=True)
        if cancelled:
            table.add_column(f"cancelled: refund {cur}", justify="right")
        for o in orders:
            row = [o.month or str(o.period), escape(o.offer), str(o.units)]
            if not narrow:
                row.append(str(o.gpus))
            row.append(span(o.arrives, o.arrives, o.period, o.month))
            if not narrow:
                row.append(money(o.unit_price))
            row.append(money(o.cost))
            if cancelled:
                row.append("-" if o.delivered else money(o.refund))
            table.add_row(*row)
        console.print(table)
    if leases:
        void = any(lease.void_periods for lease in leases)
        table = Table(title=f"Leases{suffix}", title_justify="left", box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD, pad_edge=not narrow,
                      caption_justify="left")
        table.add_column("started", no_wrap=True)
        table.add_column("offer", no_wrap=True, min_width=id_width)
        table.add_column("units", justify="right", no_wrap=True, min_width=5)
        if not narrow:
            table.add_column("GPUs", justify="right")
        groups = group_leases(leases)
        if any(len(st) > 1 for st, _g in groups):
            table.caption = "a row with several starts: one start each period, each for its term"
        started = [span(st[0], st[-1], g[0].start, g[0].month) for st, g in groups]
        active = [span(g[0].first_period, g[-1].last_period, g[0].start, g[0].month) for _st, g in groups]
        show_active = started != active  # one-period leases without lead time are active when started
        if show_active:
            table.add_column("active", no_wrap=True)
        if not narrow:
            table.add_column(f"price/period {cur}", justify="right")
        table.add_column(f"cost {cur}" if narrow else f"commitment {cur}", justify="right", no_wrap=True,
                         min_width=max(len(money(sum(x.cost for x in g))) for _st, g in groups))
        if void:
            table.add_column("void periods")
        for k, (starts, group) in enumerate(groups):
            first = group[0]
            row = [started[k], escape(first.offer), str(first.units)]
            if not narrow:
                row.append(str(first.gpus))
            if show_active:
                row.append(active[k])
            if not narrow:
                row.append(money(first.unit_price))
            row.append(money(sum(x.cost for x in group)))
            if void:
                row.append(", ".join(str(t) for x in group for t in x.void_periods) or "-")
            table.add_row(*row)
        console.print(table)
    if capacity:
        metrics = sorted({r.metric for r in capacity}, key=[r.metric for r in capacity].index)
        table = Table(title="Capacity", caption="available / required", title_justify="left", caption_justify="left")
        table.add_column("period", no_wrap=True)
        for m in metrics:
            table.add_column(m, justify="right", no_wrap=True)
        by = {(r.period, r.metric): r for r in capacity}
        for t in sorted({r.period for r in capacity}):
            cells = []
            for m in metrics:
                row = by[t, m]
                cell = amount(row.available)
                if row.required is not None:
                    cell += f" / {amount(row.required)}"
                cells.append(cell)
            table.add_row(by[t, metrics[0]].month or str(t), *cells)
        console.print(table)
    budgets = any(row.budget is not None for row in cash)
    sites = any(row.site_cap_kw is not None for row in cash)
    if budgets or sites:
        table = Table(title=f"Cash ({cur}) and site power by period" if sites else f"Cash by period ({cur})",
                      title_justify="left", caption_justify="left",
                      caption="budget.per_period and site.power_kw where they apply")
        cols = ["period", "purchases", "lease bills", "power", "total"] + (["budget", "left"] if budgets else [])
        cols += ["site kW", "cap kW"] if sites else []
        for col in cols:
            table.add_column(col, justify="left" if col == "period" else "right", no_wrap=True)
        for row in cash:
            cells = [row.month or str(row.period), money(row.purchases - row.refunds), money(row.lease),
                     money(row.power), money(row.total)]
            if budgets:
                cells += [money(row.budget), "-" if row.budget is None else money(row.budget - row.total)]
            if sites:
                cells += [amount(row.site_kw), amount(row.site_cap_kw)]
            table.add_row(*cells)
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
