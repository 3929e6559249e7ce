"""`plan diff` on hand-made pairs of results: every expected difference derived by hand."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli import app
from models.result import Result
from optimizer.analysis.diff import diff_results

runner = CliRunner()


def result(orders=(), leases=(), capex=0.0, lease=0.0, power=0.0, fixed=0.0, residual=0.0, refunds=0.0,
           capacity=(), objective=None) -> Result:
    total = capex - refunds + lease + power + fixed
    return Result.model_validate({
        "instance": "hand", "currency": "USD", "status": "optimal",
        "objective": objective if objective is not None else total - residual,
        "cost": {"capex": capex, "refunds": refunds, "lease": lease, "power": power, "fixed": fixed,
                 "residual_credit": residual, "total_cash": total, "discounted": total - residual},
        "orders": [{"offer": o, "chip": "X", "period": p, "arrives": p + 1, "units": u, "gpus": 4 * u,
                    "unit_price": price, "cost": u * price} for o, p, u, price in orders],
        "leases": [{"offer": o, "chip": "X", "start": p, "first_period": p, "last_period": p, "units": u,
                    "gpus": 4 * u, "unit_price": price, "cost": u * price} for o, p, u, price in leases],
        "capacity": [{"period": t, "metric": "bf16_tflops", "available": a, "required": 1000} for t, a in capacity],
        "solver": {"version": "hand", "time_s": 0, "mip_gap": 0},
    })


# A: buy 3 of B1 in period 1 (30), buy 2 of B2 in period 2 (40), lease 3 of L in period 1 (9).
A = result(orders=[("B1", 1, 3, 10.0), ("B2", 2, 2, 20.0)], leases=[("L", 1, 3, 3.0)],
           capex=70.0, lease=9.0, power=5.0, residual=7.0, capacity=[(1, 1200), (2, 1200), (3, 2000)])
# B: B1 resized to 4 in period 1 (40), B2 moved to period 3 with the same 2 units (40),
#    the lease of L gone, a new lease of M in period 2 (2 units at 4 = 8).
B = result(orders=[("B1", 1, 4, 10.0), ("B2", 3, 2, 20.0)], leases=[("M", 2, 2, 4.0)],
           capex=80.0, lease=8.0, power=6.0, fixed=1.0, residual=8.0, capacity=[(1, 1600), (2, 1600), (3, 1600)])


def test_changes_are_classified():
    d = diff_results(A, B)
    got = {(c.kind, c.change, c.offer, c.period_a, c.period_b, c.units_a, c.units_b) for c in d.changes}
    assert got == {
        ("order", "resized", "B1", 1, 1, 3, 4),
        ("order", "moved", "B2", 2, 3, 2, 2),
        ("lease", "removed", "L", 1, None, 3, 0),
        ("lease", "added", "M", None, 2, 0, 2),
    }
    assert d.unchanged == 0


def test_cost_waterfall_by_component_and_by_offer():
    d = diff_results(A, B)
    # net A = 70 + 9 + 5 + 0 - 7 = 77; net B = 80 + 8 + 6 + 1 - 8 = 87
    assert (d.net_a, d.net_b) == (77, 87)
    steps = {s.name: s.delta for s in d.waterfall}
    assert steps == {"capex": 10, "refunds": 0, "lease": -1, "power": 1, "fixed": 1, "residual": -1, "shortfall": 0}
    assert d.waterfall[-1].running == 87
    by_offer = {o.offer: o.delta for o in d.by_offer}
    # B1 30 -> 40, B2 40 -> 40, L 9 -> 0, M 0 -> 8; power +1, fixed +1, residual credit 7 -> 8 (-1)
    assert by_offer == {"B1": 10, "B2": 0, "L": -9, "M": 8, "(power, not by offer)": 1,
                        "(fixed, not by offer)": 1, "(residual, not by offer)": -1}
    assert sum(by_offer.values()) == d.net_b - d.net_a


def test_capacity_by_period():
    d = diff_results(A, B)
    assert [(c.period, c.delta) for c in d.capacity] == [(1, 400), (2, 400), (3, -400)]


def test_same_plan_has_no_changes():
    d = diff_results(A, A)
    assert d.changes == [] and d.unchanged == 3 and all(s.delta == 0 for s in d.waterfall)


def test_moved_pairs_the_nearest_period():
    # A orders 2 of B2 in periods 1 and 5; B in periods 2 and 6: two moves by one period each
    # (pairing 1 -> 6 and 5 -> 2 would also match units but is farther).
    a = result(orders=[("B2", 1, 2, 20.0), ("B2", 5, 2, 20.0)], capex=80.0)
    b = result(orders=[("B2", 2, 2, 20.0), ("B2", 6, 2, 20.0)], capex=80.0)
    moves = sorted((c.period_a, c.period_b) for c in diff_results(a, b).changes)
    assert moves == [(1, 2), (5, 6)]


def test_cli_json_and_bad_input(tmp_path):
    fa, fb = tmp_path / "a.json", tmp_path / "b.json"
    fa.write_text(A.model_dump_json())
    fb.write_text(B.model_dump_json())
    out = runner.invoke(app, ["diff", str(fa), str(fb), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["net_b"] - data["net_a"] == 10
    text = runner.invoke(app, ["diff", str(fa), str(fb)])
    assert text.exit_code == 0 and "resized" in text.stdout and "moved" in text.stdout
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**json.loads(fa.read_text()), "orders": [{"offer": "B1"}]}))
    bad = runner.invoke(app, ["diff", str(fa), str(broken)])
    assert bad.exit_code == 2 and "orders" in bad.output
    assert "Traceback" not in bad.output


@pytest.mark.parametrize("content, words", [
    ('{"schema_version": "2.0.0", "instance": "x"}', "schema_version"),
    ('{"instance": "x", "status": "optimal"}', "schema_version: missing"),
    ('{"schema_version": "1.2.0", "instance": "x"}', "not a result"),
    ("[1, 2]", "JSON object"),
    ("{not json", "not JSON"),
])
def test_report_and_workbook_refuse_what_is_not_a_result(tmp_path, content, words):
    f = tmp_path / "r.json"
    f.write_text(content)
    for command, suffix in (("report", ".html"), ("workbook", ".xlsx")):
        out = runner.invoke(app, [command, str(f), "-o", str(tmp_path / f"out{suffix}")])
        assert out.exit_code == 2, out.output
        assert words in out.output and "Traceback" not in out.output
        assert not (tmp_path / f"out{suffix}").exists()


def test_report_needs_an_html_output(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(A.model_dump_json())
    assert runner.invoke(app, ["report", str(f)]).exit_code == 2
    assert runner.invoke(app, ["report", str(f), "-o", str(tmp_path / "r.pdf")]).exit_code == 2
    assert runner.invoke(app, ["report", str(f), "-o", str(tmp_path / "no" / "r.html")]).exit_code == 2
    assert runner.invoke(app, ["report", str(f), "-o", str(tmp_path / "r.html")]).exit_code == 0
