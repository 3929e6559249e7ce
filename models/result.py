"""The result of `plan solve` (MODEL.md section 6): the contract with the quoting service.

`SCHEMA_VERSION` is bumped whenever the generated JSON Schema changes; the committed copy in
`schemas/result.schema.json` and a test keep the two in step. Money is in the instance currency.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.4.0"  # 1.4.0: bounds of progressive hedging; 1.1.0: vendors on orders and leases; 1.2.0: MODEL.md sections 7-8; 1.3.0: site power in cash rows

Status = Literal["optimal", "feasible", "infeasible", "unbounded", "time_limit"]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Cost(Out):
    capex: float = Field(description="All purchases (buy orders, also those later cancelled), undiscounted.")
    refunds: float = Field(default=0.0, description="Paid back for cancelled orders (MODEL.md section 7), undiscounted.")
    lease: float = Field(description="All non-void lease bills, also those past the horizon, undiscounted.")
    power: float = Field(description="Energy cost of owned hardware in periods 1..T.")
    fixed: float = Field(description="Fixed costs of the offers used.")
    residual_credit: float = Field(description="Residual value credited after the horizon, undiscounted.")
    shortfall: float = Field(
        default=0.0, description="Penalty for capacity short of its schedule, discounted (a penalty, not cash).")
    total_cash: float = Field(description="capex - refunds + lease + power + fixed: what budget.total caps.")
    discounted: float = Field(
        description="The min_cost objective: discounted cash + fixed - discounted residual + shortfall penalty.")


class Order(Out):
    offer: str
    chip: str
    vendor: str | None = Field(default=None, description="The chip's vendor, when the instance names one.")
    period: int = Field(description="Period the order is placed (and paid).")
    month: str | None = Field(default=None, description="Month of `period` when horizon.start is set.")
    arrives: int = Field(description="First period the units are available.")
    units: int
    gpus: int
    unit_price: float = Field(description="Price per unit after price breaks and price_factor, instance currency.")
    cost: float = Field(description="units * unit_price.")
    delivered: bool = Field(
        default=True, description="False when the order is cancelled: blocked under the regime in force at arrival.")
    refund: float = Field(default=0.0, description="Paid back in period `arrives` when the order is cancelled.")


class Lease(Out):
    offer: str
    chip: str
    vendor: str | None = Field(default=None, description="The chip's vendor, when the instance names one.")
    start: int = Field(description="Period the lease is started (contracted).")
    month: str | None = None
    first_period: int = Field(description="First active (billed, available) period.")
    last_period: int = Field(description="Last active period; may lie past the horizon.")
    units: int
    gpus: int
    unit_price: float = Field(description="Price per unit per active period after price breaks and price_factor.")
    cost: float = Field(description="units * unit_price * billed periods (the term less void ones): the whole commitment.")
    void_periods: list[int] = Field(
        default_factory=list, description="Active periods in which the offer is blocked: no capacity and no bill.")


class CapacityRow(Out):
    period: int
    month: str | None = None
    metric: str
    available: float
    required: float | None = Field(description="Largest capacity requirement in force, if any.")


class WorkRow(Out):
    requirement: str
    metric: str
    first_period: int
    last_period: int
    delivered_flop: float
    required_flop: float


class CashRow(Out):
    period: int
    month: str | None = None
    purchases: float
    refunds: float = 0.0
    lease: float
    power: float
    total: float
    budget: float | None = None
    site_kw: float | None = Field(default=None, description="Owned hardware's draw times pue in this period, kW.")
    site_cap_kw: float | None = Field(default=None, description="site.power_kw in force, kW.")


class ShortfallRow(Out):
    requirement: str
    period: int
    month: str | None = None
    metric: str
    amount: float = Field(description="Capacity short of the schedule, in the metric's unit.")


class Excluded(Out):
    offer: str
    reason: str
    rule: str | None = Field(default=None, description="The export-control rule, when blocked by one.")


class Diagnosis(Out):
    """One finding about an instance without a plan, in the user's words (docs/explain.md)."""

    kind: Literal["cause", "relax", "lower", "conflict", "note"] = Field(
        description="cause: found from the data alone; relax: the smallest relaxation of the limits that"
        " gives a plan; lower: or, keeping the limits, how far the requirements would have to come down;"
        " conflict: a member of an irreducible infeasible subset of the LP relaxation; note: context."
    )
    constraint: str | None = Field(default=None, description="The rule by its business name, e.g. budget.total.")
    periods: list[int] = Field(default_factory=list, description="Periods concerned, if the rule has periods.")
    amount: float | None = Field(default=None, description="Size of the relaxation or shortfall, in `unit`.")
    unit: str | None = Field(default=None, description="Unit of `amount`: the currency, TFLOPS, GB, GPUs, kW, units...")
    action: str = Field(description="What it would take, as a sentence.")


