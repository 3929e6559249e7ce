"""PNG charts of sweeps and tornados (matplotlib, Agg backend: no display needed).

Figures are built with `matplotlib.figure.Figure`, not pyplot, so no global state is kept, and
written atomically (a temp file in the same folder, then a rename).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def save_png(fig, path: str | Path) -> None:
    """Write the figure to `path` atomically: never half-written."""
    from optimizer.output.files import write_atomic

    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _short(path: str) -> str:
    return path if len(path) <= 48 else "..." + path[-45:]


def switch_points(xs: list[float], mixes: list[dict]) -> list[tuple[float, float, str, str]]:
    """Where the chip with the largest share changes between neighbouring points:
    (last x before, first x after, chip before, chip after). The switch lies somewhere in that
    interval: a grid does not say where (plan explain's break-even prices do)."""
    out = []
    previous = None
    for i, mix in enumerate(mixes):
        if not mix or max(mix.values()) <= 0:
            continue
        top = max(sorted(mix), key=lambda c: mix[c])
        if previous is not None and top != previous[1]:
            out.append((previous[0], xs[i], previous[1], top))
        previous = (xs[i], top)
    return out


def money_axis(ax, currency: str, axis: str = "y") -> None:
    """Tick labels as '57.4 M CNY' instead of matplotlib's 1e7 offset."""
    from matplotlib.ticker import FuncFormatter

    def fmt(v, _pos):
        a = abs(v)
        for limit, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
            if a >= limit:
                return f"{v / limit:,.4g}{suffix} {currency}".strip()
        return f"{v:,.4g} {currency}".strip()

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(fmt))


def plot_sweep(rows: list[dict], paths: list[str], out: str | Path, title: str, currency: str = "",
               sampled: bool = False, max_groups: int = 4, base_value: float | None = None,
               x_unit: str = "") -> None:
    """Objective against the first parameter, and the plan's mix (capacity share per chip)
    against it, with the switch points (where the leading chip changes) marked.

    Several parameters: one objective line per combination of the others, and one mix panel per
    combination (the first `max_groups`). Random samples: scatter plots instead of lines.
    """
    x_path = paths[0]
    others = paths[1:]
    numeric = all(_is_number(r["params"].get(x_path)) for r in rows)
    categories = [] if numeric else list(dict.fromkeys(str(r["params"].get(x_path)) for r in rows))

    def xval(r):
        v = r["params"].get(x_path)
        return v if numeric else categories.index(str(v))

    groups: dict[tuple, list[dict]] = {}
    if sampled:  # random scenarios: one cloud against the first parameter
        others, groups = [], {(): list(rows)}
    for r in rows if not sampled else []:
        groups.setdefault(tuple(r["params"].get(p) for p in others), []).append(r)
    chips = sorted({c for r in rows for c, s in (r.get("mix") or {}).items() if s > 0})
    metric = next((r.get("mix_metric") for r in rows if r.get("mix_metric")), "capacity")
    sense = next((r.get("objective_sense") for r in rows), "min_cost")
    y_label = f"objective ({currency})" if sense == "min_cost" else f"objective ({metric})"

    shown = list(groups.items())[:max_groups]
    fig = _figure(9, 3.2 + 2.6 * len(shown))
    axes = fig.subplots(1 + len(shown), 1, sharex=True, squeeze=False)[:, 0]
    colors = {c: f"C{i % 10}" for i, c in enumerate(chips)}

    ax = axes[0]
    for g, (combo, members) in enumerate(groups.items()):
        members = sorted(members, key=xval)
        label = ", ".join(f"{_short(p)}={v:.4g}" if _is_number(v) else f"{_short(p)}={v}"
                          for p, v in zip(others, combo)) or None
        pts = [(xval(r), r["objective"]) for r in members if r["objective"] is not None]
        style = dict(marker="o", markersize=3)
        if sampled:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=10, label=label)
        else:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, **style)
        lost = [xval(r) for r in members if r["objective"] is None]
        if lost:
            ax.scatter(lost, [0] * len(lost), marker="x", color="red", zorder=3,
                       label="no plan" if g == 0 else None, transform=ax.get_xaxis_transform())
    ax.set_ylabel(y_label)
    if sense == "min_cost":
        money_axis(ax, currency)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(groups) > 1 or any(r["objective"] is None for r in rows):
        ax.legend(fontsize="small", loc="best")

    for k, (combo, members) in enumerate(shown):
        axm = axes[1 + k]
        members = sorted(members, key=xval)
        with_plan = [r for r in members if r.get("mix")]
        xs = [xval(r) for r in with_plan]
        if sampled:
            for c in chips:
                axm.scatter(xs, [r["mix"].get(c, 0) for r in with_plan], s=10, color=colors[c], label=c)
        elif with_plan:
            axm.stackplot(xs, *[[r["mix"].get(c, 0) for r in with_plan] for c in chips],
                          labels=chips, colors=[colors[c] for c in chips], alpha=0.85)
            for x0, x1, before, after in switch_points(xs, [r["mix"] for r in with_plan]):
                for a in (ax, axm):  # somewhere in this interval, not at a known price
                    a.axvspan(x0, x1, color="grey", alpha=0.15, linewidth=0)
                axm.annotate(f"{before} -> {after}\nbetween these points", ((x0 + x1) / 2, 1.0), xytext=(0, -4),
                             textcoords="offset points", fontsize="x-small", ha="center", va="top")
        axm.set_ylim(0, 1)
        axm.set_ylabel(f"share of {metric}")
        axm.grid(alpha=0.3)
        sub = ", ".join(f"{_short(p)}={v:.4g}" if _is_number(v) else f"{_short(p)}={v}" for p, v in zip(others, combo))
        if sub:
            axm.set_title(f"mix at {sub}", fontsize="small")
        if k == 0 and chips:
            axm.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    if len(groups) > len(shown) and not sampled:
        axes[-1].set_title((axes[-1].get_title() + f" (mix shown for {len(shown)} of {len(groups)} combinations)").strip(),
                           fontsize="small")
    if base_value is not None and numeric:
        for a in axes:
            a.axvline(base_value, color="black", linestyle=":", linewidth=1)
        ax.annotate("instance value", (base_value, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3),
                    textcoords="offset points", fontsize="x-small", va="top")
    axes[-1].set_xlabel(_short(x_path) + (f" ({x_unit})" if x_unit else ""))
    if numeric and len(x_unit) == 3 and x_unit.isupper():  # a price: 1.4 M CNY, not 1.4 and a 1e6 offset
        money_axis(axes[-1], x_unit, axis="x")
    if categories:
        axes[-1].set_xticks(range(len(categories)), categories, rotation=30, ha="right")
    save_png(fig, out)


