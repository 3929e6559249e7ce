"""Diagnosis of instances without a plan: causes, smallest relaxations, IIS (docs/explain.md).

Every expected figure is derived by hand in the instance file's header (repeated here in short).
"""

from __future__ import annotations

import json

import pytest
import yaml

from models.loading import load_instance, validate
from optimizer.analysis.diagnose import diagnose, period_ranges, runs
from tests.conftest import FEATURES


def diagnosis_of(name, *overrides, data_change=None, **kw):
    if data_change is None:
        inst = load_instance(FEATURES / f"{name}.yaml", list(overrides))
    else:
        data = yaml.safe_load((FEATURES / f"{name}.yaml").read_text())
        data_change(data)
        inst = validate(data, name)
    return diagnose(inst, **kw)


def of_kind(diagnosis, kind):
    return [d for d in diagnosis if d.kind == kind]


def test_wording_helpers():
    assert period_ranges([5, 1, 2, 3, 8, 9]) == "1-3, 5, 8-9"
    assert runs({1: 5.0, 2: 5.0, 4: 5.0, 5: 6.0}) == [([1, 2], 5.0), ([4], 5.0), ([5], 6.0)]


def test_budget_asks_for_the_missing_money_in_whole_units():
    # 3 units x 10 M = 30 M against 25 M: raise by 5 M; or 2 units = 800 TFLOPS: lower by 200
    d = diagnosis_of("infeasible-budget")
    (relax,) = of_kind(d, "relax")
    assert relax.constraint == "budget.total" and relax.unit == "CNY"
    assert relax.amount == pytest.approx(5e6, rel=1e-6)
    assert "raise the total budget by 5 M CNY" in relax.action
    (lower,) = of_kind(d, "lower")
    assert lower.constraint == "requirement train" and lower.periods == [1]
    assert lower.amount == pytest.approx(200, rel=1e-6) and lower.unit == "TFLOPS"
    assert "to 800 TFLOPS" in lower.action
    # 2.5 units x 10 M = 25 M fits with fractional units: no IIS, a note says why
    assert of_kind(d, "conflict") == []
    assert any("LP relaxation (fractional units) has a plan" in x.action for x in of_kind(d, "note"))
    assert of_kind(d, "cause") == []


def test_budget_conflict_named_by_business_rules():
    # budget 20 M: 2.5 units cost 25 M > 20 M, so the LP relaxation is infeasible as well
    d = diagnosis_of("infeasible-budget", "budget.total=2e7")
    (relax,) = of_kind(d, "relax")
    assert relax.amount == pytest.approx(1e7, rel=1e-6)  # 30 M - 20 M
    names = {x.constraint for x in of_kind(d, "conflict")}
    assert "requirement train (BF16 capacity)" in names
    assert "budget.total (20 M CNY)" in names
    assert not any("max_per_period" in n for n in names)  # the offer has no such cap


def test_total_and_period_budget_both_named():
    # a per-period cap of 25 M as well: the 30 M purchase in period 1 breaks both by 5 M
    def change(data):
        data["budget"]["per_period"] = 2.5e7

    d = diagnosis_of("infeasible-budget", data_change=change)
    relax = {x.constraint: x for x in of_kind(d, "relax")}
    assert set(relax) == {"budget.total", "budget.per_period"}
    assert relax["budget.total"].amount == pytest.approx(5e6, rel=1e-6)
    assert relax["budget.per_period"].amount == pytest.approx(5e6, rel=1e-6)
    assert relax["budget.per_period"].periods == [1]


@pytest.mark.parametrize("cap, action", [
    ("max_total", "allow 1 more unit of X-server in total (max_total 2 -> 3)"),
    ("max_per_period", "allow 1 more unit of X-server per period (max_per_period 2 -> 3)"),
])
def test_supply_caps(cap, action):
    # no budget, at most 2 units: 3 units are needed (ceil(1000 / 400)), so 1 more
    def change(data):
        del data["budget"]
        data["offers"][0][cap] = 2

    d = diagnosis_of("infeasible-budget", data_change=change)
    (relax,) = of_kind(d, "relax")
    assert relax.constraint == f"offers.X-server.{cap}" and relax.amount == 1 and relax.unit == "units"
    assert relax.action == action


