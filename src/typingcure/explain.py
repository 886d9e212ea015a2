"""Plain words for what each stage of a turn decided: `/why` in chat, `notes` for tools."""

from __future__ import annotations

from .types import TurnResult


def explain_turn(turn: TurnResult) -> list[str]:
    lines = [f"{s.stage:<9} {s.verdict:<12} {s.explanation}" for s in turn.stages]
    for e in turn.risk.evidence:
        lines.append(f"  evidence: {e.category} ({e.level}) from {e.detector}: {e.explanation} — “{e.span}”")
    for c in turn.checks:
        lines.append(f"  guard {c.guard}: {c.verdict} — {c.explanation}")
    if turn.decision.resources:
        lines.append("  care card: " + ", ".join(r.name for r in turn.decision.resources))
    return lines


def resource_lines(turn_or_none: TurnResult | None, resources: tuple = ()) -> list[str]:  # type: ignore[type-arg]
    shown = resources or (turn_or_none.decision.resources if turn_or_none else ())
    lines = []
    for r in shown:
        contact = " · ".join(x for x in (r.phone and f"call {r.phone}", r.sms and f"text {r.sms}", r.url) if x)
        lines.append(f"{r.name}: {contact} ({r.hours}; source checked {r.checked})")
    return lines
