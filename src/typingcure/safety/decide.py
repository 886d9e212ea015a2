"""The decide stage: what kind of reply this turn gets, and what goes beside it.

    decision = create("policy", "care").decide(intake, risk, role="listener", profile=profile)

The care policy (design/crisis-protocol.md):
- imminent (about the person): a fixed, localised reply, emergency number first; no model call;
- high (about the person): a fixed reply that says it is worried, asks directly about safety and
  means, names the local line, offers a safety plan, and stays; no model call;
- moderate: the model answers within a careful frame, then a fixed direct question follows;
  worry about someone else gets guidance for helping them instead;
- moderate and above: a care card of checked local services beside the reply;
- the journal role stays silent below moderate.
"""

from __future__ import annotations

from typing import Protocol

from ..registry import register
from ..roles import Role, load_role
from ..types import IntakeResult, PolicyDecision, Profile, Resource, RiskAssessment, at_least
from .replies import replies
from .resources import FALLBACK, care_card

LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "pt": "Portuguese", "fr": "French", "de": "German", "ru": "Russian",
    "ko": "Korean", "zh": "Chinese", "ja": "Japanese", "hi": "Hindi", "ar": "Arabic", "fa": "Persian",
    "tr": "Turkish", "id": "Indonesian", "sw": "Swahili", "pcm": "Nigerian Pidgin",
}

CAREFUL_FRAME = (
    "The person may be going through something very hard. Be warm and calm, and take them seriously. "
    "Never mention methods, medicines, doses or places."
)


class Policy(Protocol):
    spec: str

    def decide(self, intake: IntakeResult, risk: RiskAssessment, *, role: str, profile: Profile) -> PolicyDecision: ...


def _contact(resource: Resource) -> str:
    if resource.phone and resource.sms and resource.sms != resource.phone:
        return f"{resource.phone} (call) or {resource.sms} (text)"
    return resource.phone or (f"{resource.sms} (text)" if resource.sms else resource.url or "")


def _line_sentence(card: tuple[Resource, ...], country: str | None, text: dict[str, str]) -> str:
    lines = [r for r in card if r.type != "emergency"]
    if not lines:
        return ""
    first = lines[0]
    if first in care_card(FALLBACK):
        template = text["line_directory_country"] if country else text["line_directory"]
    else:
        template = text["line"]
    return template.format(name=first.name, contact=_contact(first), hours=first.hours)


def _emergency(card: tuple[Resource, ...], text: dict[str, str]) -> str:
    numbers = [r.phone for r in card if r.type == "emergency" and r.phone]
    return numbers[0] if numbers else text["emergency_unknown"]


class CarePolicy:
    def __init__(self) -> None:
        self.spec = "care"

    def decide(self, intake: IntakeResult, risk: RiskAssessment, *, role: str, profile: Profile) -> PolicyDecision:
        chosen: Role = load_role(role)
        text = replies(intake.language)
        about_self = risk.about == "self"
        card = care_card(profile.country) if at_least(risk.level, "moderate") else ()
        fill = {"emergency": _emergency(card, text), "line": _line_sentence(card, profile.country, text)}
        notes: list[str] = []
        if card and not profile.country:
            notes.append("No country is set, so the care card shows international directories. Set one with /country XX.")
        prompt = self._prompt(chosen, intake.language, risk)
        base = {"role": chosen.name, "system_prompt": prompt, "resources": card, "policy": self.spec}

        if risk.level == "imminent" and about_self:
            key = "medical_imminent" if "medical_emergency" in risk.categories else "crisis_imminent"
            return PolicyDecision(
                verdict="fixed_reply", fixed_reply=text[key].format(**fill),
                actions=("crisis_reply", "emergency_first", "care_card", "model_skipped"), notes=tuple(notes),
                explanation="imminent risk: emergency number first, then stay; the model is not asked", **base,
            )
        if risk.level in ("high", "imminent") and about_self:
            return PolicyDecision(
                verdict="fixed_reply", fixed_reply=text["crisis_high"].format(**fill),
                actions=("crisis_reply", "asked_about_safety", "offered_safety_plan", "care_card", "model_skipped"),
                notes=tuple(notes),
                explanation="high risk: say we are worried, ask about safety and means, give the local line, stay",
                **base,
            )
        if at_least(risk.level, "moderate"):
            follow = text["ask_directly"] if about_self else text["someone_else"].format(**fill)
            action = "asked_about_suicide" if about_self else "guidance_for_helper"
            lead = (text["journal_speaks"] + " ") if chosen.speaks == "on_risk" else ""
            return PolicyDecision(
                verdict="generate", follow_up=(lead + follow).strip(),
                actions=("careful_frame", action, "care_card"), notes=tuple(notes),
                explanation=f"moderate risk ({'about the person' if about_self else 'about someone else'}): "
                "the model answers in a careful frame, then a fixed direct question follows",
                **base,
            )
        if chosen.speaks == "on_risk":
            return PolicyDecision(
                verdict="silent", actions=("journal_silent",),
                explanation="journal role: no reply unless risk is found", **base,
            )
        return PolicyDecision(
            verdict="generate", actions=(), explanation=f"no risk above {risk.level}: the {chosen.name} role answers", **base,
        )

    @staticmethod
    def _prompt(role: Role, language: str, risk: RiskAssessment) -> str:
        parts = [role.prompt]
        if language not in ("en", "und") and language in LANGUAGE_NAMES:
            parts.append(f"Reply in {LANGUAGE_NAMES[language]}.")
        if at_least(risk.level, "low"):
            parts.append(CAREFUL_FRAME)
        return " ".join(parts)


@register("policy", "care")
def care_policy() -> CarePolicy:
    """Crisis protocol by level, care cards, journal silence."""
    return CarePolicy()
