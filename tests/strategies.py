"""Hypothesis strategies: random valid instances covering every feature of MODEL.md.

`instance_data(...)` draws plain data (what a YAML file holds), so a test can also mutate it
into an invalid instance or write it to a file for the CLI. Every field of section 1 is drawn
somewhere: buy/lease, lead times, terms, min_order, max_per_period, max_total,
available_from/until, fixed_cost, price_breaks, currencies and fx, power_kw/pue/energy_price,
site power caps, residual_value, discount_rate, budgets total and per period, capacity schedules
(step functions and the scalar form), work requirements (from/until/utilization), policies with
min/max share and every `select` key, the three compliance regimes with chips whose tpp, die
area, interconnect, origin and export_control vary, lease locations, and both objectives.

Sizes of requirements, budgets and site caps are drawn relative to what the drawn offers can
deliver or cost, so that feasible, binding and infeasible instances all come up.

`tiny=True` keeps T <= 3, at most 3 offers and max_per_period <= 3 on every offer: the
exhaustive solver of tests/bruteforce.py is then exact.
"""

from __future__ import annotations

from hypothesis import strategies as st

FLOP_METRICS = ("bf16_tflops", "fp32_tflops", "fp64_tflops")
METRICS = FLOP_METRICS + ("memory_gb", "gpus")
VENDORS = ("NVIDIA", "Huawei", "AMD")
ORIGINS = ("US", "CN", "NL")
ECOSYSTEMS = ("cuda", "cann", "rocm")
TAGS = ("a", "b", "c")
COUNTRIES = ("US", "CN", "DE", "HK", "SG", "MO")
LOCATIONS = ("CN", "US", "SG", "HK")


def maybe(strategy, p_none: float = 0.5):
    """None or a value; hypothesis shrinks towards None."""
    return st.one_of(st.none(), strategy) if p_none else strategy


@st.composite
def chip_data(draw, i: int) -> dict:
    chip: dict = {"id": f"c{i}"}
    optional = {
        "vendor": st.sampled_from(VENDORS),
        "origin": st.sampled_from(ORIGINS),
        # 16 * bf16 = TPP: 50 -> 800, 100 -> 1600, 150 -> 2400, 312 -> 4992 (the thresholds)
        "bf16_tflops": st.sampled_from([0, 50, 100, 150, 312, 989]),
        "fp32_tflops": st.sampled_from([0, 19.5, 60]),
        "fp64_tflops": st.sampled_from([0, 9.7, 40]),
        "fp8_tflops": st.sampled_from([0, 700]),
        "int8_tops": st.sampled_from([0, 624]),
        "memory_gb": st.sampled_from([0, 24, 80]),
        "tdp_w": st.sampled_from([0, 300, 700]),
        "interconnect_gbps": st.sampled_from([400, 600, 900]),
        "tpp": st.sampled_from([1000, 2368, 4800, 4992]),
        "die_area_mm2": st.sampled_from([0, 300, 400, 814]),
        "efficiency": st.sampled_from([1, 0.5, 0.8, 1.25]),
        "ecosystem": st.sampled_from(ECOSYSTEMS),
        "export_control": st.sampled_from(["auto", "allowed", "allowed", "blocked"]),
    }
    for key, strategy in optional.items():
        value = draw(maybe(strategy))
        if value is not None:
            chip[key] = value
    chip.setdefault("bf16_tflops", draw(st.sampled_from([100, 312])))  # most chips do something
    return chip


