"""What `plan check` shows: the plan is valid, or the broken rules first and a count of the
reported figures that follow from them (the JSON report lists every one)."""

from __future__ import annotations


def print_check(report, plan_file, console) -> None:
    from rich.markup import escape
    from rich.table import Table

    if report.ok:
        console.print(f"[green]{report.describe()}[/]")
        return
    table = Table(title=f"{report.summary()}: {plan_file}", title_justify="left")
    for col in ("rule", "place", "size", "message"):
        table.add_column(col, justify="right" if col == "size" else "left")
    for v in report.lead():
        table.add_row(escape(v.rule), escape(v.place), f"{v.size:,.6g}", escape(v.message))
    console.print(table)
    if report.roots() and report.consequences():
        console.print(f"[dim]{len(report.consequences())} reported figures that follow: --json lists them[/]")
