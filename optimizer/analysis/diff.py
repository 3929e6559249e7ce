"""What changed between two plans (`plan diff A.json B.json`): from the two results alone.

- Orders and leases are matched by offer and the period they are placed in. Same offer and
  period with other units: resized. An unmatched order of A and one of B of the same offer and
  the same units, in other periods: moved (the nearest first). What is left: removed (only in A)
  or added (only in B).
- Cost: a waterfall from A's net cost to B's by component. Net cost = capex - refunds + lease +
  power + fixed - residual credit + shortfall penalty: the cost lines of the result, undiscounted
  but for the penalty (as the result reports it). The discounted objectives are given as well.
  By offer: purchases net of refunds plus lease bills per offer; power, fixed costs, residual
  credit and shortfall are not itemised by offer in a result and get rows of their own, so the
  rows sum to the same change.
- Capacity: available (and required) per metric and period, and the change.

Scenario results are compared by their top-level decisions (what to place now) and expected
cost lines; per-scenario plans are left to `plan diff` of the scenarios' own results.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.result import Result

COMPONENTS = ("capex", "refunds", "lease", "power", "fixed", "residual", "shortfall")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Change(Out):
    kind: Literal["order", "lease"]
    change: Literal["added", "removed", "resized", "moved"]
    offer: str
    chip: str
    period_a: int | None = Field(description="Period placed in A (order period or lease start); None if added.")
    period_b: int | None = None
    units_a: int = 0
    units_b: int = 0
    cost_a: float = 0.0
    cost_b: float = 0.0


class Step(Out):
    name: str
    delta: float
    running: float = Field(description="Net cost after this step.")


class OfferDelta(Out):
    offer: str
    a: float
    b: float
    delta: float


class CapacityDelta(Out):
    metric: str
    period: int
    month: str | None = None
    a: float | None
    b: float | None
    delta: float | None
    required_a: float | None = None
    required_b: float | None = None


class PlanDiff(Out):
    a: str = Field(description="Name (file) of plan A.")
    b: str
    instance_a: str
    instance_b: str
    currency: str
    objective_a: float | None
    objective_b: float | None
    net_a: float
    net_b: float
    changes: list[Change]
    unchanged: int = Field(description="Orders and leases found alike in both.")
    waterfall: list[Step]
    by_offer: list[OfferDelta]
    capacity: list[CapacityDelta]
    notes: list[str] = Field(default_factory=list)


def net_cost(result: Result) -> dict[str, float]:
    """The signed components of the net cost (refunds and residual credit count negative)."""
    c = result.cost
    if c is None:
        return {k: 0.0 for k in COMPONENTS}
    return {"capex": c.capex, "refunds": -c.refunds, "lease": c.lease, "power": c.power, "fixed": c.fixed,
            "residual": -c.residual_credit, "shortfall": c.shortfall}


def _items(result: Result):
    out = []
    for o in result.orders:
        out.append(("order", o.offer, o.chip, o.period, o.units, o.cost))
    for x in result.leases:
        out.append(("lease", x.offer, x.chip, x.start, x.units, x.cost))
    return out


def _match(items_a, items_b) -> tuple[list[Change], int]:
    changes: list[Change] = []
    unchanged = 0
    left_a = {}
    for it in items_a:
        left_a.setdefault(it[:2] + (it[3],), []).append(it)
    left_b = {}
    for it in items_b:
        left_b.setdefault(it[:2] + (it[3],), []).append(it)
    only_a, only_b = [], []
    for key in sorted(set(left_a) | set(left_b)):
        xs, ys = left_a.get(key, []), left_b.get(key, [])
        ua, ub = sum(x[4] for x in xs), sum(y[4] for y in ys)
        if xs and ys:
            if ua == ub:
                unchanged += 1
            else:
                changes.append(Change(kind=key[0], change="resized", offer=key[1], chip=(xs + ys)[0][2],
                                      period_a=key[2], period_b=key[2], units_a=ua, units_b=ub,
                                      cost_a=sum(x[5] for x in xs), cost_b=sum(y[5] for y in ys)))
        elif xs:
            only_a.append((key, xs[0][2], ua, sum(x[5] for x in xs)))
        else:
            only_b.append((key, ys[0][2], ub, sum(y[5] for y in ys)))
    # moved: same kind, offer and units in another period; nearest periods first
    pairs = sorted(((abs(a[0][2] - b[0][2]), a[0][2], b[0][2], i, j)
                    for i, a in enumerate(only_a) for j, b in enumerate(only_b)
                    if a[0][:2] == b[0][:2] and a[2] == b[2]))
    used_a, used_b = set(), set()
    for _, _, _, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        (kind, offer, pa), chip, units, cost_a = only_a[i]
        pb, cost_b = only_b[j][0][2], only_b[j][3]
        changes.append(Change(kind=kind, change="moved", offer=offer, chip=chip, period_a=pa, period_b=pb,
                              units_a=units, units_b=units, cost_a=cost_a, cost_b=cost_b))
    for i, ((kind, offer, pa), chip, units, cost) in enumerate(only_a):
        if i not in used_a:
            changes.append(Change(kind=kind, change="removed", offer=offer, chip=chip, period_a=pa, period_b=None,
                                  units_a=units, cost_a=cost))
    for j, ((kind, offer, pb), chip, units, cost) in enumerate(only_b):
        if j not in used_b:
            changes.append(Change(kind=kind, change="added", offer=offer, chip=chip, period_a=None, period_b=pb,
                                  units_b=units, cost_b=cost))
    changes.sort(key=lambda c: (min(p for p in (c.period_a, c.period_b) if p is not None), c.kind, c.offer))
    return changes, unchanged


def _by_offer(result: Result) -> dict[str, float]:
    out: dict[str, float] = {}
    for o in result.orders:
        out[o.offer] = out.get(o.offer, 0.0) + o.cost - o.refund
    for x in result.leases:
        out[x.offer] = out.get(x.offer, 0.0) + x.cost
    return out


def diff_results(a: Result, b: Result, name_a: str = "A", name_b: str = "B") -> PlanDiff:
    notes = []
    if a.currency != b.currency:
        notes.append(f"A is in {a.currency} and B in {b.currency}: money is compared as it stands")
    if a.instance != b.instance:
        notes.append(f"plans of two instances ({a.instance}, {b.instance}): offers are matched by id")
    for name, r in ((name_a, a), (name_b, b)):
        if not r.has_plan:
            notes.append(f"{name} has no plan ({r.status})")
        if r.scenarios:
            notes.append(f"{name} is a scenario result: its decisions to place now and expected costs are compared")
    changes, unchanged = _match(_items(a), _items(b))

    ca, cb = net_cost(a), net_cost(b)
    net_a, net_b = sum(ca.values()), sum(cb.values())
    steps, running = [], net_a
    for k in COMPONENTS:
        delta = cb[k] - ca[k]
        running += delta
        steps.append(Step(name=k, delta=delta, running=running))

    oa, ob = _by_offer(a), _by_offer(b)
    by_offer = [OfferDelta(offer=o, a=oa.get(o, 0.0), b=ob.get(o, 0.0), delta=ob.get(o, 0.0) - oa.get(o, 0.0))
                for o in sorted(set(oa) | set(ob))]
    # what a result does not itemise by offer: rows of their own, so the rows sum to net_b - net_a
    itemised_a, itemised_b = sum(oa.values()), sum(ob.values())
    rest_a = net_a - itemised_a
    rest_b = net_b - itemised_b
    for k in ("power", "fixed", "residual", "shortfall"):
        by_offer.append(OfferDelta(offer=f"({k}, not by offer)", a=ca[k], b=cb[k], delta=cb[k] - ca[k]))
        rest_a -= ca[k]
        rest_b -= cb[k]
    if abs(rest_a) > 1e-6 * max(1.0, abs(net_a)) or abs(rest_b) > 1e-6 * max(1.0, abs(net_b)):
        # cost lines that disagree with the orders and leases (e.g. scenario expectations)
        by_offer.append(OfferDelta(offer="(cost lines not matching the orders and leases)", a=rest_a, b=rest_b,
                                   delta=rest_b - rest_a))
    by_offer = [d for d in by_offer if d.a or d.b]

    cap_a = {(r.metric, r.period): r for r in a.capacity}
    cap_b = {(r.metric, r.period): r for r in b.capacity}
    capacity = []
    for key in sorted(set(cap_a) | set(cap_b), key=lambda k: (k[0], k[1])):
        ra, rb = cap_a.get(key), cap_b.get(key)
        va, vb = (ra.available if ra else None), (rb.available if rb else None)
        capacity.append(CapacityDelta(metric=key[0], period=key[1], month=(ra or rb).month, a=va, b=vb,
                                      delta=None if va is None or vb is None else vb - va,
                                      required_a=ra.required if ra else None, required_b=rb.required if rb else None))
    return PlanDiff(a=name_a, b=name_b, instance_a=a.instance, instance_b=b.instance, currency=b.currency,
                    objective_a=a.objective, objective_b=b.objective, net_a=net_a, net_b=net_b, changes=changes,
                    unchanged=unchanged, waterfall=steps, by_offer=by_offer, capacity=capacity, notes=notes)
