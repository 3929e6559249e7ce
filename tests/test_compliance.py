"""Export controls (MODEL.md section 4): classification, decisions, regime files, `plan chips`.

Every expected status below is derived by hand from the published figures and the rule text,
never read off the engine:
  us-2022-10: controlled when TPP >= 4800 and interconnect >= 600 GB/s.
  us-2023-10 (and us-2024-12, us-2025-01, whose chip thresholds are the same):
    3A090.a: TPP >= 4800, or TPP >= 1600 and PD >= 5.92;
    3A090.b: TPP >= 2400 and 1.6 <= PD < 5.92, or TPP >= 1600 and 3.2 <= PD < 5.92.
  A figure a clause needs but the chip lacks counts as met (worst case).
"""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

import models.regimes as regimes
import optimizer.compliance as compliance
from models.catalog import builtin_chips
from models.errors import InputError
from models.instance import Chip
from models.loading import validate
from optimizer.compliance import (
    chip_decision,
    chip_tpp,
    classify,
    known_regimes,
    load_regime,
    offer_decision,
    performance_density,
)

LATER = ("us-2023-10", "us-2024-12", "us-2025-01", "us-2025-07")  # same 3A090.a/.b thresholds, no names
NAMING_H20 = ("us-2025-04", "us-2025-05")  # the same thresholds plus the H20 named by letter


def catalog_chip(chip_id: str) -> Chip:
    return next(Chip.model_validate(c) for c in builtin_chips() if c["id"] == chip_id)


# --------------------------------------------------------------------------- TPP and PD


def test_published_tpp_figures():
    # A100: 312 dense BF16 TFLOPS x 16 = 4992, the figure quoted for the Oct-2022 rule
    assert chip_tpp(catalog_chip("A100-SXM-80G")) == 4992
    assert chip_tpp(catalog_chip("A800-SXM-80G")) == 4992
    # H100 SXM: 1979 dense FP8 TFLOPS x 8 = 15832 (= 989.5 BF16 x 16)
    assert chip_tpp(catalog_chip("H100-SXM-80G")) == 15832
    # H20: 296 dense FP8 x 8 = 2368, below 4800; PD 2368 / 814 = 2.909 < 3.2
    h20 = catalog_chip("H20-96G")
    assert chip_tpp(h20) == 2368
    assert performance_density(h20) == pytest.approx(2.909, abs=1e-3)


def test_tpp_derived_from_the_largest_weighted_peak_and_ignores_efficiency():
    # 16*100 = 1600, 32*60 = 1920, 64*20 = 1280, 8*300 = 2400 (fp8), 8*250 = 2000 -> 2400
    chip = Chip(id="x", bf16_tflops=100, fp32_tflops=60, fp64_tflops=20, fp8_tflops=300, int8_tops=250,
                efficiency=0.3)
    assert chip_tpp(chip) == 2400
    assert chip_tpp(Chip(id="y", fp64_tflops=10)) == 640  # 64 * 10
    assert chip_tpp(Chip(id="z", bf16_tflops=1000, tpp=1234)) == 1234  # a given TPP wins


def test_performance_density_unknown_without_die_area_or_with_zero():
    assert performance_density(Chip(id="a", tpp=3000)) is None
    assert performance_density(Chip(id="b", tpp=3000, die_area_mm2=0)) is None
    assert performance_density(Chip(id="c", tpp=3000, die_area_mm2=600)) == 5.0


# --------------------------------------------------------------------------- every catalog chip


