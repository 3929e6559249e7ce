"""Turn pydantic's validation errors into the messages an analyst reads.

Every error names its place in the file, `offers[2].lead_time: must be >= 0`, and every error
in the file is reported at once (MODEL.md section 1).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class InputError(Exception):
    """Bad input: a list of located messages. The CLI prints them and exits with code 2."""

    def __init__(self, messages: list[str], source: str | None = None):
        self.messages = messages
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "; ".join(messages))


def _plain(value: Any) -> Any:
    """A date read from YAML (a schedule key written 2023-01-01) shown as written."""
    import datetime
    import re

    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, str):  # pydantic may hand the key over as its repr
        return re.sub(r"datetime\.date\((\d+), (\d+), (\d+)\)",
                      lambda m: f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}", value)
    return value


def place(loc: tuple | list) -> str:
    """('offers', 2, 'lead_time') -> 'offers[2].lead_time'."""
    loc = [_plain(part) for part in loc]
    out = ""
    previous = None
    for part in loc:
        # list items are [i]; period keys of schedules are .t, as in --set paths
        if isinstance(part, int) and out and previous not in _PERIOD_KEYED:
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
        previous = part
    return out or "(instance)"


_PERIOD_KEYED = {"schedule", "per_period", "power_kw", "lead_time", "price_factor", "regime"}


_SHORT = {
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "extra_forbidden": "unknown key (not part of the instance format)",
    "missing": "required",
    "finite_number": "must be a finite number (no NaN or infinity)",
    "int_from_float": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "string_pattern_mismatch": "must match {pattern}",
    "string_too_short": "must not be empty",
}


def _message(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    template = _SHORT.get(err["type"])
    if err["type"] == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {err.get('input')!r}"
    if err["type"] == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        hint = {r"^[A-Z]{2}$": "an ISO 3166 alpha-2 code in capitals, such as CN or US",
                r"^[A-Z]{3}$": "an ISO 4217 code in capitals, such as CNY or USD",
                r"^[^\x00-\x1f\x7f]+$": "text without control characters (escape codes, newlines)"}.get(pattern)
        if hint:
            return f"{err.get('input')!r} is not valid here: expected {hint}"
        return f"{err.get('input')!r} is not valid here (must match the pattern {pattern})"
    if template:
        try:
            msg = template.format(**{k: f"{v:g}" if isinstance(v, float) else v for k, v in ctx.items()})
        except (KeyError, IndexError):
            msg = err["msg"]
        if err["type"] in ("float_parsing", "int_parsing", "float_type", "int_type", "string_type"):
            value = _plain(err.get("input"))
            msg += f", got {value!r}" + (" (periods are numbers 1..T, not dates)" if value != err.get("input") else "")
        return msg
    return err["msg"]


def _branch(p: Any) -> bool:
    """A location part that names a union branch or a dict key, not a place in the file."""
    return isinstance(p, str) and (p in ("str", "list[str]", "float", "int") or p.startswith(
        ("function-", "constrained-", "dict[")) or p.endswith("[key]"))


def _clean_loc(loc: tuple) -> tuple:
    # pydantic names union branches and dict keys in the location; an analyst only wants the path
    return tuple(p for p in loc if not _branch(p))


def _wrong_branch(err: dict[str, Any]) -> bool:
    """A value that may be a number or a schedule fails both branches: report the branch its
    input took (a mapping's errors for a mapping, the number's otherwise)."""
    tags = [p for p in err["loc"] if isinstance(p, str) and p.startswith("dict[")]
    scalar_tags = [p for p in err["loc"] if isinstance(p, str) and p.startswith("constrained-")]
    if not tags and not scalar_tags:
        return False
    is_mapping = isinstance(err.get("input"), dict) or (tags and err["type"] != "dict_type")
    return bool(tags) != bool(is_mapping)


def messages(error: ValidationError) -> list[str]:
    """All errors of a ValidationError as `place: message` lines, in file order."""
    out: list[str] = []
    for err in error.errors(include_url=False):
        if _wrong_branch(err):
            continue
        loc = _clean_loc(tuple("from" if p == "from_" else p for p in err["loc"]))
        if err["type"] == "rules":
            for sub_loc, msg in err["ctx"]["errors"]:
                out.append(f"{place(loc + tuple(sub_loc))}: {msg}")
        else:
            out.append(f"{place(loc)}: {_message(err)}")
    seen: set[str] = set()
    return [m for m in out if not (m in seen or seen.add(m))]
