"""`plan diff` on the terminal (rich tables) and as an HTML page (plotly waterfall)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from optimizer.analysis.diff import PlanDiff
from optimizer.output.report import money


def _when(p: int | None) -> str:
    return "-" if p is None else str(p)


def print_diff(d: PlanDiff, console) -> None:
    cur = d.currency
    head = f"[bold]{escape(d.a)}[/] -> [bold]{escape(d.b)}[/]"
    if d.objective_a is not None and d.objective_b is not None:
        head += f": objective {money(d.objective_a)} -> {money(d.objective_b)} {cur} ({d.objective_b - d.objective_a:+,.0f})"
    console.print(head, soft_wrap=True)
    for n in d.notes:
        console.print(f"note: {n}", markup=False, soft_wrap=True)
    if d.changes:
        t = Table(title=f"{len(d.changes)} changes, {d.unchanged} orders and leases alike", title_justify="left")
        for col in ("change", "kind", "offer", "period", "units", f"cost ({cur})"):
            t.add_column(col, justify="right" if col in ("units", f"cost ({cur})") else "left")
        for c in d.changes:
            period = _when(c.period_a) if c.period_a == c.period_b else f"{_when(c.period_a)} -> {_when(c.period_b)}"
            units = str(c.units_b or c.units_a) if c.units_a == c.units_b or not (c.units_a and c.units_b) \
                else f"{c.units_a} -> {c.units_b}"
            t.add_row(c.change, c.kind, escape(c.offer), period, units, f"{c.cost_b - c.cost_a:+,.0f}")
        console.print(t)
    else:
        console.print(f"same orders and leases ({d.unchanged})")
    w = Table(title=f"net cost {money(d.net_a)} -> {money(d.net_b)} {cur}, by component", title_justify="left")
    w.add_column("component")
    w.add_column("change", justify="right")
    w.add_column("running", justify="right")
    w.add_row("A", "", f"{d.net_a:,.0f}")
    for s in d.waterfall:
        if s.delta:
            w.add_row(s.name, f"{s.delta:+,.0f}", f"{s.running:,.0f}")
    w.add_row("B", "", f"{d.net_b:,.0f}")
    console.print(w)
    changed = [o for o in d.by_offer if abs(o.delta) > 1e-9]
    if changed:
        o = Table(title="by offer", title_justify="left")
        for col in ("offer", "A", "B", "change"):
            o.add_column(col, justify="left" if col == "offer" else "right")
        for x in changed:
            o.add_row(escape(x.offer), f"{x.a:,.0f}", f"{x.b:,.0f}", f"{x.delta:+,.0f}")
        console.print(o)
    moved = [c for c in d.capacity if c.delta]
    if moved:
        c = Table(title="capacity that differs", title_justify="left")
        for col in ("metric", "period", "A", "B", "change"):
            c.add_column(col, justify="left" if col in ("metric", "period") else "right")
        for x in moved:
            c.add_row(x.metric, f"{x.period}" + (f" ({x.month})" if x.month else ""), f"{x.a:,.0f}", f"{x.b:,.0f}",
                      f"{x.delta:+,.0f}")
        console.print(c)
    else:
        console.print("capacity: the same in every period" if d.capacity else "capacity: none to compare")


def diff_report(d: PlanDiff) -> str:
    """An HTML page: the cost waterfall by component and by offer, the changes, capacity A vs B."""
    import plotly.graph_objects as go

    from optimizer.output.html import _figure_html, _page

    cur = d.currency
    charts = {}
    steps = [s for s in d.waterfall if s.delta]
    fig = go.Figure(go.Waterfall(
        x=["A", *[s.name for s in steps], "B"], y=[d.net_a, *[s.delta for s in steps], d.net_b],
        measure=["absolute", *["relative"] * len(steps), "total"],
        hovertemplate="%{x}: %{y:,.0f} " + cur + "<extra></extra>"))
    fig.update_layout(title=f"Net cost, {d.a} -> {d.b}, by component ({cur})", height=360, showlegend=False)
    charts["waterfall"] = _figure_html(fig, "waterfall")
    offers = [o for o in d.by_offer if abs(o.delta) > 1e-9]
    if offers:
        fig = go.Figure(go.Waterfall(
            orientation="h", y=["A", *[o.offer for o in offers], "B"], x=[d.net_a, *[o.delta for o in offers], d.net_b],
            measure=["absolute", *["relative"] * len(offers), "total"],
            hovertemplate="%{y}: %{x:,.0f} " + cur + "<extra></extra>"))
        fig.update_layout(title=f"Net cost by offer ({cur})", height=max(300, 120 + 26 * len(offers)), showlegend=False,
                          yaxis=dict(autorange="reversed"), margin=dict(l=240))
        charts["by-offer"] = _figure_html(fig, "by-offer")
    metrics = list(dict.fromkeys(c.metric for c in d.capacity))
    for m in metrics:
        rows = [c for c in d.capacity if c.metric == m]
        x = [c.month or str(c.period) for c in rows]
        fig = go.Figure()
        fig.add_bar(name=d.a, x=x, y=[c.a for c in rows], marker_color="#9aa5b1")
        fig.add_bar(name=d.b, x=x, y=[c.b for c in rows], marker_color="#1f77b4")
        req = [c.required_b if c.required_b is not None else c.required_a for c in rows]
        if any(r is not None for r in req):
            fig.add_scatter(name="required", x=x, y=req, mode="lines", line=dict(color="black", shape="hvh"))
        fig.update_layout(barmode="group", title=f"{m}: A and B", height=340, legend=dict(orientation="h", y=-0.2))
        charts[f"cap-{m}"] = _figure_html(fig, f"cap-{m}")
    return _page("diff.html.j2", title=f"plan diff: {d.a} -> {d.b}", d=d, charts=charts, metrics=metrics, cur=cur)
