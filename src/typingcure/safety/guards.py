"""The output guards, registered like any third party's, with their patterns in `data/guards/`.

Each guard looks at one sentence and returns a typed CheckResult (design/output-guards.md):

| guard | on a match |
|---|---|
| method_details | replace: methods, means, doses, lethality, locations (any framing, any encoding) |
| diet | repair by asking again (numbers and targets, for anyone); replace when eating-disorder risk is present (any dieting advice) |
| medication | repair: points to the prescriber or a pharmacist |
| diagnosis | repair: "some of what you describe overlaps with …; only a clinician can diagnose" |
| harm_encouragement | repair by asking again: no encouragement of harm, revenge or illegal acts |
| sycophancy | repair by asking again: no agreeing with a plan that could hurt, when risk is present |
| human_claims | repair: "I'm an AI, not a person or a clinician" |
| phone_numbers | repair: numbers and links not in the checked resources file are removed |
| refusal | repair: a bare refusal becomes a line that stays |
| role_format | repair: no lists for a listener; no productivity push at someone exhausted (asking again) |
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from typing import Any, Iterable

import yaml

from ..errors import ConfigError
from ..registry import register
from ..types import CheckResult, at_least
from .check import CheckContext, views
from .resources import all_resources, digits_in, known_numbers

Patterns = tuple[re.Pattern[str], ...]


@lru_cache(maxsize=1)
def patterns() -> dict[str, Any]:
    raw = yaml.safe_load(files("typingcure.safety").joinpath("data/guards/patterns.yaml").read_text("utf-8"))

    def compile_all(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            return {k: compile_all(v, f"{where}.{k}") for k, v in node.items()}
        try:
            return tuple(re.compile(str(p), re.IGNORECASE) for p in node)
        except re.error as exc:
            raise ConfigError(f"guards/patterns.yaml {where}: invalid regex ({exc})") from exc

    return compile_all(raw, "patterns")  # type: ignore[no-any-return]


def first_match(rules: Patterns, texts: Iterable[str]) -> re.Match[str] | None:
    for text in texts:
        for rule in rules:
            match = rule.search(text)
            if match:
                return match
    return None


def sounds_worn_out(text: str) -> bool:
    """Plain words for being exhausted, in any of the languages (`productivity.exhausted`)."""
    return first_match(patterns()["productivity"]["exhausted"], [text]) is not None


def _together(first: Patterns, second: Patterns, texts: Iterable[str]) -> re.Match[str] | None:
    """A match of `second` in a text where `first` also matches: two concepts in one sentence."""
    for text in texts:
        if first_match(first, [text]) is not None:
            found = first_match(second, [text])
            if found is not None:
                return found
    return None


class _Guard:
    name = ""

    def __init__(self) -> None:
        self.spec = self.name

    def result(self, verdict: str, why: str, original: str, released: str, constraint: str | None = None) -> CheckResult:
        return CheckResult(guard=self.spec, verdict=verdict, explanation=why, original=original,  # type: ignore[arg-type]
                           released=released, constraint=constraint)

    def passed(self, sentence: str, why: str) -> CheckResult:
        return self.result("pass", why, sentence, sentence)


def _views(sentence: str, ctx: CheckContext) -> tuple[str, ...]:
    if sentence not in ctx.cache:
        ctx.cache[sentence] = views(sentence)
    return ctx.cache[sentence]


class MethodDetailsGuard(_Guard):
    name = "method_details"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        rules = patterns()["method_details"]
        texts = _views(sentence, ctx)
        hit = first_match(rules["always"], texts) or _together(rules["means"], rules["outcome"], texts) or _together(
            rules["method"], rules["manner"], texts)
        if hit is None:
            compact = re.sub(r"[^a-z]", "", sentence.lower())
            hit = next((m for word in rules["compact"] if (m := word.search(compact))), None)
        if hit is None and at_least(ctx.risk.level, "low"):
            hit = first_match(rules["at_risk"], texts)
        if hit is None:
            return self.passed(sentence, "no method, means or dose details")
        return self.result("replace", f"method or means detail ({hit.group(0)!r}); the reply stops here",
                           sentence, ctx.replies["fallback"])


class DietGuard(_Guard):
    name = "diet"
    RULE = "Do not give calorie, weight, fasting or other diet numbers or targets; talk about how the person feels."

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        rules = patterns()["diet"]
        texts = _views(sentence, ctx)
        strict = "no_diet_numbers" in ctx.constraints
        hit = first_match(rules["targets"], texts) or (first_match(rules["advice"], texts) if strict else None)
        if hit is None:
            return self.passed(sentence, "no diet numbers or advice")
        if strict:
            return self.result("replace", f"diet content ({hit.group(0)!r}) with eating-disorder risk present",
                               sentence, ctx.replies["fallback"])
        return self.result("repair", f"a diet number or target ({hit.group(0)!r}); asked again without it",
                           sentence, "", constraint=self.RULE)


class MedicationGuard(_Guard):
    name = "medication"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        hit = first_match(patterns()["medication"], _views(sentence, ctx))
        if hit is None:
            return self.passed(sentence, "no medication dosing or changes")
        return self.result("repair", f"medication advice ({hit.group(0)!r}) pointed to the prescriber",
                           sentence, ctx.replies["medication_rewrite"])


class DiagnosisGuard(_Guard):
    name = "diagnosis"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        hit = first_match(patterns()["diagnosis"], [sentence])
        if hit is None or _RESTATED.search(sentence):
            return self.passed(sentence, "no diagnosis stated as fact")
        label = (hit.groupdict().get("label") or "a condition").strip()
        return self.result("repair", f"a diagnosis stated as fact ({hit.group(0)!r}) rewritten",
                           sentence, ctx.replies["diagnosis_rewrite"].format(label=label))


# "You have depression, you told me": the person's own words, said back, are not a diagnosis.
_RESTATED = re.compile(r"\b(you (told|said|mentioned)|as you (said|told|mentioned)|your (diagnosis|doctor said))\b", re.I)


class HarmEncouragementGuard(_Guard):
    name = "harm_encouragement"
    RULE = "Do not encourage harm, revenge or illegal acts; acknowledge the feeling and look for safer options."

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        hit = first_match(patterns()["harm_encouragement"], [sentence])
        if hit is None:
            return self.passed(sentence, "no encouragement of harm")
        return self.result("repair", f"encouragement of harm ({hit.group(0)!r}); asked again", sentence, "",
                           constraint=self.RULE)


class SycophancyGuard(_Guard):
    name = "sycophancy"
    RULE = ("Do not agree with a plan that could hurt the person or someone else; say what you understand "
            "about the feeling, and explore safer options together.")

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        rules = patterns()["sycophancy"]
        risky = at_least(ctx.risk.level, "low") or first_match(rules["risky_plans"], [ctx.user_text]) is not None
        hit = first_match(rules["agreement"], [sentence]) if risky else None
        if hit is None:
            return self.passed(sentence, "no agreement with a risky plan")
        return self.result("repair", f"agreement with a risky plan ({hit.group(0)!r}); asked again", sentence, "",
                           constraint=self.RULE)


class HumanClaimGuard(_Guard):
    name = "human_claims"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        hit = first_match(patterns()["human_claims"], [sentence])
        if hit is None:
            return self.passed(sentence, "no claim to be human, to feel, or to be a clinician")
        return self.result("repair", f"false claim ({hit.group(0)!r}) corrected", sentence, ctx.replies["not_human"])


@lru_cache(maxsize=1)
def known_links() -> frozenset[str]:
    return frozenset(_host(r.url) for rs in all_resources().values() for r in rs if r.url)


def _host(url: str) -> str:
    return re.sub(r"^(https?://)?(www\.)?", "", url.lower()).split("/")[0]


class PhoneNumberGuard(_Guard):
    name = "phone_numbers"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        unknown = [d for d in digits_in(sentence) if d not in known_numbers() and not _quantity(sentence, d)]
        links = [u for u in re.findall(r"(?:https?://|www\.)[^\s)]+", sentence) if _host(u) not in known_links()]
        if not unknown and not links:
            return self.passed(sentence, "no numbers or links outside the checked list")
        what = unknown[0] if unknown else links[0]
        return self.result("repair", f"a number or link not in the checked list ({what}) was removed",
                           sentence, ctx.replies["number_removed"])


def _quantity(sentence: str, digits: str) -> bool:
    # Years and short counts ("in 2019", "3 or 4 times") are not phone numbers.
    return len(digits) <= 4 and not re.search(r"\b(call|text|dial|phone|ring|hotline|line|number)\b", sentence, re.I)


class RefusalGuard(_Guard):
    name = "refusal"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        hit = first_match(patterns()["refusal"], [sentence])
        if hit is None:
            return self.passed(sentence, "not a refusal")
        return self.result("repair", "a refusal would leave the person alone; replaced with a line that stays",
                           sentence, ctx.replies["not_refusing"])


class RoleFormatGuard(_Guard):
    name = "role_format"
    LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
    RULE = "The person is exhausted: suggest rest and gentleness, not productivity techniques."

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        rules = patterns()["productivity"]
        if sounds_worn_out(ctx.user_text) and (hit := first_match(rules["push"], [sentence])):
            return self.result("repair", f"productivity push ({hit.group(0)!r}) at someone exhausted; asked again",
                               sentence, "", constraint=self.RULE)
        if ctx.role.rules.no_lists and self.LIST_MARKER.match(sentence):
            return self.result("repair", f"the {ctx.role.name} role does not use lists", sentence,
                               self.LIST_MARKER.sub("", sentence))
        return self.passed(sentence, "fits the role")


GUARDS = (MethodDetailsGuard, DietGuard, MedicationGuard, DiagnosisGuard, HarmEncouragementGuard, SycophancyGuard,
          HumanClaimGuard, PhoneNumberGuard, RefusalGuard, RoleFormatGuard)
DEFAULT_GUARDS = tuple(g.name for g in GUARDS)

for _cls in GUARDS:
    register("guard", _cls.name)(_cls)
