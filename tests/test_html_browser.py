"""The HTML reports in a real browser: headless Chromium from the system's packages (selenium,
tests/browser.py). Each kind of report is opened, its charts must all be drawn, no script error
may occur, the charts must hold the plan's numbers (read back from plotly's data in the page)
and a screenshot is saved (in PLAN_SCREENSHOTS when set, else the test's tmp folder).

Outside CI the module skips when Chromium is missing; in CI (CI=true) that is a failure:
.ci/run installs chromium and chromium-driver from Debian.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from browser import chart_data, chromium, full_screenshot, in_ci, open_report, script_errors
from cli import app
from conftest import FEATURES, INSTANCES

runner = CliRunner()


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    if driver is None:
        message = "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        if in_ci():
            pytest.fail(message + ": CI must run the browser test")
        pytest.skip(message)
    yield driver
    driver.quit()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("PLAN_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def plan(*args) -> int:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code


def look(browser, page: Path, shot: Path) -> int:
    charts = open_report(browser, page)
    assert script_errors(browser) == []
    full_screenshot(browser, shot)
    assert shot.stat().st_size > 10_000
    browser.set_window_size(1280, 900)
    return charts


def test_tiny_plan_report_holds_the_hand_derived_plan(browser, tmp_path, shots):
    # tiny.yaml (arithmetic in its header): lease 3 units of X in each of periods 1, 2, 3.
    # One unit = 4 GPUs x 100 TFLOPS = 400, so 1200 TFLOPS in service in every period, against
    # 1000 required; cash = 3 units x 3 = 9 of lease bills per period, no purchases.
    out, page = tmp_path / "tiny.json", tmp_path / "tiny.html"
    assert plan("solve", FEATURES / "tiny.yaml", "-o", out, "--report", page) == 0
    assert look(browser, page, shots / "tiny-report.png") == 3  # capacity, cash, timeline
    cap = chart_data(browser, "cap-bf16_tflops")
    bars = [t for t in cap if t["type"] == "bar"]
    assert [t["name"] for t in bars] == ["X"]
    assert bars[0]["y"] == [1200, 1200, 1200]
    assert "X-lease: 3 units x 400" in bars[0]["customdata"][0]
    required = next(t for t in cap if t["name"] == "required")
    assert required["y"] == [1000, 1000, 1000]
    cash = {t["name"]: t["y"] for t in chart_data(browser, "cash")}
    assert cash["lease bills"] == [9, 9, 9] and cash["purchases"] == [0, 0, 0]
    timeline = chart_data(browser, "timeline")
    assert sorted({y for t in timeline for y in t["y"]}) == [f"lease X-lease x3 @period {t}" for t in (1, 2, 3)]
    assert browser.find_element("id", "objective").text == "27.00 USD"


def test_budget_per_period_report_shows_the_budget_line(browser, tmp_path, shots):
    # budget-per-period.yaml: buy 1 A (10) + lease 1 L (6) in period 1 = 16 = the cap; in period 2
    # lease one unit again (a one-period term): 6.
    page = tmp_path / "budget.html"
    assert plan("solve", FEATURES / "budget-per-period.yaml", "--report", page) == 0
    look(browser, page, shots / "budget-report.png")
    cash = {t["name"]: t["y"] for t in chart_data(browser, "cash")}
    assert cash["purchases"] == [10, 0]
    assert cash["lease bills"] == [6, 6]
    assert cash["budget per period"] == [16, 16]


def test_cn_report_charts_hold_the_result(browser, tmp_path, shots):
    """The README's report: every capacity bar stack and requirement point is the result's."""
    out, page = tmp_path / "cn.json", tmp_path / "cn.html"
    assert plan("solve", INSTANCES / "cn-2023-h1.yaml", "-o", out, "--report", page) == 0
    look(browser, page, shots / "cn-2023-h1-report.png")
    result = json.loads(out.read_text())
    for metric in ("bf16_tflops", "fp64_tflops"):
        rows = sorted((r for r in result["capacity"] if r["metric"] == metric), key=lambda r: r["period"])
        traces = chart_data(browser, f"cap-{metric}")
        stacked = [sum(t["y"][i] for t in traces if t["type"] == "bar") for i in range(len(rows))]
        assert stacked == pytest.approx([r["available"] for r in rows], rel=1e-9)
        assert next(t for t in traces if t["name"] == "required")["y"] == [r["required"] for r in rows]
    cash = {t["name"]: t["y"] for t in chart_data(browser, "cash")}
    assert cash["purchases"] == [r["purchases"] for r in result["cash"]]
    assert sum(cash["power"]) == pytest.approx(result["cost"]["power"])
    labels = {y for t in chart_data(browser, "timeline") for y in t["y"]}
    assert len(labels) == len(result["orders"]) + len(result["leases"])


def test_scenario_report_marks_expectation_and_cvar(browser, tmp_path, shots):
    out, page = tmp_path / "hedge.json", tmp_path / "hedge.html"
    assert plan("solve", INSTANCES / "cn-2023-h1-hedge.yaml", "-o", out) == 0
    assert plan("report", out, "--instance", INSTANCES / "cn-2023-h1-hedge.yaml", "-o", page) == 0
    look(browser, page, shots / "hedge-report.png")
    result = json.loads(out.read_text())
    scen = sorted(result["scenarios"], key=lambda s: s["objective"])
    traces = chart_data(browser, "scenario-costs")
    assert traces[0]["y"] == [s["objective"] for s in scen]
    expected = sum(s["probability"] * s["objective"] for s in scen)
    # CVaR at 0.9 of two outcomes: the worst 10 % lies inside the costlier scenario (p = 0.4 >= 0.1),
    # so CVaR is that scenario's cost.
    assert traces[1]["y"][0] == pytest.approx(expected) and traces[1]["name"].startswith("expected")
    assert traces[2]["y"][0] == pytest.approx(scen[-1]["objective"]) and traces[2]["name"].startswith("CVaR 0.9")
    for i, s in enumerate(result["scenarios"]):  # each scenario's own capacity
        rows = sorted((r for r in s["capacity"] if r["metric"] == "bf16_tflops"), key=lambda r: r["period"])
        stacked = [sum(t["y"][k] for t in chart_data(browser, f"s{i}-cap-bf16_tflops") if t["type"] == "bar")
                   for k in range(len(rows))]
        assert stacked == pytest.approx([r["available"] for r in rows], rel=1e-9)
    labels = {y for t in chart_data(browser, "timeline") for y in t["y"]}
    assert len(labels) == len(result["orders"]) + len(result["leases"])  # the decisions to place now


def test_infeasible_report_shows_the_diagnosis_not_charts(browser, tmp_path, shots):
    out, page = tmp_path / "inf.json", tmp_path / "inf.html"
    assert plan("solve", FEATURES / "infeasible-budget.yaml", "-o", out) == 3
    assert plan("report", out, "-o", page) == 0
    assert look(browser, page, shots / "infeasible-report.png") == 0
    rows = browser.find_elements("css selector", "#diagnosis tbody tr")
    assert len(rows) == len(json.loads(out.read_text())["diagnosis"]) > 0
    assert "raise" in browser.find_element("id", "diagnosis").text  # budget.total 25 M -> 30 M


def test_sweep_report(browser, tmp_path, shots):
    # tiny.yaml with the lease price at 2, 3, 4: leasing 3 units in all 3 periods costs 9 x price
    # (18, 27, 36) unless buying is cheaper: buy 3 in period 1 (30) + lease 3 in period 1 (3 x price):
    # 36 at price 2, 39 at 3, 42 at 4; leasing throughout wins at every point.
    page = tmp_path / "sweep.html"
    assert plan("sweep", FEATURES / "tiny.yaml", "--param", "offers.X-lease.unit_price", "--values", "2,3,4",
                "--report", page) == 0
    look(browser, page, shots / "sweep-report.png")
    objective = chart_data(browser, "objective")[0]
    assert objective["x"] == [2, 3, 4] and objective["y"] == [18, 27, 36]
    mix = chart_data(browser, "mix-0")
    assert [t["name"] for t in mix] == ["X"] and mix[0]["y"] == [1, 1, 1]


def test_diff_report(browser, tmp_path, shots):
    # tiny at lease price 3 (27: leases only) against lease price 20: 3 leased units in period 1
    # cost 60; buying 3 in period 1 (30) covers periods 2-3: 30 + 60 = 90 (leasing throughout: 180).
    a, b, page = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "diff.html"
    assert plan("solve", FEATURES / "tiny.yaml", "-o", a) == 0
    assert plan("solve", FEATURES / "tiny.yaml", "--set", "offers.X-lease.unit_price=20", "-o", b) == 0
    assert plan("diff", a, b, "--report", page) == 0
    look(browser, page, shots / "diff-report.png")
    waterfall = chart_data(browser, "waterfall")[0]
    # net cost 27 -> 90: capex +30, lease 60 - 27 = +33
    assert waterfall["x"] == ["A", "capex", "lease", "B"] and waterfall["y"] == [27, 30, 33, 90]
