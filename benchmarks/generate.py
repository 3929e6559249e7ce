"""Benchmark instances of growing size: `offers` offers over `periods` periods.

    python benchmarks/generate.py --out /tmp/bench            # the 18 benchmark instances
    python benchmarks/generate.py --out DIR --offers 10 --periods 12 --variants full

Each instance is a China-based buyer planning an LLM cluster: a BF16 capacity requirement growing
over the horizon, a memory requirement, a small FP64 requirement (HPC jobs) from the second third
on, and a training run as cumulative work. Offers cycle over nine real accelerators (figures as in
models/catalog/chips.yaml: vendor datasheets, the Ascend BF16 rate and the Hygon FP64 rate are
estimates) sold as 8-GPU servers or leased as cloud instances from several sellers. Prices are
ESTIMATES for benchmarking only: a per-GPU street price (USD, 2023) varied by +-15% per seller;
a lease costs about 1/18 of the purchase per month (~2 USD per A800-hour). Every offer has a
supply cap, so the plan draws on many offers; budgets, site power and the domestic-share policy
are loose enough that every generated instance is feasible (the runner reports any that is not).

Variant `plain`: only integer orders. Variant `full`: also price breaks (every other buy
offer), minimum orders (every third offer) and fixed costs (every fourth offer), i.e. binaries.
Instances are deterministic: the seed comes from the size and the variant.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

SIZES_OFFERS = (10, 50, 200)
SIZES_PERIODS = (12, 36, 60)
VARIANTS = ("plain", "full")

# (id, vendor, origin, ecosystem, bf16, fp32, fp64, memory_gb, tdp_w, estimated USD per GPU)
# Specs: models/catalog/chips.yaml (vendor datasheets). Prices: estimates, see the module docstring.
CHIPS = [
    ("A800-SXM-80G", "NVIDIA", "US", "cuda", 312, 19.5, 19.5, 80, 400, 24000),
    ("H800-SXM-80G", "NVIDIA", "US", "cuda", 989.5, 67, 1, 80, 700, 42000),
    ("H20-96G", "NVIDIA", "US", "cuda", 148, 44, 1, 96, 400, 13000),
    ("Ascend-910B", "Huawei", "CN", "cann", 320, 0, 0, 64, 400, 17000),
    ("BR104", "Biren", "CN", "biren-supa", 512, 0, 0, 32, 300, 9000),
    ("MLU370-X8", "Cambricon", "CN", "cambricon-neuware", 96, 24, 0, 48, 250, 6000),
    ("Tiangai-100", "Iluvatar CoreX", "CN", "iluvatar-corex", 147, 37, 0, 32, 250, 7000),
    ("Hygon-DCU-Z100", "Hygon", "CN", "rocm-like", 0, 10.8, 10.8, 32, 300, 5000),
    ("A100-SXM-80G", "NVIDIA", "US", "cuda", 312, 19.5, 19.5, 80, 400, 20000),
]
# software maturity (estimates): domestic stacks reach less of their peak today
EFFICIENCY = {"cuda": 1.0, "cann": 0.8, "biren-supa": 0.6, "cambricon-neuware": 0.7,
              "iluvatar-corex": 0.7, "rocm-like": 0.8}
GPUS_PER_SERVER = 8
LEASE_TERMS = (1, 3, 6, 12)


def instance_name(offers: int, periods: int, variant: str) -> str:
    return f"o{offers}_t{periods}_{variant}"


def generate(offers: int, periods: int, variant: str = "plain", seed: int | None = None) -> dict:
    """One instance as plain data (what a YAML file holds)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    full = variant == "full"
    T = periods
    rng = random.Random(seed if seed is not None else offers * 1000 + periods * 10 + full)

    chips = [
        {"id": cid, "vendor": vendor, "origin": origin, "ecosystem": eco, "bf16_tflops": bf16,
         "fp32_tflops": fp32, "fp64_tflops": fp64, "memory_gb": mem, "tdp_w": tdp,
         "efficiency": EFFICIENCY[eco]}
        for cid, vendor, origin, eco, bf16, fp32, fp64, mem, tdp, _ in CHIPS
    ]
    offer_list = []
    supply_bf16 = 0.0  # bf16 TFLOPS all offers could deliver at once, to size the requirement
    supply_fp64 = 0.0
    for k in range(offers):
        cid, _v, _o, eco, bf16, _f32, fp64, _mem, _tdp, gpu_price = CHIPS[k % len(CHIPS)]
        kind = "buy" if k % 2 == 0 else "lease"
        seller_price = gpu_price * GPUS_PER_SERVER * rng.uniform(0.85, 1.15)
        offer = {"id": f"{cid}-{kind}-{k:03d}", "chip": cid, "kind": kind, "gpus_per_unit": GPUS_PER_SERVER}
        if kind == "buy":
            offer["unit_price"] = round(seller_price, -2)
            offer["lead_time"] = rng.choice((1, 2, 3, 4))
            offer["residual_value"] = rng.choice((0.2, 0.3, 0.4))
            units = rng.randint(40, 400)
        else:
            term = rng.choice(LEASE_TERMS)
            offer["unit_price"] = round(seller_price / 18 * (1.1 if term == 1 else 1.0), -1)
            offer["term"] = term
            offer["lead_time"] = rng.choice((0, 0, 1))
            units = rng.randint(20, 200)
        if kind == "buy":  # `units` servers over the horizon, at most half of them at once
            offer["max_per_period"] = max(1, units // 2)
            offer["max_total"] = units
        else:  # `units` instances at any time, renewed over the whole horizon
            offer["max_per_period"] = units
            offer["max_total"] = units * -(-T // offer["term"])
        # some sellers enter late or stop selling early (new generations, export rules)
        first_of_chip = k < 2 * len(CHIPS)  # keeps period 1 coverable: see below
        if kind == "lease" and first_of_chip:
            offer["lead_time"] = 0  # the first lease of each chip starts at once
        elif rng.random() < 0.25:
            offer["available_from"] = rng.randint(1, max(1, T // 3))
        if rng.random() < 0.2:
            offer["available_until"] = rng.randint(max(offer.get("available_from", 1), 2 * T // 3), T)
        if full:
            if kind == "buy" and k % 4 == 0:
                price = offer["unit_price"]
                offer["price_breaks"] = [{"min_units": 4, "unit_price": round(price * 0.96, -2)},
                                         {"min_units": 16, "unit_price": round(price * 0.92, -2)}]
            if k % 3 == 0:
                offer["min_order"] = 2 if kind == "buy" else 4
                offer["max_per_period"] = max(offer["max_per_period"], offer["min_order"])
            if k % 4 == 1:
                offer["fixed_cost"] = round(0.5 * seller_price, -2)  # onboarding, contract set-up
        offer["tags"] = ["domestic" if _o == "CN" else "import"]
        offer_list.append(offer)
        eff = EFFICIENCY[eco]
        supply_bf16 += bf16 * eff * GPUS_PER_SERVER * units
        supply_fp64 += fp64 * eff * GPUS_PER_SERVER * units

    # requirements grow from 25% to 100% of a final need that is a third of the whole market
    final = 0.33 * supply_bf16
    steps = {1: round(0.25 * final)}
    for t in range(1 + max(1, T // 6), T + 1, max(1, T // 6)):
        steps[t] = round(final * (0.25 + 0.75 * (t - 1) / max(1, T - 1)))
    memory = {t: round(v / 312 * 80 * 0.5) for t, v in steps.items()}  # ~half an A800's memory per TFLOPS
    requirements = [
        {"id": "inference", "metric": "bf16_tflops", "schedule": steps},
        {"id": "memory", "metric": "memory_gb", "schedule": memory},
    ]
    if supply_fp64 > 0 and T >= 3:
        requirements.append({"id": "hpc", "metric": "fp64_tflops", "schedule": {T // 3 + 1: round(0.1 * supply_fp64)}})
    # a training run over the second half: 20% of the final capacity, every hour, at 40% utilisation
    first = T // 2 + 1
    requirements.append({"id": "training", "metric": "bf16_tflops", "work_flop": float(
        f"{0.2 * final * 1e12 * 3600 * 730 * 0.4 * (T - first + 1):.3e}"), "from": first, "until": T,
        "utilization": 0.4})

    # a loose budget: buying the whole final need at list price, twice over, at most
    usd_per_tflops = sum(c[9] / max(c[4], 1) for c in CHIPS if c[4] > 0) / sum(1 for c in CHIPS if c[4] > 0)
    total = round(2.5 * final * usd_per_tflops, -4)
    data = {
        "name": instance_name(offers, periods, variant),
        "description": f"Benchmark instance: {offers} offers x {periods} periods, variant {variant} "
                       "(benchmarks/generate.py; prices are estimates).",
        "currency": "USD",
        "horizon": {"periods": T, "start": "2024-01", "discount_rate": 0.005},
        "buyer": {"country": "CN"},
        "chips": chips,
        "offers": offer_list,
        "requirements": requirements,
        "budget": {"total": total, "per_period": {1: round(total / 2, -4)}},
        "site": {"power_kw": {1: round(final / 100)}, "pue": 1.3, "energy_price": 0.08},
        "policies": [{"name": "domestic-share", "metric": "bf16_tflops", "select": {"tag": "domestic"},
                      "min_share": 0.2}],
        "objective": {"sense": "min_cost"},
    }
    return data


def write_instance(data: dict, folder: Path) -> Path:
    """Write as YAML (what analysts write); period keys stay integers."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=120), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the YAML files")
    parser.add_argument("--offers", type=int, nargs="+", default=list(SIZES_OFFERS))
    parser.add_argument("--periods", type=int, nargs="+", default=list(SIZES_PERIODS))
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args(argv)
    for variant in args.variants:
        for n in args.offers:
            for T in args.periods:
                path = write_instance(generate(n, T, variant), args.out)
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
