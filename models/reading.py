"""Reading files safely: YAML or JSON text becomes plain data, nothing else happens.

Safety: YAML is read with a safe loader (no Python objects, nothing executed), duplicate keys are
an error instead of silently keeping the last one, and documents whose aliases expand past a
size limit ("billion laughs") are refused. YAML 1.2 number forms such as `3.0e9` and `1e23`
read as numbers (PyYAML's YAML 1.1 would read them as text). The lowest room of `models`: it
imports only the error type, so the catalog and the regimes can read their files with it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from models.errors import InputError

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
        with path.open("rb") as fh:  # bounded: /dev/zero or a huge file must not fill the memory
            raw = fh.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise InputError([f"file is larger than {MAX_BYTES // 1_000_000} MB"], str(path))
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise InputError([f"no such file: {path}"]) from None
    except IsADirectoryError:
        raise InputError([f"{path} is a directory, not an instance file"]) from None
    except UnicodeDecodeError:
        raise InputError(["not a text file (UTF-8 expected)"], str(path)) from None
    except OSError as exc:
        raise InputError([f"cannot read {path}: {exc.strerror}"]) from None
    return parse_text(text, str(path))


def parse_scalar(text: str) -> Any:
    """A --set value is read as a YAML scalar: 1.1e6 is a number, true a bool, [a, b] a list.
    The same limits as a file hold (an alias bomb in a value is refused)."""
    if len(text.encode("utf-8", "ignore")) > MAX_BYTES:
        raise InputError([f"--set value is larger than {MAX_BYTES // 1_000_000} MB"])
    try:
        value = yaml.load(text, Loader=_Loader)  # noqa: S506
    except yaml.YAMLError:
        return text
    if _expanded_size(value, MAX_NODES) > MAX_NODES:
        raise InputError([f"--set value expands to more than {MAX_NODES:,} values (alias bomb?)"])
    return value


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
