"""Shared helpers: solve an instance file and check the plan with the independent checker."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"
FEATURES = INSTANCES / "features"


def solve_file(path, *overrides: str, gap: float = 0.0, time_limit: float | None = None):
    """Load, solve to proven optimality, and run `plan check`'s checker on the result."""
    from models.loading import load_instance
    from optimizer.check import assert_plan_valid
    from optimizer.planning.solve import SolveOptions, solve_instance

    instance = load_instance(path, list(overrides))
    result = solve_instance(instance, SolveOptions(gap=gap, time_limit=time_limit))
    assert_plan_valid(instance, result, require_plan=False)
    return result


@pytest.fixture
def solve():
    return solve_file