def plot_tornado(bars: list[dict], base_objective: float | None, out: str | Path, title: str,
                 currency: str = "", swing: float = 0.2, top: int = 25) -> None:
    """One row per price, largest impact on top: the change of the objective when the price
    falls by `swing` (blue) and rises by it (orange). A swing that leaves no plan is marked."""
    shown = bars[:top]
    fig = _figure(9, 1.2 + 0.32 * max(len(shown), 3))
    ax = fig.subplots()
    ys = list(range(len(shown)))[::-1]
    for y, bar in zip(ys, shown):
        for side, color in (("low", "C0"), ("high", "C1")):
            delta = bar[f"{side}_delta"]
            if delta is None:
                ax.annotate(f"{side}: no plan", (0, y), xytext=(4 if side == "high" else -4, 0),
                            textcoords="offset points", ha="left" if side == "high" else "right",
                            va="center", fontsize="x-small", color="red")
                continue
            ax.barh(y, delta, height=0.6, color=color,
                    label=f"price -{swing:.0%}" if side == "low" and y == ys[0] else
                    (f"price +{swing:.0%}" if side == "high" and y == ys[0] else None))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(ys, [_short(b["label"]) for b in shown], fontsize="small")
    base = "no plan" if base_objective is None else \
        f"{base_objective:,.0f}" if abs(base_objective) >= 100 else f"{base_objective:,.6g}"
    ax.set_xlabel(f"change of the objective ({currency}) from the base {base}".replace(" ()", ""))
    money_axis(ax, currency, axis="x")
    more = f" (top {len(shown)} of {len(bars)})" if len(bars) > len(shown) else ""
    ax.set_title(title + more)
    ax.grid(axis="x", alpha=0.3)
    if shown:
        ax.legend(fontsize="small", loc="lower right")
    save_png(fig, out)
