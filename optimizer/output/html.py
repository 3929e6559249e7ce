"""Self-contained HTML reports (`plan report`, `plan solve --report`, `plan sweep --report`,
`plan diff --report`): plotly charts inside jinja2 templates (optimizer/output/templates/).

Why plotly: it is well kept, its Python package carries its own JavaScript bundle
(`plotly.offline.get_plotlyjs()`), so a report opens offline with the script inlined once (no
CDN), the charts are interactive (hover shows the units of each offer), print as vector
graphics, and each rendered chart keeps its data on its element, which the browser test reads
back. Altair/Vega would need three scripts it does not ship; Bokeh would do but its stacked
bars with per-bar hover text take more code.

Everything comes from the result JSON (STYLE.md 12); an instance only adds per-unit figures
and its hash, an explanation adds binding rules and marginal values.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

from models.result import Result
from optimizer.output import plan_data as pd_

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#d62728"]
METRIC_NAME = {"bf16_tflops": "BF16 TFLOPS", "fp32_tflops": "FP32 TFLOPS", "fp64_tflops": "FP64 TFLOPS",
               "memory_gb": "memory GB", "gpus": "GPUs"}


def money(x: float | None, currency: str = "") -> str:
    if x is None:
        return "-"
    a = abs(x)
    for limit, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= limit:
            return f"{x / limit:,.2f}{suffix} {currency}".rstrip()
    return f"{x:,.2f} {currency}".rstrip()


def number(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.4g}"


def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("optimizer.output", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = money
    env.filters["number"] = number
    return env


def _figure_html(fig, div_id: str) -> str:
    """One chart's div and script; the plotly bundle is inlined once by the base template."""
    fig.update_layout(template="plotly_white", margin=dict(l=60, r=20, t=50, b=50),
                      font=dict(family="system-ui, -apple-system, Segoe UI, sans-serif", size=12))
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True, "displayModeBar": False})


def _page(template: str, **context) -> str:
    from plotly.offline import get_plotlyjs

    return _env().get_template(template).render(
        plotly_js=get_plotlyjs(), generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **context)


def _colors(names) -> dict[str, str]:
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(sorted(set(names)))}


# --------------------------------------------------------------------------- charts of one plan


