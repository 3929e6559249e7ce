"""`plan explain`: binding rules, marginal values and break-even prices derived by hand.

The derivations are in the headers of instances/features/explain-*.yaml (repeated here in
short). min_cost break-even prices are exact (crossing cost lines) and compared at 1e-6;
max_capacity ones come from a bisection to a relative 1e-4 and are compared at 1e-3.
"""

from __future__ import annotations

import json

import pytest

from models.loading import load_instance
from optimizer.analysis.explain import explain
from optimizer.planning.solve import SolveOptions
from tests.conftest import FEATURES, solve_file


def explained(name, *overrides):
    ex = explain(load_instance(FEATURES / f"{name}.yaml", list(overrides)), SolveOptions(gap=0.0))
    assert ex.status == "optimal", ex.message
    return ex


def by_offer(ex):
    return {b.offer: b for b in ex.break_even}


def test_two_offers_break_even_and_marginal_value():
    ex = explained("explain-two-offers")
    assert ex.objective == pytest.approx(30)  # 3 A-server x 10
    assert ex.binding == []  # 1200 TFLOPS against 1000: 200 spare
    (mv,) = ex.marginal_values
    # A at 10 / 400 = 0.025 per TFLOPS -> 25 per PFLOPS
    assert (mv.kind, mv.periods, mv.step, mv.step_unit) == ("requirement", [1], 1000, "TFLOPS")
    assert mv.value == pytest.approx(25, rel=1e-9)
    assert "one more PFLOPS of BF16 in period 1 costs 25 USD" in mv.text and "200 TFLOPS spare" in mv.text
    a, b = by_offer(ex)["A-server"], by_offer(ex)["B-server"]
    # A: 3 pA < 40 (two B) -> changes above 40/3; still 3A at price 0 -> no lower break-even
    assert a.used and a.units == 3
    assert a.upper == pytest.approx(40 / 3, rel=1e-6) and a.lower is None
    assert a.upper_change == "A-server -3 units, B-server +2 units"
    # B: 2 pB < 30 -> taken below 15; an unused offer has no upper break-even
    assert not b.used and b.lower == pytest.approx(15, rel=1e-6) and b.upper is None
    assert "below 15 USD the plan would take it" in b.text


@pytest.mark.parametrize("price, uses_b", [(14.9, True), (15.1, False)])
def test_break_even_agrees_with_independent_solves(price, uses_b):
    # either side of B's break-even of 15: 2B = 29.8 < 30, or 3A = 30 < 30.2
    r = solve_file(FEATURES / "explain-two-offers.yaml", f"offers.B-server.unit_price={price}")
    assert any(o.offer == "B-server" for o in r.orders) is uses_b
    assert r.objective == pytest.approx(min(30, 2 * price), rel=1e-9)


def test_binding_budget_duals_and_prices():
    ex = explained("explain-budget")
    assert ex.objective == pytest.approx(26)  # a1 = 1, l1 = 1, l2 = 1
    binding = {(b.kind, tuple(b.periods)) for b in ex.binding}
    assert binding == {("requirement", (1, 2)), ("budget_period", (1,))}
    mv = {(m.kind, tuple(m.periods)): m for m in ex.marginal_values}
    # y1 = 32, y2 = 8 per unit of 400 TFLOPS; u1 = 3 per USD (header derivation)
    assert mv["requirement", (1,)].value == pytest.approx(32 / 400, rel=1e-9)
    assert mv["requirement", (2,)].value == pytest.approx(8 / 400, rel=1e-9)
    assert mv["budget_period", (1,)].value == pytest.approx(3, rel=1e-9)
    assert "one USD more of budget in period 1 saves 3 USD" == mv["budget_period", (1,)].text
    assert set(mv) == {("requirement", (1,)), ("requirement", (2,)), ("budget_period", (1,))}
    a, lease = by_offer(ex)["A-server"], by_offer(ex)["L-lease"]
    # the period-1 budget is spent: any higher price breaks it (upper = today's price)
    assert a.upper == pytest.approx(10, rel=1e-6) and lease.upper == pytest.approx(8, rel=1e-6)
    # below 9 two A fit the period-1 budget (2 x 9 = 18) and beat 9 + 16
    assert a.lower == pytest.approx(9, rel=1e-6) and lease.lower == pytest.approx(5, rel=1e-6)
    assert a.lower_change == "A-server +1 unit, L-lease -2 units"
    assert lease.lower_change == "A-server -1 unit, L-lease +2 units"