class SolverInfo(Out):
    name: str = "highs"
    version: str
    time_s: float = Field(description="HiGHS's own run time, seconds.")
    mip_gap: float | None = Field(description="Relative gap of the plan returned (0 when proven optimal).")
    wall_time_s: float | None = Field(default=None, description="Prepare + build + solve + extract, seconds.")
    requested_gap: float | None = None
    time_limit_s: float | None = None
    threads: int | None = None


class RiskInfo(Out):
    measure: Literal["expected", "cvar", "worst"] = "expected"
    alpha: float = 0.9
    weight: float = 1.0


class Bounds(Out):
    """Progressive hedging's bounds on the optimal expected cost (issue 12), in `currency`."""

    inner: float | None = Field(default=None, description="Best plan found: its expected cost (upper bound).")
    outer: float | None = Field(default=None, description="Proven lower bound on the optimum (Lagrangian).")
    gap: float | None = Field(default=None, description="(inner - outer) / |inner|: how far from optimal at most.")
    engine: str = Field(default="ph", description="ph: mpi-sppy progressive hedging.")
    ranks: int | None = Field(default=None, description="MPI ranks used.")


class ScenarioResult(Out):
    """One scenario's own plan (MODEL.md section 8)."""

    name: str
    probability: float
    known: int = Field(description="From this period on the scenario is told apart.")
    objective: float = Field(description="C_s: the true min_cost objective of this scenario's plan.")
    cost: Cost
    orders: list[Order] = Field(default_factory=list)
    leases: list[Lease] = Field(default_factory=list)
    capacity: list[CapacityRow] = Field(default_factory=list)
    work: list[WorkRow] = Field(default_factory=list)
    cash: list[CashRow] = Field(default_factory=list)
    shortfall: list[ShortfallRow] = Field(default_factory=list)
    excluded: list[Excluded] = Field(default_factory=list)


class Result(Out):
    schema_version: str = SCHEMA_VERSION
    instance: str = Field(description="The instance's name.")
    currency: str
    status: Status
    message: str | None = Field(default=None, description="What the status means for this instance.")
    objective_sense: Literal["min_cost", "max_capacity"] = "min_cost"
    objective: float | None = Field(
        description="min_cost: the discounted cost (section 5); max_capacity: the capacity reached;"
        " with scenarios: the risk measure of the scenarios' costs (section 8)."
    )
    expected_cost: float | None = Field(
        default=None, description="sum_s p_s C_s; without scenarios the min_cost objective.")
    cost: Cost | None = Field(
        default=None, description="The cost lines; with scenarios, their probability-weighted expectation.")
    orders: list[Order] = Field(default_factory=list)
    leases: list[Lease] = Field(default_factory=list)
    capacity: list[CapacityRow] = Field(default_factory=list)
    work: list[WorkRow] = Field(default_factory=list)
    cash: list[CashRow] = Field(default_factory=list)
    shortfall: list[ShortfallRow] = Field(default_factory=list)
    excluded: list[Excluded] = Field(
        default_factory=list, description="Offers excluded; with scenarios, those excluded in every scenario.")
    scenarios: list[ScenarioResult] = Field(
        default_factory=list,
        description="Each scenario's plan (section 8). With scenarios, the top-level orders and leases are"
        " the decisions common to every scenario, placed before the earliest `known`: what to do now;"
        " the top-level capacity, work and cash are left empty (each scenario has its own).")
    risk: RiskInfo | None = Field(default=None, description="The risk measure, with scenarios.")
    bounds: Bounds | None = Field(default=None, description="--engine ph: bounds on the optimum and their gap.")
    solver: SolverInfo
    diagnosis: list[Diagnosis] | None = Field(
        default=None, description="Infeasible only: why, and the smallest relaxation that gives a plan."
    )

    @property
    def has_plan(self) -> bool:
        return self.status in ("optimal", "feasible")
