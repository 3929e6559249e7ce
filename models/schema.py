"""JSON Schemas generated from the pydantic models (`plan schema instance|result`)."""

from __future__ import annotations

from typing import Any


def json_schema(which: str) -> dict[str, Any]:
    """The JSON Schema of `instance` (validation mode) or `result` (serialization mode)."""
    if which == "instance":
        from models.instance import Instance

        schema = Instance.model_json_schema(mode="validation")
        schema["$id"] = "https://plan.invalid/schemas/instance.schema.json"
    elif which == "result":
        from models.result import SCHEMA_VERSION, Result

        schema = Result.model_json_schema(mode="serialization")
        schema["$id"] = f"https://plan.invalid/schemas/result-{SCHEMA_VERSION}.schema.json"
        schema["x-schema-version"] = SCHEMA_VERSION
    else:
        raise ValueError(f"unknown schema {which!r}: expected instance or result")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
