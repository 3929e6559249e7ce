"""Scenarios (MODEL.md section 8): each one is the instance with its `set` applied, validated
like a file.

A scenario's errors are placed where the analyst wrote them, under `scenarios[i].set.PATH`:
the override paths are resolved against the base data first (list items by id or name, else by
index, as `--set` does), so an error the validation of the changed instance finds at
`offers[2].unit_price` is reported as `scenarios[1].set.offers.H800-server.unit_price`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from models.errors import InputError, place

if TYPE_CHECKING:
    from models.instance import Instance

# collections whose members a scenario may change but not add or remove
_FIXED_MEMBERS = ("chips", "offers", "requirements")


@dataclass
class ScenarioData:
    name: str
    probability: float  # resolved: a scenario that leaves it out gets 1 - the others
    known: int  # resolved: default T + 1
    instance: Instance  # the instance with `set` applied; its own `scenarios` list is empty


MAX_FAILED_SCENARIOS = 20  # a sample of 100,000 bad draws would list (and cost) 100,000 errors


def scenario_instances(instance: Instance) -> list[ScenarioData]:
    """One validated instance per scenario; [] without scenarios. Cached on the instance."""
    cached = getattr(instance, "_scenario_cache", None)
    if cached is not None:
        return cached
    out = _build(instance)
    try:
        object.__setattr__(instance, "_scenario_cache", out)
    except (AttributeError, TypeError):  # pragma: no cover - pydantic refusing the attribute
        pass
    return out


def _build(instance: Instance) -> list[ScenarioData]:
    if not instance.scenarios:
        return []
    base = base_data(instance)
    given = sum(s.probability for s in instance.scenarios if s.probability is not None)
    out, errors = [], []
    for i, sc in enumerate(instance.scenarios):
        try:
            scenario_instance = apply_scenario(base, i, sc.set or {})
        except InputError as exc:
            errors += exc.messages
            failed = sum(1 for m in errors if m.startswith("scenarios["))
            if failed >= MAX_FAILED_SCENARIOS and i + 1 < len(instance.scenarios):
                errors.append(f"scenarios[{i + 1}..{len(instance.scenarios) - 1}]: not checked, after"
                              f" {MAX_FAILED_SCENARIOS} errors")
                break
            continue
        probability = sc.probability if sc.probability is not None else max(0.0, 1.0 - given)
        out.append(ScenarioData(sc.name, probability, sc.known or instance.T + 1, scenario_instance))
    if errors:
        raise InputError(errors)
    return out


def base_data(instance: Instance) -> dict:
    """Plain data of the validated instance without its scenarios (a deep copy each call)."""
    data = instance.model_dump(by_alias=True, exclude={"scenarios", "risk", "sample"}, exclude_none=True)
    return json.loads(json.dumps(data))


def apply_scenario(base: dict, index: int, overrides: dict[str, Any]) -> Instance:
    """The base with one scenario's overrides applied and validated; errors placed under
    `scenarios[index].set...`."""
    from models.instance import instance_from_data as validate
    from models.overrides import _restore_int_keys, set_path

    data = _restore_int_keys(json.loads(json.dumps(base)))
    prefix = f"scenarios[{index}].set"
    resolved: list[tuple[str, str]] = []  # (place in the instance, the path as written)
    errors = []
    for path, value in overrides.items():
        path = str(path)
        try:
            resolved.append((place(resolve_place(data, path)), path))
            set_path(data, path, value)
        except InputError as exc:
            errors += [f"{prefix}.{path}: {_strip_set(m, path)}" for m in exc.messages]
    for key in _FIXED_MEMBERS:
        before = [_ident(x) for x in base.get(key, [])]
        after = [_ident(x) for x in data.get(key, [])] if isinstance(data.get(key), list) else None
        if after != before:
            errors.append(f"{prefix}: a scenario may not add or remove {key} (only change their fields)")
    if errors:
        raise InputError(errors)
    try:
        return validate(data)
    except InputError as exc:
        raise InputError([_relocate(m, resolved, prefix) for m in exc.messages]) from None


def resolve_place(data: Any, path: str) -> tuple:
    """The location (keys and list indices) that a --set style path addresses in `data`."""
    from models.overrides import _step, path_parts

    loc: list = []
    node = data
    for part in path_parts(path):
        container, key = _step(node, part, path)
        loc.append(key)
        node = container[key] if isinstance(container, list) or key in container else {}
    return tuple(loc)


def _ident(item: Any) -> Any:
    return item.get("id") if isinstance(item, dict) else None


def _strip_set(message: str, path: str) -> str:
    return message.removeprefix(f"--set {path}: ").removeprefix(f"--set {path!r}: ")


def _relocate(message: str, resolved: list[tuple[str, str]], prefix: str) -> str:
    """`offers[2].unit_price: ...` -> `scenarios[1].set.offers.H800.unit_price: ...` when an
    override addressed that place; other errors (a consequence elsewhere) keep their place."""
    for where, path in sorted(resolved, key=lambda r: -len(r[0])):
        if message == where or message.startswith((where + ":", where + ".", where + "[")):
            return f"{prefix}.{path}{message[len(where):]}"
    return f"{prefix}: {message}"