def test_fp64_before_any_eligible_chip_can_arrive():
    # A800 blocked (TPP 4992 >= 4800, 3A090.a); Hygon orders from 3 + lead time 3 -> period 6
    d = diagnosis_of("infeasible-fp64")
    (cause,) = of_kind(d, "cause")
    assert cause.periods == [1, 2, 3, 4, 5] and cause.constraint == "requirement hpc"
    assert cause.action.startswith(
        "fp64_tflops in periods 1-5 cannot be met: nothing eligible with FP64 arrives before period 6 "
        "(A800-server blocked by us-2023-10 3A090.a, Hygon-DCU orderable from period 3, lead time 3)")
    # periods 6-8 can be met by one Hygon unit: nothing else to relax, no IIS needed
    assert of_kind(d, "relax") == [] and of_kind(d, "lower") == [] and of_kind(d, "conflict") == []
    assert "every other rule can be met" in d[-1].action


def test_metric_nobody_eligible_provides():
    # drop the Hygon offer: only the blocked A800 has FP64
    def change(data):
        data["offers"] = data["offers"][:1]

    d = diagnosis_of("infeasible-fp64", data_change=change)
    (cause,) = of_kind(d, "cause")
    assert cause.periods == list(range(1, 9))
    assert "no eligible offer provides FP64 (A800-server blocked by us-2023-10 3A090.a)" in cause.action


def test_site_power():
    # 3 units x 2 kW x pue 1.5 = 9 kW against 6 kW: raise by 3 kW; or 2 units = 800 TFLOPS
    d = diagnosis_of("infeasible-power")
    (relax,) = of_kind(d, "relax")
    assert relax.constraint == "site.power_kw" and relax.periods == [1]
    assert relax.amount == pytest.approx(3, rel=1e-6) and relax.unit == "kW"
    (lower,) = of_kind(d, "lower")
    assert lower.amount == pytest.approx(200, rel=1e-6)
    assert {"requirement train (BF16 capacity)", "site.power_kw"} <= {x.constraint for x in of_kind(d, "conflict")}


def test_policy_share_in_a_period_without_domestic_supply():
    # period 1 has only the foreign lease: the domestic share is 0 % against 50 %
    d = diagnosis_of("infeasible-policy")
    (relax,) = of_kind(d, "relax")
    assert relax.constraint == "policy domestic" and relax.periods == [1]
    assert relax.amount == pytest.approx(50, abs=1e-6) and relax.unit == "percentage points"
    assert "lower min_share of policy domestic from 50 % to 0 % in period 1" in relax.action
    (lower,) = of_kind(d, "lower")
    assert lower.periods == [1] and lower.amount == pytest.approx(800, rel=1e-6)


def test_max_share_relaxed_in_proportion_to_its_size():
    # policy-share.yaml with cuda at most 10 % and D (non-cuda) capped at 3 units of 100 TFLOPS:
    # 1000 TFLOPS need at least 7 N units -> cuda share 70 %. Relaxing the policy costs
    # (700 - 0.1 x 1000) / 1000 = 0.6 of the requirement's size; 7 more D units cost 7 / 3 = 2.33
    # of max_total: the policy is the smaller relaxation. Lowering the requirement instead:
    # 100 n <= 0.1 (300 + 100 n) gives n = 0, so 300 TFLOPS: lower by 700.
    def change(data):
        del data["policies"][0]["min_share"]
        data["policies"][0]["max_share"] = 0.1
        data["offers"][1]["max_total"] = 3

    d = diagnosis_of("policy-share", data_change=change)
    (relax,) = of_kind(d, "relax")
    assert relax.constraint == "policy cuda-share" and relax.amount == pytest.approx(60, abs=1e-6)
    assert "raise max_share of policy cuda-share from 10 % to 70 % in period 1" in relax.action
    (lower,) = of_kind(d, "lower")
    assert lower.amount == pytest.approx(700, rel=1e-6)
    assert "offers.D.max_total (3 units)" in {x.constraint for x in of_kind(d, "conflict")}


def test_no_time_left_still_gives_the_causes():
    d = diagnosis_of("infeasible-fp64", time_limit=0.0)
    assert [x.kind for x in d] == ["cause", "note"]


def test_cli_solve_attaches_the_diagnosis_and_exits_3():
    from typer.testing import CliRunner

    from cli import app

    res = CliRunner().invoke(app, ["solve", str(FEATURES / "infeasible-budget.yaml"), "--json"])
    assert res.exit_code == 3, res.output
    data = json.loads(res.stdout)
    assert data["status"] == "infeasible"
    relax = [x for x in data["diagnosis"] if x["kind"] == "relax"]
    assert relax[0]["constraint"] == "budget.total" and relax[0]["amount"] == pytest.approx(5e6, rel=1e-6)

    res = CliRunner().invoke(app, ["solve", str(FEATURES / "infeasible-fp64.yaml")])
    assert res.exit_code == 3
    assert "Why there is no plan" in res.output and "arrives before period 6" in res.output