# Hand-derived from the catalog figures (TPP / die mm^2 / interconnect GB/s):
#   A100 4992/826/664, A800 4992/826/464, H100 15832/814/1028, H800 15832/814/528,
#   H20 2368/814/1028, H200 15832/814/1028, BR100 16384/1074/?, BR104 8192/537/?, MLU270 1024/?/?,
#   MLU290 4096/?/664, MLU370 2048/?/264, Tiangai 2360/?/?, Zhikai 3072/?/?, Ascend-910B 5120/665.6/?,
#   Ascend-910C 12480/?/?, Hygon 691.2/?/?, MTT-S4000 1600/?/368 (interconnect = NVLink-type + PCIe)
# us-2022-10: controlled iff TPP >= 4800 and (interconnect >= 600 or unknown).
# later: TPP >= 4800 -> a; else TPP >= 1600 with unknown PD -> a (a.2 worst case); H20: no clause.
EXPECTED = {
    #                  us-2022-10  later (rule id or None)
    "A100-SXM-80G":   ("3A090",   "3A090.a"),
    "A800-SXM-80G":   (None,      "3A090.a"),  # 400 < 600 in 2022; TPP 4992 >= 4800 in 2023
    "H100-SXM-80G":   ("3A090",   "3A090.a"),
    "H800-SXM-80G":   (None,      "3A090.a"),
    "H20-96G":        (None,      None),       # 2368 < 2400 and PD 2.91 < 3.2
    "H200-SXM-141G":  ("3A090",   "3A090.a"),  # 15832 and 1028 >= 600
    "BR100":          ("3A090",   "3A090.a"),  # interconnect unknown counts as >= 600
    "BR104":          ("3A090",   "3A090.a"),
    "MLU270":         (None,      None),       # TPP 1024 < 1600: no clause can hold
    "MLU290-M5":      (None,      "3A090.a"),  # 4096 < 4800; 4096 >= 1600 and PD unknown
    "MLU370-X8":      (None,      "3A090.a"),
    "Tiangai-100":    (None,      "3A090.a"),
    "Zhikai-100":     (None,      "3A090.a"),
    "Ascend-910B":    ("3A090",   "3A090.a"),  # 5120 >= 4800, interconnect unknown (392 was a server figure)
    "Ascend-910C":    ("3A090",   "3A090.a"),  # 12480 >= 4800, interconnect unknown
    "Hygon-DCU-Z100": (None,      None),       # 691.2 < 1600
    "MTT-S4000":      (None,      "3A090.a"),  # 1600 < 4800; 1600 >= 1600 with PD unknown (a, worst case)
}


def test_the_expectations_cover_the_whole_catalog():
    assert {c["id"] for c in builtin_chips()} == set(EXPECTED)


@pytest.mark.parametrize("chip_id", sorted(EXPECTED))
@pytest.mark.parametrize("regime", ["none", "us-2022-10", *LATER, *NAMING_H20, "us-2026-01"])
def test_classification_of_every_catalog_chip(chip_id, regime):
    chip = catalog_chip(chip_id)
    expected = None if regime == "none" else EXPECTED[chip_id][0 if regime == "us-2022-10" else 1]
    if regime in NAMING_H20 and chip_id == "H20-96G":
        expected = "H20-letter"  # named whatever its figures
    got = classify(chip, regime)
    assert got.controlled == (expected is not None)
    assert got.rule == (f"{regime} {expected}" if expected else None)


@pytest.mark.parametrize("chip_id", sorted(EXPECTED))
@pytest.mark.parametrize("regime", ["us-2022-10", *LATER])
def test_purchase_by_a_buyer_in_cn(chip_id, regime):
    chip = catalog_chip(chip_id)
    decision = chip_decision(chip, regime, "CN")
    controlled = EXPECTED[chip_id][0 if regime == "us-2022-10" else 1] is not None
    # a chip designed in CN is domestic for a CN buyer: never blocked
    assert decision.blocked == (controlled and chip.origin != "CN")


def test_a800_allowed_in_2022_controlled_in_2023_with_its_figures():
    a800 = catalog_chip("A800-SXM-80G")
    d22 = chip_decision(a800, "us-2022-10", "CN")
    assert not d22.blocked and d22.rule is None
    assert "interconnect 464 < 600" in d22.reason  # NVLink 400 + PCIe Gen4 64
    d23 = chip_decision(a800, "us-2023-10", "CN")
    assert d23.blocked and d23.rule == "us-2023-10 3A090.a"
    assert d23.reason == "blocked: us-2023-10 3A090.a, TPP 4992 >= 4800"


