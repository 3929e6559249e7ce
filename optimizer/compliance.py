"""Export controls: is an offer blocked for this buyer under this regime? (MODEL.md section 4)

Regimes are data: one YAML file per regime in `models/regimes/` gives its restricted
destinations and its rules; a rule is controlled when any of its clauses holds, and a clause holds
when every figure it names lies within its bounds. A new regime is a new file, not new code
(docs/compliance.md describes the format).

Figures a clause may name: `tpp` (given, or derived from the peaks), `pd` (performance density,
tpp / die_area_mm2) and any numeric chip field such as `interconnect_gbps` or
`memory_bandwidth_gbps`. A regime may also name chips (`named_chips`: controlled whatever their
figures, the decision naming the letter) and let controlled chips meeting a `case_by_case`
clause through with a caveat (a licence reviewed case by case; there an unknown figure does not
qualify).

Missing figures: MODEL.md says a chip lacking a figure a rule needs "counts as controlled:
nothing unknown slips through". Read clause by clause, an unknown figure takes its worst case: a
condition on it counts as met, so a clause holds when its known conditions hold. A chip with
TPP 4992 and no interconnect figure is controlled under us-2022-10; a chip with TPP 1000 and no die
area is not controlled under us-2023-10 (no clause can hold whatever its density).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from models.regimes import Bounds, Regime, known_regimes, load_regime  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from models.instance import Chip, Instance, Offer

FIGURE_LABELS = {"tpp": "TPP", "pd": "PD", "interconnect_gbps": "interconnect",
                 "memory_bandwidth_gbps": "memory bandwidth"}


# --------------------------------------------------------------------------- figures


def chip_tpp(chip: Chip) -> float:
    """TPP as given, else the largest of 16*bf16, 32*fp32, 64*fp64, 8*fp8, 8*int8 (undiscounted peaks).

    The weights are the BIS bit-length factor times 2 operations per MAC: TPP = 2 x MacTOPS x bits,
    and a TFLOPS figure already counts 2 operations per MAC (MODEL.md section 4). `efficiency` is
    software maturity and plays no part in the rule.
    """
    if chip.tpp is not None:
        return float(chip.tpp)
    return float(max(16 * chip.bf16_tflops, 32 * chip.fp32_tflops, 64 * chip.fp64_tflops,
                     8 * chip.fp8_tflops, 8 * chip.int8_tops))


def performance_density(chip: Chip) -> float | None:
    """TPP per mm^2 of die; None when the die area is unknown (absent or 0)."""
    if not chip.die_area_mm2:
        return None
    return chip_tpp(chip) / chip.die_area_mm2


def figure(chip: Chip, name: str) -> float | None:
    if name == "tpp":
        return chip_tpp(chip)
    if name == "pd":
        return performance_density(chip)
    value = getattr(chip, name, None)
    return None if value is None else float(value)


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else f"{int(x)}"


def _fig(name: str, value: float) -> str:
    label = FIGURE_LABELS.get(name, name)
    return f"{label} {value:.2f}" if name == "pd" else f"{label} {_num(value)}"


@dataclass(frozen=True)
class ClauseCheck:
    holds: bool        # with unknown figures taken at their worst case
    unknown: tuple[str, ...]
    met: tuple[str, ...]     # "TPP 4992 >= 4800"
    failed: tuple[str, ...]  # "PD 2.91 < 3.2"


def check_clause(chip: Chip, clause: dict[str, Bounds]) -> ClauseCheck:
    met, failed, unknown = [], [], []
    for name, bounds in clause.items():
        value = figure(chip, name)
        if value is None:
            unknown.append(name)
            continue
        if bounds.ge is not None:
            (met if value >= bounds.ge else failed).append(
                f"{_fig(name, value)} {'>=' if value >= bounds.ge else '<'} {_num(bounds.ge)}")
        if bounds.lt is not None:
            (met if value < bounds.lt else failed).append(
                f"{_fig(name, value)} {'<' if value < bounds.lt else '>='} {_num(bounds.lt)}")
    return ClauseCheck(not failed, tuple(unknown), tuple(met), tuple(failed))


@dataclass(frozen=True)
class Classification:
    """Whether a chip is controlled under a regime, and why."""

    controlled: bool
    rule: str | None       # "us-2023-10 3A090.a" when controlled
    explanation: str       # "TPP 4992 >= 4800" or why no clause holds
    named: bool = False    # controlled because the regime names the chip


def classify(chip: Chip, regime: Regime | str) -> Classification:
    """Is the chip controlled under the regime's rules? (destinations and origin aside)

    A clause met with known figures only is preferred over one met through an unknown figure,
    so the explanation names real figures whenever it can.
    """
    regime = load_regime(regime) if isinstance(regime, str) else regime
    for named in regime.named_chips:
        if chip.id in named.chips:
            return Classification(True, f"{regime.id} {named.id}", f"chip {chip.id} named in {named.letter}", named=True)
    by_unknown: tuple[str, ClauseCheck] | None = None
    misses: list[str] = []
    for rule in regime.rules:
        rule_misses = []
        for clause in rule.clauses:
            check = check_clause(chip, clause)
            if check.holds and not check.unknown:
                return Classification(True, f"{regime.id} {rule.id}", " and ".join(check.met))
            if check.holds and by_unknown is None:
                by_unknown = (rule.id, check)
            if not check.holds:
                rule_misses.append(" and ".join(check.failed))
        if rule_misses:
            misses.append(f"{rule.id}: " + "; ".join(dict.fromkeys(rule_misses)))
    if by_unknown is not None:
        rule_id, check = by_unknown
        parts = list(check.met) + [
            "die area unknown" if n == "pd" else f"{FIGURE_LABELS.get(n, n)} unknown" for n in check.unknown
        ]
        return Classification(True, f"{regime.id} {rule_id}", " and ".join(parts) + " (counts as controlled)")
    if not regime.rules:
        return Classification(False, None, f"{regime.id} has no rules" + (" naming this chip" if regime.named_chips else ""))
    return Classification(False, None, f"below {regime.id}: " + "; ".join(misses))


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Decision:
    """Whether an offer is blocked, the rule that blocked it, and the figures (MODEL.md section 4)."""

    blocked: bool
    rule: str | None   # "us-2023-10 3A090.a" or "export_control: blocked"; None when allowed
    reason: str        # "blocked: us-2023-10 3A090.a, TPP 4992 >= 4800" or "allowed: ..."


def chip_decision(chip: Chip, regime_id: str, country: str | None,
                  kind: str = "buy", location: str | None = None) -> Decision:
    """MODEL.md section 4 for one chip sold (`buy`) or leased (`lease` at `location`) to `country`."""
    if chip.export_control == "blocked":
        return Decision(True, "export_control: blocked", f"blocked: chip {chip.id} has export_control: blocked")
    if chip.export_control == "allowed":
        return Decision(False, None, f"allowed: chip {chip.id} has export_control: allowed")
    regime = load_regime(regime_id)
    if regime.id == "none" or not regime.rules:
        return Decision(False, None, f"allowed: no export-control rule applies ({regime.id})")
    restricted = set(regime.restricted_destinations)
    if country is None:
        # the instance model requires a buyer under a regime; a chip table without one asks "for whom?"
        return Decision(False, None, "allowed: no buyer country given")
    if country not in restricted:
        reason = f"allowed: {country} is not a restricted destination of {regime.id}"
        if regime.limited_destinations and country not in regime.limited_destinations.all_except:
            verdict = classify(chip, regime)
            if verdict.controlled:
                reason += f" (caveat: {regime.limited_destinations.note})"
        return Decision(False, None, reason)
    if chip.origin is not None and chip.origin == country:
        return Decision(False, None, f"allowed: domestic chip (origin {chip.origin} = buyer {country})")
    if kind == "lease":
        where = location or country
        if where not in restricted:
            return Decision(False, None, f"allowed: lease runs in {where}, outside the restricted destinations of {regime.id}")
    verdict = classify(chip, regime)
    if verdict.controlled and not verdict.named:  # a named chip is not reviewed case by case
        licensed = case_by_case(chip, regime)
        if licensed is not None:
            return Decision(False, None, f"allowed: {verdict.rule}, {verdict.explanation}"
                                         f" (caveat: {regime.case_by_case.note}; {licensed})")
    if verdict.controlled:
        return Decision(True, verdict.rule, f"blocked: {verdict.rule}, {verdict.explanation}")
    return Decision(False, None, f"allowed: {verdict.explanation}")


def case_by_case(chip: Chip, regime: Regime) -> str | None:
    """The figures by which a controlled chip qualifies for the regime's case-by-case review, or
    None. Every figure of a clause must be known: an unknown one does not qualify."""
    if regime.case_by_case is None:
        return None
    for clause in regime.case_by_case.clauses:
        check = check_clause(chip, clause)
        if check.holds and not check.unknown:
            return " and ".join(check.met)
    return None


def offer_decision(instance: Instance, offer: Offer, regime: str | None = None) -> Decision:
    """Is this offer blocked for the instance's buyer under `regime`? (MODEL.md section 4)

    Without `regime`: the regime of period 1 (the only one of an instance without a regime
    schedule); section 7's per-period eligibility passes each period's regime.
    """
    chip = instance.chip(offer.chip)
    country = instance.buyer.country if instance.buyer else None
    regime = regime if regime is not None else instance.compliance.regime_in(1)
    return chip_decision(chip, regime, country, offer.kind, offer.location)


def regime_summary(regime_id: str) -> dict[str, Any]:
    """Plain data about a regime, for reports and `plan chips --json`."""
    r = load_regime(regime_id)
    return {
        "id": r.id, "title": r.title, "source": r.source,
        "published": r.published.isoformat() if r.published else None,
        "in_force": r.in_force.isoformat() if r.in_force else None,
        "ended": r.ended.isoformat() if r.ended else None,
        "ended_by": r.ended_by, "ended_how": r.ended_how,
        "restricted_destinations": list(r.restricted_destinations),
        "rules": [{"id": rule.id, "text": rule.text} for rule in r.rules],
        "named_chips": [{"id": n.id, "letter": n.letter, "chips": list(n.chips)} for n in r.named_chips],
        "case_by_case": r.case_by_case.note if r.case_by_case else None,
    }


def latest_regime() -> str:
    """The regime in force most recently and not ended: the default of `plan chips`."""
    live = [load_regime(r) for r in known_regimes() if r != "none"]
    live = [r for r in live if r.in_force and not r.ended]
    return max(live, key=lambda r: r.in_force).id if live else "none"
