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
    ShortfallRow,
    SolverInfo,
    WorkRow,
)
from optimizer.planning.prepare import Prepared


def plan_accounts(p: Prepared, units: dict[tuple[str, int], int]) -> dict:
    """Cash, capacity and costs of an integer plan, by MODEL.md sections 3, 5 and 7."""
    T = p.T
    periods = range(1, p.last_billed_period + 1)
    purchases = {t: 0.0 for t in periods}
    refunds = {t: 0.0 for t in periods}
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
            cost = o.factor.get(s, 1.0) * o.price_for(n) * n
            if o.is_buy:
                purchases[s] += cost
                if o.is_delivered(s):
                    residual += o.residual_value * cost
                else:  # cancelled at arrival: paid back there, never owned
                    refunds[o.arrival(s)] += o.cancel_refund * cost
                for t in o.active(s, T):
                    in_service[o.id, t] += n
            else:
                for t in o.billed(s):
                    lease_bills[t] += cost
                    if t <= T:
                        in_service[o.id, t] += n
        if used:
            fixed += o.fixed_cost
        if o.is_buy:
            for t in range(1, T + 1):
                power[t] += in_service[o.id, t] * o.power_kw * energy
    cash = {t: purchases[t] - refunds[t] + lease_bills[t] + power[t] for t in periods}
    site_kw = {t: sum(in_service[o.id, t] * o.power_kw * p.pue for o in p.offers if o.is_buy) for t in range(1, T + 1)}
    capacity = {
        (m, t): sum(o.perf.get(m, 0.0) * in_service[o.id, t] for o in p.offers)
        for m in {*p.metrics, *(r.metric for r in p.work_requirements)} for t in range(1, T + 1)
    }
    shortfall = {}  # (requirement, period) -> capacity short of the schedule, at its price
    for r in p.capacity_requirements:
        if r.shortfall_price is not None:
            for t, required in r.required.items():
                if required > capacity[r.metric, t]:
                    shortfall[r.name, t] = required - capacity[r.metric, t]
    prices = {r.name: r.shortfall_price for r in p.capacity_requirements}
    penalty = sum(p.discount[t] * prices[name] * u for (name, t), u in shortfall.items())
    discounted = sum(p.discount[t] * cash[t] for t in periods) + fixed - p.discount[T + 1] * residual + penalty
    return {
        "purchases": purchases,
        "refunds": refunds,
        "lease_bills": lease_bills,
        "power": power,
        "cash": cash,
        "fixed": fixed,
        "residual": residual,
        "shortfall": shortfall,
        "penalty": penalty,
        "discounted": discounted,
        "capacity": capacity,
        "in_service": in_service,
        "site_kw": site_kw,
    }


def plan_rows(p: Prepared, units: dict[tuple[str, int], int]) -> tuple[list[Order], list[Lease]]:
    """The orders and lease starts of an integer plan, as reported."""
    orders, leases = [], []
    for o in p.offers:
        for s in o.window:
            n = units.get((o.id, s), 0)
            if n <= 0:
                continue
            price = o.factor.get(s, 1.0) * o.price_for(n)
            if o.is_buy:
                delivered = o.is_delivered(s)
                orders.append(Order(
                    offer=o.id, chip=o.chip, vendor=o.vendor, period=s, month=p.month(s), arrives=o.arrival(s),
                    units=n, gpus=n * o.gpus_per_unit, unit_price=price, cost=price * n, delivered=delivered,
                    refund=0.0 if delivered else o.cancel_refund * price * n,
                ))
            else:
                first = o.arrival(s)
                billed = o.billed(s)
                leases.append(Lease(
                    offer=o.id, chip=o.chip, vendor=o.vendor, start=s, month=p.month(s), first_period=first,
                    last_period=first + o.term - 1, units=n, gpus=n * o.gpus_per_unit,
                    unit_price=price, cost=price * n * len(billed),
                    void_periods=[t for t in range(first, first + o.term) if t in o.void],
                ))
    orders.sort(key=lambda r: (r.period, r.offer))
    leases.sort(key=lambda r: (r.start, r.offer))
    return orders, leases


def extract(p: Prepared, outcome, options, started: float, message: str | None = None) -> Result:
    from optimizer.planning.highs import highs_version

    units = outcome.units
    acc = plan_accounts(p, units)
    orders, leases = plan_rows(p, units)
    cost = cost_of(acc)
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
        expected_cost=objective if p.sense == "min_cost" else None,
        capacity=capacity_rows(p, acc),
        work=work_rows(p, acc),
        cash=cash_rows(p, acc),
        shortfall=shortfall_rows(p, acc),
        excluded=excluded_rows(p),
        solver=solver_info(outcome.time_s, outcome.mip_gap, options, started, highs_version()),
    )


def cost_of(acc: dict) -> Cost:
    capex = sum(acc["purchases"].values())
    refunds = sum(acc["refunds"].values())
    lease = sum(acc["lease_bills"].values())
    power = sum(acc["power"].values())
    return Cost(
        capex=capex, refunds=refunds, lease=lease, power=power, fixed=acc["fixed"], residual_credit=acc["residual"],
        shortfall=acc["penalty"], total_cash=capex - refunds + lease + power + acc["fixed"],
        discounted=acc["discounted"],
    )


def cash_rows(p: Prepared, acc: dict) -> list[CashRow]:
    return [
        CashRow(period=t, month=p.month(t), purchases=acc["purchases"][t], refunds=acc["refunds"][t],
                lease=acc["lease_bills"][t], power=acc["power"][t], total=acc["cash"][t],
                budget=p.budget_per_period.get(t), site_kw=acc["site_kw"].get(t),
                site_cap_kw=p.site_power_kw.get(t))
        for t in acc["cash"] if t <= p.T or acc["cash"][t] != 0  # lease bills past T, if any
    ]


def shortfall_rows(p: Prepared, acc: dict) -> list[ShortfallRow]:
    metric = {r.name: r.metric for r in p.capacity_requirements}
    return [ShortfallRow(requirement=name, period=t, month=p.month(t), metric=metric[name], amount=u)
            for (name, t), u in sorted(acc["shortfall"].items(), key=lambda x: (x[0][1], x[0][0]))]


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