def test_a100_blocked_under_2022_names_both_figures():
    d = chip_decision(catalog_chip("A100-SXM-80G"), "us-2022-10", "CN")
    assert d.blocked and d.reason == "blocked: us-2022-10 3A090, TPP 4992 >= 4800 and interconnect 664 >= 600"


def test_h20_explains_why_it_is_below_every_clause():
    d = chip_decision(catalog_chip("H20-96G"), "us-2023-10", "CN")
    assert not d.blocked
    for part in ("TPP 2368 < 4800", "PD 2.91 < 5.92", "TPP 2368 < 2400", "PD 2.91 < 3.2"):
        assert part in d.reason


# --------------------------------------------------------------------------- each clause


@pytest.mark.parametrize(
    "tpp, die, rule",
    [
        (4800, 10_000, "3A090.a"),   # TPP exactly at 4800 (>=); PD 0.48
        (4799, 10_000, None),        # PD 0.48 < 1.6: neither b clause
        (2000, 300, "3A090.a"),      # PD 6.67 >= 5.92 and TPP >= 1600
        (2960, 500, "3A090.a"),      # PD exactly 5.92
        (3000, 1000, "3A090.b"),     # PD 3.0: b.1 (TPP >= 2400, 1.6 <= 3.0 < 5.92)
        (3000, 1900, None),          # PD 1.58 < 1.6; not b.2 either (PD < 3.2)
        (2000, 500, "3A090.b"),      # PD 4.0: b.2 (TPP >= 1600, 3.2 <= 4.0 < 5.92); b.1 fails (TPP < 2400)
        (2000, 800, None),           # PD 2.5: b.2 needs PD >= 3.2, b.1 needs TPP >= 2400
        (1599, 100, None),           # PD 16 but TPP < 1600: no clause
    ],
)
def test_us_2023_clauses_at_their_bounds(tpp, die, rule):
    got = classify(Chip(id="x", tpp=tpp, die_area_mm2=die), "us-2023-10")
    assert got.rule == (f"us-2023-10 {rule}" if rule else None)


@pytest.mark.parametrize(
    "tpp, interconnect, controlled",
    [(4800, 600, True), (4799, 900, False), (4992, 599, False), (4992, None, True), (4000, None, False)],
)
def test_us_2022_clause(tpp, interconnect, controlled):
    assert classify(Chip(id="x", tpp=tpp, interconnect_gbps=interconnect), "us-2022-10").controlled is controlled


# --------------------------------------------------------------------------- missing figures


def test_missing_die_area_counts_as_controlled_when_tpp_allows_a_clause():
    # TPP 16 * 110 = 1760 >= 1600: with PD unknown, 3A090.a's second clause may hold
    d = chip_decision(Chip(id="x", bf16_tflops=110), "us-2023-10", "CN")
    assert d.blocked and d.rule == "us-2023-10 3A090.a"
    assert d.reason == "blocked: us-2023-10 3A090.a, TPP 1760 >= 1600 and die area unknown (counts as controlled)"
    # die_area_mm2: 0 is no figure either
    assert chip_decision(Chip(id="x", bf16_tflops=110, die_area_mm2=0), "us-2023-10", "CN").blocked


def test_missing_die_area_does_not_matter_below_every_tpp_bound():
    # TPP 16 * 60 = 960 < 1600: no clause can hold whatever the density
    assert not chip_decision(Chip(id="x", bf16_tflops=60), "us-2023-10", "CN").blocked


def test_missing_interconnect_counts_as_controlled_under_2022():
    d = chip_decision(Chip(id="x", bf16_tflops=312), "us-2022-10", "CN")
    assert d.blocked
    assert d.reason == "blocked: us-2022-10 3A090, TPP 4992 >= 4800 and interconnect unknown (counts as controlled)"


def test_a_clause_met_with_known_figures_is_named_first():
    # TPP 4992 meets 3A090.a's first clause outright; the unknown PD is not mentioned
    d = chip_decision(Chip(id="x", bf16_tflops=312), "us-2023-10", "CN")
    assert d.reason == "blocked: us-2023-10 3A090.a, TPP 4992 >= 4800"


# --------------------------------------------------------------------------- decisions


