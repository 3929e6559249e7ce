"""Read an instance file safely, apply `--set` overrides, validate.

Safety: YAML is read with a safe loader (no Python objects, nothing executed), duplicate keys are
an error instead of silently keeping the last one, and documents whose aliases expand past a
size limit ("billion laughs") are refused. YAML 1.2 number forms such as `3.0e9` and `1e23`
read as numbers (PyYAML's YAML 1.1 would read them as text).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from models.errors import InputError, messages
from models.instance import Instance, reference_messages

MAX_NODES = 1_000_000  # expanded size of a document; a realistic instance has a few thousand
MAX_BYTES = 50_000_000


# libyaml's parser when PyYAML has it (~8x faster on a 200-offer instance); construction stays
# the safe Python one either way
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):
    """SafeLoader + YAML 1.2 floats and booleans + duplicate keys refused."""


# YAML 1.2 core schema for booleans: only true/false. YAML 1.1 also reads yes/no/on/off, which
# turns Norway's country code NO into false.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+
        |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*
        |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)


def _expanded_size(obj: Any, limit: int) -> int:
    """Nodes in `obj` counting shared references each time (what validation would walk)."""
    count, stack = 0, [obj]
    while stack:
        item = stack.pop()
        count += 1
        if count > limit:
            return count
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def parse_text(text: str, source: str = "<input>") -> Any:
    """YAML or JSON text -> plain data. Raises InputError with the line of a syntax error."""
    if len(text.encode("utf-8", "ignore")) > MAX_BYTES:
        raise InputError([f"file is larger than {MAX_BYTES // 1_000_000} MB"], source)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError([f"{where}{problem}"], source) from None
    except yaml.YAMLError as exc:
        raise InputError([f"invalid YAML: {exc}"], source) from None
    except RecursionError:
        raise InputError(["document is nested too deeply"], source) from None
    if _expanded_size(data, MAX_NODES) > MAX_NODES:
        raise InputError([f"document expands to more than {MAX_NODES:,} values (alias bomb?)"], source)
    return data


def read_data(path: str | Path) -> Any:
    """Read a YAML or JSON file into plain data, with messages that name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([f"no such file: {path}"]) from None
    except IsADirectoryError:
        raise InputError([f"{path} is a directory, not an instance file"]) from None
    except UnicodeDecodeError:
        raise InputError(["not a text file (UTF-8 expected)"], str(path)) from None
    except OSError as exc:
        raise InputError([f"cannot read {path}: {exc.strerror}"]) from None
    return parse_text(text, str(path))


def validate(data: Any, source: str | None = None) -> Instance:
    """Plain data -> Instance, every error reported at once with its place."""
    if data is None:
        raise InputError(["the file is empty; an instance needs at least `horizon`"], source)
    if not isinstance(data, dict):
        raise InputError([f"an instance is a mapping of keys, not a {type(data).__name__}"], source)
    try:
        instance = Instance.model_validate(data)
    except ValidationError as exc:
        # field errors stop pydantic before the cross-field rules; run those on the raw data
        # too, so that every error in the file is reported at once
        found = messages(exc)
        if not any(e["type"] == "rules" and not e["loc"] for e in exc.errors()):  # they did not run
            found += [m for m in reference_messages(data) if m not in found]
        raise InputError(found, source) from None
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


# --------------------------------------------------------------------------- --set PATH=VALUE


def parse_scalar(text: str) -> Any:
    """A --set value is read as a YAML scalar: 1.1e6 is a number, true a bool, [a, b] a list."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506
    except yaml.YAMLError:
        return text


def _step(container: Any, part: str, path: str) -> tuple[Any, Any]:
    """The key under which `part` addresses an item of `container`."""
    if isinstance(container, list):
        for i, item in enumerate(container):
            if isinstance(item, dict) and (item.get("id") == part or item.get("name") == part):
                return container, i
        if re.fullmatch(r"\d+", part) and int(part) < len(container):
            return container, int(part)
        known = [str(item.get("id") or item.get("name")) for item in container if isinstance(item, dict)]
        raise InputError([f"--set {path}: no item {part!r} (known: {', '.join(known) or 'none'})"])
    if isinstance(container, dict):
        if part in container:
            return container, part
        if re.fullmatch(r"\d+", part):  # schedule keys are periods
            return container, int(part)
        return container, part
    raise InputError([f"--set {path}: cannot go into a {type(container).__name__} at {part!r}"])


def set_path(data: dict, path: str, value: Any) -> None:
    """Set one field addressed by a dotted path; list items by id (or name), else by index."""
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        raise InputError([f"--set {path!r}: empty path segment"])
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        container, key = _step(node, part, path)
        if last:
            if value is None:  # null removes the key, so its default applies (MODEL.md section 8)
                if isinstance(container, dict):
                    container.pop(key, None)
                    return
            container[key] = value
            return
        if isinstance(container, dict) and key not in container:
            container[key] = {}
        child = container[key]
        if isinstance(child, (int, float)) and not isinstance(child, bool) and parts[depth + 1].isdigit():
            child = container[key] = {1: child}  # a scalar schedule is {1: value}
        node = child


def apply_overrides(data: Any, overrides: list[str]) -> Any:
    """Apply `PATH=VALUE` strings to a copy of plain instance data."""
    data = json.loads(json.dumps(data, default=str)) if data is not None else {}
    data = _restore_int_keys(data)
    for item in overrides:
        if "=" not in item:
            raise InputError([f"--set {item!r}: expected PATH=VALUE"])
        path, _, raw = item.partition("=")
        set_path(data, path.strip(), parse_scalar(raw))
    return data


def _restore_int_keys(obj: Any) -> Any:
    # the JSON round-trip (a deep copy) turns period keys into strings; pydantic accepts both,
    # but --set must find `schedule.6` whichever way the file wrote it
    if isinstance(obj, dict):
        return {(int(k) if isinstance(k, str) and k.isdigit() else k): _restore_int_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore_int_keys(v) for v in obj]
    return obj


def read_json_file(path: str | Path) -> Any:
    """A JSON file (a result of `plan solve`, an explanation) -> plain data; InputError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([f"cannot read it: {getattr(exc, 'strerror', None) or exc}"], str(path)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([f"not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"], str(path)) from None