def test_max_capacity_duals_in_capacity_and_prices():
    ex = explained("explain-max-capacity")
    assert ex.objective == pytest.approx(1200)
    assert [b.kind for b in ex.binding] == ["budget_total"]
    (mv,) = ex.marginal_values
    assert mv.kind == "budget_total" and mv.value == pytest.approx(40, rel=1e-9) and mv.value_unit == "TFLOPS"
    a, b = by_offer(ex)["A-server"], by_offer(ex)["B-server"]
    assert a.upper == pytest.approx(10, rel=1e-3) and a.lower == pytest.approx(7.5, rel=1e-3)
    assert b.lower == pytest.approx(10, rel=1e-3) and b.upper is None
    assert b.lower_change == "A-server -3 units, B-server +3 units"


def test_infeasible_gives_the_diagnosis():
    ex = explain(load_instance(FEATURES / "infeasible-budget.yaml"))
    assert ex.status == "infeasible" and ex.break_even == [] and ex.marginal_values == []
    assert any(d.kind == "relax" and d.constraint == "budget.total" for d in ex.diagnosis)


def test_cli_explain(tmp_path):
    from typer.testing import CliRunner

    from cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["explain", str(FEATURES / "explain-two-offers.yaml"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["result"]["status"] == "optimal"
    assert {b["offer"] for b in data["break_even"]} == {"A-server", "B-server"}

    res = runner.invoke(app, ["explain", str(FEATURES / "explain-two-offers.yaml"), "--no-break-even"])
    assert res.exit_code == 0 and "costs 25 USD" in res.output and "Break-even" not in res.output

    res = runner.invoke(app, ["explain", str(FEATURES / "infeasible-budget.yaml")])
    assert res.exit_code == 3 and "raise the total budget by 5 M CNY" in res.output

    res = runner.invoke(app, ["explain", str(FEATURES / "explain-two-offers.yaml"), "--set", "offers.A-server.unit_price=-1"])
    assert res.exit_code == 2 and "unit_price" in res.output


def test_a_search_cut_short_by_the_time_limit_is_never_computed():
    # issue 15: a HiGHS run stopped by the time limit with a plan ("feasible") proves nothing;
    # the crossing search must end incomplete instead of reading that plan as the best one
    from optimizer.analysis.explain import CostLines, _crossing_search
    from optimizer.planning.highs import Outcome
    from optimizer.planning.prepare import prepare
    from models.loading import load_instance
    from tests.conftest import FEATURES

    p = prepare(load_instance(FEATURES / "explain-two-offers.yaml"))
    offer = p.offers[0].id

    class CutShort:
        options = type("O", (), {"gap": 0.0})()

        def solve_at(self, offer_id, factor):
            return Outcome(status="feasible", has_plan=True, units={(offer, p.offers[0].window[0]): 1})

    price, _rival, complete = _crossing_search(CutShort(), CostLines(p, offer), offer, {}, 0.0, 1)
    assert complete is False and price is None


def test_wording_paid_prices_any_price_and_plain_numbers():
    # issue 14: price-breaks.yaml pays the 9 USD break on 16 units (list 10, its header);
    # an offer no price moves is "needed at any price"; amounts never in scientific notation
    from models.loading import load_instance
    from optimizer.analysis.diagnose import fmt_metric, fmt_num
    from optimizer.analysis.explain import explain
    from tests.conftest import FEATURES

    ex = explain(load_instance(FEATURES / "price-breaks.yaml"))
    a = next(b for b in ex.break_even if b.offer == "A")
    assert a.paid_unit_price == pytest.approx(9) and "at 9 USD per unit after price breaks; list 10 USD" in a.text
    only = explain(load_instance(FEATURES / "explain-only-offer.yaml"))
    assert "needed at any price (from period 2)" in only.break_even[0].text
    assert fmt_metric(197_400_000, "bf16_tflops") == "197,400 PFLOPS" and "e+" not in fmt_num(1.678e7)


def test_rivals_seen_before_start_later_searches_with_the_same_break_evens(monkeypatch):
    """Seeding a crossing search with a plan found for another offer must not move any
    break-even: the cold search (every search from price 0 or the top) is the independent
    computation. It should also need fewer solves (the reason for seeding)."""
    from models.loading import load_instance
    from optimizer.analysis import explain as ex
    from optimizer.planning.solve import SolveOptions

    inst = load_instance("instances/cn-2023-h1-us2023.yaml")
    seeded = ex.explain(inst, SolveOptions())
    monkeypatch.setattr(ex, "_known_rival", lambda *a, **k: None)
    cold = ex.explain(inst, SolveOptions())

    def solves(e):
        note = next(n for n in e.notes if n.startswith("break-even prices took"))
        return int(note.split()[3])

    assert solves(seeded) < solves(cold)
    for a, b in zip(seeded.break_even, cold.break_even, strict=True):
        assert a.offer == b.offer and a.computed and b.computed
        for x, y in ((a.lower, b.lower), (a.upper, b.upper)):
            assert (x is None) == (y is None), a.offer
            if x is not None:
                assert x == pytest.approx(y, rel=1e-9, abs=1e-6), a.offer
