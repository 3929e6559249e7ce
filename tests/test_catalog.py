"""The built-in catalog, the `include:` mechanism and the realistic instances built on it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from models.catalog import BUILTIN_DIR, merge_includes
from models.errors import InputError
from models.loading import load_instance, read_data
from optimizer.compliance import offer_decision

ROOT = Path(__file__).resolve().parent.parent
CATALOG_CHIPS = read_data(BUILTIN_DIR / "chips.yaml")["chips"]
CATALOG_OFFERS = read_data(BUILTIN_DIR / "offers.yaml")["offers"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- catalog data


def test_issue_chips_are_all_there():
    ids = {c["id"] for c in CATALOG_CHIPS}
    for chip in ("A100-SXM-80G", "A800-SXM-80G", "H100-SXM-80G", "H800-SXM-80G", "H20-96G", "BR100", "BR104",
                 "MLU270", "MLU290-M5", "MLU370-X8", "Tiangai-100", "Zhikai-100", "Ascend-910B", "Hygon-DCU-Z100"):
        assert chip in ids


def test_every_figure_has_a_source_and_china_prices_say_they_are_estimates():
    for item in CATALOG_CHIPS + CATALOG_OFFERS:
        assert item.get("source", "").strip(), item["id"]
    for offer in CATALOG_OFFERS:
        # only NVIDIA published list prices; every other price must call itself an estimate or
        # a street price reported by the press, dated by as_of
        if not offer["source"].startswith("NVIDIA"):
            assert offer["source"].startswith("estimate") or (
                offer["source"].startswith("reported street price") and offer.get("as_of")), offer["id"]


def test_dgx_cloud_offer_as_announced():
    dgx = next(o for o in CATALOG_OFFERS if o["id"] == "DGX-Cloud-A100")
    # GTC, 21 Mar 2023: eight A100 80GB per instance, from 36,999 USD per instance-month
    assert (dgx["kind"], dgx["gpus_per_unit"], dgx["unit_price"], dgx["currency"], dgx["location"]) == (
        "lease", 8, 36999, "USD", "US")
    assert dgx["chip"] == "A100-SXM-80G"


def test_br100_has_no_fp64_and_hygon_has():
    chips = {c["id"]: c for c in CATALOG_CHIPS}
    assert chips["BR100"].get("fp64_tflops", 0) == 0
    assert chips["Hygon-DCU-Z100"]["fp64_tflops"] > 0


# --------------------------------------------------------------------------- include


def test_builtin_catalog_merges_and_one_field_overrides(tmp_path):
    data = {"include": ["catalog"], "chips": [{"id": "A800-SXM-80G", "efficiency": 0.9}, {"id": "mine", "bf16_tflops": 1}]}
    out = merge_includes(data, tmp_path / "i.yaml")
    assert "include" not in out
    ids = [c["id"] for c in out["chips"]]
    assert ids[: len(CATALOG_CHIPS)] == [c["id"] for c in CATALOG_CHIPS]  # catalog first, its order kept
    assert ids[-1] == "mine"                                              # instance-only chips after
    a800 = next(c for c in out["chips"] if c["id"] == "A800-SXM-80G")
    assert a800["efficiency"] == 0.9 and a800["bf16_tflops"] == 312 and a800["interconnect_gbps"] == 464
    assert len(out["offers"]) == len(CATALOG_OFFERS)
    assert data["chips"][0] == {"id": "A800-SXM-80G", "efficiency": 0.9}  # input left untouched


def test_null_makes_a_figure_unknown_and_lists_are_replaced(tmp_path):
    write(tmp_path / "cat.yaml", """
