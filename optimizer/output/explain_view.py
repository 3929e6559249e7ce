"""What `plan explain` and a `plan solve` without a plan show on the terminal: the plan's report,
then the binding rules, marginal values and break-even prices, or why there is no plan. Made from
the `Explanation` and the `Diagnosis` rows alone (optimizer/analysis/ computes them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.result import Diagnosis

if TYPE_CHECKING:
    from optimizer.analysis.explain import Explanation


def print_diagnosis(diagnosis: list[Diagnosis], console) -> None:
    """The diagnosis as a short list under the report of a run without a plan."""
    from rich.markup import escape

    if not diagnosis:
        return
    console.print("[bold]Why there is no plan[/]")
    marks = {"cause": "[red]-[/]", "relax": "[yellow]-[/]", "lower": "[yellow]-[/]", "conflict": "[magenta]-[/]"}
    for d in diagnosis:
        if d.kind == "note":
            console.print(f"  {escape(d.action)}", soft_wrap=True)
        else:
            console.print(f"  {marks[d.kind]} {escape(d.action)}", soft_wrap=True)


def print_explanation(ex: Explanation, console) -> None:
    """The terminal form of `plan explain`."""
    from rich.markup import escape

    from optimizer.output.report import print_report

    print_report(ex.result, console)
    if ex.diagnosis is not None:
        print_diagnosis(ex.diagnosis, console)
        return
    if not ex.result.has_plan:
        return
    console.print("[bold]Binding rules[/] (met with no room to spare)")
    if not ex.binding:
        console.print("  none: every requirement has spare capacity and every limit has room")
    for b in ex.binding:
        console.print(f"  - {escape(b.text)}", soft_wrap=True)
    console.print("[bold]Marginal values[/] (pricing LP: the plan's on/off decisions fixed, units fractional)")
    if not ex.marginal_values:
        console.print("  none: no requirement or limit has a price at the margin")
    for mv in ex.marginal_values:
        console.print(f"  - {escape(mv.text)}", soft_wrap=True)
    if ex.break_even:
        console.print(f"[bold]Break-even unit prices[/] ({ex.currency}; where the plan would change)")
        for b in ex.break_even:
            console.print(f"  - {escape(b.text)}", soft_wrap=True)
    for n in ex.notes:
        console.print(f"  note: {escape(n)}", soft_wrap=True)
