"""The scenario creator mpi-sppy calls: `scenario_model` on one scenario's Prepared, with its
expected-cost objective and the first-stage (non-anticipative) units attached to the root node."""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.core as pyo

from models.errors import InputError
from models.instance import Instance
from optimizer.planning.prepare import Prepared
from optimizer.planning.scenarios import ScenarioPlan, prepare_scenarios, scenario_model


@dataclass
class TwoStage:
    """The scenarios as a two-stage program: first stage = units placed before `now`."""

    plan: ScenarioPlan
    now: int
    slots: list[tuple[str, int]]  # (offer, period) of the first stage, the same list in every scenario

    def prepared(self, name: str) -> Prepared:
        return self.plan.prepared[self.plan.names.index(name)]


def two_stage(instance: Instance) -> TwoStage:
    """The instance's scenarios prepared for PH; InputError when they are not a two-stage
    program with expected cost (PH's root node is one set of decisions shared by all)."""
    plan = prepare_scenarios(instance)
    if not plan.scenarios:
        raise InputError(["--engine ph: the instance has no scenarios (nor a sample)"])
    if plan.measure != "expected":
        raise InputError([f"--engine ph: risk.measure {plan.measure} is not supported; PH minimises the expected"
                          " cost (use --engine ef)"])
    known = sorted({s.known for s in plan.scenarios})
    if len(known) > 1:
        raise InputError([f"--engine ph: the scenarios are told apart in different periods ({known}); PH needs one"
                          " common `known` (a sample has one): use --engine ef"])
    now = known[0]
    slots = sorted({(o.id, t) for p in plan.prepared for o in p.offers for t in o.window if t < now})
    return TwoStage(plan, now, slots)


def scenario_creator(name: str, stage: TwoStage) -> pyo.ConcreteModel:
    """One scenario as mpi-sppy wants it: the model, its probability, its root node."""
    from mpisppy.utils import sputils

    p = stage.prepared(name)
    m = pyo.ConcreteModel(name)
    scenario_model(m, p)
    m.ph_objective = pyo.Objective(expr=m.scenario_cost, sense=pyo.minimize)
    # a slot outside this scenario's window is a variable fixed at 0 (as in the extensive form)
    missing = [s for s in stage.slots if s not in m.units]
    m.absent_units = pyo.Var(range(len(missing)), domain=pyo.NonNegativeIntegers, initialize=0)
    for i in range(len(missing)):
        m.absent_units[i].fix(0)
    first = [m.units[s] if s in m.units else m.absent_units[missing.index(s)] for s in stage.slots]
    sputils.attach_root_node(m, m.ph_objective, first)
    m._mpisppy_probability = next(s.probability for s in stage.plan.scenarios if s.name == name)
    return m
