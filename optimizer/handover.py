"""Hand the built Pyomo model to HiGHS as arrays (the route `plan solve` takes).

Pyomo's LinearRepnVisitor (the compiler behind its LP writer, without the file) turns each
active row into coefficients; the columns and rows go to HiGHS in declaration order through
highspy's bulk `addVars`/`addRows`. Measured against appsi's `set_instance` on the benchmark
instances (benchmarks/handover.py): 0.375 -> 0.080 s at 50 offers x 36 periods, 2.31 -> 0.52 s at
200 x 60, the same problem to 1e-12 and the same optima. Persistent re-solves (sweeps, break-even
probes) keep appsi, whose `update` moves only mutable Params.
"""

from __future__ import annotations


def compile_to_highs(model, highs=None):
    """The active linear model -> a highspy.Highs holding it; returns (highs, variables).

    Columns in declaration order (as appsi's only_child_vars=True), rows in declaration order
    (as appsi), the active objective's constant as HiGHS's offset. Mutable Params are read at
    their current values: after `update_parameters`, compile again (or change the affected
    coefficients, which is what appsi's update does).
    """
    import highspy
    import numpy as np
    import pyomo.environ as pyo
    from pyomo.repn.linear import LinearRepnVisitor
    from pyomo.repn.util import OrderedVarRecorder

    inf = highspy.kHighsInf
    variables = list({id(v): v for v in model.component_data_objects(pyo.Var, descend_into=True)}.values())
    var_map = {id(v): v for v in variables}
    order = {vid: i for i, vid in enumerate(var_map)}
    visitor = LinearRepnVisitor({}, var_recorder=OrderedVarRecorder(var_map, order, None))

    lower, upper, integer = [], [], []
    for v in variables:
        lb, ub = v.bounds
        if v.fixed:
            lb = ub = v.value
        lower.append(-inf if lb is None else lb)
        upper.append(inf if ub is None else ub)
        integer.append(1 if v.is_integer() else 0)

    row_lower, row_upper, starts, index, value = [], [], [], [], []
    for con in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        lb, body, ub = con.to_bounded_expression(True)
        repn = visitor.walk_expression(body)
        if repn.nonlinear is not None:
            raise ValueError(f"{con.name} is not linear")
        mult = repn.multiplier
        constant = mult * repn.constant
        starts.append(len(index))
        for vid, coef in repn.linear.items():
            if coef:
                index.append(order[vid])
                value.append(mult * coef)
        row_lower.append(-inf if lb is None else lb - constant)
        row_upper.append(inf if ub is None else ub - constant)

    objectives = list(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    cost = np.zeros(len(variables))
    offset, sense = 0.0, highspy.ObjSense.kMinimize
    if objectives:
        (obj,) = objectives
        repn = visitor.walk_expression(obj.expr)
        for vid, coef in repn.linear.items():
            cost[order[vid]] += repn.multiplier * coef
        offset = repn.multiplier * repn.constant
        if obj.sense == pyo.maximize:
            sense = highspy.ObjSense.kMaximize

    h = highs or highspy.Highs()
    h.setOptionValue("output_flag", False)
    n = len(variables)
    h.addVars(n, np.array(lower, dtype=np.double), np.array(upper, dtype=np.double))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                            np.array([highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                                      for i in integer]))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    h.changeObjectiveOffset(offset)
    h.changeObjectiveSense(sense)
    h.addRows(len(row_lower), np.array(row_lower, dtype=np.double), np.array(row_upper, dtype=np.double),
              len(index), np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32),
              np.array(value, dtype=np.double))
    return h, variables
