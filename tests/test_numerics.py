"""Costs of 1e9 and work of 1e23 FLOP in one model: the scaled rows stay near 1."""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.repn import generate_standard_repn

from models.loading import parse_text, validate
from optimizer.planning.build import build_model
from optimizer.planning.prepare import prepare
from tests.conftest import FEATURES  # noqa: F401  (keeps the tests package importable)

BIG = """
name: big-numbers
currency: CNY
fx: {USD: 7.2}
horizon: {periods: 12}
chips:
  - {id: A800, bf16_tflops: 312, fp64_tflops: 19.5, tdp_w: 400}
offers:
  - {id: server, chip: A800, kind: buy, gpus_per_unit: 8, unit_price: 1.2e6, lead_time: 3,
     fixed_cost: 5.0e6, price_breaks: [{min_units: 16, unit_price: 1.1e6}]}
  - {id: cloud, chip: A800, kind: lease, gpus_per_unit: 8, unit_price: 36999, currency: USD, term: 3}
requirements:
  - {metric: bf16_tflops, work_flop: 3.14e23, from: 1, until: 12, utilization: 0.4}
  - {metric: fp64_tflops, schedule: {6: 2000}}
budget: {total: 3.0e9, per_period: {1: 5.0e8}}
site: {power_kw: {1: 2000}, pue: 1.3, energy_price: 0.8}
"""


def coefficient_ranges(model):
    matrix, rhs, cost = [], [], []
    for con in model.component_data_objects(pyo.Constraint, active=True):
        repn = generate_standard_repn(con.body, compute_values=True)
        matrix += [abs(c) for c in repn.linear_coefs if c]
        for bound in (con.lower, con.upper):
            if bound is not None and pyo.value(bound) != 0:
                rhs.append(abs(pyo.value(bound)))
    obj = next(model.component_data_objects(pyo.Objective, active=True))
    cost += [abs(c) for c in generate_standard_repn(obj.expr, compute_values=True).linear_coefs if c]
    return matrix, rhs, cost


def test_scaled_model_has_coefficients_near_one():
    # unscaled, this model would hold prices of 1.2e6, a budget of 3e9 and work of 3.14e23 FLOP
    # beside unit coefficients: a range of 1e23. Scaled, each family is divided by its own scale;
    # the widest remaining spread is energy cost (~2.4e3 per unit-period) against the largest
    # price (5e6) in budget rows, and the big-M of an order (hundreds of units).
    prepared = prepare(validate(parse_text(BIG)))
    matrix, rhs, cost = coefficient_ranges(build_model(prepared))
    for values in (matrix, rhs, cost):
        assert 1e-6 <= min(values) and max(values) <= 1e6, (min(values), max(values))


def test_highs_does_not_warn(tmp_path):
    from pyomo.contrib.appsi.solvers import Highs

    log = tmp_path / "highs.log"
    opt = Highs(only_child_vars=True)
    opt.config.load_solution = False
    opt.highs_options = {"output_flag": True, "log_to_console": False, "log_file": str(log)}
    results = opt.solve(build_model(prepare(validate(parse_text(BIG)))))
    assert results.best_feasible_objective is not None
    text = log.read_text()
    assert "Coefficient ranges" in text  # the log was written
    assert "WARNING" not in text.upper().replace("WARNINGS", ""), text
