"""Sampled scenarios (issue 12): a `sample` block expands into equiprobable scenarios,
deterministically for a seed; bad samples exit 2 with their place."""

from __future__ import annotations

import json
import random

import yaml
from typer.testing import CliRunner

from cli import app
from models.instance import instance_from_data
from models.loading import load_instance
from models.sampling import _triangular
from tests.conftest import FEATURES, solve_file

SAMPLED = FEATURES / "v2" / "sample-choice.yaml"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def data(**sample):
    base = yaml.safe_load(SAMPLED.read_text())
    base["sample"] = {**base["sample"], **sample}
    return base


def test_sampled_instance_solves_to_the_hand_optimum():
    # header of sample-choice.yaml: 3 calm + 1 rule scenario; A in 1: 0.75x3 + 0.25x9.5 = 4.625
    result = solve_file(SAMPLED)
    assert result.status == "optimal", result.message
    assert abs(result.objective - 4.625) < 1e-6
    assert [s.name for s in result.scenarios] == ["s1", "s2", "s3", "s4"]


def test_the_choice_follows_the_seeded_draws():
    inst = load_instance(SAMPLED)
    draws = random.Random(7)
    expected = ["none" if draws.random() < 0.5 else {2: "us-2022-10"} for _ in range(4)]
    assert [s.set["compliance.regime"] for s in inst.scenarios] == expected
    assert all(s.probability == 0.25 and s.known == 2 for s in inst.scenarios)


def test_same_seed_same_scenarios_other_seed_other():
    vary = {"offers.A.unit_price": {"uniform": [2, 4]}}
    a = instance_from_data(data(count=20, vary=vary)).scenarios
    b = instance_from_data(data(count=20, vary=vary)).scenarios
    c = instance_from_data(data(count=20, seed=8, vary=vary)).scenarios
    assert a == b and a != c
    prices = [s.set["offers.A.unit_price"] for s in a]
    assert all(2 <= p <= 4 for p in prices) and len(set(prices)) == 20


def test_triangular_inverse_distribution():
    # low 0, mode 0, high 1: F(x) = 1 - (1 - x)^2, so F(0.5) = 0.75 -> u 0.75 gives 0.5
    assert abs(_triangular(0, 0, 1, 0.75) - 0.5) < 1e-12
    # low 0, mode 1, high 1: F(x) = x^2 -> u 0.25 gives 0.5
    assert abs(_triangular(0, 1, 1, 0.25) - 0.5) < 1e-12
    # symmetric (0, 1, 2): the median is the mode
    assert abs(_triangular(0, 1, 2, 0.5) - 1) < 1e-12


def test_schedule_bounds_move_together_and_round():
    vary = {"offers.A.price_factor": {"uniform": [{1: 1.0, 3: 2.0}, {1: 1.5, 3: 2.5}], "round": 3}}
    for s in instance_from_data(data(count=10, vary=vary)).scenarios:
        v = s.set["offers.A.price_factor"]
        assert 1.0 <= v[1] <= 1.5 and 2.0 <= v[3] <= 2.5
        assert abs((v[3] - 2.0) - (v[1] - 1.0)) <= 0.001 + 1e-12  # one draw for both periods


def test_whole_numbers_with_round_zero():
    vary = {"offers.A.lead_time": {"triangular": [0, 1, 3], "round": 0}}
    inst = instance_from_data(data(count=12, vary=vary))
    times = [s.set["offers.A.lead_time"] for s in inst.scenarios]
    assert all(isinstance(t, int) and 0 <= t <= 3 for t in times)


def test_a_saved_instance_validates_again():
    inst = load_instance(SAMPLED)
    again = instance_from_data(json.loads(inst.model_dump_json(by_alias=True)))
    # a schedule key comes back from JSON as "2": compare as JSON
    assert [s.model_dump(mode="json") for s in again.scenarios] == [s.model_dump(mode="json") for s in inst.scenarios]


def test_plan_scenarios_writes_a_list_that_reproduces_the_result(tmp_path):
    out = tmp_path / "futures.yaml"
    result = run("scenarios", SAMPLED, "-o", out)
    assert result.exit_code == 0, result.output
    listed = yaml.safe_load(out.read_text())["scenarios"]
    assert len(listed) == 4
    base = yaml.safe_load(SAMPLED.read_text())
    del base["sample"]
    base["scenarios"] = listed
    (tmp_path / "listed.yaml").write_text(yaml.safe_dump(base))
    assert abs(solve_file(tmp_path / "listed.yaml").objective - 4.625) < 1e-6
    printed = run("scenarios", SAMPLED, "--json")
    assert json.loads(printed.stdout)["scenarios"][2]["set"] == {"compliance.regime": {"2": "us-2022-10"}}


def bad(vary=None, **extra):
    result = run("validate", SAMPLED, "--set", f"sample.vary={json.dumps(vary)}" if vary else "name=x",
                 *[a for k, v in extra.items() for a in ("--set", f"{k}={json.dumps(v)}")])
    assert result.exit_code == 2, result.output
    return result.output


def test_unknown_distribution():
    assert "sample.vary.offers.A.unit_price.normal: unknown distribution" in bad({"offers.A.unit_price": {"normal": [1, 2]}})


def test_a_path_that_does_not_resolve():
    assert "sample.vary.offers.Z.unit_price: no item 'Z'" in bad({"offers.Z.unit_price": {"uniform": [1, 2]}})


def test_probabilities_not_summing_to_one():
    out = bad({"compliance.regime": {"choice": ["none", "us-2022-10"], "probabilities": [0.5, 0.6]}})
    assert "sample.vary.compliance.regime" in out and "sum to 1.1, not 1" in out


def test_sample_together_with_scenarios():
    assert "sample: give either `sample` or `scenarios`" in bad(scenarios=[{"name": "a"}])


def test_known_outside_the_horizon():
    assert "sample.known: period 5 is outside 1..T+1 = 1..4" in bad(**{"sample.known": 5})


def test_confidence_of_the_now_decisions():
    # 4 scenarios (3 calm, 1 rule) -> buy A now. With the true p(rule) 0.5, A's expected cost is
    # 0.5x3 + 0.5x9.5 = 6.25 (header of sample-choice.yaml): the interval must hold it
    result = run("hedge", SAMPLED, "--confidence", "0.95", "--json")
    assert result.exit_code == 0, result.output
    c = json.loads(result.stdout)
    assert c["decisions"] == {"A@1": 1}
    assert c["expected_low"] <= 6.25 <= c["expected_high"]
    assert all(g >= 0 for g in c["gaps"]) and c["gap_upper"] >= c["gap_mean"]
    assert "95% interval" in c["words"] and "of optimal with 95% confidence" in c["words"]


def test_confidence_when_the_decision_costs_the_same_in_every_future():
    # 40 scenarios, about half under the rule -> buy B now (5 in every future: 0.5x3 + 0.5x9.5 =
    # 6.25 > 5 for A), so every fresh scenario costs exactly 5: the interval is [5, 5]
    result = run("hedge", SAMPLED, "--confidence", "0.9", "--json", "--set", "sample.count=40")
    assert result.exit_code == 0, result.output
    c = json.loads(result.stdout)
    assert c["decisions"] == {"B@1": 1}
    assert abs(c["expected_low"] - 5) < 1e-6 and abs(c["expected_high"] - 5) < 1e-6


def test_confidence_needs_a_sample():
    result = run("hedge", FEATURES / "v2" / "scenarios-expected.yaml", "--confidence", "0.95")
    assert result.exit_code == 2 and "needs a `sample` block" in result.output
