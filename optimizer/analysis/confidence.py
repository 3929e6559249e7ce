r"""`plan hedge --confidence LEVEL` (issue 12): how good are the now-decisions of a sampled
instance, by the multiple-replication procedure (Mak, Morton and Wood 1999).

x^ = the decisions placed before `known` in the instance's own plan (its sample). For batches
k = 1..B, each an independent sample of the same size (seed derived from the instance's seed
and k): z*_k = the optimum of batch k (its extensive form), z^_k = the expected cost over batch
k with x^ fixed; G_k = z^_k - z*_k >= 0. The optimality gap of x^ is at most
mean(G) + t_{B-1,LEVEL} sd(G) / sqrt(B) with confidence LEVEL (one-sided). The plan's expected
cost is estimated on a fresh, larger sample with x^ fixed: mean +- t sd / sqrt(N) (two-sided).

mpi-sppy's confidence-interval tools (mmw_conf, zhat4xhat) implement the same procedure but
want a model module with a sample-tree scenario creator; here each batch is one more sample of
the instance, solved by the planning room's own extensive form, which keeps every number
reproducible with `plan scenarios` and a seed.
"""

from __future__ import annotations

import math
import statistics

from pydantic import BaseModel, ConfigDict, Field

from models.errors import InputError
from models.instance import Instance, instance_from_data


class Confidence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: float
    currency: str
    now: int = Field(description="Decisions placed before this period are the ones judged.")
    decisions: dict[str, int] = Field(description="x^: 'offer@period' -> units.")
    batches: int
    batch_size: int
    gaps: list[float] = Field(description="G_k = z^_k - z*_k per batch.")
    gap_mean: float
    gap_upper: float = Field(description="Upper confidence bound on the optimality gap of x^.")
    gap_upper_relative: float = Field(description="gap_upper / expected_cost.")
    evaluation_size: int
    expected_cost: float
    expected_low: float
    expected_high: float
    words: str


def resampled(instance: Instance, seed: int, count: int) -> Instance:
    """The instance with its sample drawn again: another seed, another count."""
    data = instance.model_dump(mode="json", by_alias=True, exclude={"scenarios"}, exclude_none=True)
    data["sample"] = {**data["sample"], "seed": seed, "count": count}
    return instance_from_data(data)


def batch_seed(seed: int, k: int) -> int:
    """Seed of batch k (k >= 1), never the instance's own: the batches are independent of it."""
    return seed * 1_000_003 + k


def confidence(instance: Instance, options, level: float = 0.95, batches: int = 8,
               evaluation_size: int | None = None) -> Confidence:
    from scipy.stats import t as student

    from optimizer.analysis.explain import plan_units as _units
    from optimizer.planning.scenarios import solve_scenarios

    if instance.sample is None:
        raise InputError(["--confidence needs a `sample` block: the batches are new draws from it"])
    if instance.risk.measure != "expected":
        raise InputError([f"--confidence: risk.measure {instance.risk.measure}; the procedure estimates expected cost"])
    if not 0 < level < 1:
        raise InputError([f"--confidence: a level in (0, 1), not {level}"])
    if batches < 2:
        raise InputError([f"--batches: at least 2, not {batches}"])
    own = solve_scenarios(instance, options)
    if not own.has_plan:
        raise InputError([f"the sampled instance has no plan ({own.status}): nothing to judge"])
    now = min(s.known for s in own.scenarios)
    fixed = {k: n for k, n in _units(own).items() if k[1] < now}
    n, seed = instance.sample.count, instance.sample.seed
    gaps = []
    for k in range(1, batches + 1):
        batch = resampled(instance, batch_seed(seed, k), n)
        best = solve_scenarios(batch, options).objective
        judged = expected_with(batch, fixed, options)
        gaps.append(max(0.0, judged - best))  # x^ is feasible in the batch: >= 0 up to solver tolerance
    N = evaluation_size or max(4 * n, 100)
    fresh = resampled(instance, batch_seed(seed, batches + 1), N)
    costs = scenario_costs_with(fresh, fixed, options)
    mean = statistics.fmean(costs)
    half = student.ppf(0.5 + level / 2, N - 1) * statistics.stdev(costs) / math.sqrt(N) if N > 1 else 0.0
    gap_mean = statistics.fmean(gaps)
    gap_upper = gap_mean + student.ppf(level, batches - 1) * statistics.stdev(gaps) / math.sqrt(batches)
    relative = gap_upper / abs(mean) if mean else 0.0
    pct = f"{level:.0%}"
    words = (f"expected cost {_money(mean)} {instance.currency}, {pct} interval {_money(mean - half)}-"
             f"{_money(mean + half)}; the decisions are within {relative:.1%} of optimal with {pct} confidence"
             f" ({batches} batches of {n} scenarios, a fresh sample of {N})")
    return Confidence(
        level=level, currency=instance.currency, now=now,
        decisions={f"{o}@{t}": u for (o, t), u in sorted(fixed.items())}, batches=batches, batch_size=n,
        gaps=gaps, gap_mean=gap_mean, gap_upper=gap_upper, gap_upper_relative=relative, evaluation_size=N,
        expected_cost=mean, expected_low=mean - half, expected_high=mean + half, words=words,
    )


def scenario_costs_with(instance: Instance, fixed: dict, options) -> list[float]:
    """Each scenario's cost with the first-stage decisions fixed (x^ is a plan for all of them)."""
    from optimizer.planning.scenarios import _solve_with_bounds, extract_scenarios, prepare_scenarios
    import time

    plan = prepare_scenarios(instance)
    for p in plan.prepared:
        p.fixed = {**p.fixed, **{k: u for k, u in fixed.items()}}
    started = time.perf_counter()
    outcome = _solve_with_bounds(plan, options, started)
    if not outcome.has_plan:
        raise InputError(["the decisions cannot be kept in some sampled future (no plan with them fixed):"
                          " the confidence interval is undefined"])
    result = extract_scenarios(instance, plan, outcome, options, started)
    return [s.objective for s in result.scenarios]


def expected_with(instance: Instance, fixed: dict, options) -> float:
    costs = scenario_costs_with(instance, fixed, options)
    probabilities = [s.probability for s in instance.scenarios]
    return sum(p * c for p, c in zip(probabilities, costs))


def _money(x: float) -> str:
    for div, unit in ((1e9, " B"), (1e6, " M"), (1e3, " k")):
        if abs(x) >= div:
            return f"{x / div:,.1f}{unit}"
    return f"{x:,.2f}"
