"""The instance: what an analyst writes in YAML or JSON (MODEL.md section 1).

These pydantic models are the single source of truth for the instance format: validation,
its error messages, the JSON Schema (`plan schema instance`) and the reference docs all come
from here. Defaults live here and nowhere else.

Units: money in the instance `currency` unless an offer names its own; performance in dense
peak TFLOPS (TOPS for int8) per GPU; memory in GB; power in W (chips) or kW (offers, site);
periods are whole numbers 1..T.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

# --------------------------------------------------------------------------- vocabulary

METRICS = ("bf16_tflops", "fp32_tflops", "fp64_tflops", "memory_gb", "gpus")
FLOP_METRICS = ("bf16_tflops", "fp32_tflops", "fp64_tflops")

Metric = Literal["bf16_tflops", "fp32_tflops", "fp64_tflops", "memory_gb", "gpus"]
Period = Annotated[int, Field(ge=1, description="A period number, 1..T.")]
NonNegative = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
CountryCode = Annotated[
    str,
    Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code, e.g. CN, US."),
]
CurrencyCode = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code, e.g. CNY, USD.")
]


class Strict(BaseModel):
    """Base of every instance model: unknown keys are an error, NaN and infinity are refused,
    and a boolean is never taken for a number (`unit_price: true` is not 1)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        errors = []
        for name, field in cls.model_fields.items():
            key = field.alias if field.alias in data else name
            if key not in data or "bool" in str(field.annotation) or "Any" in str(field.annotation):
                continue
            value = data[key]
            if isinstance(value, bool):
                errors.append(((key,), f"must be a number, not {str(value).lower()}"))
            elif isinstance(value, dict) and "dict" in str(field.annotation):
                errors += [((key, str(k)), f"must be a number, not {str(v).lower()}")
                           for k, v in value.items() if isinstance(v, bool)]
        if errors:
            raise _rule_errors(errors)
        return data


def _scalar_too(schema: dict) -> None:
    # the field's before-validator takes a number as {1: number}: the schema says so too
    schema.setdefault("anyOf", []).insert(0, {"type": "number", "minimum": 0})


def _schedule(description: str):
    return Field(
        default=None,
        description=description
        + " A step function: {period: value} holds from its period until the next key; before"
        " the first key it does not apply. A scalar means {1: value}.",
        json_schema_extra=_scalar_too,
    )


Schedule = dict[Period, NonNegative]