def instance(regime="us-2023-10", country="CN", chip=None, offers=None):
    chip = chip or {"id": "A800", "origin": "US", "bf16_tflops": 312, "die_area_mm2": 826, "interconnect_gbps": 400}
    offers = offers or [{"id": "o", "chip": chip["id"], "kind": "buy", "unit_price": 1}]
    return validate({
        "horizon": {"periods": 3}, "buyer": {"country": country}, "compliance": {"regime": regime},
        "chips": [chip], "offers": offers,
    })


def decide(inst, offer_id="o"):
    return offer_decision(inst, next(o for o in inst.offers if o.id == offer_id))


def test_override_blocked_blocks_even_without_a_regime():
    chip = {"id": "X", "bf16_tflops": 1, "export_control": "blocked"}
    d = decide(instance(regime="none", chip=chip))
    assert d.blocked and d.rule == "export_control: blocked"


def test_override_allowed_lets_a_controlled_chip_through():
    chip = {"id": "A100", "origin": "US", "bf16_tflops": 312, "interconnect_gbps": 600, "export_control": "allowed"}
    assert not decide(instance(regime="us-2022-10", chip=chip)).blocked
    chip["export_control"] = "auto"
    assert decide(instance(regime="us-2022-10", chip=chip)).blocked


def test_no_regime_blocks_nothing():
    assert not decide(instance(regime="none")).blocked


def test_buyer_outside_the_restricted_destinations():
    assert not decide(instance(country="US")).blocked
    assert not decide(instance(country="JP")).blocked
    assert decide(instance(country="HK")).blocked
    assert decide(instance(country="MO")).blocked


def test_origin_same_as_buyer_is_never_blocked_and_missing_origin_is_foreign():
    chip = {"id": "D", "origin": "CN", "bf16_tflops": 1000, "die_area_mm2": 500}
    assert not decide(instance(chip=chip)).blocked
    del chip["origin"]
    assert decide(instance(chip=chip)).blocked  # origin unknown: treated as foreign


@pytest.mark.parametrize("location, blocked", [("US", False), ("SG", False), ("CN", True), ("HK", True), (None, True)])
def test_leases_located_outside_the_restricted_destinations(location, blocked):
    offer = {"id": "o", "chip": "A800", "kind": "lease", "unit_price": 1}
    if location:
        offer["location"] = location
    d = decide(instance(offers=[offer]))
    assert d.blocked is blocked  # no location: the lease runs in the buyer's country (CN)
    if not blocked:
        assert f"lease runs in {location}" in d.reason


def test_a_purchase_is_blocked_wherever_it_is_located():
    offer = {"id": "o", "chip": "A800", "kind": "buy", "unit_price": 1, "location": "US"}
    assert decide(instance(offers=[offer])).blocked


def test_2025_framework_tiers():
    a100 = catalog_chip("A100-SXM-80G")
    assert chip_decision(a100, "us-2025-01", "RU").blocked           # tier 3
    assert not chip_decision(a100, "us-2025-01", "JP").blocked       # tier 1
    tier2 = chip_decision(a100, "us-2025-01", "IN")                  # tier 2: allowed, with caveat
    assert not tier2.blocked and "caveat" in tier2.reason
    assert load_regime("us-2025-01").ended is not None


# --------------------------------------------------------------------------- regime files


def test_shipped_regimes():
    assert known_regimes()[:3] == ["none", "us-2022-10", "us-2023-10"]
    assert {"us-2024-12", "us-2025-01"} <= set(known_regimes())
    for rid in known_regimes():
        regime = load_regime(rid)
        assert regime.id == rid and regime.source
    # kept exactly as MODEL.md states them, so results match the contract's checker
    for rid in ("us-2022-10", "us-2023-10"):
        assert sorted(load_regime(rid).restricted_destinations) == ["CN", "HK", "MO"]


def test_unknown_regime_is_an_input_error_naming_the_field():
    with pytest.raises(InputError) as err:
        validate({"horizon": {"periods": 1}, "buyer": {"country": "CN"}, "compliance": {"regime": "us-1999"}})
    assert "compliance.regime" in str(err.value) and "us-2023-10" in str(err.value)


