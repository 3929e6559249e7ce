"""Load an instance: read the file (models/reading.py), resolve includes, apply `--set`
overrides (models/overrides.py), validate, and check each scenario. Reading is safe (see
models/reading.py): nothing in a file is executed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.errors import InputError
from models.instance import Instance, instance_from_data
from models.overrides import _restore_int_keys, _step, apply_overrides, set_path  # noqa: F401  (re-exported)
from models.reading import parse_scalar, parse_text, read_data, read_json_file  # noqa: F401  (re-exported)


def validate(data: Any, source: str | None = None) -> Instance:
    """Plain data -> Instance, every error reported at once with its place."""
    instance = instance_from_data(data, source)
    if instance.scenarios:  # each scenario is validated like a file (MODEL.md section 8)
        from models.scenarios import scenario_instances

        try:
            scenario_instances(instance)
        except InputError as exc:
            raise InputError(exc.messages, source) from None
    return instance


def load_instance(path: str | Path, overrides: list[str] | None = None) -> Instance:
    """Read, resolve includes, apply `--set PATH=VALUE` overrides, validate."""
    data = read_data(path)
    data = resolve_includes(data, Path(path))
    if overrides:
        data = apply_overrides(data, overrides)
    return validate(data, str(path))


def resolve_includes(data: Any, path: Path) -> Any:
    """Merge catalog files named by `include:` (see models.catalog); identity without it."""
    if isinstance(data, dict) and "include" in data:
        from models.catalog import merge_includes

        return merge_includes(data, path)
    return data


