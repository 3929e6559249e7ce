"""Export-control regimes as data: one YAML file per regime, beside this module.

A regime gives its restricted destinations and its rules; a rule is controlled when any of its
clauses holds, and a clause holds when every figure it names lies within its bounds. A new
regime is a new file, not new code (docs/compliance.md describes the format). Applying a regime
to a chip or an offer is the domain rule in `optimizer/compliance.py`; this module only reads
and validates the files, so `models` depends on nothing in `optimizer`.
"""

from __future__ import annotations

import functools
from datetime import date
from importlib import resources

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


class Regime(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    source: str
    published: date | None = None
    in_force: date | None = None
    rescinded: date | None = None
    restricted_destinations: list[str] = Field(default_factory=list)
    limited_destinations: Limited | None = None
    notes: str | None = None
    rules: list[Rule] = Field(default_factory=list)

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
    from models.loading import parse_text

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