def test_a_new_regime_is_a_new_file(tmp_path, monkeypatch):
    for name in ("none.yaml", "us-2023-10.yaml"):
        shutil.copy(regimes._regime_dir() / name, tmp_path / name)
    (tmp_path / "xx-2030.yaml").write_text(
        "id: xx-2030\ntitle: test\nsource: a test\nrestricted_destinations: [FR]\n"
        "rules:\n  - id: R1\n    clauses:\n      - {fp64_tflops: {ge: 10}, memory_gb: {lt: 100}}\n"
    )
    monkeypatch.setattr(regimes, "_regime_dir", lambda: tmp_path)
    load_regime.cache_clear()
    try:
        assert "xx-2030" in known_regimes()
        d = chip_decision(Chip(id="c", fp64_tflops=12, memory_gb=80), "xx-2030", "FR")
        assert d.blocked and d.reason == "blocked: xx-2030 R1, fp64_tflops 12 >= 10 and memory_gb 80 < 100"
        assert not chip_decision(Chip(id="c", fp64_tflops=12, memory_gb=100), "xx-2030", "FR").blocked
    finally:
        load_regime.cache_clear()


def test_a_regime_file_with_bare_no_for_norway_is_refused():
    with pytest.raises(Exception, match="Norway"):
        compliance.Regime.model_validate({"id": "x", "title": "t", "source": "s", "restricted_destinations": [False]})


# --------------------------------------------------------------------------- plan chips


def run(*args):
    import cli

    return CliRunner().invoke(cli.app, list(args))


def test_plan_chips_json_statuses():
    res = run("chips", "--regime", "us-2022-10", "--country", "CN", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    status = {c["id"]: c["status"]["us-2022-10"]["blocked"] for c in data["chips"]}
    assert status["A800-SXM-80G"] is False and status["A100-SXM-80G"] is True
    row = next(c for c in data["chips"] if c["id"] == "H100-SXM-80G")
    assert row["tpp"] == 15832 and row["tpp_given"] is False and row["interconnect_gbps"] == 1028  # 900 + 128


def test_plan_chips_defaults_to_the_latest_regime_in_force_and_cn():
    data = json.loads(run("chips", "--json").stdout)
    # us-2026-01 (in force 2026-01-15) is the only regime without an end
    assert [r["id"] for r in data["regimes"]] == ["us-2026-01"] and data["country"] == "CN"


def test_plan_chips_all_regimes_side_by_side():
    res = run("chips", "--regime", "all")
    assert res.exit_code == 0
    for word in ("us-2022-10", "us-2023-10", "us-2024-12", "us-2025-01", "A800-SXM-80G"):
        assert word in res.stdout
    data = json.loads(run("chips", "--regime", "all", "--json").stdout)
    assert [r["id"] for r in data["regimes"]] == ["us-2022-10", "us-2023-10", "us-2024-12", "us-2025-01",
                                                  "us-2025-04", "us-2025-05", "us-2025-07", "us-2026-01"]


def test_plan_chips_reads_an_instance_and_its_defaults(tmp_path):
    path = tmp_path / "i.yaml"
    path.write_text("horizon: {periods: 1}\nbuyer: {country: US}\ncompliance: {regime: us-2023-10}\n"
                    "chips: [{id: A, bf16_tflops: 312, origin: NL}]\n")
    data = json.loads(run("chips", str(path), "--json").stdout)
    assert data["country"] == "US" and [r["id"] for r in data["regimes"]] == ["us-2023-10"]
    assert data["chips"][0]["status"]["us-2023-10"]["blocked"] is False  # US is not restricted


@pytest.mark.parametrize("args, message", [
    (("--regime", "us-1999"), "unknown regime 'us-1999'"),
    (("--country", "China"), "not an ISO 3166"),
    (("no-such-file.yaml",), "no such file"),
])
def test_plan_chips_bad_input_exits_2(args, message):
    res = run("chips", *args)
    assert res.exit_code == 2
    assert message in res.output
