"""`plan workbook` / `plan solve -o plan.xlsx`: read back with openpyxl; every Summary formula is
evaluated here (a small evaluator of SUM, SUMPRODUCT and + / - of cells, independent of the
writer) over the sheets' values and compared with the result JSON's cost lines."""

from __future__ import annotations

import datetime
import json
import re

import openpyxl
import pytest
from typer.testing import CliRunner

from cli import app
from conftest import FEATURES, INSTANCES

runner = CliRunner()


def cells(wb, ref: str, sheet) -> list:
    """Values of 'Sheet'!$A$2:$A$9 or B3 (on `sheet`)."""
    m = re.fullmatch(r"(?:'([^']+)'!)?\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?", ref)
    ws = wb[m.group(1)] if m.group(1) else sheet
    if m.group(4) is None:
        return [evaluate(wb, ws, ws[f"{m.group(2)}{m.group(3)}"].value)]
    return [evaluate(wb, ws, c.value) for row in ws[f"{m.group(2)}{m.group(3)}:{m.group(4)}{m.group(5)}"] for c in row]


def evaluate(wb, ws, value):
    if not (isinstance(value, str) and value.startswith("=")):
        return value
    expr = value[1:]
    m = re.fullmatch(r"SUM\((.+)\)", expr)
    if m:
        return sum(v or 0 for v in cells(wb, m.group(1), ws))
    m = re.fullmatch(r"SUMPRODUCT\((.+),(.+)\)", expr)
    if m:
        return sum((a or 0) * (b or 0) for a, b in zip(cells(wb, m.group(1), ws), cells(wb, m.group(2), ws)))
    total, sign = 0.0, 1
    for token in re.findall(r"[+-]|[^+-]+", expr):
        if token in "+-":
            sign = 1 if token == "+" else -1
        else:
            total += sign * (cells(wb, token, ws)[0] or 0)
    return total


def summary(wb) -> dict:
    ws = wb["Summary"]
    return {row[0].value: evaluate(wb, ws, row[1].value) for row in ws.iter_rows(min_row=1) if row[0].value}


def solve_to(tmp_path, instance, name, *extra):
    out_json, out_xlsx = tmp_path / f"{name}.json", tmp_path / f"{name}.xlsx"
    assert runner.invoke(app, ["solve", str(instance), "-o", str(out_json), *extra]).exit_code in (0, 3)
    result = runner.invoke(app, ["workbook", str(out_json), "-o", str(out_xlsx)])
    assert result.exit_code == 0, result.output
    return json.loads(out_json.read_text()), openpyxl.load_workbook(out_xlsx)


def test_cn_workbook_formulas_equal_the_result(tmp_path):
    result, wb = solve_to(tmp_path, INSTANCES / "cn-2023-h1.yaml", "cn")
    assert wb.sheetnames == ["Summary", "Orders", "Leases", "Capacity", "Cash", "Excluded"]
    s, c = summary(wb), result["cost"]
    assert isinstance(wb["Summary"]["B10"].value, str) and wb["Summary"]["B10"].value.startswith("=SUM(")
    for line in ("capex", "refunds", "lease", "power"):
        assert s[line] == pytest.approx(c[line], rel=1e-12), line
    assert s["total cash"] == pytest.approx(c["total_cash"], rel=1e-12)
    orders = wb["Orders"]
    assert orders.max_row == 1 + len(result["orders"]) and orders.freeze_panes == "A2"
    assert orders.auto_filter.ref.startswith("A1:")
    assert orders["E2"].value == datetime.datetime(2023, 4, 1) and orders["E2"].number_format == "yyyy-mm"
    assert "CNY" in orders["K2"].number_format
    cap = wb["Capacity"]
    header = [x.value for x in cap[1]]
    rows = {(r["metric"], r["period"]): r for r in result["capacity"]}
    col = header.index("bf16_tflops available")
    for t in range(1, 13):
        assert cap.cell(row=1 + t, column=col + 1).value == rows["bf16_tflops", t]["available"]
        assert cap.cell(row=1 + t, column=col + 2).value == rows["bf16_tflops", t]["required"]
    assert len(cap._charts) == 2  # bf16 and fp64: capacity vs requirement, native charts
    cash = wb["Cash"]
    for i, r in enumerate(result["cash"], start=2):
        assert evaluate(wb, cash, cash[f"G{i}"].value) == pytest.approx(r["total"], rel=1e-12)
    assert [x.value for x in wb["Excluded"]["A"][1:]] == [e["offer"] for e in result["excluded"]]


def test_budget_room_is_a_formula(tmp_path):
    # budget-per-period.yaml: period 1 spends 16 of 16 (room 0); period 2 spends 6 of 16 (room 10).
    _, wb = solve_to(tmp_path, FEATURES / "budget-per-period.yaml", "budget")
    cash = wb["Cash"]
    assert [cash[f"H{i}"].value for i in (2, 3)] == [16, 16]
    assert [evaluate(wb, cash, cash[f"I{i}"].value) for i in (2, 3)] == [0, 10]
    assert cash["B2"].value is None and cash["C2"].value == 10  # no horizon.start: no month; A bought for 10


def test_scenario_workbook_expectations(tmp_path):
    result, wb = solve_to(tmp_path, INSTANCES / "cn-2023-h1-hedge.yaml", "hedge")
    assert "Scenarios" in wb.sheetnames
    s = summary(wb)
    # the top-level cost lines of a scenario result are the probability-weighted expectation (MODEL.md 8)
    for line in ("capex", "refunds", "lease", "power", "fixed"):
        assert s[line] == pytest.approx(result["cost"][line], rel=1e-9), line
    assert s["expected discounted cost"] == pytest.approx(
        sum(x["probability"] * x["objective"] for x in result["scenarios"]), rel=1e-12)
    assert s["expected discounted cost"] == pytest.approx(result["expected_cost"], rel=1e-9)
    names = {r[0].value for r in wb["Capacity"].iter_rows(min_row=2)}
    assert names == {x["name"] for x in result["scenarios"]}
    cancelled = [r for r in wb["Orders"].iter_rows(min_row=2, values_only=True) if r[11] == "cancelled"]
    assert len(cancelled) == sum(not o["delivered"] for o in result["orders"])


def test_solve_writes_a_workbook_by_extension(tmp_path):
    out = tmp_path / "plan.xlsx"
    assert runner.invoke(app, ["solve", str(FEATURES / "tiny.yaml"), "-o", str(out)]).exit_code == 0
    wb = openpyxl.load_workbook(out)
    # tiny.yaml: 3 one-period leases of 3 units at 3 = 27, nothing bought
    assert summary(wb)["lease"] == 27 and summary(wb)["capex"] == 0
    assert runner.invoke(app, ["solve", str(FEATURES / "tiny.yaml"), "-o", str(tmp_path / "plan.csv")]).exit_code == 2
