"""Issue 17 item 1: numbers at the ends of what validation accepts, mixed in one instance.

Each random tiny instance (tests/strategies.py, brute-forceable) is moved to extreme
magnitudes: every offer's money times its own power of ten (one instance may hold a 1e12 price
next to a 1e-5 one), every chip's figures and the requirements on them times one power of ten,
and the hours per period times another (work requirements follow, so the instance stays as
feasible as it was). Then either validation refuses it naming the range, or `plan solve`'s
answer (status and objective, to 1e-6 relative) is the brute force's (tests/bruteforce.py,
written from MODEL.md, listing every plan in float64), and the independent checker accepts it.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.errors import InputError
from models.loading import validate
from optimizer.check import check_plan
from optimizer.planning.solve import SolveOptions, solve_instance
from tests.bruteforce import NotEnumerable, brute_force
from tests.strategies import instance_data

FIGURES = ("bf16_tflops", "fp32_tflops", "fp64_tflops", "fp8_tflops", "int8_tops", "memory_gb")


@st.composite
def extreme_instance(draw):
    data = draw(instance_data(tiny=True))
    for offer in data["offers"]:
        k = 10.0 ** draw(st.sampled_from([-5, -3, 0, 6, 9, 12]))
        offer["unit_price"] *= k
        if "fixed_cost" in offer:
            offer["fixed_cost"] *= k
        for brk in offer.get("price_breaks", []):
            brk["unit_price"] *= k
    data.pop("budget", None)  # drawn against the old prices: it would only make most instances infeasible
    f = 10.0 ** draw(st.sampled_from([-9, -4, 0, 4, 9]))
    for chip in data["chips"]:
        for name in FIGURES:
            if chip.get(name):
                chip[name] *= f
    h = draw(st.sampled_from([None, 1e-3, 1, 1e5]))
    hours = data["horizon"].get("hours_per_period", 730)
    if h is not None:
        data["horizon"]["hours_per_period"] = h
    for req in data.get("requirements", []):
        if req["metric"] in FIGURES:
            if "schedule" in req:
                req["schedule"] = {t: v * f for t, v in req["schedule"].items()} if isinstance(req["schedule"], dict) \
                    else req["schedule"] * f
            if "work_flop" in req:
                req["work_flop"] *= f * (h if h is not None else hours) / hours
    return data


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(extreme_instance())
def test_extreme_and_mixed_magnitudes_solve_right_or_are_refused(data):
    try:
        inst = validate(data)
    except InputError as exc:
        assert all("range" in m or "more than" in m or "less than" in m for m in exc.messages), exc.messages
        return
    try:
        bf = brute_force(inst)
    except NotEnumerable:
        return
    try:
        got = solve_instance(inst, SolveOptions(gap=0))
    except InputError as exc:  # refused after preparing (e.g. a product out of range): must say so
        assert any("range" in m or "more than" in m or "less than" in m for m in exc.messages), exc.messages
        return
    if bf.status == "infeasible":
        assert got.status == "infeasible", (got.status, got.objective)
        return
    assert got.status == "optimal", f"solver: {got.status} ({got.message}); brute force {bf.objective} with {bf.plan}"
    assert got.objective == pytest.approx(bf.objective, rel=1e-6), (
        f"solver {got.objective}; brute force {bf.objective} with {bf.plan}")
    assert check_plan(inst, got).ok


SMALL_BESIDE_DEAR = """
name: small-beside-dear
horizon: {periods: 4}
chips: [{id: X, bf16_tflops: 100}]
offers:
  - {id: dear, chip: X, kind: lease, gpus_per_unit: 8, unit_price: DEAR}
  - {id: a, chip: X, kind: lease, gpus_per_unit: 1, unit_price: 1.0e-6}
  - {id: b, chip: X, kind: lease, gpus_per_unit: 4, unit_price: 2.5e-6}
requirements: [{metric: bf16_tflops, schedule: 400}]
"""


@pytest.mark.parametrize("dear", ["1.0e6", "1.0e8", "1.0e12", "1.0e15"])
def test_small_prices_beside_a_dear_one_still_decide_the_plan(dear):
    """400 TFLOPS = 4 GPUs a period: 4 x a = 4e-6 or 1 x b = 2.5e-6 (or 1 x dear). b wins:
    4 periods x 2.5e-6 = 1e-5. Was 1.6e-5 (a) labelled optimal from dear = 1e8 up: the scaled
    small prices sat under HiGHS's tolerances."""
    from models.loading import parse_text

    got = solve_instance(validate(parse_text(SMALL_BESIDE_DEAR.replace("DEAR", dear))), SolveOptions(gap=0))
    assert got.status == "optimal"
    assert got.objective == pytest.approx(1e-5, rel=1e-9)
    assert {r.offer for r in got.leases} == {"b"}
