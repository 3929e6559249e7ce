"""Property tests: random valid instances (every feature of MODEL.md) and random invalid ones.

Valid instances (tests/strategies.py, up to 8 periods and 6 offers, offers with and without
supply caps): `plan solve --gap 0` gives either
  - a plan, which `plan check` (optimizer/check.py) must accept with matching costs, whose costs
    the brute force's evaluator (tests/bruteforce.py, written from MODEL.md) must reproduce, and
    whose objective a second formulation (tests/reference_milp.py: highspy without Pyomo, dense
    capacity rows, per-order segment binaries) must reach too, to 1e-6 relative; or
  - `infeasible`, which the second formulation must confirm (no plan either); or
  - `unbounded` (max_capacity only), which the second formulation confirms by reaching its
    order bound on an offer without supply caps.

Invalid instances: a valid one with one or two faults injected (negative lead time, unknown key,
NaN, bad reference, duplicate id, period out of range, wrong type, ...): `plan validate` exits 2
and names the place of every fault, without a traceback.
"""

from __future__ import annotations

import copy
import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import app
from models.loading import validate
from optimizer.check import check_plan
from optimizer.solve import SolveOptions, solve_instance
from tests.bruteforce import evaluate
from tests.reference_milp import reference_solve
from tests.strategies import instance_data

REL = 1e-6


def close(a: float, b: float, rel: float = REL) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def plan_units(result) -> dict[tuple[str, int], int]:
    units = {(r.offer, r.period): r.units for r in result.orders}
    units.update({(r.offer, r.start): r.units for r in result.leases})
    return units


def check_against_model(data: dict) -> str:
    """Solve and confirm the outcome independently; AssertionError on any disagreement."""
    inst = validate(data)
    got = solve_instance(inst, SolveOptions(gap=0))
    ref = reference_solve(inst)
    if got.status == "infeasible":
        assert ref.status == "infeasible", (
            f"solver: infeasible ({got.message}); second formulation: {ref.status} with {ref.units}, "
            f"objective {ref.objective}"
        )
        return "infeasible"
    if got.status == "unbounded":
        assert inst.objective.sense == "max_capacity", "only max_capacity can be unbounded"
        assert ref.at_bound, f"solver: unbounded; second formulation: bounded optimum {ref.objective}"
        return "unbounded"
    assert got.status == "optimal", f"solver: {got.status} ({got.message}) at gap 0"

    report = check_plan(inst, got)
    assert report.ok, report.describe()
    units = plan_units(got)
    mine = evaluate(inst, units)
    assert mine.feasible, f"plan {units} breaks {mine.broken} by MODEL.md"
    for name in ("capex", "lease", "power", "fixed", "total_cash", "discounted"):
        assert close(getattr(got.cost, name), getattr(mine, name)), (
            f"cost.{name}: solver reports {getattr(got.cost, name)}, MODEL.md gives {getattr(mine, name)}"
        )
    assert close(got.cost.residual_credit, mine.residual)

    if ref.at_bound:
        return "optimal (second formulation at its bound: objective not compared)"
    assert ref.status == "optimal", f"solver found {units}; second formulation: {ref.status}"
    assert close(got.objective, ref.objective), (
        f"objective: solver {got.objective} with {units}; second formulation {ref.objective} with {ref.units}"
    )
    if inst.objective.sense == "max_capacity":
        assert close(got.cost.discounted, ref.cost), (
            f"least cost at the capacity reached: solver {got.cost.discounted} with {units}; "
            f"second formulation {ref.cost} with {ref.units}"
        )
    return "optimal"


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instance_data(tiny=False))
def test_solver_outcome_is_confirmed_independently(data):
    check_against_model(data)


# --------------------------------------------------------------------------- invalid instances


def _offer(data, draw):
    return draw(st.integers(0, len(data["offers"]) - 1))


def negative_lead_time(data, draw):
    i = _offer(data, draw)
    data["offers"][i]["lead_time"] = -draw(st.integers(1, 3))
    return f"offers[{i}].lead_time"


def unknown_key(data, draw):
    i = _offer(data, draw)
    data["offers"][i]["colour"] = "green"
    return f"offers[{i}].colour"


def nan_price(data, draw):
    i = _offer(data, draw)
    data["offers"][i]["unit_price"] = draw(st.sampled_from([math.nan, math.inf]))
    return f"offers[{i}].unit_price"


def unknown_chip(data, draw):
    i = _offer(data, draw)
    data["offers"][i]["chip"] = "no-such-chip"
    return f"offers[{i}].chip"


def duplicate_offer(data, draw):
    data["offers"].append(copy.deepcopy(data["offers"][_offer(data, draw)]))
    return f"offers[{len(data['offers']) - 1}].id"


def duplicate_chip(data, draw):
    data["chips"].append(copy.deepcopy(data["chips"][0]))
    return f"chips[{len(data['chips']) - 1}].id"


