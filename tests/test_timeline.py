"""Regimes as a timeline (issue 16): named chips, case-by-case review, `by-date`, `plan chips
--date`, warnings and `plan offers`.

Expected values come from the rule texts and dates, by hand:
  us-2022-10 in force 2022-10-21 .. 2023-11-16, us-2023-10 from 2023-11-17, us-2024-12 from
  2024-12-02, us-2025-01 from 2025-01-13, us-2025-04 (H20 letter) from 2025-04-09, us-2025-05
  from 2025-05-13, us-2025-07 (H20 lifted) from 2025-07-14, us-2026-01 from 2026-01-15.
  A month is under the newest regime in force on any of its days.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from models.catalog import builtin_chips
from models.errors import InputError
from models.instance import Chip
from models.loading import load_instance, validate
from models.regimes import by_date_schedule, regime_in_month, regime_on
from models.warnings import instance_warnings
from optimizer.compliance import chip_decision, classify


def catalog_chip(chip_id: str) -> Chip:
    return next(Chip.model_validate(c) for c in builtin_chips() if c["id"] == chip_id)


def run(*args):
    import cli

    return CliRunner().invoke(cli.app, list(args))


# --------------------------------------------------------------------------- named chips


@pytest.mark.parametrize("regime", ["us-2025-04", "us-2025-05"])
def test_the_letter_blocks_exactly_the_named_chips(regime):
    for raw in builtin_chips():
        chip = Chip.model_validate(raw)
        verdict = classify(chip, regime)
        if chip.id == "H20-96G":
            assert verdict.controlled and verdict.named and verdict.rule == f"{regime} H20-letter"
        else:
            assert not verdict.named
            # everything else is classified as under us-2024-12 (same thresholds)
            assert verdict.controlled == classify(chip, "us-2024-12").controlled, chip.id


def test_the_blocking_reason_names_the_letter():
    d = chip_decision(catalog_chip("H20-96G"), "us-2025-04", "CN")
    assert d.blocked and d.rule == "us-2025-04 H20-letter"
    assert "9 Apr 2025" in d.reason and "8-K" in d.reason
    # a chip with the H20's figures but another id is not named: the thresholds decide
    twin = catalog_chip("H20-96G").model_copy(update={"id": "my-H20"})
    assert not chip_decision(twin, "us-2025-04", "CN").blocked
    # lifted in July 2025
    assert not chip_decision(catalog_chip("H20-96G"), "us-2025-07", "CN").blocked


def test_named_chips_are_not_blocked_for_buyers_outside_the_destinations():
    assert not chip_decision(catalog_chip("H20-96G"), "us-2025-05", "JP").blocked


# --------------------------------------------------------------------------- case by case (2026)


def test_case_by_case_below_tpp_21000_and_6500_gbps():
    # H200: TPP 15832 < 21000, HBM 4800 < 6500 GB/s -> allowed with a licence caveat
    d = chip_decision(catalog_chip("H200-SXM-141G"), "us-2026-01", "CN")
    assert not d.blocked and "case by case" in d.reason and "memory bandwidth 4800 < 6500" in d.reason
    # the same chip with 7000 GB/s, or TPP 22000, stays blocked (presumption of denial)
    h200 = catalog_chip("H200-SXM-141G")
    assert chip_decision(h200.model_copy(update={"memory_bandwidth_gbps": 7000}), "us-2026-01", "CN").blocked
    assert chip_decision(h200.model_copy(update={"tpp": 22000}), "us-2026-01", "CN").blocked
    # unknown memory bandwidth does not qualify
    assert chip_decision(h200.model_copy(update={"memory_bandwidth_gbps": None}), "us-2026-01", "CN").blocked
    # before 2026 the H200 is blocked (3A090.a, TPP 15832 >= 4800)
    assert chip_decision(h200, "us-2025-07", "CN").blocked


# --------------------------------------------------------------------------- the timeline


@pytest.mark.parametrize("day, regime", [
    (date(2022, 10, 20), "none"), (date(2022, 10, 21), "us-2022-10"), (date(2023, 11, 16), "us-2022-10"),
    (date(2023, 11, 17), "us-2023-10"), (date(2024, 12, 2), "us-2024-12"), (date(2025, 2, 1), "us-2025-01"),
    (date(2025, 4, 9), "us-2025-04"), (date(2025, 6, 1), "us-2025-05"), (date(2025, 7, 14), "us-2025-07"),
    (date(2026, 12, 1), "us-2026-01"),
])
def test_one_regime_on_each_day(day, regime):
    assert regime_on(day) == regime


def test_a_month_takes_the_newest_regime_in_force_on_any_of_its_days():
    assert regime_in_month(2023, 11) == "us-2023-10"   # from the 17th
    assert regime_in_month(2023, 10) == "us-2022-10"
    assert regime_in_month(2025, 5) == "us-2025-05"    # from the 13th
    assert regime_in_month(2025, 7) == "us-2025-07"    # from the 14th


def test_by_date_schedule_of_cn_2023_h1():
    # April 2023 = period 1, November 2023 = period 8
    assert by_date_schedule("2023-04", 12) == {1: "us-2022-10", 8: "us-2023-10"}
    # Jan 2025 .. Feb 2026: 1 Jan (us-2025-01 from the 13th), 4 Apr, 5 May, 7 Jul, 13 Jan 2026
    assert by_date_schedule("2025-01", 14) == {1: "us-2025-01", 4: "us-2025-04", 5: "us-2025-05",
                                               7: "us-2025-07", 13: "us-2026-01"}


def test_by_date_needs_horizon_start():
    with pytest.raises(InputError) as err:
        validate({"horizon": {"periods": 3}, "buyer": {"country": "CN"}, "compliance": {"regime": "by-date"}})
    assert "compliance.regime" in str(err.value) and "horizon.start" in str(err.value)


def test_by_date_instance_sees_the_explicit_schedule():
    inst = load_instance("instances/cn-2023-h1.yaml", ["compliance.regime=by-date"])
    assert inst.compliance.regime == {1: "us-2022-10", 8: "us-2023-10"}


def test_by_date_equals_the_explicit_schedule_in_a_solve():
    from optimizer.planning.solve import SolveOptions, solve_instance

    by_date = load_instance("instances/cn-2023-h1.yaml", ["compliance.regime=by-date"])
    explicit = load_instance("instances/cn-2023-h1.yaml",
                             ["compliance.regime={1: us-2022-10, 8: us-2023-10}"])
    a = solve_instance(by_date, SolveOptions())
    b = solve_instance(explicit, SolveOptions())
    assert a.has_plan and b.has_plan
    assert a.objective == pytest.approx(b.objective, rel=1e-9)


# --------------------------------------------------------------------------- plan chips --date


def test_plan_chips_date_shows_the_regime_of_that_month():
    res = run("chips", "--date", "2025-06", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [r["id"] for r in data["regimes"]] == ["us-2025-05"]
    status = {c["id"]: c["status"]["us-2025-05"] for c in data["chips"]}
    assert status["H20-96G"]["blocked"] and "H20-letter" in status["H20-96G"]["rule"]
    assert json.loads(run("chips", "--date", "2025-08", "--json").stdout)["regimes"][0]["id"] == "us-2025-07"


@pytest.mark.parametrize("args", [["--date", "2025-13"], ["--date", "June"], ["--date", "2025-06", "--regime", "us-2023-10"]])
def test_plan_chips_date_bad_input_exits_2(args):
    assert run("chips", *args).exit_code == 2


# --------------------------------------------------------------------------- warnings


def test_warnings_for_stale_prices_and_default_lead_times():
    raw = {"include": ["catalog"]}
    inst = validate({
        "horizon": {"periods": 2, "start": "2025-06"},
        "chips": [{"id": "c", "bf16_tflops": 1}],
        "offers": [
            {"id": "old", "chip": "c", "kind": "buy", "unit_price": 1, "lead_time": 2, "as_of": "2024-05"},
            {"id": "edge", "chip": "c", "kind": "buy", "unit_price": 1, "lead_time": 2, "as_of": "2024-06"},
            {"id": "zero", "chip": "c", "kind": "buy", "unit_price": 1},
        ],
    })
    # 2025-06 - 2024-05 = 13 months > 12: warned; 2024-06 is exactly 12: not warned
    assert instance_warnings(inst, raw) == [
        "offers[0].unit_price: price of old is as of 2024-05, more than a year before horizon.start 2025-06;"
        " check it is still current",
        "offers[2].lead_time: zero keeps the default lead time 0 (delivered in the period it is ordered);"
        " set this buyer's lead time",
    ]
    # without includes nobody else wrote the offers: no lead-time warning
    assert all("lead_time" not in m for m in instance_warnings(inst, {}))


def test_plan_validate_prints_warnings_to_stderr_and_exits_0(tmp_path):
    res = run("validate", "instances/cn-2023-h1.yaml", "--set", "horizon.start=2025-06")
    assert res.exit_code == 0
    assert "warning: offers[1].unit_price: price of A800-server-CN is as of 2023-10" in res.stderr


# --------------------------------------------------------------------------- plan offers


def test_plan_offers_lists_the_catalog_with_conversions():
    res = run("offers", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    rows = {r["id"]: r for r in data["offers"]}
    assert data["currency"] == "CNY"
    # 36,999 USD x 7.2 = 266,392.8 CNY
    assert rows["DGX-Cloud-A100"]["price_converted"] == pytest.approx(266392.8)
    assert rows["A800-server-CN"]["as_of"] == "2023-10" and rows["A800-server-CN"]["lead_time"] == 3
    assert all(r["source"] for r in data["offers"])
    text = run("offers")
    assert text.exit_code == 0 and "DGX-Cloud-A100" in text.stdout


def test_plan_offers_of_an_instance_uses_its_currency(tmp_path):
    path = tmp_path / "i.yaml"
    path.write_text("currency: USD\nfx: {CNY: 0.14}\nhorizon: {periods: 1}\ninclude: [catalog]\n")
    rows = {r["id"]: r for r in json.loads(run("offers", str(path), "--json").stdout)["offers"]}
    assert rows["A800-server-CN"]["price_converted"] == pytest.approx(1_400_000 * 0.14)
    assert run("offers", str(tmp_path / "missing.yaml")).exit_code == 2


def test_today_offers_are_listed_with_sources_and_kept_out_of_the_2023_market():
    # issue 16: `plan offers catalog/2026` lists 2026 parts (H200 servers, reported at 1.4-1.5 M CNY)
    import json

    from typer.testing import CliRunner

    from cli import app
    from models.catalog import BUILTIN

    out = CliRunner().invoke(app, ["offers", "catalog/2026", "--json"])
    assert out.exit_code == 0, out.output
    offers = {o["id"]: o for o in json.loads(out.output)["offers"]}
    h200 = offers["H200-server-CN"]
    assert h200["as_of"] == "2026-01" and "Tencent Technology" in h200["source"]
    assert all("offers-2026" not in str(p) for p in BUILTIN["catalog"])  # cn-2023-h1 keeps its 2023 market
