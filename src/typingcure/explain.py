"""Plain words for what each stage of a turn decided: `/why` in chat, `notes` for tools."""

from __future__ import annotations

from .languages import interface_strings
from .types import TurnResult


def explain_turn(turn: TurnResult) -> list[str]:
    lines = [f"{s.stage:<9} {s.verdict:<12} {s.explanation}" for s in turn.stages]
    for e in turn.risk.evidence:
        lines.append(f"  evidence: {e.category} ({e.level}) from {e.detector}: {e.explanation} — “{e.span}”")
    for c in turn.checks:
        lines.append(f"  guard {c.guard}: {c.verdict} — {c.explanation}")
    if turn.decision.resources:
        lines.append("  care card: " + ", ".join(r.name for r in turn.decision.resources))
    if turn.composition:
        lines.append(f"  made by the {turn.composition}")
    return lines


def card_words(language: str) -> dict[str, str]:
    """The words a care card uses ("Call", "Text", "checked …") in an interface language; English
    for a language the interface does not have."""
    strings = interface_strings()  # English already fills any key a language lacks
    return strings.get(language.split("-")[0], strings["en"])


def resource_lines(turn_or_none: TurnResult | None, resources: tuple = (), language: str | None = None) -> list[str]:  # type: ignore[type-arg]
    """The care card as lines of text, in the person's language (the turn's, unless given)."""
    shown = resources or (turn_or_none.decision.resources if turn_or_none else ())
    words = card_words(language or (turn_or_none.intake.language if turn_or_none else "en"))
    lines = []
    for r in shown:
        contact = " · ".join(x for x in (r.phone and f"{words['call']} {r.phone}", r.sms and f"{words['text']} {r.sms}", r.url) if x)
        lines.append(f"{r.name}: {contact} ({r.hours}; {words['checked_on'].format(date=r.checked)})")
    return lines
