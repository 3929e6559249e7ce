"""The quoting contract: the committed JSON Schemas match the models, and the result schema never
changes without a `SCHEMA_VERSION` bump.

Regenerate after a deliberate change (and a bump of models/result.py SCHEMA_VERSION):
    python schemas/update.py
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest

from models.result import SCHEMA_VERSION
from models.schema import json_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"


def _updater():
    spec = importlib.util.spec_from_file_location("schemas_update", SCHEMAS / "update.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


update = _updater()


def contract_problem(generated: dict, committed: dict, versions: dict[str, str]) -> str | None:
    """What is wrong with the committed result schema, or None. Pure, so both outcomes are tested."""
    version = generated["x-schema-version"]
    registered = versions.get(version)
    if registered is not None and registered != update.fingerprint(generated):
        return (f"the result schema changed but SCHEMA_VERSION is still {version} (registered with another"
                f" schema): bump SCHEMA_VERSION in models/result.py and run `{update.COMMAND}`")
    if generated != committed:
        if committed.get("x-schema-version") == version:
            return (f"the result schema changed without a version bump ({version}): bump SCHEMA_VERSION in"
                    f" models/result.py and run `{update.COMMAND}`")
        return (f"schemas/result.schema.json is {committed.get('x-schema-version')}, the models say {version}:"
                f" run `{update.COMMAND}`")
    if registered is None:
        return f"version {version} is not registered in schemas/result.versions.json: run `{update.COMMAND}`"
    return None


def _committed(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def test_committed_result_schema_is_current():
    problem = contract_problem(json_schema("result"), _committed("result.schema.json"), update.read_versions())
    assert problem is None, problem


def test_committed_instance_schema_is_current():
    assert json_schema("instance") == _committed("instance.schema.json"), (
        f"schemas/instance.schema.json is stale: run `{update.COMMAND}`"
    )


def test_schema_carries_its_version():
    schema = _committed("result.schema.json")
    assert schema["x-schema-version"] == SCHEMA_VERSION
    assert SCHEMA_VERSION in schema["$id"]
    assert schema["properties"]["schema_version"]["default"] == SCHEMA_VERSION


def test_registered_versions_are_distinct_schemas():
    # two versions with one fingerprint would mean a bump without a change; harmless, but a sign
    # the registry was edited by hand
    versions = update.read_versions()
    assert len(set(versions.values())) == len(versions)
    assert "1.0.0" in versions  # history is kept, never rewritten


# --------------------------------------------------------------------------- the check can fail


def _with_new_field(schema: dict) -> dict:
    changed = copy.deepcopy(schema)
    changed["$defs"]["Order"]["properties"]["discount_code"] = {"type": "string"}
    return changed


def test_a_change_without_bump_is_refused():
    committed = json_schema("result")
    versions = {SCHEMA_VERSION: update.fingerprint(committed)}
    changed = _with_new_field(committed)
    problem = contract_problem(changed, committed, versions)
    assert problem is not None and "bump SCHEMA_VERSION" in problem
    # regenerating the file without a bump is caught by the registry
    problem = contract_problem(changed, changed, versions)
    assert problem is not None and "bump SCHEMA_VERSION" in problem


def test_a_change_with_bump_asks_for_regeneration_then_passes():
    committed = json_schema("result")
    versions = {SCHEMA_VERSION: update.fingerprint(committed)}
    bumped = _with_new_field(committed)
    bumped["x-schema-version"] = "99.0.0"
    problem = contract_problem(bumped, committed, versions)
    assert problem is not None and update.COMMAND in problem and "bump" not in problem
    assert contract_problem(bumped, bumped, {**versions, "99.0.0": update.fingerprint(bumped)}) is None


def test_fingerprint_ignores_only_the_version_labels():
    schema = json_schema("result")
    relabelled = {**schema, "$id": "x", "x-schema-version": "0.0.0"}
    assert update.fingerprint(relabelled) == update.fingerprint(schema)
    assert update.fingerprint(_with_new_field(schema)) != update.fingerprint(schema)


# --------------------------------------------------------------------------- real output obeys it


def test_a_solved_result_validates_against_the_committed_schema():
    jsonschema = pytest.importorskip("jsonschema")
    from models.loading import load_instance
    from optimizer.planning.solve import solve_instance

    result = solve_instance(load_instance(ROOT / "instances/features/tiny.yaml"))
    data = json.loads(result.model_dump_json())
    schema = _committed("result.schema.json")
    jsonschema.validate(data, schema)
    assert data["schema_version"] == SCHEMA_VERSION
    data["orders"] = [{"offer": "x"}]  # a row missing its fields must be refused
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