def as_schedule(value: Any) -> Any:
    """A scalar schedule means {1: value} (MODEL.md section 1)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {1: value}
    return value


def schedule_value(schedule: dict[int, float] | None, period: int) -> float | None:
    """Value of a step-function schedule in `period`, or None before its first key."""
    if not schedule:
        return None
    keys = [k for k in schedule if k <= period]
    return schedule[max(keys)] if keys else None


def step_value(schedule: Any, period: int, default: Any) -> Any:
    """A section-7 schedule in `period`: a scalar holds everywhere; before the first key
    `default` (regime none, lead time 0, price factor 1); past the last key its value."""
    if schedule is None:
        return default
    if not isinstance(schedule, dict):
        return schedule
    value = schedule_value(schedule, period)
    return default if value is None else value


# --------------------------------------------------------------------------- sections


class Horizon(Strict):
    periods: int = Field(ge=1, description="T, the number of periods (months); numbered 1..T; at most 1200.",
                         json_schema_extra={"maximum": 1200})  # MAX_PERIODS, refused with its own message
    start: str | None = Field(
        default=None,
        description="Label of period 1 as YYYY-MM; reports then show month names.",
    )
    hours_per_period: float = Field(default=730, gt=0, description="Hours in one period.")
    discount_rate: float = Field(
        default=0.0, ge=0, description="Discount rate per period: df(t) = (1+r)^-(t-1)."
    )

    @field_validator("start", mode="before")
    @classmethod
    def _month(cls, value: Any) -> Any:
        if isinstance(value, date):  # YAML reads 2023-04-01 as a date
            return f"{value.year:04d}-{value.month:02d}"
        return value

    @field_validator("start")
    @classmethod
    def _month_format(cls, value: str | None) -> str | None:
        if value is not None:
            match = re.fullmatch(r"(\d{4})-(\d{1,2})", value)
            if not match or not 1 <= int(match.group(2)) <= 12:
                raise PydanticCustomError("month", f"must be a month as YYYY-MM, got {value!r}")
            return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"
        return value


class Buyer(Strict):
    country: CountryCode = Field(description="Where the buyer is; decides export controls.")


BY_DATE = "by-date"


def resolve_by_date(data: Any) -> Any:
    """Instance data with `compliance.regime: by-date` turned into the regime schedule of its
    months (models.regimes.by_date_schedule); unchanged without by-date or without a valid
    horizon (validation then says what is missing)."""
    if not isinstance(data, dict):
        return data
    compliance, horizon = data.get("compliance"), data.get("horizon")
    if not (isinstance(compliance, dict) and compliance.get("regime") == BY_DATE and isinstance(horizon, dict)):
        return data
    from models.regimes import by_date_schedule, parse_month

    start, periods = horizon.get("start"), horizon.get("periods")
    if isinstance(start, date):
        start = f"{start.year:04d}-{start.month:02d}"
    if not (isinstance(start, str) and parse_month(start) and isinstance(periods, int)
            and not isinstance(periods, bool) and periods >= 1):
        return data
    return {**data, "compliance": {**compliance, "regime": by_date_schedule(start, periods)}}


class Compliance(Strict):
    regime: str | dict[Period, str] = Field(
        default="none",
        description="Export-control regime: none | us-2022-10 | us-2023-10 (or any regime file"
        " shipped in models/regimes/), or a schedule of regimes {period: regime} (MODEL.md"
        " section 7): before its first key the regime is none; past T it keeps its value at T."
        " `by-date` (needs horizon.start) is the schedule of the regimes in force: each period"
        " under the newest regime in force on any day of its month.",
    )

    @field_validator("regime")
    @classmethod
    def _known_regime(cls, value: str | dict[int, str]) -> str | dict[int, str]:
        from models.regimes import known_regimes

        if value == BY_DATE:  # still here: Instance._resolve_by_date found no horizon.start
            raise PydanticCustomError("regime", "by-date needs horizon.start (the month of period 1, YYYY-MM)")
        known = known_regimes()
        for name in [value] if isinstance(value, str) else value.values():
            if name not in known:
                raise PydanticCustomError("regime", f"unknown regime {name!r} (known: {', '.join(known)})")
        return value

    def regime_in(self, period: int) -> str:
        """The regime in force in `period` (periods past T: pass T)."""
        return step_value(self.regime, period, "none")

    @property
    def regimes(self) -> set[str]:
        """Every regime the schedule names."""
        return {self.regime} if isinstance(self.regime, str) else set(self.regime.values())


NoControl = Annotated[str, Field(min_length=1, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Chip(Strict):
    id: NoControl = Field(description="Unique chip id, referenced by offers (no control characters).")
    vendor: str | None = Field(default=None, description="Design owner, e.g. NVIDIA.")
    origin: CountryCode | None = Field(
        default=None,
        description="Country of the design owner; missing is treated as foreign to every buyer.",
    )
    bf16_tflops: NonNegative = Field(default=0, description="Dense BF16 peak per GPU, TFLOPS.")
    fp32_tflops: NonNegative = Field(default=0, description="FP32 peak per GPU, TFLOPS.")
    fp64_tflops: NonNegative = Field(default=0, description="FP64 peak per GPU, TFLOPS.")
    fp8_tflops: NonNegative = Field(default=0, description="Dense FP8 peak per GPU, TFLOPS.")
    int8_tops: NonNegative = Field(default=0, description="Dense INT8 peak per GPU, TOPS.")
    memory_gb: NonNegative = Field(default=0, description="Memory per GPU, GB.")
    tdp_w: NonNegative = Field(default=0, description="Board power per GPU, W.")
    interconnect_gbps: NonNegative | None = Field(
        default=None,
        description="Aggregate bidirectional transfer rate over all inputs and outputs to or from"
        " chips other than volatile memory, GB/s: NVLink-type links plus PCIe/CXL (the October 2022"
        " export rule's test).",
    )
    memory_bandwidth_gbps: NonNegative | None = Field(
        default=None, description="Memory (DRAM/HBM) bandwidth per GPU, GB/s (export rules of 2026)."
    )
    tpp: NonNegative | None = Field(
        default=None,
        description="Total processing performance (export rules); derived from the peaks when"
        " absent (MODEL.md section 4).",
    )
    die_area_mm2: NonNegative | None = Field(
        default=None, description="Die area, mm^2, for performance density (export rules)."
    )
    efficiency: NonNegative = Field(
        default=1.0,
        description="Software maturity: multiplies the *_tflops metrics in the plan (not in TPP).",
    )
    ecosystem: str | None = Field(default=None, description="Free label, e.g. cuda, cann.")
    export_control: Literal["auto", "allowed", "blocked"] = Field(
        default="auto",
        description="auto: decided by the regime; allowed / blocked: override the regime.",
    )
    source: str | None = Field(default=None, description="Where the figures come from.")
    notes: str | None = Field(default=None, description="Free text.")


class PriceBreak(Strict):
    min_units: int = Field(gt=1, description="Order size from which this price applies.")
    unit_price: NonNegative = Field(description="Price per unit for orders of this size or more.")


class Offer(Strict):
    id: NoControl = Field(description="Unique offer id (no control characters).")
    chip: str = Field(description="Id of the chip this offer sells or leases.")
    kind: Literal["buy", "lease"] = Field(description="buy: owned from arrival to the end; lease: a term.")
    gpus_per_unit: int = Field(default=1, ge=1, description="GPUs in one unit (server, instance).")
    unit_price: NonNegative = Field(
        description="buy: price per unit; lease: price per unit per active period."
    )
    currency: CurrencyCode | None = Field(
        default=None, description="Currency of this offer's money; the instance currency or a key of fx."
    )
    lead_time: Annotated[int, Field(ge=0)] | dict[Period, Annotated[int, Field(ge=0)]] = Field(
        default=0,
        description="Periods from order (or lease start) to availability; or a schedule by placement"
        " period {period: lead time} (MODEL.md section 7; 0 before its first key).",
    )
    price_factor: NonNegative | dict[Period, NonNegative] | None = Field(
        default=None,
        description="Multiplies every price (unit price and breaks, not fixed_cost) of orders/starts"
        " placed in a period; a schedule {period: factor} (MODEL.md section 7; 1 before its first key).",
    )
    cancel_refund: Share = Field(
        default=1.0,
        description="Buy only: share of a cancelled order's cost paid back when it cannot be delivered"
        " (blocked under the regime in force at arrival), in the arrival period.",
    )
    term: int = Field(default=1, ge=1, description="Lease only: active periods per contract.")
    min_order: int = Field(default=1, ge=1, description="Least units in one order or lease start.")
    max_per_period: int | None = Field(default=None, ge=0, description="Most units ordered/started in one period.")
    max_total: int | None = Field(default=None, ge=0, description="Most units ordered/started over the horizon.")
    available_from: Period = Field(default=1, description="First period an order/start may be placed.")
    available_until: Period | None = Field(default=None, description="Last period an order/start may be placed; default T.")
    fixed_cost: NonNegative = Field(default=0, description="Paid once if any unit of this offer is ever ordered/started.")
    price_breaks: list[PriceBreak] = Field(
        default_factory=list,
        description="All-units prices by the size of one order/start; min_units strictly increasing.",
    )
    power_kw: NonNegative | None = Field(
        default=None, description="Buy only: wall power per unit, kW; default tdp_w * gpus_per_unit / 1000."
    )
    residual_value: Share = Field(
        default=0, description="Buy only: share of purchase cost credited after the horizon."
    )
    location: CountryCode | None = Field(
        default=None, description="Where the hardware runs; default buyer.country."
    )
    tags: list[str] = Field(default_factory=list, description="Free labels, selectable by policies.")
    source: str | None = Field(default=None, description="Where the price comes from.")
    as_of: str | None = Field(
        default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$",
        description="When the price was seen, YYYY-MM or YYYY-MM-DD (a warning when it is more than a"
        " year before horizon.start).",
    )
    notes: str | None = Field(default=None, description="Free text.")

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of_date(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    def lead_time_at(self, period: int) -> int:
        """L(t): lead time of an order/start placed in `period`."""
        return step_value(self.lead_time, period, 0)

    def price_factor_at(self, period: int) -> float:
        """f(t): price factor of an order/start placed in `period`."""
        return step_value(self.price_factor, period, 1.0)

    @model_validator(mode="after")
    def _kind_fields(self) -> "Offer":
        # `term` on a buy offer, `power_kw` and `residual_value` on a lease are ignored, as
        # MODEL.md marks them "lease only" / "buy only" without making them errors
        errors = []
        for i in range(1, len(self.price_breaks)):
            if self.price_breaks[i].min_units <= self.price_breaks[i - 1].min_units:
                errors.append(
                    (("price_breaks", i, "min_units"), "must be strictly greater than the previous break's")
                )
        if errors:
            raise _rule_errors(errors)
        return self


Select = dict[
    Literal["vendor", "origin", "ecosystem", "chip", "offer", "kind", "tag"], str | list[str]
]


class Requirement(Strict):
    id: str | None = Field(default=None, description="Optional id, for --set/--param paths and reports.")
    metric: Metric = Field(description="What is required.")
    schedule: Schedule | None = _schedule("Capacity required in each period.")
    work_flop: NonNegative | None = Field(
        default=None,
        description="Cumulative work, FLOP, to be done between `from` and `until` (only *_tflops metrics).",
    )
    from_: Period | None = Field(default=None, alias="from", description="First period of the work; default 1.")
    until: Period | None = Field(default=None, description="Last period of the work; default T.")
    utilization: float = Field(default=1.0, gt=0, le=1, description="Share of peak the work achieves.")
    shortfall_price: NonNegative | None = Field(
        default=None,
        description="Capacity requirements of a min_cost instance only: capacity short of the schedule"
        " is allowed at this price per metric unit and period (a penalty in the objective, not cash;"
        " MODEL.md section 7).",
    )

    _scalar = field_validator("schedule", mode="before")(classmethod(lambda cls, v: as_schedule(v)))

    @model_validator(mode="after")
    def _one_kind(self) -> "Requirement":
        errors = []
        if (self.schedule is None) == (self.work_flop is None):
            errors.append(((), "needs exactly one of `schedule` and `work_flop`"))
        if self.work_flop is not None and self.metric not in FLOP_METRICS:
            errors.append((("work_flop",), f"only with a *_tflops metric, not {self.metric}"))
        if self.shortfall_price is not None and self.work_flop is not None:
            errors.append((("shortfall_price",), "only on a capacity requirement (with a `schedule`), not on work"))
        if errors:
            raise _rule_errors(errors)
        return self

    @property
    def kind(self) -> str:
        return "work" if self.work_flop is not None else "capacity"


class Budget(Strict):
    total: NonNegative | None = Field(
        default=None,
        description="Cap on all cash paid: purchases, lease bills (also past T), power and fixed"
        " costs, undiscounted, before residual credit.",
    )
    per_period: Schedule | None = _schedule("Cap on cash paid in each period (fixed costs excluded).")

    _scalar = field_validator("per_period", mode="before")(classmethod(lambda cls, v: as_schedule(v)))


class Site(Strict):
    power_kw: Schedule | None = _schedule("Cap on owned hardware's wall power times PUE, kW.")
    pue: float = Field(default=1.0, gt=0, description="Power usage effectiveness of the site.")
    energy_price: NonNegative = Field(default=0, description="Price per kWh, instance currency.")

    _scalar = field_validator("power_kw", mode="before")(classmethod(lambda cls, v: as_schedule(v)))


class Policy(Strict):
    name: str = Field(min_length=1, description="Name of the policy, for reports.")
    metric: Metric = Field(description="The metric whose share is bounded.")
    select: Select = Field(
        description="Offers counted: each key must match (chip fields vendor/origin/ecosystem;"
        " the offer's chip/offer id/kind; `tag` in its tags); a list matches any of its values."
    )
    min_share: Share | None = Field(default=None, description="Least share of capacity, every period.")
    max_share: Share | None = Field(default=None, description="Most share of capacity, every period.")

    # a policy with neither bound is vacuous, and min_share > max_share can only hold at zero
    # capacity: both are the model's to judge (MODEL.md lists no such validation rule)


class Objective(Strict):
    sense: Literal["min_cost", "max_capacity"] = Field(
        default="min_cost", description="min_cost, or max_capacity with least cost as tie-break."
    )
    metric: Metric = Field(default="bf16_tflops", description="max_capacity: the metric to maximise.")
    period: Period | None = Field(default=None, description="max_capacity: the period; default T.")


class Scenario(Strict):
    """One possible future (MODEL.md section 8): the instance with `set` applied."""

    name: str = Field(min_length=1, description="Unique name of the scenario.")
    probability: float | None = Field(
        default=None, gt=0, le=1,
        description="In (0, 1]; at most one scenario may leave it out and then gets 1 minus the others.",
    )
    known: int | None = Field(
        default=None, ge=1,
        description="From this period on you know whether this is the world you are in; 1..T+1,"
        " default T+1 (never told apart within the horizon).",
    )
    set: dict[str, Any] | None = Field(
        default=None,
        description="Overrides as `--set PATH=VALUE` (a value may be a mapping; it replaces what is"
        " there; null removes the key so its default applies). May not touch scenarios or risk, nor"
        " add or remove chips, offers or requirements.",
    )


class Risk(Strict):
    measure: Literal["expected", "cvar", "worst"] = Field(
        default="expected",
        description="expected: sum_s p_s C_s; cvar: (1-weight) * expected + weight * CVaR_alpha;"
        " worst: max_s C_s (MODEL.md section 8).",
    )
    alpha: float = Field(default=0.9, ge=0, lt=1, description="cvar: the level a in [0, 1).")
    weight: Share = Field(default=1.0, description="cvar: weight w of CVaR against the expectation, in [0, 1].")


class Distribution(Strict):
    """How one `--set`-style path varies across sampled scenarios: exactly one of uniform,
    triangular or choice. Bounds and values may be schedules ({period: value}); a bound's
    schedule is drawn with one draw per scenario for all periods (they move together)."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"required": [kind], "properties": {kind: {"type": "array"}}} for kind in ("uniform", "triangular", "choice")]})

    uniform: list[Any] | None = Field(default=None, min_length=2, max_length=2, description="[low, high].")
    triangular: list[Any] | None = Field(
        default=None, min_length=3, max_length=3, description="[low, mode, high]."
    )
    choice: list[Any] | None = Field(default=None, min_length=1, description="Values to choose among.")
    probabilities: list[Annotated[float, Field(ge=0, le=1)]] | None = Field(
        default=None, description="choice: one probability per value, summing to 1; default equal."
    )
    round: int | None = Field(
        default=None, ge=0, description="Decimals to round a drawn number to; 0 gives a whole number."
    )

    @model_validator(mode="before")
    @classmethod
    def _known_distribution(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                raise _rule_errors([((str(k),), "unknown distribution or key (known: uniform, triangular,"
                                     " choice with probabilities, round)") for k in unknown])
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> "Distribution":
        kinds = [k for k in ("uniform", "triangular", "choice") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise _rule_errors([((), f"give exactly one of uniform, triangular, choice (got {', '.join(kinds) or 'none'})")])
        if self.probabilities is not None:
            if self.choice is None:
                raise _rule_errors([((), "probabilities belong to a choice")])
            if len(self.probabilities) != len(self.choice):
                raise _rule_errors([((), f"{len(self.probabilities)} probabilities for {len(self.choice)} values")])
            if abs(sum(self.probabilities) - 1) > 1e-9:
                raise _rule_errors([((), f"probabilities sum to {sum(self.probabilities):g}, not 1")])
        return self


class Sample(Strict):
    """Uncertainty described instead of listed (issue 12): expands into `count` equiprobable
    scenarios (MODEL.md section 8), the same ones for the same seed (`plan scenarios` shows them)."""

    count: int = Field(ge=1, le=100000, description="Number of scenarios drawn.")
    seed: int = Field(default=0, ge=0, description="Seed of the draws.")
    known: int | None = Field(
        default=None, ge=1, description="known of every sampled scenario (1..T+1, default T+1)."
    )
    vary: dict[str, Distribution] = Field(
        min_length=1, description="`--set`-style path -> its distribution.",
        json_schema_extra={"propertyNames": {"pattern": r"^(name|description|currency|fx|horizon|buyer|compliance|chips"
                                                        r"|offers|requirements|budget|site|policies|objective)"
                                                        r"(\.[^.]+)*$"}},  # a field a sample may vary
    )


class Instance(Strict):
    """A procurement-planning instance (MODEL.md)."""

    name: str = Field(default="instance", description="Name of the instance, for reports.")
    description: str | None = Field(default=None, description="Free text.")
    currency: CurrencyCode = Field(default="USD", description="Currency of every price unless an offer says otherwise.")
    fx: dict[CurrencyCode, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="Value of 1 unit of another currency in `currency`."
    )
    horizon: Horizon
    buyer: Buyer | None = Field(default=None, description="Who buys; needed for export controls.")
    compliance: Compliance = Field(default_factory=Compliance)
    chips: list[Chip] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list)
    requirements: list[Requirement] = Field(default_factory=list)
    budget: Budget = Field(default_factory=Budget)
    site: Site = Field(default_factory=Site)
    policies: list[Policy] = Field(default_factory=list)
    objective: Objective = Field(default_factory=Objective)
    scenarios: list[Scenario] = Field(
        default_factory=list, description="Possible futures planned for together (MODEL.md section 8)."
    )
    risk: Risk = Field(default_factory=Risk, description="How the scenarios' costs are combined.")
    sample: Sample | None = Field(
        default=None, description="Sampled scenarios instead of a list (expanded into `scenarios`)."
    )

    # by-date is resolved before anything else sees the instance: downstream only meets schedules
    _by_date = model_validator(mode="before")(classmethod(lambda cls, data: resolve_by_date(data)))

    @model_validator(mode="before")
    @classmethod
    def _sampled(cls, data: Any) -> Any:
        """A `sample` becomes ordinary scenarios before anything else sees the instance (an
        invalid sample is left for field validation to report at its place)."""
        from pydantic import ValidationError

        from models.sampling import SampleError, expand_into

        if not isinstance(data, dict) or data.get("sample") is None:
            return data
        try:
            sample = Sample.model_validate(data["sample"])
        except ValidationError:
            return data
        try:
            return expand_into(data, sample)
        except SampleError as exc:
            raise _rule_errors(exc.errors) from None

    @model_validator(mode="after")
    def _references(self) -> "Instance":
        errors = list(_reference_errors(self.model_dump(by_alias=True)))
        if errors:
            raise _rule_errors(errors)
        return self

    # convenience views used after validation
    @property
    def T(self) -> int:
        return self.horizon.periods

    def chip(self, chip_id: str) -> Chip:
        return next(c for c in self.chips if c.id == chip_id)


# --------------------------------------------------------------------------- cross-field rules


# What the model can hold (issue 17): the size of what gets built is bounded before it is built,
# and numbers stay where doubles and HiGHS's tolerances (1e-7 .. 1e-9) can still tell plans apart.
# docs/reliability.md gives the reasons.
MAX_PERIODS = 1200  # 100 years of months
MAX_CELLS = 2_000_000  # offers x periods, requirements x periods, policies x periods (x scenarios)
MONEY_RANGE = (1e-6, 1e15)  # a nonzero price, cost or budget, in the instance currency
MAX_FIGURE = 1e12  # a chip's peak figure, memory, TDP; gpus per unit


def _size_errors(data: dict, T: int | None, items):
    """Sizes and magnitudes beyond what the model can hold, refused with their place."""
    if T is None:
        return
    if T > MAX_PERIODS:
        yield ("horizon", "periods"), f"{T} periods is more than this planner builds ({MAX_PERIODS:,})"
        return
    scenarios = max(1, len(items("scenarios")))
    for key in ("offers", "requirements", "policies"):
        cells = len(items(key)) * T * scenarios
        if cells > MAX_CELLS:
            yield (key,), (f"{len(items(key))} {key} x {T} periods" + (f" x {scenarios} scenarios" if scenarios > 1 else "")
                           + f" = {cells:,} is more than this planner builds ({MAX_CELLS:,})")
    fx = data.get("fx") if isinstance(data.get("fx"), dict) else {}
    lo, hi = MONEY_RANGE

    def money(loc, value, rate=1.0):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf"):
            v = value * rate
            if not lo <= v <= hi:
                yield loc, (f"{value:g} is outside the money range this planner solves exactly "
                            f"({lo:g} to {hi:g} in the instance currency)")

    for i, offer in items("offers"):
        rate = fx.get(offer.get("currency"), 1.0) if isinstance(fx.get(offer.get("currency")), (int, float)) else 1.0
        yield from money(("offers", i, "unit_price"), offer.get("unit_price"), rate)
        yield from money(("offers", i, "fixed_cost"), offer.get("fixed_cost"), rate)
        for k, brk in enumerate(offer.get("price_breaks") or []):
            if isinstance(brk, dict):
                yield from money(("offers", i, "price_breaks", k, "unit_price"), brk.get("unit_price"), rate)
        gpus = offer.get("gpus_per_unit")
        if isinstance(gpus, int) and gpus > MAX_FIGURE:
            yield ("offers", i, "gpus_per_unit"), f"{gpus:g} is more than {MAX_FIGURE:g}"
    for i, chip in items("chips"):
        for field in ("bf16_tflops", "fp32_tflops", "fp64_tflops", "fp8_tflops", "int8_tops", "memory_gb", "tdp_w"):
            value = chip.get(field)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and MAX_FIGURE < value < float("inf"):
                yield ("chips", i, field), f"{value:g} is more than {MAX_FIGURE:g}: check the unit"
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1 / MAX_FIGURE:
                yield ("chips", i, field), f"{value:g} is less than {1 / MAX_FIGURE:g}: check the unit"
    budget = data.get("budget") if isinstance(data.get("budget"), dict) else {}
    yield from money(("budget", "total"), budget.get("total"))
    horizon = data.get("horizon") if isinstance(data.get("horizon"), dict) else {}
    hours = horizon.get("hours_per_period")
    if isinstance(hours, (int, float)) and not isinstance(hours, bool) and 1e5 < hours < float("inf"):
        yield ("horizon", "hours_per_period"), f"{hours:g} hours in one period is more than 1e5"


def _reference_errors(data: dict):
    """Rules that need more than one field: unique ids, references, periods within 1..T.

    Works on plain data (an instance dumped by alias, or the raw file), so that when some
    fields are invalid these rules still run on the rest and every error is reported at once.
    Anything malformed is skipped here: the field validation reports it.
    """
    def items(key):
        value = data.get(key)
        return [(i, x) for i, x in enumerate(value) if isinstance(x, dict)] if isinstance(value, list) else []

    def whole(x):
        if isinstance(x, str) and x.isdigit():
            return int(x)
        return x if isinstance(x, int) and not isinstance(x, bool) else None

    def keys(schedule):
        return [whole(k) for k in schedule] if isinstance(schedule, dict) else []

    horizon = data.get("horizon")
    T = whole(horizon.get("periods")) if isinstance(horizon, dict) else None
    yield from _size_errors(data, T, items)
    if T is not None and T > MAX_PERIODS:
        return  # nothing else is worth checking period by period

    def in_horizon(loc, period):
        period = whole(period)
        if period is not None and T is not None and T >= 1 and not 1 <= period <= T:
            yield loc, f"period {period} is outside the horizon 1..{T}"

    for kind in ("chips", "offers"):
        seen: dict[str, int] = {}
        for i, item in items(kind):
            ident = item.get("id")
            if isinstance(ident, str):
                if ident in seen:
                    yield (kind, i, "id"), f"duplicate id {ident!r} (also {kind}[{seen[ident]}])"
                seen.setdefault(ident, i)
    for kind, field in (("requirements", "id"), ("policies", "name")):
        seen = {}
        for i, item in items(kind):
            ident = item.get(field)
            if isinstance(ident, str):
                if ident in seen:
                    yield (kind, i, field), f"duplicate {field} {ident!r} (also {kind}[{seen[ident]}])"
                seen.setdefault(ident, i)

    chip_ids = {c.get("id") for _, c in items("chips")}
    offer_ids = {o.get("id") for _, o in items("offers")}
    currency = data.get("currency", "USD")
    fx = data.get("fx") if isinstance(data.get("fx"), dict) else {}
    if isinstance(currency, str) and currency in fx and fx[currency] != 1:
        yield ("fx", currency), f"{currency} is the instance currency: 1 {currency} is worth 1 {currency}, not {fx[currency]}"
    for i, offer in items("offers"):
        chip = offer.get("chip")
        if isinstance(chip, str) and chip not in chip_ids:
            yield ("offers", i, "chip"), f"unknown chip {chip!r}"
        cur = offer.get("currency")
        if isinstance(cur, str) and cur != currency and cur not in fx:
            yield ("offers", i, "currency"), f"{cur} is neither the instance currency ({currency}) nor a key of fx"
        for field in ("lead_time", "price_factor"):
            for t in keys(offer.get(field)):
                yield from in_horizon(("offers", i, field, str(t)), t)
        start, until = whole(offer.get("available_from", 1)), offer.get("available_until")
        yield from in_horizon(("offers", i, "available_from"), start)
        yield from in_horizon(("offers", i, "available_until"), until)
    for i, req in items("requirements"):
        for t in keys(req.get("schedule")):
            yield from in_horizon(("requirements", i, "schedule", str(t)), t)
        yield from in_horizon(("requirements", i, "from"), req.get("from"))
        yield from in_horizon(("requirements", i, "until"), req.get("until"))
    for section, field in (("budget", "per_period"), ("site", "power_kw")):
        block = data.get(section)
        if isinstance(block, dict):
            for t in keys(block.get(field)):
                yield from in_horizon((section, field, str(t)), t)
    objective = data.get("objective")
    if isinstance(objective, dict):
        yield from in_horizon(("objective", "period"), objective.get("period"))
    sense = objective.get("sense", "min_cost") if isinstance(objective, dict) else "min_cost"
    if sense != "min_cost":
        for i, req in items("requirements"):
            if req.get("shortfall_price") is not None:
                yield ("requirements", i, "shortfall_price"), f"only in a min_cost instance, not {sense}"
    yield from _scenario_errors(data, T, sense, items)
    for i, pol in items("policies"):
        select = pol.get("select") if isinstance(pol.get("select"), dict) else {}
        for key, known in (("chip", chip_ids), ("offer", offer_ids)):
            values = select.get(key)
            for value in [values] if isinstance(values, str) else values if isinstance(values, list) else []:
                if isinstance(value, str) and value not in known:
                    yield ("policies", i, "select", key), f"unknown {key} {value!r}"
    compliance = data.get("compliance")
    regime = compliance.get("regime", "none") if isinstance(compliance, dict) else "none"
    if isinstance(regime, dict):
        for t in keys(regime):
            yield from in_horizon(("compliance", "regime", str(t)), t)
        named = [r for r in regime.values() if r != "none"]
        regime = named[0] if named else "none"
    if regime != "none" and data.get("buyer") is None:
        yield ("buyer",), f"needed when compliance.regime is {regime!r}"


def _scenario_errors(data: dict, T: int | None, sense: str, items):
    """Section 8 rules on the list itself; each scenario's overrides are checked by
    models.scenarios once the instance is valid (they need a valid base to apply to)."""
    scenarios = items("scenarios")
    if not scenarios:
        return
    if sense != "min_cost":
        yield ("scenarios",), f"scenarios need objective.sense min_cost, not {sense}"
    seen: dict[str, int] = {}
    for i, sc in scenarios:
        name = sc.get("name")
        if isinstance(name, str):
            if name in seen:
                yield ("scenarios", i, "name"), f"duplicate name {name!r} (also scenarios[{seen[name]}])"
            seen.setdefault(name, i)
        known = sc.get("known")
        if isinstance(known, int) and not isinstance(known, bool) and T is not None and not 1 <= known <= T + 1:
            yield ("scenarios", i, "known"), f"period {known} is outside 1..T+1 = 1..{T + 1}"
        overrides = sc.get("set")
        if isinstance(overrides, dict):
            for path in overrides:
                head = str(path).split(".")[0]
                if head in ("scenarios", "risk"):
                    yield ("scenarios", i, "set", str(path)), f"a scenario may not change `{head}`"
    given = [sc.get("probability") for _, sc in scenarios]
    numbers = [p for p in given if isinstance(p, (int, float)) and not isinstance(p, bool)]
    missing = sum(p is None for p in given)
    if missing > 1:
        yield ("scenarios",), f"{missing} scenarios leave out their probability; at most one may"
    elif len(numbers) + missing == len(given):
        total = sum(numbers)
        if missing == 1 and total > 1 + 1e-9:
            yield ("scenarios",), f"probabilities sum to {total:g} before the one left out: it would get {1 - total:g} < 0"
        elif missing == 0 and abs(total - 1) > 1e-9:
            yield ("scenarios",), f"probabilities sum to {total:g}, not 1"


def instance_from_data(data: Any, source: str | None = None) -> "Instance":
    """Plain data -> Instance, every error reported at once with its place (scenarios' own
    instances are checked by models.loading.validate)."""
    from pydantic import ValidationError

    from models.errors import InputError, messages

    if data is None:
        raise InputError(["the file is empty; an instance needs at least `horizon`"], source)
    if not isinstance(data, dict):
        raise InputError([f"an instance is a mapping of keys, not a {type(data).__name__}"], source)
    try:
        return Instance.model_validate(data)
    except ValidationError as exc:
        # field errors stop pydantic before the cross-field rules; run those on the raw data
        # too, so that every error in the file is reported at once
        found = messages(exc)
        if not any(e["type"] == "rules" and not e["loc"] for e in exc.errors()):  # they did not run
            found += [m for m in reference_messages(data) if m not in found]
        raise InputError(found, source) from None


def reference_messages(data) -> list[str]:
    """`place: message` lines of the cross-field rules, for data that failed field validation."""
    from models.errors import place

    if not isinstance(data, dict):
        return []
    try:
        return [f"{place(loc)}: {msg}" for loc, msg in _reference_errors(data)]
    except Exception:  # noqa: BLE001 - best effort on data already known to be invalid
        return []


def _rule_errors(errors) -> PydanticCustomError:
    """One pydantic error carrying several located rule violations (see models.errors)."""
    return PydanticCustomError(
        "rules",
        "{summary}",
        {"summary": "; ".join(msg for _, msg in errors), "errors": [(list(loc), msg) for loc, msg in errors]},
    )
