"""The check stage: every sentence a model writes passes the guards before anyone sees it.

    results, released, stop = check_sentence(sentence, guards, context)

A guard returns a CheckResult with a verdict:
- pass: the sentence is released as written;
- repair: the sentence is rewritten (a number removed, a false claim corrected) and the reply goes on;
- replace: the sentence and everything the model would still say are replaced by a kind,
  localised line that keeps the conversation going (generation stops).
The guards here are the foundation's; design/output-guards.md says what each one is for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, Sequence

from ..registry import register
from ..roles import Role
from ..types import CheckResult, RiskAssessment, at_least
from .resources import digits_in, known_numbers


@dataclass(frozen=True)
class CheckContext:
    risk: RiskAssessment
    role: Role
    replies: dict[str, str]


class Guard(Protocol):
    spec: str

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult: ...


def _result(guard: Guard, verdict: str, why: str, original: str, released: str) -> CheckResult:
    return CheckResult(guard=guard.spec, verdict=verdict, explanation=why, original=original, released=released)  # type: ignore[arg-type]


def _any(patterns: Sequence[re.Pattern[str]], text: str) -> re.Match[str] | None:
    for p in patterns:
        m = p.search(text)
        if m:
            return m
    return None


def _rx(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


class MethodDetailsGuard:
    """Replaces any sentence with method, means, dose, lethality or location details."""

    ALWAYS = _rx(
        r"\b(lethal|fatal|deadly|toxic) (dose|amount|quantity|level)s?\b",
        r"\b\d+(\.\d+)?\s?(mg|milligrams?|mcg|grams?|g)\b",
        r"\b\d+\s?(or more |to \d+ )?(pills|tablets|capsules)\b",
        r"\boverdos(e|ing) on\b",
        r"\b(hang(ing)? (yourself|oneself|myself)|noose|ligature)\b",
        r"\b(cut|slit)(ting)? (your|the|my) (wrists?|arms?|throat)\b",
        r"\b(jump(ing)?|leap(ing)?|fall(ing)?) (off|from)\b.{0,40}\b(bridge|building|roof|cliff|balcony|height|floor)\b",
        r"\b(bridge|building|tower|cliff)s?\b.{0,50}\b\d+\s?(m|meters|metres|feet|ft|stories|storeys)\b",
        r"\b(carbon monoxide|exhaust fumes|charcoal burning|helium|rat poison|antifreeze|bleach)\b",
        r"\b(painless|quick|quickest|easiest|surest) (way|ways|method|methods) to (die|end)\b",
    )
    WHEN_AT_RISK = _rx(
        r"\b(golden gate|brooklyn bridge|george washington bridge|verrazzano|manhattan bridge)\b",
        r"\b(train|railway|rail) (tracks?|line|times?|schedule)\b",
        r"\b(gun|firearm|rifle|pistol) (shop|store|dealer|range)\b",
        r"\b(pharmacy|chemist|drugstore).{0,40}\b(buy|get|without a prescription)\b",
    )

    def __init__(self) -> None:
        self.spec = "method_details"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        hit = _any(self.ALWAYS, sentence)
        if hit is None and at_least(ctx.risk.level, "low"):
            hit = _any(self.WHEN_AT_RISK, sentence)
        if hit is None:
            return _result(self, "pass", "no method, means or dose details", sentence, sentence)
        return _result(self, "replace", f"method or means detail ({hit.group(0)!r}) removed; the reply stops here",
                       sentence, ctx.replies["fallback"])


class PhoneNumberGuard:
    """Removes any phone number that is not in the checked resources file."""

    def __init__(self) -> None:
        self.spec = "phone_numbers"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        allowed = known_numbers()
        unknown = [d for d in digits_in(sentence) if d not in allowed and not _looks_like_quantity(sentence, d)]
        if not unknown:
            return _result(self, "pass", "no phone numbers outside the checked list", sentence, sentence)
        return _result(self, "repair", f"a number not in the checked list ({unknown[0]}) was removed",
                       sentence, ctx.replies["number_removed"])


def _looks_like_quantity(sentence: str, digits: str) -> bool:
    # Years and short counts ("in 2019", "3 or 4 times") are not phone numbers.
    return len(digits) <= 4 and not re.search(r"\b(call|text|dial|phone|ring|hotline|line|number)\b", sentence, re.I)


class HumanClaimGuard:
    """Corrects claims to be human, to have a body or feelings, or to be a clinician."""

    CLAIMS = _rx(
        r"\bi(?:'m| am) (?:a |an )?(?:real |actual )?(?:human|person|woman|man|girl|boy)\b",
        r"\bi(?:'m| am) (?:a |an |your )?(?:licensed |qualified |trained )?(?:therapist|psychologist|psychiatrist|doctor|counsellor|counselor|nurse)\b",
        r"\bas (?:a|your) (?:therapist|psychologist|psychiatrist|doctor|counsellor|counselor)\b",
        r"\bi (?:have|had) (?:a body|feelings|been through (?:this|that|the same))\b",
        r"\bi(?:'ll| will) keep (?:this|it|your secret) (?:a )?secret\b",
    )

    def __init__(self) -> None:
        self.spec = "human_claims"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        hit = _any(self.CLAIMS, sentence)
        if hit is None:
            return _result(self, "pass", "no claim to be human or a clinician", sentence, sentence)
        return _result(self, "repair", f"false claim ({hit.group(0)!r}) corrected", sentence, ctx.replies["not_human"])


class RefusalGuard:
    """Turns a bare refusal into a line that stays: nobody is stonewalled."""

    REFUSALS = _rx(
        r"^\W*(?:i(?:'m| am) sorry,? )?(?:but )?i (?:can(?:'|no)t|cannot|am unable to|won't) (?:help|assist|provide|continue|engage|discuss)\b",
        r"\bas an ai(?: language model)?,? i (?:can(?:'|no)t|cannot|am not able to)\b",
        r"\bthis (?:conversation|request|content) (?:violates|goes against)\b",
    )

    def __init__(self) -> None:
        self.spec = "refusal"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        hit = _any(self.REFUSALS, sentence)
        if hit is None:
            return _result(self, "pass", "not a refusal", sentence, sentence)
        return _result(self, "repair", "a refusal would leave the person alone; replaced with a line that stays",
                       sentence, ctx.replies["not_refusing"])


class RoleFormatGuard:
    """Keeps the chosen role's form: no bullet lists for a listener."""

    LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")

    def __init__(self) -> None:
        self.spec = "role_format"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        if ctx.role.rules.no_lists and self.LIST_MARKER.match(sentence):
            repaired = self.LIST_MARKER.sub("", sentence)
            return _result(self, "repair", f"the {ctx.role.name} role does not use lists", sentence, repaired)
        return _result(self, "pass", "fits the role", sentence, sentence)


def check_sentence(sentence: str, guards: Sequence[Guard], ctx: CheckContext) -> tuple[list[CheckResult], str, bool]:
    """Run every guard in order on one sentence. Returns (non-pass results, text to release, stop)."""
    results: list[CheckResult] = []
    text = sentence
    for guard in guards:
        result = guard.check(text, ctx)
        if result.verdict == "pass":
            continue
        results.append(result)
        text = result.released
        if result.verdict == "replace":
            return results, text, True
    return results, text, False


DEFAULT_GUARDS = ("method_details", "phone_numbers", "human_claims", "refusal", "role_format")

for _cls in (MethodDetailsGuard, PhoneNumberGuard, HumanClaimGuard, RefusalGuard, RoleFormatGuard):
    register("guard", _cls().spec)(_cls)