@st.composite
def offer_data(draw, i: int, chips: list[dict], T: int, tiny: bool, foreign: bool, money: float = 1) -> dict:
    kind = draw(st.sampled_from(["buy", "lease"]))
    offer: dict = {
        "id": f"o{i}",
        "chip": draw(st.sampled_from([c["id"] for c in chips])),
        "kind": kind,
        "unit_price": draw(st.one_of(st.integers(0, 100), st.sampled_from([12.5, 33.3, 99.99]))) * money,
    }
    if draw(st.booleans()):
        offer["gpus_per_unit"] = draw(st.sampled_from([1, 2, 4, 8]))
    if foreign and draw(st.booleans()):
        offer["currency"] = "EUR"
    if draw(st.booleans()):
        # now and then one that cannot arrive within the horizon (T - L < available_from)
        longest = min(2, T) if draw(st.integers(0, 5)) == 0 else min(2, T - 1)
        offer["lead_time"] = draw(st.integers(0, longest))
    if kind == "lease" and draw(st.booleans()):
        offer["term"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        offer["min_order"] = draw(st.integers(1, 3))
    if tiny:
        offer["max_per_period"] = draw(st.integers(0, 3))
    else:
        cap = draw(maybe(st.integers(0, 12)))
        if cap is not None:
            offer["max_per_period"] = cap
    total = draw(maybe(st.integers(0, 6 if tiny else 20), 0.7))
    if total is not None:
        offer["max_total"] = total
    if draw(st.booleans()):
        offer["available_from"] = draw(st.integers(1, T))
    if draw(st.booleans()):
        offer["available_until"] = draw(st.integers(offer.get("available_from", 1), T))
    if draw(st.booleans()):
        offer["fixed_cost"] = draw(st.sampled_from([5, 40, 250])) * money
    if draw(st.booleans()):
        sizes = sorted(draw(st.sets(st.integers(2, 5 if tiny else 12), min_size=1, max_size=2)))
        # mostly cheaper for bigger orders, sometimes not (the model does not require it)
        offer["price_breaks"] = [
            {"min_units": m, "unit_price": draw(st.integers(0, 100)) * money} for m in sizes
        ]
    if kind == "buy":
        if draw(st.booleans()):
            offer["power_kw"] = draw(st.sampled_from([0, 0.5, 3]))
        if draw(st.booleans()):
            offer["residual_value"] = draw(st.sampled_from([0.25, 0.5, 1]))
    if draw(st.booleans()):
        offer["location"] = draw(st.sampled_from(LOCATIONS))
    tags = draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))
    if tags:
        offer["tags"] = tags
    return offer


def _unit_perf(chips: dict[str, dict], offer: dict, metric: str) -> float:
    chip = chips[offer["chip"]]
    g = offer.get("gpus_per_unit", 1)
    if metric == "gpus":
        return g
    if metric == "memory_gb":
        return chip.get("memory_gb", 0) * g
    return chip.get(metric, 0) * chip.get("efficiency", 1) * g


def _unit_power(chips: dict[str, dict], offer: dict) -> float:
    if offer["kind"] != "buy":
        return 0.0
    if "power_kw" in offer:
        return offer["power_kw"]
    return chips[offer["chip"]].get("tdp_w", 0) * offer.get("gpus_per_unit", 1) / 1000


@st.composite
def schedule(draw, T: int, reference: float, integer: bool = True):
    """A step function {period: value} or a scalar, values around `reference`."""
    def value():
        v = draw(st.integers(0, 12)) / 8 * reference
        return round(v) if integer else v

    if draw(st.integers(0, 3)) == 0:
        return value()  # the scalar form: {1: value}
    keys = sorted(draw(st.sets(st.integers(1, T), min_size=1, max_size=T)))
    return {k: value() for k in keys}


