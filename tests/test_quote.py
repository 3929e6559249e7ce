"""`plan quote`: quote lines, totals and the three formats, checked against hand arithmetic."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
import yaml
from typer.testing import CliRunner

from cli import app
from models.result import SCHEMA_VERSION
from tests.conftest import solve_file

runner = CliRunner()

# One buy and one lease, in two currencies, with a price break, a fixed cost and a year change.
# Need 400 BF16 TFLOPS in periods 1-2 and 800 in periods 3-4 (months 2024-11 .. 2025-02).
# - B-lease: 1 GPU x 100 TFLOPS per unit, 700 CNY = 70 USD (fx 0.1) per unit per period, term 2.
#   Period 1 can only be leased: 4 units started in period 1 cover periods 1-2: 4 x 70 x 2 = 560.
# - A-buy: 4 GPUs x 100 = 400 per unit, ordered only in period 2 (window [2, 2]), arriving in
#   period 3. Periods 3-4 need 800: 2 units at the break price 450 = 900, + fixed cost 50 = 950;
#   leasing instead costs 8 x 70 x 2 = 1120, and 1 unit + 4 leased 500 + 50 + 560 = 1110.
# Optimum: 560 + 900 + 50 = 1510.
INSTANCE = {
    "name": "quote-demo",
    "currency": "USD",
    "fx": {"CNY": 0.1},
    "horizon": {"periods": 4, "start": "2024-11"},
    "chips": [
        {"id": "A", "vendor": "NVIDIA", "bf16_tflops": 100},
        {"id": "B", "vendor": "Huawei", "bf16_tflops": 100},
    ],
    "offers": [
        {"id": "A-buy", "chip": "A", "kind": "buy", "gpus_per_unit": 4, "unit_price": 500, "lead_time": 1,
         "available_from": 2, "available_until": 2, "fixed_cost": 50,
         "price_breaks": [{"min_units": 2, "unit_price": 450}]},
        {"id": "B-lease", "chip": "B", "kind": "lease", "gpus_per_unit": 1, "unit_price": 700, "currency": "CNY",
         "term": 2},
    ],
    "requirements": [{"metric": "bf16_tflops", "schedule": {1: 400, 3: 800}}],
}

LEASE_LINE = {
    "line": 1, "offer": "B-lease", "vendor": "Huawei", "chip": "B", "kind": "lease", "units": 4, "gpus": 4,
    "unit_price": 70.0, "price_basis": "per unit per period", "billed_periods": 2, "extended_price": 560.0,
    "currency": "USD", "order_period": 1, "order_month": "2024-11", "delivery_period": 1,
    "delivery_month": "2024-11", "lease_term": 2, "lease_last_period": 2, "lease_last_month": "2024-12",
}
BUY_LINE = {
    "line": 2, "offer": "A-buy", "vendor": "NVIDIA", "chip": "A", "kind": "buy", "units": 2, "gpus": 8,
    "unit_price": 450.0, "price_basis": "per unit", "billed_periods": 1, "extended_price": 900.0,
    "currency": "USD", "order_period": 2, "order_month": "2024-12", "delivery_period": 3,
    "delivery_month": "2025-01", "lease_term": None, "lease_last_period": None, "lease_last_month": None,
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quote")
    inst = folder / "quote-demo.yaml"
    inst.write_text(yaml.safe_dump(INSTANCE, sort_keys=False))
    result = solve_file(inst)
    assert result.status == "optimal" and result.objective == pytest.approx(1510)
    plan = folder / "plan.json"
    plan.write_text(result.model_dump_json(indent=2))
    return folder, inst, plan


def run(*args):
    return runner.invoke(app, ["quote", *[str(a) for a in args]])


def _close(a: dict, b: dict):
    for key, value in b.items():
        if isinstance(value, float):
            assert a[key] == pytest.approx(value), key
        else:
            assert a[key] == value, key


def test_json_quote_lines_and_totals(files):
    folder, inst, plan = files
    res = run(plan, "--format", "json")
    assert res.exit_code == 0, res.output
    quote = json.loads(res.stdout)
    lines = quote["lines"]
    assert [x["kind"] for x in lines] == ["lease", "buy", "fixed"]
    _close(lines[0], LEASE_LINE)
    _close(lines[1], BUY_LINE)
    # the result does not itemise fixed costs by offer: one line for all, with a note
    _close(lines[2], {"offer": "(all offers)", "kind": "fixed", "extended_price": 50.0, "units": None})
    assert any("itemise" in n for n in quote["notes"])
    _close(quote["totals"], {"buy": 900.0, "lease": 560.0, "fixed": 50.0, "total": 1510.0, "units": 6, "gpus": 12})
    assert quote["currency"] == "USD" and quote["schema_version"] == SCHEMA_VERSION


def test_instance_itemises_fixed_costs_by_offer(files):
    folder, inst, plan = files
    res = run(plan, "-f", "json", "--instance", inst)
    assert res.exit_code == 0, res.output
    lines = json.loads(res.stdout)["lines"]
    # A-buy's fixed cost goes with its first (only) order, in period 2
    _close(lines[2], {"offer": "A-buy", "vendor": "NVIDIA", "kind": "fixed", "unit_price": 50.0,
                      "price_basis": "once", "extended_price": 50.0, "order_period": 2, "order_month": "2024-12"})
    assert not any("itemise" in n for n in json.loads(res.stdout)["notes"])


def test_older_result_without_vendors_gets_them_from_the_instance(files):
    folder, inst, plan = files
    data = json.loads(plan.read_text())
    for row in data["orders"] + data["leases"]:
        del row["vendor"]
    data["schema_version"] = "1.0.0"
    old = folder / "old.json"
    old.write_text(json.dumps(data))
    lines = json.loads(run(old, "-f", "json").stdout)["lines"]
    assert lines[0]["vendor"] is None
    lines = json.loads(run(old, "-f", "json", "--instance", inst).stdout)["lines"]
    assert [x["vendor"] for x in lines] == ["Huawei", "NVIDIA", "NVIDIA"]


def test_csv_has_a_header_the_lines_and_a_total_row(files):
    folder, inst, plan = files
    out = folder / "quote.csv"
    res = run(plan, "-o", out)  # format from the suffix
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["line"] for r in rows] == ["1", "2", "3", "total"]
    assert rows[0]["offer"] == "B-lease" and rows[0]["unit_price"] == "70.00" and rows[0]["extended_price"] == "560.00"
    assert rows[0]["lease_term"] == "2" and rows[0]["delivery_month"] == "2024-11"
    assert rows[1]["delivery_month"] == "2025-01" and rows[1]["lease_term"] == ""
    assert rows[-1]["extended_price"] == "1510.00" and rows[-1]["units"] == "6" and rows[-1]["gpus"] == "12"
    # stdout gives the same text
    assert run(plan, "-f", "csv").stdout == out.read_text()


def test_xlsx_has_formatted_money_and_real_months(files):
    from openpyxl import load_workbook

    folder, inst, plan = files
    out = folder / "quote.xlsx"
    res = run(plan, "-o", out, "--instance", inst)
    assert res.exit_code == 0, res.output
    ws = load_workbook(out)["Quote"]
    header = [c.value for c in ws[6]]
    col = {name: header.index(name) + 1 for name in header}
    lease = {name: ws.cell(row=7, column=j) for name, j in col.items()}
    assert lease["offer"].value == "B-lease" and lease["extended price"].value == pytest.approx(560)
    assert "USD" in lease["unit price"].number_format and "#,##0.00" in lease["extended price"].number_format
    assert lease["order month"].value == datetime(2024, 11, 1) and lease["order month"].number_format == "yyyy-mm"
    totals = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=col["extended price"])
              for r in range(10, ws.max_row + 1)}
    assert totals["total"].value == pytest.approx(1510) and "USD" in totals["total"].number_format
    assert totals["subtotal buy"].value == pytest.approx(900)
    assert totals["subtotal lease"].value == pytest.approx(560)
    assert totals["subtotal fixed"].value == pytest.approx(50)


def test_no_plan_exits_3(files, tmp_path):
    folder, inst, plan = files
    data = json.loads(plan.read_text())
    data.update(status="infeasible", objective=None, cost=None, orders=[], leases=[], message="no plan")
    none = tmp_path / "none.json"
    none.write_text(json.dumps(data))
    res = run(none)
    assert res.exit_code == 3 and "no plan to quote" in res.output


def test_bad_inputs_exit_2_with_a_message(files, tmp_path):
    folder, inst, plan = files
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    res = run(garbage)
    assert res.exit_code == 2 and "not JSON" in res.output
    shape = tmp_path / "shape.json"
    shape.write_text(json.dumps({"status": "optimal"}))
    res = run(shape)
    assert res.exit_code == 2 and "not a result of `plan solve`" in res.output
    assert run(plan, "-f", "pdf").exit_code == 2
    res = run(plan, "-f", "xlsx")
    assert res.exit_code == 2 and "-o" in res.output
    assert run(plan, "-o", tmp_path / "missing" / "q.csv").exit_code == 2
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**INSTANCE, "currency": "EUR", "fx": {"CNY": 0.1, "USD": 0.9}}))
    res = run(plan, "--instance", other)
    assert res.exit_code == 2 and "EUR" in res.output


def test_quote_from_tiny_has_no_vendor_but_works():
    from models.loading import load_instance
    from optimizer.output.quote import build_quote
    from optimizer.planning.solve import solve_instance
    from tests.conftest import FEATURES

    quote = build_quote(solve_instance(load_instance(FEATURES / "tiny.yaml")))
    # tiny.yaml: lease 3 units in each of periods 1, 2, 3 at 3 per unit = 9 each, 27 in all
    assert [(x.order_period, x.units, x.extended_price) for x in quote.lines] == [(1, 3, 9), (2, 3, 9), (3, 3, 9)]
    assert quote.totals.total == 27 and quote.lines[0].order_month is None
    assert any("vendor" in n for n in quote.notes)


def test_a_scenario_plan_is_quoted_by_its_decisions_to_place_now():
    # scenarios-expected.yaml: the decision common to both worlds is 1 B in period 1 at 5 (header)
    from models.loading import load_instance
    from optimizer.output.quote import build_quote
    from optimizer.planning.solve import solve_instance
    from tests.conftest import FEATURES

    inst = load_instance(FEATURES / "v2" / "scenarios-expected.yaml")
    quote = build_quote(solve_instance(inst), inst)
    assert [(line.offer, line.units) for line in quote.lines] == [("B", 1)]
    assert quote.totals.total == pytest.approx(5)


def test_quote_keeps_the_vendors_currency_next_to_the_converted_one(tmp_path):
    # currency.yaml with A's fixed cost removed: A wins at 2 x 10 USD = 20 USD = 2 x 72 = 144 CNY (header).
    from openpyxl import load_workbook

    from tests.conftest import FEATURES

    inst = FEATURES / "currency.yaml"
    plan_file, out = tmp_path / "plan.json", tmp_path / "quote.xlsx"
    assert CliRunner().invoke(app, ["solve", str(inst), "--set", "offers.A.fixed_cost=0", "-o", str(plan_file)]).exit_code == 0
    res = run(plan_file, "-o", out, "--instance", inst, "--set", "offers.A.fixed_cost=0")
    assert res.exit_code == 0, res.output
    ws = load_workbook(out)["Quote"]
    header = [c.value for c in ws[6]]
    row = {name: ws.cell(row=7, column=j + 1) for j, name in enumerate(header)}
    assert row["offer"].value == "A" and row["extended price"].value == pytest.approx(144)
    assert "CNY" in row["extended price"].number_format
    assert row["vendor currency"].value == "USD" and row["vendor extended price"].value == pytest.approx(20)
    assert row["vendor unit price"].value == pytest.approx(10) and "USD" in row["vendor unit price"].number_format