chips: [{id: C, bf16_tflops: 312, interconnect_gbps: 400, origin: US}]
offers: [{id: o, chip: C, kind: buy, unit_price: 10, price_breaks: [{min_units: 2, unit_price: 9}], tags: [a, b]}]
""")
    data = {"include": ["cat.yaml"], "chips": [{"id": "C", "interconnect_gbps": None}],
            "offers": [{"id": "o", "tags": ["c"]}]}
    out = merge_includes(data, tmp_path / "i.yaml")
    assert out["chips"][0]["interconnect_gbps"] is None
    assert out["offers"][0]["tags"] == ["c"]
    assert out["offers"][0]["price_breaks"] == [{"min_units": 2, "unit_price": 9}]


def test_only_picks_ids_and_later_includes_override_earlier(tmp_path):
    write(tmp_path / "a.yaml", "chips: [{id: X, bf16_tflops: 1}, {id: Y, bf16_tflops: 2}]\nfx: {USD: 7.0}\n")
    write(tmp_path / "b.yaml", "chips: [{id: X, bf16_tflops: 5}]\nfx: {USD: 7.1, EUR: 8}\n")
    out = merge_includes({"include": [{"file": "a.yaml", "only": ["X"]}, "b.yaml"], "fx": {"USD": 7.2}},
                         tmp_path / "i.yaml")
    assert out["chips"] == [{"id": "X", "bf16_tflops": 5}]
    assert out["fx"] == {"USD": 7.2, "EUR": 8}  # the instance wins, catalogs add the rest


def test_nested_includes_and_cycles(tmp_path):
    write(tmp_path / "inner.yaml", "chips: [{id: X, bf16_tflops: 1}]\n")
    write(tmp_path / "outer.yaml", "include: [inner.yaml]\nchips: [{id: X, efficiency: 0.5}]\n")
    out = merge_includes({"include": ["outer.yaml"]}, tmp_path / "i.yaml")
    assert out["chips"] == [{"id": "X", "bf16_tflops": 1, "efficiency": 0.5}]

    write(tmp_path / "a.yaml", "include: [b.yaml]\n")
    write(tmp_path / "b.yaml", "include: [a.yaml]\n")
    with pytest.raises(InputError, match="include cycle i.yaml -> a.yaml -> b.yaml -> a.yaml"):
        merge_includes({"include": ["a.yaml"]}, tmp_path / "i.yaml")


def test_errors_in_a_catalog_name_the_file_and_place(tmp_path):
    write(tmp_path / "bad.yaml", "chips:\n  - {id: ok, bf16_tflops: 1}\n  - {id: X, tdp_w: -5}\n")
    with pytest.raises(InputError) as err:
        merge_includes({"include": ["bad.yaml"]}, tmp_path / "i.yaml")
    assert err.value.source.endswith("bad.yaml")
    assert err.value.messages == ["chips[1].tdp_w: must be >= 0"]


@pytest.mark.parametrize("spec, message", [
    ("catalogue", "unknown catalog 'catalogue'"),
    ("missing.yaml", "no such file"),
    ({"file": "catalog/chips", "only": ["nope"]}, "no chip or offer 'nope'"),
    ({"file": "catalog", "pick": ["x"]}, "unknown key"),
    (3, "must be a catalog name"),
])
def test_bad_includes(tmp_path, spec, message):
    with pytest.raises(InputError, match=message):
        merge_includes({"include": [spec]}, tmp_path / "i.yaml")


def test_a_catalog_with_unknown_keys_is_refused(tmp_path):
    write(tmp_path / "c.yaml", "chips: []\nhorizon: {periods: 1}\n")
    with pytest.raises(InputError, match="horizon: unknown key in a catalog"):
        merge_includes({"include": ["c.yaml"]}, tmp_path / "i.yaml")


def test_load_instance_with_include_and_set(tmp_path):
    path = write(tmp_path / "i.yaml", """
include: [catalog/chips]
horizon: {periods: 2}
offers: [{id: o, chip: BR100, kind: buy, unit_price: 1}]
chips: [{id: BR100, efficiency: 0.6}]
""")
    inst = load_instance(path, ["chips.BR100.efficiency=0.8"])
    br100 = inst.chip("BR100")
    assert br100.efficiency == 0.8 and br100.bf16_tflops == 1024


# --------------------------------------------------------------------------- the instances


BASE = ROOT / "instances" / "cn-2023-h1.yaml"
VARIANT = ROOT / "instances" / "cn-2023-h1-us2023.yaml"


def test_the_two_stories_differ_only_in_regime():
    base, variant = yaml.safe_load(BASE.read_text()), yaml.safe_load(VARIANT.read_text())
    for data in (base, variant):
        for key in ("name", "description", "compliance"):
            data.pop(key)
    assert base == variant
    assert load_instance(BASE).compliance.regime == "us-2022-10"
    assert load_instance(VARIANT).compliance.regime == "us-2023-10"


def blocked(path):
    inst = load_instance(path)
    return {o.id for o in inst.offers if offer_decision(inst, o).blocked}


def test_who_is_blocked_in_each_story():
    # 2022: only the A100 (NVLink 600 GB/s) is out; the DGX Cloud lease runs in the US
    assert blocked(BASE) == {"DGX-A100"}
    # 2023: A100, A800, H800 purchases and the A800 lease located in CN are out
    assert blocked(VARIANT) == {"DGX-A100", "A800-server-CN", "H800-server-CN", "CN-cloud-A800"}


def test_both_stories_solve_and_the_stricter_rule_costs_at_least_as_much(solve):
    # the 2023 rule only removes offers, so its optimum cannot be cheaper; `solve` also runs
    # the independent checker (plan check) on each plan
    results = [solve(p) for p in (BASE, VARIANT)]
    assert [r.status for r in results] == ["optimal", "optimal"]
    assert results[1].objective >= results[0].objective * (1 - 1e-9)
    used = {o.offer for o in results[1].orders} | {lease.offer for lease in results[1].leases}
    assert not used & {"A800-server-CN", "H800-server-CN", "CN-cloud-A800", "DGX-A100"}


def test_a_typo_in_an_override_id_names_the_closest_catalog_id(tmp_path):
    # issue 14: {id: H20-server-CN-typo, lead_time: 1} was reported as a broken new offer at an
    # index of the merged list
    path = tmp_path / "typo.yaml"
    path.write_text("name: typo\ninclude: [catalog]\ncurrency: CNY\nfx: {USD: 7.2}\nhorizon: {periods: 3}\n"
                    "offers:\n  - {id: H20-server-CN-typo, lead_time: 1}\n")
    with pytest.raises(InputError) as err:
        load_instance(path)
    assert err.value.messages == ["offers[0].id: 'H20-server-CN-typo' is not a catalog id; did you mean H20-server-CN?"]