@st.composite
def instance_data(draw, tiny: bool = True, max_offers: int | None = None, max_T: int | None = None) -> dict:
    """Plain data of a valid instance; see the module docstring."""
    T = draw(st.integers(1, max_T or (3 if tiny else 8)))
    currency = draw(st.sampled_from(["USD", "CNY"]))
    data: dict = {"name": "random", "currency": currency}
    foreign = draw(st.booleans())
    if foreign:
        data["fx"] = {"EUR": draw(st.sampled_from([0.5, 1.1, 7.2]))}
    horizon: dict = {"periods": T}
    if draw(st.booleans()):
        horizon["hours_per_period"] = draw(st.sampled_from([1, 10, 730]))
    if draw(st.booleans()):
        horizon["discount_rate"] = draw(st.sampled_from([0.01, 0.1]))
    if draw(st.booleans()):
        horizon["start"] = "2023-04"
    data["horizon"] = horizon
    regime = draw(st.sampled_from(["none", "us-2022-10", "us-2023-10"]))
    if regime != "none" or draw(st.booleans()):
        data["buyer"] = {"country": draw(st.sampled_from(COUNTRIES))}
    if regime != "none" or draw(st.booleans()):
        data["compliance"] = {"regime": regime}

    chips = [draw(chip_data(i)) for i in range(draw(st.integers(1, 3)))]
    data["chips"] = chips
    n_offers = draw(st.integers(1, max_offers or (3 if tiny else 6)))
    # money in realistic magnitudes too (a server costs ~1e6 CNY): scaling must not move the optimum
    money = 1 if tiny else draw(st.sampled_from([1, 1, 1e3, 1e6]))
    offers = [draw(offer_data(i, chips, T, tiny, foreign, money)) for i in range(n_offers)]
    data["offers"] = offers
    by_id = {c["id"]: c for c in chips}
    hours = horizon.get("hours_per_period", 730)

    # requirements, sized by what 1-3 units of the best offer deliver
    # fleet size: requirements need up to ~this many units of the best offer; large fleets test
    # big unit counts (and the optimiser's order bounds)
    units = 3 if tiny else draw(st.sampled_from([8, 8, 100, 2000]))
    requirements = []
    for i in range(draw(st.integers(0, 3))):
        metric = draw(st.sampled_from(METRICS))
        best = max(_unit_perf(by_id, o, metric) for o in offers)
        req: dict = {"metric": metric}
        if draw(st.booleans()):
            req["id"] = f"r{i}"
        if metric in FLOP_METRICS and draw(st.integers(0, 2)) == 0:
            first = draw(st.integers(1, T))
            last = draw(st.integers(first, T))
            util = draw(st.sampled_from([1, 0.4, 0.75]))
            periods = last - first + 1
            target = draw(st.integers(0, 12)) / 8 * best * units * periods / 2
            req["work_flop"] = target * 1e12 * 3600 * hours * util
            if first != 1 or draw(st.booleans()):
                req["from"] = first
            if last != T or draw(st.booleans()):
                req["until"] = last
            if util != 1 or draw(st.booleans()):
                req["utilization"] = util
        else:
            req["schedule"] = draw(schedule(T, best * units / 2, integer=metric != "fp64_tflops"))
        requirements.append(req)
    if requirements:
        data["requirements"] = requirements

    # money: a rough cost of one period's worth of units
    scale = max(o["unit_price"] for o in offers) * units + 50
    budget: dict = {}
    if draw(st.integers(0, 2)) == 0:
        budget["total"] = draw(st.integers(0, 16)) / 8 * scale * T
    if draw(st.integers(0, 2)) == 0:
        budget["per_period"] = draw(schedule(T, scale, integer=False))
    if budget:
        data["budget"] = budget
    site: dict = {}
    if draw(st.integers(0, 2)) == 0:
        draw_kw = max(_unit_power(by_id, o) for o in offers)
        site["power_kw"] = draw(schedule(T, max(draw_kw, 1.0) * units / 2, integer=False))
    if draw(st.booleans()):
        site["pue"] = draw(st.sampled_from([1, 1.2, 1.5]))
    if draw(st.booleans()):
        site["energy_price"] = draw(st.sampled_from([0.01, 0.1]))
    if site:
        data["site"] = site

    policies = []
    for i in range(draw(st.integers(0, 2))):
        keys = draw(st.sets(st.sampled_from(["vendor", "origin", "ecosystem", "chip", "offer", "kind", "tag"]),
                            min_size=1, max_size=2))
        pools = {
            "vendor": VENDORS, "origin": ORIGINS, "ecosystem": ECOSYSTEMS, "tag": TAGS, "kind": ("buy", "lease"),
            "chip": tuple(c["id"] for c in chips), "offer": tuple(o["id"] for o in offers),
        }
        select = {}
        for key in sorted(keys):
            values = draw(st.lists(st.sampled_from(pools[key]), min_size=1, max_size=2, unique=True))
            select[key] = values[0] if len(values) == 1 and draw(st.booleans()) else values
        shares = sorted(draw(st.lists(st.sampled_from([0, 0.25, 0.5, 0.75, 0.9, 1]), min_size=2, max_size=2)))
        policy: dict = {"name": f"p{i}", "metric": draw(st.sampled_from(METRICS)), "select": select}
        which = draw(st.sampled_from(["min", "max", "both"]))
        if which in ("min", "both"):
            policy["min_share"] = shares[0]
        if which in ("max", "both"):
            policy["max_share"] = shares[1]
        policies.append(policy)
    if policies:
        data["policies"] = policies

    if draw(st.integers(0, 3)) == 0:
        objective: dict = {"sense": "max_capacity", "metric": draw(st.sampled_from(METRICS))}
        if draw(st.booleans()):
            objective["period"] = draw(st.integers(1, T))
        data["objective"] = objective
    return data


