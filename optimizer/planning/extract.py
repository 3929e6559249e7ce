"""Extraction: the integer plan HiGHS returned becomes a `Result`.

Every reported number is recomputed from the integer units in the instance currency, not
unscaled from solver values, so the report is exact for the plan it shows.
"""

from __future__ import annotations

import time

from models.result import (
    CapacityRow,
    CashRow,
    Cost,
    Excluded,
    Lease,
    Order,
    Result,
    SolverInfo,
    WorkRow,
)
from optimizer.planning.prepare import Prepared


def plan_accounts(p: Prepared, units: dict[tuple[str, int], int]) -> dict:
    """Cash, capacity and costs of an integer plan, by MODEL.md sections 3 and 5."""
    T = p.T
    periods = range(1, p.last_billed_period + 1)
    purchases = {t: 0.0 for t in periods}
    lease_bills = {t: 0.0 for t in periods}
    power = {t: 0.0 for t in periods}
    in_service = {(o.id, t): 0 for o in p.offers for t in range(1, T + 1)}
    residual = fixed = 0.0
    energy = p.pue * p.hours_per_period * p.energy_price
    for o in p.offers:
        used = False
        for s in o.window:
            n = units.get((o.id, s), 0)
            if n <= 0:
                continue
            used = True
            cost = o.price_for(n) * n
            first = s + o.lead_time
            if o.is_buy:
                purchases[s] += cost
                residual += o.residual_value * cost
                for t in range(first, T + 1):
                    in_service[o.id, t] += n
            else:
                for t in range(first, first + o.term):
                    lease_bills[t] += cost
                    if t <= T:
                        in_service[o.id, t] += n
        if used:
            fixed += o.fixed_cost
        if o.is_buy:
            for t in range(1, T + 1):
                power[t] += in_service[o.id, t] * o.power_kw * energy
    cash = {t: purchases[t] + lease_bills[t] + power[t] for t in periods}
    discounted = sum(p.discount[t] * cash[t] for t in periods) + fixed - p.discount[T + 1] * residual
    capacity = {
        (m, t): sum(o.perf.get(m, 0.0) * in_service[o.id, t] for o in p.offers)
        for m in {*p.metrics, *(r.metric for r in p.work_requirements)} for t in range(1, T + 1)
    }
    return {
        "purchases": purchases,
        "lease_bills": lease_bills,
        "power": power,
        "cash": cash,
        "fixed": fixed,
        "residual": residual,
        "discounted": discounted,
        "capacity": capacity,
        "in_service": in_service,
    }


def extract(p: Prepared, outcome, options, started: float, message: str | None = None) -> Result:
    from optimizer.planning.highs import highs_version

    units = outcome.units
    acc = plan_accounts(p, units)
    orders, leases = [], []
    for o in p.offers:
        for s in o.window:
            n = units.get((o.id, s), 0)
            if n <= 0:
                continue
            price = o.price_for(n)
            if o.is_buy:
                orders.append(Order(
                    offer=o.id, chip=o.chip, vendor=o.vendor, period=s, month=p.month(s), arrives=s + o.lead_time,
                    units=n, gpus=n * o.gpus_per_unit, unit_price=price, cost=price * n,
                ))
            else:
                leases.append(Lease(
                    offer=o.id, chip=o.chip, vendor=o.vendor, start=s, month=p.month(s), first_period=s + o.lead_time,
                    last_period=s + o.lead_time + o.term - 1, units=n, gpus=n * o.gpus_per_unit,
                    unit_price=price, cost=price * n * o.term,
                ))
    orders.sort(key=lambda r: (r.period, r.offer))
    leases.sort(key=lambda r: (r.start, r.offer))
    capex = sum(acc["purchases"].values())
    lease = sum(acc["lease_bills"].values())
    power = sum(acc["power"].values())
    cost = Cost(
        capex=capex, lease=lease, power=power, fixed=acc["fixed"], residual_credit=acc["residual"],
        total_cash=capex + lease + power + acc["fixed"], discounted=acc["discounted"],
    )
    if p.sense == "max_capacity":
        objective = acc["capacity"][p.objective_metric, p.objective_period]
    else:
        objective = acc["discounted"]
    return Result(
        instance=p.name,
        currency=p.currency,
        status=outcome.status,
        message=message,
        objective_sense=p.sense,
        objective=objective,
        cost=cost,
        orders=orders,
        leases=leases,
        capacity=capacity_rows(p, acc),
        work=work_rows(p, acc),
        cash=[
            CashRow(period=t, month=p.month(t), purchases=acc["purchases"][t], lease=acc["lease_bills"][t],
                    power=acc["power"][t], total=acc["cash"][t], budget=p.budget_per_period.get(t))
            for t in acc["cash"] if t <= p.T or acc["cash"][t] != 0  # lease bills past T, if any
        ],
        excluded=excluded_rows(p),
        solver=solver_info(outcome.time_s, outcome.mip_gap, options, started, highs_version()),
    )


def capacity_rows(p: Prepared, acc: dict) -> list[CapacityRow]:
    rows = []
    for m in p.metrics:
        for t in range(1, p.T + 1):
            required = [r.required[t] for r in p.capacity_requirements if r.metric == m and t in r.required]
            rows.append(CapacityRow(period=t, month=p.month(t), metric=m, available=acc["capacity"][m, t],
                                    required=max(required) if required else None))
    return rows


def work_rows(p: Prepared, acc: dict) -> list[WorkRow]:
    return [
        WorkRow(
            requirement=r.name, metric=r.metric, first_period=r.first, last_period=r.last,
            delivered_flop=sum(acc["capacity"][r.metric, t] for t in range(r.first, r.last + 1))
            * r.flop_per_capacity_period,
            required_flop=r.work_flop,
        )
        for r in p.work_requirements
    ]


def excluded_rows(p: Prepared) -> list[Excluded]:
    return [Excluded(offer=o, reason=reason, rule=rule) for o, reason, rule in p.excluded]


def solver_info(time_s, mip_gap, options, started, version) -> SolverInfo:
    return SolverInfo(
        version=version, time_s=time_s, mip_gap=mip_gap, wall_time_s=time.perf_counter() - started,
        requested_gap=options.gap, time_limit_s=options.time_limit, threads=options.threads,
    )


def no_plan(p: Prepared, status: str, message: str | None, options, time_s: float, started: float) -> Result:
    """A result without a plan: nothing of a previous plan is carried over (PyPSA#397)."""
    from optimizer.planning.highs import highs_version

    if status not in ("infeasible", "unbounded", "time_limit"):
        status = "infeasible" if status == "infeasible_or_unbounded" else status
    return Result(
        instance=p.name, currency=p.currency, status=status, message=message, objective_sense=p.sense,
        objective=None, cost=None, excluded=excluded_rows(p),
        solver=solver_info(time_s, None, options, started, highs_version()),
    )
