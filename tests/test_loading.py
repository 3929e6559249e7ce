"""Invalid input: every error at once, with its place; YAML read safely."""

from __future__ import annotations

import pytest

from models.errors import InputError
from models.loading import apply_overrides, load_instance, parse_text, validate

BASE = """
name: t
horizon: {periods: 3}
chips:
  - {id: X, bf16_tflops: 100}
offers:
  - {id: A, chip: X, kind: buy, unit_price: 10}
requirements:
  - {metric: bf16_tflops, schedule: 100}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        validate(parse_text(text))
    return info.value.messages


def test_valid_base():
    inst = validate(parse_text(BASE))
    assert inst.requirements[0].schedule == {1: 100}  # a scalar schedule means {1: value}


def test_unknown_key_names_its_place():
    assert errors_of(BASE.replace("unit_price: 10", "unit_price: 10, colour: red")) == [
        "offers[0].colour: unknown key (not part of the instance format)"
    ]


def test_negative_lead_time():
    assert errors_of(BASE.replace("unit_price: 10", "unit_price: 10, lead_time: -1")) == [
        "offers[0].lead_time: must be >= 0"
    ]


def test_wrong_type():
    (msg,) = errors_of(BASE.replace("unit_price: 10", "unit_price: ten"))
    assert msg.startswith("offers[0].unit_price: must be a number")


@pytest.mark.parametrize("bad", [".nan", ".inf", "-.inf"])
def test_nan_and_infinity_are_refused(bad):
    (msg,) = errors_of(BASE.replace("unit_price: 10", f"unit_price: {bad}"))
    assert msg.startswith("offers[0].unit_price:") and "finite" in msg


def test_bad_reference_and_duplicate_id_reported_together():
    text = BASE.replace(
        "  - {id: A, chip: X, kind: buy, unit_price: 10}",
        "  - {id: A, chip: X, kind: buy, unit_price: 10}\n  - {id: A, chip: Y, kind: lease, unit_price: 1}",
    )
    msgs = errors_of(text)
    assert "offers[1].id: duplicate id 'A' (also offers[0])" in msgs
    assert "offers[1].chip: unknown chip 'Y'" in msgs


def test_period_out_of_range():
    assert errors_of(BASE.replace("schedule: 100", "schedule: {4: 100}")) == [
        "requirements[0].schedule.4: period 4 is outside the horizon 1..3"
    ]


def test_every_field_error_at_once():
    text = BASE.replace("kind: buy, unit_price: 10", "kind: rent, unit_price: -1, lead_time: -2")
    msgs = errors_of(text)
    assert len(msgs) == 3
    assert any(m.startswith("offers[0].kind: must be one of") for m in msgs)


def test_requirement_needs_exactly_one_kind():
    msgs = errors_of(BASE.replace("schedule: 100", "schedule: 100, work_flop: 1.0e20"))
    assert msgs == ["requirements[0]: needs exactly one of `schedule` and `work_flop`"]
    msgs = errors_of(BASE.replace("metric: bf16_tflops, schedule: 100", "metric: gpus, work_flop: 1.0e20"))
    assert msgs == ["requirements[0].work_flop: only with a *_tflops metric, not gpus"]


def test_price_breaks_must_increase():
    text = BASE.replace("unit_price: 10}", "unit_price: 10, price_breaks: [{min_units: 5, unit_price: 9}, "
                        "{min_units: 5, unit_price: 8}]}")
    assert errors_of(text) == ["offers[0].price_breaks[1].min_units: must be strictly greater than the previous break's"]


def test_empty_file(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(InputError) as info:
        load_instance(path)
    assert "empty" in info.value.messages[0]


def test_yaml_syntax_error_names_its_line():
    with pytest.raises(InputError) as info:
        parse_text("name: x\nhorizon: {periods: 3\nchips: []\n")
    assert info.value.messages[0].startswith("line 3")


def test_duplicate_key_is_an_error():
    with pytest.raises(InputError) as info:
        parse_text("name: a\nname: b\n")
    assert "duplicate key 'name'" in info.value.messages[0]


def test_alias_bomb_is_refused():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        bomb += f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    with pytest.raises(InputError) as info:
        parse_text(bomb)
    assert "alias" in info.value.messages[0]


def test_python_tags_are_not_executed():
    with pytest.raises(InputError):
        parse_text("name: !!python/object/apply:os.system ['echo hacked']\n")


def test_yaml_12_numbers():
    assert parse_text("a: 3.0e9\nb: 1e23\nc: 2023-04") == {"a": 3.0e9, "b": 1e23, "c": "2023-04"}


def test_set_by_id_and_index_and_schedule_key():
    data = parse_text(BASE)
    out = apply_overrides(data, ["offers.A.unit_price=1.1e6", "requirements.0.schedule.3=300", "budget.total=2e9"])
    inst = validate(out)
    assert inst.offers[0].unit_price == 1.1e6
    assert inst.requirements[0].schedule == {1: 100, 3: 300}
    assert inst.budget.total == 2e9
    assert data["offers"][0]["unit_price"] == 10  # the original is untouched


def test_set_unknown_item():
    with pytest.raises(InputError) as info:
        apply_overrides(parse_text(BASE), ["offers.Z.unit_price=1"])
    assert "no item 'Z'" in info.value.messages[0]


def test_pattern_messages_keep_the_pattern_and_say_what_is_expected(tmp_path):
    # issue 14: `cn` was refused with the pattern lower-cased ('^[a-z]{2}$'), which it matches
    from models.errors import InputError
    from models.loading import load_instance

    path = tmp_path / "c.yaml"
    path.write_text("horizon: {periods: 2}\nbuyer: {country: cn}\ncurrency: usd\n")
    with pytest.raises(InputError) as err:
        load_instance(path)
    text = "\n".join(err.value.messages)
    assert "buyer.country: 'cn' is not valid here: expected an ISO 3166 alpha-2 code in capitals" in text
    assert "currency: 'usd' is not valid here: expected an ISO 4217 code in capitals" in text
    assert "[a-z]" not in text


def test_an_id_with_dots_is_addressed_by_quoting_it(tmp_path):
    """Issue 17 item 13: ids may hold dots (MODEL.md does not forbid them), so a path quotes
    them; unquoted, the dot splits the id and the message names the ids there are."""
    text = """
name: dotted
horizon: {periods: 3}
chips: [{id: X, bf16_tflops: 100}]
offers:
  - {id: X-lease-v1.1, chip: X, kind: lease, gpus_per_unit: 4, unit_price: 3}
requirements: [{metric: bf16_tflops, schedule: 1000}]
"""
    data = parse_text(text)
    out = apply_overrides(data, ['offers."X-lease-v1.1".unit_price=5', "offers.'X-lease-v1.1'.lead_time=0"])
    assert out["offers"][0]["unit_price"] == 5 and out["offers"][0]["lead_time"] == 0
    with pytest.raises(InputError, match="no item 'X-lease-v1'.*X-lease-v1.1"):
        apply_overrides(data, ["offers.X-lease-v1.1.unit_price=5"])
    with pytest.raises(InputError, match="unclosed quote"):
        apply_overrides(data, ['offers."X-lease-v1.1.unit_price=5'])
    assert validate(out).offers[0].unit_price == 5
