"""Export-control regimes as data: one YAML file per regime, beside this module.

A regime gives its restricted destinations and its rules; a rule is controlled when any of its
clauses holds, and a clause holds when every figure it names lies within its bounds. Chips can
also be named (`named_chips`: a letter to a vendor names products, not thresholds), and a
`case_by_case` review can let controlled chips below stated figures through with a licence.
A new regime is a new file, not new code (docs/compliance.md describes the format).

Regimes form a timeline: each file says when it came into force and when (and by which regime)
it stopped applying. Each file is cumulative: it holds everything in force in its time, so a
day is under exactly one regime. `regime_on` and `by_date_schedule` read that timeline; the
latter turns `compliance.regime: by-date` into a regime schedule (MODEL.md section 7). Applying a regime
to a chip or an offer is the domain rule in `optimizer/compliance.py`; this module only reads
and validates the files, so `models` depends on nothing in `optimizer`.
"""

from __future__ import annotations

import calendar
import functools
import re
from datetime import date
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class Bounds(BaseModel):
    """Bounds on one figure: ge <= value < lt (either may be absent)."""

    model_config = ConfigDict(extra="forbid")
    ge: float | None = Field(default=None, description="Lower bound, inclusive.")
    lt: float | None = Field(default=None, description="Upper bound, exclusive.")


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="Name of the rule as the regulation writes it, e.g. 3A090.a.")
    text: str = Field(default="", description="The rule in one line, for reports.")
    clauses: list[dict[str, Bounds]] = Field(
        description="The rule holds when any clause holds; a clause holds when every figure is in bounds."
    )


def _country_codes(value: list) -> list[str]:
    # a bare NO (Norway) in YAML reads as false: say so instead of failing later
    bad = [c for c in value if not (isinstance(c, str) and len(c) == 2 and c.isalpha() and c.isupper())]
    if bad:
        raise ValueError(f"not ISO 3166 alpha-2 codes: {bad} (quote \"NO\" for Norway)")
    return value


class Limited(BaseModel):
    """Destinations where the model allows a controlled chip but the real rule caps or licenses it."""

    model_config = ConfigDict(extra="forbid")
    all_except: list[str] = Field(description="Every destination except these (and the restricted ones).")
    note: str = Field(description="What applies there in reality, shown in the decision.")

    _codes = field_validator("all_except", mode="before")(classmethod(lambda cls, v: _country_codes(v)))


class NamedChips(BaseModel):
    """Products a regime controls by name (e.g. a licence requirement sent to a vendor by letter)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="Name of the requirement, for the decision, e.g. H20-letter.")
    letter: str = Field(description="What names the chips and when, shown in the decision.")
    chips: list[str] = Field(min_length=1, description="Chip ids (as in the catalog) it names.")


class CaseByCase(BaseModel):
    """Controlled chips that meet a clause here are licensed case by case rather than denied."""

    model_config = ConfigDict(extra="forbid")
    clauses: list[dict[str, Bounds]] = Field(
        description="A chip qualifies when every figure of some clause is known and in bounds."
    )
    note: str = Field(description="What the licence takes, shown in the decision.")


class Regime(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    source: str
    published: date | None = Field(default=None, description="Day the rule (or letter) was published or sent.")
    in_force: date | None = Field(default=None, description="First day it applied.")
    ended: date | None = Field(default=None, description="First day it no longer applied.")
    ended_by: str | None = Field(default=None, description="Id of the regime in force from `ended` on.")
    ended_how: Literal["superseded", "suspended", "rescinded"] | None = Field(
        default=None, description="superseded by a later rule, suspended (not enforced) or rescinded."
    )
    restricted_destinations: list[str] = Field(default_factory=list)
    limited_destinations: Limited | None = None
    notes: str | None = None
    rules: list[Rule] = Field(default_factory=list)
    named_chips: list[NamedChips] = Field(default_factory=list)
    case_by_case: CaseByCase | None = None

    _codes = field_validator("restricted_destinations", mode="before")(classmethod(lambda cls, v: _country_codes(v)))


def _regime_dir():
    return resources.files("models") / "regimes"


def known_regimes() -> list[str]:
    """Ids of the shipped regimes, one per YAML file in models/regimes/ (`none` first)."""
    names = sorted(p.name[: -len(".yaml")] for p in _regime_dir().iterdir() if p.name.endswith(".yaml"))
    return sorted(names, key=lambda n: n != "none")


@functools.lru_cache(maxsize=None)
def load_regime(regime_id: str) -> Regime:
    """The regime of that id; InputError naming the known ones when there is none."""
    from models.errors import InputError
    from models.reading import parse_text

    known = known_regimes()
    if regime_id not in known:
        raise InputError([f"compliance.regime: unknown regime {regime_id!r} (known: {', '.join(known)})"])
    path = _regime_dir() / f"{regime_id}.yaml"
    data = parse_text(path.read_text(encoding="utf-8"), f"models/regimes/{regime_id}.yaml")
    try:
        regime = Regime.model_validate(data)
    except ValidationError as exc:  # a broken shipped file is a bug, but say where
        raise InputError([str(exc)], f"models/regimes/{regime_id}.yaml") from None
    if regime.id != regime_id:
        raise InputError([f"id: {regime.id!r} must equal the file name {regime_id!r}"], str(path))
    return regime


# --------------------------------------------------------------------------- the timeline


def _in_force_between(regime: Regime, first: date, last: date) -> bool:
    """Did the regime apply on any day of first..last (inclusive)?"""
    if regime.in_force is None or regime.in_force > last:
        return False
    return regime.ended is None or regime.ended > first


def regime_between(first: date, last: date) -> str:
    """The newest regime (latest `in_force`) in force on any day of first..last; `none` if none."""
    live = [load_regime(r) for r in known_regimes() if r != "none"]
    live = [r for r in live if _in_force_between(r, first, last)]
    return max(live, key=lambda r: r.in_force).id if live else "none"


def regime_on(day: date) -> str:
    """The regime in force on that day."""
    return regime_between(day, day)


def parse_month(text: str) -> tuple[int, int] | None:
    """'2025-06' -> (2025, 6); None when it is not a month as YYYY-MM."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", str(text).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return int(match.group(1)), int(match.group(2))


def regime_in_month(year: int, month: int) -> str:
    """The newest regime in force on any day of that month (how `by-date` reads a period)."""
    return regime_between(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def by_date_schedule(start: str, periods: int) -> dict[int, str]:
    """`compliance.regime: by-date` as a regime schedule {period: regime} (MODEL.md section 7).

    Period t is the month `start` + t - 1; it is under the newest regime in force on any day of
    that month. Only the periods where the regime changes are keys (period 1 always is).
    """
    parsed = parse_month(start)
    if parsed is None:
        raise ValueError(f"not a month as YYYY-MM: {start!r}")
    year, month = parsed
    schedule: dict[int, str] = {}
    previous = None
    for t in range(1, periods + 1):
        index = (year * 12 + month - 1) + (t - 1)
        current = regime_in_month(index // 12, index % 12 + 1)
        if current != previous:
            schedule[t] = current
            previous = current
    return schedule