def capacity_figure(series: pd_.CapacitySeries, colors: dict[str, str], title: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    x = series.labels
    if series.by_chip is not None:
        for chip, ys in series.by_chip.items():
            fig.add_bar(name=chip, x=x, y=ys, marker_color=colors.get(chip), customdata=series.hover.get(chip),
                        hovertemplate="%{x}<br><b>" + html.escape(chip) + "</b>: %{y:,.0f}%{customdata}<extra></extra>")
    else:
        fig.add_bar(name="available (split by chip needs --instance)", x=x, y=series.available,
                    marker_color="#9aa5b1", hovertemplate="%{x}: %{y:,.0f}<extra></extra>")
    if any(r is not None for r in series.required):
        fig.add_scatter(name="required", x=x, y=series.required, mode="lines+markers",
                        line=dict(color="black", width=2, shape="hvh"), marker=dict(size=5),
                        hovertemplate="%{x}: required %{y:,.0f}<extra></extra>")
    if any(series.shortfall):
        fig.add_scatter(name="shortfall", x=x, y=[a if a else None for a in series.shortfall], mode="markers",
                        marker=dict(color="#d62728", symbol="x", size=10),
                        hovertemplate="%{x}: short by %{y:,.0f}<extra></extra>")
    fig.update_layout(barmode="stack", title=title, yaxis_title=METRIC_NAME.get(series.metric, series.metric),
                      legend=dict(orientation="h", y=-0.18), height=380, hovermode="closest")
    return fig


def cash_figure(part, horizon: pd_.Horizon, currency: str, title: str):
    import plotly.graph_objects as go

    rows = {r.period: r for r in part.cash}
    x = [horizon.label(t) for t in horizon.periods]
    fig = go.Figure()
    for name, key, color, sign in (("purchases", "purchases", "#1f77b4", 1), ("lease bills", "lease", "#ff7f0e", 1),
                                   ("power", "power", "#2ca02c", 1), ("refunds", "refunds", "#17becf", -1)):
        ys = [sign * getattr(rows[t], key) if t in rows else 0.0 for t in horizon.periods]
        if key == "refunds" and not any(ys):
            continue
        fig.add_bar(name=name, x=x, y=ys, marker_color=color,
                    hovertemplate="%{x}<br>" + name + ": %{y:,.0f} " + currency + "<extra></extra>")
    budget = [rows[t].budget if t in rows else None for t in horizon.periods]
    if any(b is not None for b in budget):
        fig.add_scatter(name="budget per period", x=x, y=budget, mode="lines+markers",
                        line=dict(color="#d62728", dash="dash", shape="hvh"),
                        hovertemplate="%{x}: budget %{y:,.0f} " + currency + "<extra></extra>")
    fig.update_layout(barmode="relative", title=title, yaxis_title=currency, height=360,
                      legend=dict(orientation="h", y=-0.18))
    return fig


def timeline_figure(part, horizon: pd_.Horizon, colors: dict[str, str], title: str):
    """One row per order or lease start: ordered -> arrives (lead time, pale), then in service
    (solid) to the end of the horizon (orders) or of the term (leases); cancelled orders in red."""
    import plotly.graph_objects as go

    T = horizon.T
    rows = []  # (label, start, end exclusive, kind, colour, hover)
    for o in sorted(part.orders, key=lambda o: (o.period, o.offer)):
        label = f"buy {o.offer} x{o.units} @{horizon.label(o.period)}"
        col = colors.get(o.chip, "#1f77b4")
        rows.append((label, o.period, o.arrives, "lead time", col,
                     f"{o.offer}: {o.units} units ordered {horizon.label(o.period)}, arrive {horizon.label(o.arrives)}"))
        if o.delivered:
            rows.append((label, o.arrives, T + 1, "in service", col, f"{o.offer}: {o.units} units in service"))
        else:
            rows.append((label, o.arrives, o.arrives + 1, "cancelled", "#d62728",
                         f"{o.offer}: cancelled on arrival, refund {o.refund:,.0f}"))
    for x in sorted(part.leases, key=lambda x: (x.start, x.offer)):
        label = f"lease {x.offer} x{x.units} @{horizon.label(x.start)}"
        col = colors.get(x.chip, "#ff7f0e")
        if x.first_period > x.start:
            rows.append((label, x.start, x.first_period, "lead time", col, f"{x.offer}: starting"))
        rows.append((label, x.first_period, min(x.last_period, T) + 1, "leased", col,
                     f"{x.offer}: {x.units} units leased {horizon.label(x.first_period)}..period {x.last_period}"))
        for v in x.void_periods:
            if v <= T:
                rows.append((label, v, v + 1, "void", "#d62728", f"{x.offer}: void in {horizon.label(v)} (blocked)"))
    labels = list(dict.fromkeys(r[0] for r in rows))
    fig = go.Figure()
    style = {"lead time": 0.35, "in service": 1.0, "leased": 0.75, "cancelled": 1.0, "void": 1.0}
    for kind in style:
        members = [r for r in rows if r[3] == kind]
        if not members:
            continue
        fig.add_bar(name=kind, orientation="h", y=[r[0] for r in members], x=[r[2] - r[1] for r in members],
                    base=[r[1] - 0.5 for r in members], marker=dict(color=[r[4] for r in members], opacity=style[kind]),
                    customdata=[r[5] for r in members], hovertemplate="%{customdata}<extra></extra>")
    ticks = horizon.periods if T <= 24 else horizon.periods[::max(1, T // 12)]
    fig.update_layout(barmode="overlay", showlegend=False, height=max(260, 90 + 18 * len(labels)),
                      title=dict(text=title + "<br><sup>pale: lead time; solid: owned, in service; medium: leased;"
                                 " red: cancelled or void</sup>"),
                      yaxis=dict(categoryorder="array", categoryarray=labels[::-1], tickfont=dict(size=10)),
                      xaxis=dict(tickmode="array", tickvals=ticks, ticktext=[horizon.label(t) for t in ticks],
                                 range=[0.5, T + 0.5]),
                      margin=dict(l=260, t=70))
    return fig


def scenario_cost_figure(result: Result, title: str):
    """Each scenario's cost C_s (bar width ~ nothing; the label carries its probability), the
    expectation and CVaR_alpha as lines."""
    import plotly.graph_objects as go

    alpha = result.risk.alpha if result.risk else 0.9
    scen = sorted(result.scenarios, key=lambda s: s.objective)
    costs, probs = [s.objective for s in scen], [s.probability for s in scen]
    expected = sum(c * p for c, p in zip(costs, probs))
    tail = pd_.cvar(costs, probs, alpha)
    fig = go.Figure()
    fig.add_bar(name="scenario cost", x=[s.name for s in scen], y=costs, marker_color="#1f77b4",
                text=[f"p = {p:.2g}" for p in probs], textposition="inside",
                customdata=probs, hovertemplate="%{x}: %{y:,.0f} " + result.currency
                + " (probability %{customdata:.3g})<extra></extra>")
    for name, value, dash in ((f"expected {money(expected, result.currency)}", expected, "solid"),
                              (f"CVaR {alpha:g}: {money(tail, result.currency)}", tail, "dash")):
        fig.add_scatter(name=name, x=[scen[0].name, scen[-1].name], y=[value, value], mode="lines",
                        line=dict(color="black" if dash == "solid" else "#d62728", dash=dash, width=2),
                        hovertemplate=name + "<extra></extra>")
    fig.update_layout(title=title, yaxis_title=f"discounted cost ({result.currency})", height=340,
                      legend=dict(orientation="h", y=-0.2))
    return fig, expected, tail, alpha


# --------------------------------------------------------------------------- the plan report


def plan_report(result: Result, instance=None, explanation=None, title: str | None = None) -> str:
    """The HTML page of one result (with its scenarios, or its diagnosis when it has no plan)."""
    parts = [result, *result.scenarios]
    horizon = pd_.horizon_of(*parts, instance=instance)
    perf_given = pd_.perf_from_instance(instance) if instance is not None else None
    chips = {o.chip for p in parts for o in [*p.orders, *p.leases]}
    colors = _colors(chips)
    cur = result.currency
    charts: dict[str, str] = {}
    notes: list[str] = []

    def plan_charts(part, prefix: str, heading: str) -> list[dict]:
        shown = []
        perf = perf_given if perf_given is not None else pd_.infer_perf(part, horizon.periods)
        if perf is None and part.capacity:
            notes.append(f"{heading}: the split of capacity by chip is not determined by the result; "
                         "pass --instance to show it")
        for s in pd_.capacity_series(part, horizon, perf):
            div = f"{prefix}cap-{s.metric}"
            charts[div] = _figure_html(capacity_figure(
                s, colors, f"{heading}: {METRIC_NAME.get(s.metric, s.metric)} in service vs required"), div)
            shown.append({"id": div, "metric": s.metric})
        return shown

    summary = _summary(result, horizon, instance)
    sections: dict = {"capacity": [], "cash": None, "timeline": None, "scenarios": [], "scenario_costs": None}
    if result.has_plan:
        if not result.scenarios:
            sections["capacity"] = plan_charts(result, "", "Capacity")
            if result.cash:
                charts["cash"] = _figure_html(cash_figure(result, horizon, cur, "Cash per period"), "cash")
                sections["cash"] = "cash"
        if result.orders or result.leases:
            label = "Decisions to place now (common to every scenario)" if result.scenarios else "Orders and leases"
            charts["timeline"] = _figure_html(timeline_figure(result, horizon, colors, label), "timeline")
            sections["timeline"] = "timeline"
        if result.scenarios:
            fig, expected, tail, alpha = scenario_cost_figure(result, "Cost of each scenario's plan")
            charts["scenario-costs"] = _figure_html(fig, "scenario-costs")
            sections["scenario_costs"] = {"id": "scenario-costs", "expected": expected, "cvar": tail,
                                          "alpha": alpha}
            for i, s in enumerate(result.scenarios):
                prefix = f"s{i}-"
                entry = {"name": s.name, "probability": s.probability, "known": s.known,
                         "known_label": horizon.label(s.known) if s.known <= horizon.T else "never within the horizon",
                         "objective": s.objective, "cost": s.cost, "capacity": plan_charts(s, prefix, s.name),
                         "orders": len(s.orders), "leases": len(s.leases), "cash": None,
                         "shortfall": s.shortfall, "excluded": s.excluded}
                if s.cash:
                    charts[f"{prefix}cash"] = _figure_html(cash_figure(s, horizon, cur, f"{s.name}: cash per period"),
                                                           f"{prefix}cash")
                    entry["cash"] = f"{prefix}cash"
                sections["scenarios"].append(entry)
    rows = _decision_rows(result, horizon)
    return _page("plan.html.j2", title=title or f"Plan: {result.instance}", result=result, summary=summary,
                 sections=sections, charts=charts, notes=notes, rows=rows, explanation=explanation,
                 horizon=horizon, cur=cur)


def _summary(result: Result, horizon: pd_.Horizon, instance) -> dict:
    cur = result.currency
    chips = sorted({o.chip for o in [*result.orders, *result.leases]})
    story = ""
    if result.has_plan and result.objective is not None:
        if result.objective_sense == "max_capacity":
            story = f"Reaches {number(result.objective)} of the objective's metric"
        elif result.scenarios:
            measure = result.risk.measure if result.risk else "expected"
            story = (f"Hedges {len(result.scenarios)} scenarios at an expected cost of "
                     f"{money(result.expected_cost, cur)} (objective: {measure} {money(result.objective, cur)})")
        else:
            need = [r for r in result.capacity if r.required]
            last = max(need, key=lambda r: (r.required, -r.period)) if need else None
            story = (f"Meets {number(last.required)} {METRIC_NAME.get(last.metric, last.metric)} by "
                     f"{horizon.label(last.period)} for " if last else "Costs ") + \
                f"{money(result.objective, cur)} (discounted)"
        story += (f": {len(result.orders)} orders and {len(result.leases)} leases of "
                  f"{len(chips)} chip{'s' if len(chips) != 1 else ''} ({', '.join(chips)})"
                  + (" to place now" if result.scenarios else "")) if chips else ": nothing to buy or lease"
        story += "."
    cost_lines = []
    if result.cost is not None:
        c = result.cost
        cost_lines = [("purchases (capex)", c.capex), ("refunds", -c.refunds), ("lease bills", c.lease),
                      ("power", c.power), ("fixed costs", c.fixed), ("total cash", c.total_cash),
                      ("residual credit", -c.residual_credit), ("shortfall penalty (discounted)", c.shortfall),
                      ("objective (discounted)" if not result.scenarios else "expected discounted cost",
                       c.discounted)]
        cost_lines = [(k, v) for k, v in cost_lines if v or k in ("purchases (capex)", "lease bills", "total cash")
                      or k.startswith(("objective", "expected"))]
    return {
        "story": story,
        "instance_hash": pd_.instance_hash(instance) if instance is not None else None,
        "cost_lines": cost_lines,
        "gap": result.solver.mip_gap,
        "months": (f"{horizon.label(1)} .. {horizon.label(horizon.T)}" if horizon.T else ""),
    }


def _decision_rows(result: Result, horizon: pd_.Horizon) -> dict:
    orders = [{"offer": o.offer, "chip": o.chip, "vendor": o.vendor or "", "ordered": horizon.label(o.period),
               "arrives": horizon.label(o.arrives) if o.arrives <= horizon.T else f"period {o.arrives}",
               "units": o.units, "gpus": o.gpus, "unit_price": o.unit_price, "cost": o.cost,
               "status": "delivered" if o.delivered else f"cancelled, refund {money(o.refund, result.currency)}"}
              for o in sorted(result.orders, key=lambda o: (o.period, o.offer))]
    leases = [{"offer": x.offer, "chip": x.chip, "vendor": x.vendor or "", "start": horizon.label(x.start),
               "active": f"{horizon.label(x.first_period)} .. " + (horizon.label(x.last_period)
                                                                   if x.last_period <= horizon.T else f"period {x.last_period}"),
               "units": x.units, "gpus": x.gpus, "unit_price": x.unit_price, "cost": x.cost,
               "void": ", ".join(horizon.label(v) for v in x.void_periods)}
              for x in sorted(result.leases, key=lambda x: (x.start, x.offer))]
    return {"orders": orders, "leases": leases}


# --------------------------------------------------------------------------- sweeps


def sweep_report(rows: list[dict], paths: list[str], name: str, currency: str = "", sampled: bool = False,
                 max_groups: int = 4) -> str:
    """Objective against the first parameter (a line per combination of the others), and the
    plan's mix (capacity share per chip) against it, from the rows of `plan sweep`."""
    import plotly.graph_objects as go

    from optimizer.output.plots import _is_number

    x_path, others = paths[0], ([] if sampled else paths[1:])
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r["params"].get(p) for p in others), []).append(r)
    numeric = all(_is_number(r["params"].get(x_path)) for r in rows)

    def xs(members):
        return [r["params"].get(x_path) if numeric else str(r["params"].get(x_path)) for r in members]

    def key(r):
        v = r["params"].get(x_path)
        return (0, v, "") if numeric else (1, 0, str(v))

    sense = next((r.get("objective_sense") for r in rows), "min_cost")
    metric = next((r.get("mix_metric") for r in rows if r.get("mix_metric")), "capacity")
    charts, ids = {}, []
    fig = go.Figure()
    for combo, members in groups.items():
        members = sorted(members, key=key)
        label = ", ".join(f"{p.split('.')[-2] if '.' in p else p}={v}" for p, v in zip(others, combo)) or "objective"
        fig.add_scatter(name=label, x=xs(members), y=[r["objective"] for r in members],
                        mode="markers" if sampled else "lines+markers",
                        hovertemplate=x_path + " = %{x}<br>objective %{y:,.0f}<extra></extra>")
    lost = [r for r in rows if r["objective"] is None]
    if lost:
        fig.add_scatter(name="no plan", x=xs(lost), y=[0] * len(lost), mode="markers",
                        marker=dict(symbol="x", color="#d62728", size=10))
    fig.update_layout(title=f"Objective against {x_path}", xaxis_title=x_path, height=380,
                      yaxis_title=f"objective ({currency})" if sense == "min_cost" else f"objective ({metric})",
                      legend=dict(orientation="h", y=-0.25))
    charts["objective"] = _figure_html(fig, "objective")
    ids.append("objective")
    chips = sorted({c for r in rows for c, s in (r.get("mix") or {}).items() if s > 0})
    colors = _colors(chips)
    for k, (combo, members) in enumerate(list(groups.items())[:max_groups]):
        members = sorted([r for r in members if r.get("mix")], key=key)
        if not members:
            continue
        fig = go.Figure()
        for c in chips:
            fig.add_scatter(name=c, x=xs(members), y=[r["mix"].get(c, 0.0) for r in members],
                            mode="markers" if sampled else "lines", stackgroup=None if sampled else "mix",
                            line=dict(color=colors[c]), hovertemplate=c + ": %{y:.1%}<extra></extra>")
        sub = ", ".join(f"{p}={v}" for p, v in zip(others, combo))
        fig.update_layout(title=f"Share of {metric} by chip" + (f" at {sub}" if sub else ""), xaxis_title=x_path,
                          yaxis=dict(tickformat=".0%", range=[0, 1]), height=340, legend=dict(orientation="h", y=-0.25))
        charts[f"mix-{k}"] = _figure_html(fig, f"mix-{k}")
        ids.append(f"mix-{k}")
    table = []
    for r in sorted(rows, key=lambda r: tuple(str(r["params"].get(p)) for p in paths)):
        mix = r.get("mix") or {}
        lead = max(sorted(mix), key=lambda c: mix[c]) if mix and max(mix.values()) > 0 else None
        table.append({"params": [r["params"].get(p) for p in paths], "status": r["status"],
                      "objective": r["objective"], "lead": f"{lead} {mix[lead]:.0%}" if lead else "-"})
    done = [r for r in rows if r["objective"] is not None]
    story = ""
    if done and sense == "min_cost":
        lo, hi = min(done, key=lambda r: r["objective"]), max(done, key=lambda r: r["objective"])
        story = (f"The objective ranges from {money(lo['objective'], currency)} ({x_path} = {lo['params'].get(x_path)})"
                 f" to {money(hi['objective'], currency)} ({x_path} = {hi['params'].get(x_path)}).")
    return _page("sweep.html.j2", title=f"Sweep: {name}", name=name, rows=rows, params=paths, sampled=sampled,
                 with_plan=len(done), story=story, charts=charts, chart_ids=ids, table=table)