def period_out_of_range(data, draw):
    T = data["horizon"]["periods"]
    i = _offer(data, draw)
    data["offers"][i].pop("available_until", None)
    data["offers"][i]["available_from"] = T + draw(st.integers(1, 5))
    return f"offers[{i}].available_from"


def schedule_out_of_range(data, draw):
    T = data["horizon"]["periods"]
    data.setdefault("requirements", []).append({"metric": "gpus", "schedule": {T + 1: 1}})
    return f"requirements[{len(data['requirements']) - 1}].schedule"


def wrong_type(data, draw):
    data["horizon"]["periods"] = draw(st.sampled_from(["twelve", 2.5, [3], {"n": 3}]))
    return "horizon.periods"


def zero_term(data, draw):
    i = _offer(data, draw)
    data["offers"][i]["kind"] = "lease"
    for key in ("power_kw", "residual_value"):
        data["offers"][i].pop(key, None)
    data["offers"][i]["term"] = 0
    return f"offers[{i}].term"


def fractional_gpus(data, draw):
    i = _offer(data, draw)
    data["offers"][i]["gpus_per_unit"] = 2.5
    return f"offers[{i}].gpus_per_unit"


def bad_price_break(data, draw):
    i = _offer(data, draw)
    data["offers"][i]["price_breaks"] = [{"min_units": 1, "unit_price": 5}]
    return f"offers[{i}].price_breaks[0].min_units"


def share_above_one(data, draw):
    data.setdefault("policies", []).append(
        {"name": "too-much", "metric": "gpus", "select": {"kind": "buy"}, "min_share": 1.5})
    return f"policies[{len(data['policies']) - 1}].min_share"


def unknown_metric(data, draw):
    data.setdefault("requirements", []).append({"metric": "tokens", "schedule": 5})
    return f"requirements[{len(data['requirements']) - 1}].metric"


def work_on_memory(data, draw):
    data.setdefault("requirements", []).append({"metric": "memory_gb", "work_flop": 1e20})
    return f"requirements[{len(data['requirements']) - 1}].work_flop"


def negative_budget(data, draw):
    data["budget"] = {**data.get("budget", {}), "total": -1}
    return "budget.total"


def unknown_currency(data, draw):
    i = _offer(data, draw)
    data["offers"][i]["currency"] = "JPY"
    return f"offers[{i}].currency"


def unknown_regime(data, draw):
    data["compliance"] = {"regime": "eu-2030"}
    data.setdefault("buyer", {"country": "CN"})
    return "compliance.regime"


def negative_efficiency(data, draw):
    data["chips"][0]["efficiency"] = -0.5
    return "chips[0].efficiency"


def bad_sense(data, draw):
    data["objective"] = {"sense": "max_profit"}
    return "objective.sense"


FAULTS = [negative_lead_time, unknown_key, nan_price, unknown_chip, duplicate_offer, duplicate_chip,
          period_out_of_range, schedule_out_of_range, wrong_type, zero_term, fractional_gpus,
          bad_price_break, share_above_one, unknown_metric, work_on_memory, negative_budget,
          unknown_currency, unknown_regime, negative_efficiency, bad_sense]
# Faults between fields (references, ids, periods against T) are also checked on the raw data when
# some field is invalid (test_reference_and_field_faults_reported_at_once); the draws below still
# combine faults within a group. A broken horizon hides the period checks.
CROSS_FIELD = [unknown_chip, duplicate_offer, duplicate_chip, period_out_of_range, schedule_out_of_range,
               unknown_currency]
FIELD = [f for f in FAULTS if f not in CROSS_FIELD and f is not wrong_type]


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(instance_data(tiny=False), st.data())
def test_invalid_instances_exit_2_naming_the_field(tmp_path, data, draw):
    fault = draw.draw(st.sampled_from(FAULTS), label="fault")
    places = [fault(data, draw.draw)]
    group = CROSS_FIELD if fault in CROSS_FIELD else FIELD if fault in FIELD else []
    if group and draw.draw(st.booleans(), label="second fault"):
        second = draw.draw(st.sampled_from([f for f in group if f is not fault]), label="fault 2")
        places.append(second(data, draw.draw))
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    out = result.output
    assert result.exit_code == 2, f"exit {result.exit_code} for {places}: {out}"
    assert "Traceback" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for place in places:
        assert place in out, f"{place} not named in: {out}"


def test_reference_and_field_faults_reported_at_once(tmp_path):
    data = {"horizon": {"periods": 2}, "chips": [{"id": "X"}],
            "offers": [{"id": "a", "chip": "nope", "kind": "buy", "unit_price": 1},
                       {"id": "b", "chip": "X", "kind": "buy", "unit_price": 1, "lead_time": -1}]}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "offers[1].lead_time" in result.output
    assert "offers[0].chip" in result.output


@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(instance_data(tiny=False))
def test_valid_instances_validate(tmp_path, data):
    # the base of the faults above, written to YAML unchanged, validates (exit 0)
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
