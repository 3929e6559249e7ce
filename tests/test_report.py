"""The terminal report reads at 80 columns and says plainly what the plan is (issue 14)."""

from __future__ import annotations

from rich.console import Console

from optimizer.output.report import group_leases, print_report
from tests.conftest import FEATURES, INSTANCES, solve_file


def render(result, width: int = 80, **kw) -> str:
    console = Console(width=width, record=True, color_system=None, highlight=False)
    print_report(result, console, **kw)
    return console.export_text()


def test_ids_are_never_cut_at_80_columns():
    result = solve_file(INSTANCES / "cn-2023-h1.yaml")
    text = render(result, 80)
    ids = {o.offer for o in result.orders} | {x.offer for x in result.leases}
    for offer_id in ids:
        assert offer_id in text, offer_id
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80


def test_repeated_one_period_leases_are_grouped():
    result = solve_file(INSTANCES / "cn-2023-h1.yaml")
    groups = group_leases(result.leases)
    # every lease is in exactly one group, and a group is one offer with consecutive starts
    assert sum(len(g) for _starts, g in groups) == len(result.leases)
    for starts, g in groups:
        assert len({x.offer for x in g}) == 1 and starts == list(range(starts[0], starts[0] + len(starts)))
    assert len(groups) < len(result.leases)
    assert "2023-12..2024-03" in render(result, 120)  # one row for the starts of Dec 2023 - Mar 2024


def test_cash_against_the_per_period_budget():
    # budget-per-period.yaml: period 1 spends 16 of 16 (header), so 0 is left
    text = render(solve_file(FEATURES / "budget-per-period.yaml"), 100)
    assert "Cash by period" in text and "budget" in text


def test_a_plan_stopped_by_the_time_limit_says_so():
    result = solve_file(FEATURES / "tiny.yaml")
    result.status, result.solver.mip_gap = "feasible", 0.0016
    assert "stopped at the time limit: not proven optimal, gap 0.16%" in render(result)


def test_site_power_against_its_cap():
    # site-power.yaml: the site is full (3 kW of 3) in both periods (its header)
    result = solve_file(FEATURES / "site-power.yaml")
    assert [(row.site_kw, row.site_cap_kw) for row in result.cash] == [(3, 3), (3, 3)]
    assert "site kW" in render(result, 100)
