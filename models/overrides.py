"""`--set PATH=VALUE` overrides (and scenarios' `set`): a dotted path addresses a field, list
items by id (or name) first, else by index; a digit addresses a schedule key; `null` removes
the key so its default applies. An id with a dot in it is quoted: `offers."H20-v1.1".unit_price`.
Plain data in, plain data out: validation comes after."""

from __future__ import annotations

import json
import re
from typing import Any

from models.errors import InputError
from models.reading import parse_scalar

def path_parts(path: str) -> list[str]:
    """The segments of a dotted path; a segment in double or single quotes may hold dots."""
    parts, current, quote, quoted = [], [], None, False
    for ch in path:
        if quote:
            if ch == quote:
                quote = None
            else:
                current.append(ch)
        elif ch in "\"'" and not current and not quoted:
            quote, quoted = ch, True
        elif ch == ".":
            parts.append("".join(current))
            current, quoted = [], False
        elif quoted:
            raise InputError([f"{path}: a quoted segment must be followed by '.' or the end of the path"])
        else:
            current.append(ch)
    if quote:
        raise InputError([f"{path}: unclosed quote"])
    parts.append("".join(current))
    return parts


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
    parts = path_parts(path)
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