# --------------------------------------------------------------------------- MODEL.md sections 7-8

REGIMES = ("none", "us-2022-10", "us-2023-10")


@st.composite
def regime_schedule(draw, T: int):
    """A plain regime name or a schedule {period: regime} (before its first key: none)."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(REGIMES))
    keys = sorted(draw(st.sets(st.integers(1, T), min_size=1, max_size=T)))
    return {k: draw(st.sampled_from(REGIMES)) for k in keys}


@st.composite
def placement_schedule(draw, T: int, values):
    """A section 7 schedule by placement period, or a scalar."""
    if draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(values))
    keys = sorted(draw(st.sets(st.integers(1, T), min_size=1, max_size=T)))
    return {k: draw(st.sampled_from(values)) for k in keys}


@st.composite
def shock_regime(draw, T: int):
    """A rule arriving mid-horizon: none (or us-2022-10) first, then a stricter regime."""
    k = draw(st.integers(2, T)) if T >= 2 else 1
    later = draw(st.sampled_from(["us-2022-10", "us-2023-10"]))
    if draw(st.booleans()) or later == "us-2022-10":
        return {k: later}
    return {1: "us-2022-10", k: later}


def _shock(draw, data: dict, T: int) -> None:
    """Make section 7 bite: a buyer in CN, a US chip controlled under us-2023-10 (tpp 4992) and,
    with a fast link, under us-2022-10 too, offers of it (leases in CN), a regime that tightens
    mid-horizon, lead times that straddle the change, and a requirement to meet after it."""
    data["buyer"] = {"country": "CN"}
    link = draw(st.sampled_from([400, 900]))
    data["chips"].append({"id": "hot", "origin": "US", "bf16_tflops": 312, "tpp": 4992,
                          "interconnect_gbps": link})
    for offer in data["offers"]:
        if draw(st.booleans()):
            offer["chip"] = "hot"
            offer.pop("location", None)  # leases run at the buyer's (CN): void when blocked
            if T >= 2 and draw(st.booleans()):
                offer["lead_time"] = draw(placement_schedule(T, [1, 1, 2] if T >= 3 else [1]))
    data["compliance"] = {"regime": draw(shock_regime(T))}
    need = draw(st.sampled_from([100, 312, 624]))
    req: dict = {"id": "after", "metric": "bf16_tflops", "schedule": {draw(st.integers(1, T)): need}}
    data.setdefault("requirements", []).append(req)


def _v2_offer_fields(draw, offer: dict, T: int) -> None:
    if draw(st.booleans()):
        offer["lead_time"] = draw(placement_schedule(T, list(range(0, min(2, T - 1) + 1)) or [0]))
    if draw(st.booleans()):
        offer["price_factor"] = draw(placement_schedule(T, [0.5, 1, 1.5, 2]))
    if offer["kind"] == "buy" and draw(st.booleans()):
        offer["cancel_refund"] = draw(st.sampled_from([0, 0.5, 1]))


@st.composite
def scenario_list(draw, data: dict, T: int) -> list[dict]:
    """2-3 scenarios overriding prices, regimes, lead times, price factors, schedules."""
    count = draw(st.integers(2, 3))
    # probabilities in tenths summing to 10; one may be left out
    cuts = sorted(draw(st.lists(st.integers(1, 9), min_size=count - 1, max_size=count - 1, unique=True)))
    tenths = [b - a for a, b in zip([0] + cuts, cuts + [10])]
    leave_out = draw(st.sampled_from([None] + list(range(count))))
    offers = data["offers"]
    requirements = data.get("requirements", [])
    out = []
    for j in range(count):
        sc: dict = {"name": f"s{j}"}
        if j != leave_out:
            sc["probability"] = tenths[j] / 10
        if draw(st.integers(0, 3)):
            sc["known"] = draw(st.integers(1, T + 1) if draw(st.integers(0, 3)) == 0 else st.integers(min(2, T + 1), T + 1))
        overrides: dict = {}
        for _ in range(draw(st.integers(0 if j == 0 else 1, 3))):
            what = draw(st.sampled_from(["regime", "regime", "price", "factor", "lead", "refund", "schedule"]))
            o = draw(st.sampled_from(offers))
            if what == "regime":
                overrides["compliance.regime"] = draw(st.one_of(regime_schedule(T), shock_regime(T)))
            elif what == "price":
                overrides[f"offers.{o['id']}.unit_price"] = o["unit_price"] * draw(st.sampled_from([0.5, 2, 3]))
            elif what == "factor":
                overrides[f"offers.{o['id']}.price_factor"] = draw(placement_schedule(T, [0.5, 1.5, 3]))
            elif what == "lead":
                overrides[f"offers.{o['id']}.lead_time"] = draw(placement_schedule(T, [0, 1, 2]))
            elif what == "refund" and o["kind"] == "buy":
                overrides[f"offers.{o['id']}.cancel_refund"] = draw(st.sampled_from([0, 0.5, 1]))
            elif what == "schedule":
                schedule_reqs = [i for i, r in enumerate(requirements) if "schedule" in r]
                if schedule_reqs:
                    i = draw(st.sampled_from(schedule_reqs))
                    old = requirements[i]["schedule"]
                    base = max(old.values()) if isinstance(old, dict) else old
                    overrides[f"requirements.{i}.schedule"] = {draw(st.integers(1, T)): base * draw(
                        st.sampled_from([0, 0.5, 2]))}
        if overrides:
            sc["set"] = overrides
        out.append(sc)
    return out


@st.composite
def instance_data_v2(draw, tiny: bool = True, scenarios: bool = False, max_offers: int | None = None,
                     max_T: int | None = None) -> dict:
    """A valid instance using MODEL.md section 7 (and section 8 when `scenarios`).

    On top of `instance_data`: regime schedules (a buyer in CN half the time, so that offers are
    blocked in some periods and orders cancelled at arrival), lead-time and price-factor
    schedules, cancel_refund, shortfall prices on schedule requirements; with `scenarios`, 2-3
    scenarios with overrides, `known` and probabilities, and each risk measure.
    """
    data = draw(instance_data(tiny=tiny, max_offers=max_offers, max_T=max_T))
    T = data["horizon"]["periods"]
    data["compliance"] = {"regime": draw(regime_schedule(T))}
    if draw(st.booleans()) or "buyer" not in data:
        data["buyer"] = {"country": draw(st.sampled_from(["CN", "CN", "HK", "US"]))}
    for offer in data["offers"]:
        _v2_offer_fields(draw, offer, T)
    if draw(st.integers(0, 2)):
        _shock(draw, data, T)
    if scenarios or draw(st.booleans()):
        data.pop("objective", None)  # scenarios and shortfall prices need min_cost
    if data.get("objective", {}).get("sense") != "max_capacity":
        for req in data.get("requirements", []):
            if "schedule" in req and draw(st.booleans()):
                req["shortfall_price"] = draw(st.sampled_from([0, 1, 10, 1000])) * (
                    1 if tiny else max(o["unit_price"] for o in data["offers"]) / 50 + 1)
    if scenarios:
        data["scenarios"] = draw(scenario_list(data, T))
        if "hot" in [c["id"] for c in data["chips"]] and draw(st.booleans()):
            # the world as written has no rule yet; one scenario brings it, told apart late
            tightened = data["compliance"]["regime"]
            data["compliance"]["regime"] = "none"
            sc = data["scenarios"][-1]
            sc.setdefault("set", {})["compliance.regime"] = tightened
            sc["known"] = draw(st.integers(min(2, T + 1), T + 1))
        measure = draw(st.sampled_from(["expected", "cvar", "worst"]))
        risk: dict = {"measure": measure}
        if measure == "cvar":
            risk["alpha"] = draw(st.sampled_from([0, 0.5, 0.9]))
            risk["weight"] = draw(st.sampled_from([0, 0.5, 1]))
        if measure != "expected" or draw(st.booleans()):
            data["risk"] = risk
    return data


@st.composite
def hedge_data(draw) -> dict:
    """The shape of MODEL.md section 8's motivating case, with random figures: a controlled
    foreign chip bought with a lead time, a domestic one, a domestic lease; a world in which a rule
    arrives mid-horizon and is told apart late. Orders placed before `known` that arrive under
    the rule are cancelled (refunds), leases of the foreign chip go void. Small enough for the
    exhaustive solver (T <= 3, at most 3 offers of at most 2 units per period)."""
    T = draw(st.integers(2, 3))
    k = draw(st.integers(2, T))
    rule = {k: draw(st.sampled_from(["us-2022-10", "us-2023-10"]))}
    offers = [
        {"id": "hot", "chip": "X", "kind": "buy", "unit_price": draw(st.sampled_from([1, 1, 2, 4])),
         "lead_time": draw(st.sampled_from([1, 1, {1: 1, 2: 0}, {1: 0, 2: 1}])), "max_per_period": 2,
         "cancel_refund": draw(st.sampled_from([0, 0.5, 1]))},
        {"id": "home", "chip": "D", "kind": "buy", "unit_price": draw(st.sampled_from([3, 5, 8])),
         "lead_time": draw(st.sampled_from([0, 1])), "max_per_period": 2},
    ]
    if draw(st.booleans()):
        offers[0]["price_factor"] = draw(placement_schedule(T, [0.5, 1.5, 2]))
    if draw(st.booleans()):
        offers.append({"id": "rent", "chip": draw(st.sampled_from(["X", "D"])), "kind": "lease",
                       "unit_price": draw(st.sampled_from([1, 2, 4])), "term": draw(st.integers(1, 3)),
                       "max_per_period": 1})
    requirement: dict = {"id": "need", "metric": "bf16_tflops",
                         "schedule": {draw(st.integers(1, T) if draw(st.booleans()) else st.integers(k, T)):
                                      draw(st.sampled_from([100, 200]))}}
    if draw(st.booleans()):
        requirement["shortfall_price"] = draw(st.sampled_from([0.01, 0.05, 1]))
    p = draw(st.sampled_from([0.1, 0.2, 0.4, 0.5, 0.9]))
    scenarios = [{"name": "calm", "probability": round(1 - p, 10)},
                 {"name": "rule", "probability": p, "known": draw(st.integers(2, T + 1)),
                  "set": {"compliance.regime": rule}}]
    if draw(st.booleans()):
        scenarios.append({"name": "dear", "known": draw(st.integers(1, T + 1)),
                          "set": {"offers.home.unit_price": draw(st.sampled_from([4, 10]))}})
        scenarios[0]["probability"] = round((1 - p) / 2, 10)
    measure = draw(st.sampled_from(["expected", "cvar", "worst"]))
    risk: dict = {"measure": measure}
    if measure == "cvar":
        risk["alpha"] = draw(st.sampled_from([0, 0.5, 0.8]))
        risk["weight"] = draw(st.sampled_from([0.5, 1]))
    return {
        "name": "hedge", "horizon": {"periods": T}, "buyer": {"country": "CN"},
        "chips": [{"id": "X", "origin": "US", "bf16_tflops": 100, "tpp": 5000, "interconnect_gbps": 900},
                  {"id": "D", "origin": "CN", "bf16_tflops": 100}],
        "offers": offers, "requirements": [requirement], "scenarios": scenarios, "risk": risk,
    }
