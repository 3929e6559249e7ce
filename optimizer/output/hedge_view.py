"""The terminal view of `plan hedge`: the value of planning for several futures, in words."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from optimizer.output.report import money


def print_hedge(h, console: Console) -> None:
    cur = h.currency
    if h.rp is None:
        console.print(f"[bold]{escape(h.instance)}[/]: the scenario plan has [bold red]no plan[/] ({h.status})")
    else:
        console.print(f"[bold]{escape(h.instance)}[/]: hedged plan (risk {h.measure}) {money(h.rp)} {cur}")
    table = Table(title="Per scenario", title_justify="left")
    for col in ("scenario", f"alone (wait-and-see) {cur}", f"naive plan for {h.naive.plan_for} {cur}"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for name, ws in h.wait_and_see.items():
        naive = h.naive.scenarios[name]
        cell = money(naive.objective) if naive.objective is not None else f"[red]{naive.status}[/]"
        table.add_row(escape(name), money(ws), cell)
    console.print(table)
    if h.evpi is not None:
        console.print(f"Knowing the future from period 1 would be worth {money(h.evpi)} {cur} (EVPI = RP - R(WS) ="
                      f" {money(h.rp)} - {money(h.ws)}).")
    if h.vss is not None:
        console.print(f"The naive plan for {escape(h.naive.plan_for)} costs {money(h.naive.objective)} {cur}; hedging"
                      f" saves {money(h.vss)} {cur} (VSS).")
    else:
        for name, naive in h.naive.scenarios.items():
            if naive.objective is None:
                console.print(f"The naive plan for {escape(h.naive.plan_for)} has no plan in {escape(name)}:")
                for line in naive.why:
                    console.print(f"  - {escape(line)}")
        console.print("VSS is undefined: the naive plan cannot be completed in every scenario.")
    console.print("[bold]What to do now[/]")
    for line in h.hedged_now or ["nothing to order or lease yet"]:
        console.print(f"  - {escape(line)}")
    for line in h.differences:
        console.print(f"  {escape(line)}")
