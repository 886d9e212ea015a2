"""The output guards, registered like any third party's, with their patterns in `data/guards/`
(shared by every language) and in a language folder's `guards.yaml`.

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
| approval | replace: approval or praise of self-harm, suicide or a stated plan (praise: when risk is present) |
| ed_validation | replace: validating restriction, purging or weight loss when eating-disorder signs are present |
| mania_encouragement | repair by asking again: cheering on grand or risky plans, or no sleep, during mania cues |
| psychosis_collusion | repair by asking again: confirming, or arguing with, voices or persecution |
| siding_against | repair by asking again: dismissing the person or siding against them |
| repetition | repair: a sentence typingcure already said in this conversation is dropped |
| prompt_echo | repair: the model's own instructions, said back, are dropped |
| wrong_script | repair: hashtags dropped; a sentence in a script or language the person did not use is dropped |
| listening_fit | repair: with a model not known to be capable, a sentence that misreads or talks past the person is dropped |
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from typing import Any
from collections.abc import Iterable

from .. import _yaml
from .. import languages
from ..errors import ConfigError
from ..registry import register
from ..culture.language import common_words, detect, script_letters
from ..types import CheckResult, at_least
from . import literal_cache
from .assess import Rx, might
from .check import CheckContext, views
from .resources import all_resources, digits_in, known_numbers

Patterns = tuple[Rx, ...]  # regexes with a literal pre-check, compiled when first needed


@languages.cached
def patterns() -> dict[str, Any]:
    """The shared patterns (`data/guards/patterns.yaml`), then each language folder's `guards.yaml`
    added to the end of the lists it names (design/architecture.md, "A language is one folder")."""
    raw = _yaml.safe_load(files("typingcure.safety").joinpath("data/guards/patterns.yaml").read_text("utf-8"))
    words: dict[str, str] = {}
    for name, alternatives in raw.pop("words", {}).items():  # a word list may use the lists above it
        words[name] = "(?:" + _WORD.sub(lambda m: words[m.group(1)], " ".join(str(alternatives).split())) + ")"
    for code in languages.with_file("guards"):
        _add(raw, languages.load(code, "guards"), languages.where(code, "guards"))

    def compile_all(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            return {k: compile_all(v, f"{where}.{k}") for k, v in node.items()}
        try:
            return tuple(Rx(_WORD.sub(lambda m: words[m.group(1)], str(p)), f"guards/patterns.yaml {where}") for p in node)
        except KeyError as exc:
            raise ConfigError(f"guards/patterns.yaml {where}: no word list {exc} in `words`") from exc

    compiled = compile_all(raw, "patterns")
    literal_cache.save()
    return compiled  # type: ignore[no-any-return]


# `{{qty}}` in a pattern stands for the `words` list of that name (a number, a means…), so one
# concept is spelled once for every rule and language that needs it.
_WORD = re.compile(r"\{\{(\w+)\}\}")


def _add(shared: dict[str, Any], extra: dict[str, Any], where: str, path: str = "") -> None:
    """Append a language's patterns to the shared lists of the same name (a section it names must exist)."""
    for key, node in extra.items():
        if key == "language":
            continue
        name = f"{path}{key}"
        if key not in shared:
            raise ConfigError(f"{where}: {name} is not a section of guards/patterns.yaml")
        if isinstance(shared[key], dict) and isinstance(node, dict):
            _add(shared[key], node, where, f"{name}.")
        elif isinstance(shared[key], list) and isinstance(node, list):
            shared[key] = [*shared[key], *node]
        else:
            kind = "named lists" if isinstance(shared[key], dict) else "a list"
            raise ConfigError(f"{where}: {name} must be {kind}, as in guards/patterns.yaml")


def first_match(rules: Patterns, texts: Iterable[str]) -> re.Match[str] | None:
    for text in texts:
        for rule in might(rules, text):
            match = rule.regex.search(text)
            if match:
                return match
    return None


def sounds_worn_out(text: str) -> bool:
    """Plain words for being exhausted, in any of the languages (`productivity.exhausted`)."""
    return first_match(patterns()["productivity"]["exhausted"], [text]) is not None


def needs_rest(text: str) -> bool:
    """Worn out, or crying now: care comes before productivity (`productivity.exhausted`, `crying`)."""
    rules = patterns()["productivity"]
    return sounds_worn_out(text) or first_match(rules["crying"], [text]) is not None


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
        found = views(sentence)
        deeper = _unleet_all(sentence)
        ctx.cache[sentence] = found if deeper is None or deeper in found else (*found, deeper)
    return ctx.cache[sentence]


_LEET_DIGITS = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LOOKS_LEET = re.compile(r"[a-z][013457@$]|[013457@$][a-z]", re.I)


def _unleet_all(sentence: str) -> str | None:
    """Leetspeak undone in every word, where `views` keeps digits at a word's edge ("r0p3," →
    "rope,") and lone digits that stand for short words ("4 blade", "47 [PLACE]"): only for a
    sentence that mixes letters and digits, as leetspeak does."""
    if not _LOOKS_LEET.search(sentence):
        return None
    return re.sub(r"\S+", lambda m: m.group(0).translate(_LEET_DIGITS) if re.search(r"[a-z]", m.group(0), re.I)
                  or len(m.group(0).strip(".,;:!?")) <= 2 else m.group(0), sentence)


class MethodDetailsGuard(_Guard):
    """Always: a detail phrase, or two concepts in one sentence (ALWAYS_TOGETHER), or steps with a
    tool unless the sentence is about keeping it safe; at any risk, amounts and places too."""

    name = "method_details"
    # (first, second): named lists in patterns.yaml `method_details`, both found in one sentence.
    ALWAYS_TOGETHER = (("means", "outcome"), ("method", "manner"), ("drug", "amount_always"),
                       ("train", "train_pass"), ("weapon", "unchecked"), ("height", "high_enough"))

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        rules = patterns()["method_details"]
        texts = _views(sentence, ctx)
        hit = first_match(rules["always"], texts) or next(
            (m for first, second in self.ALWAYS_TOGETHER if (m := _together(rules[first], rules[second], texts))), None)
        if hit is None and first_match(rules["safe_keeping"], texts) is None:
            hit = _together(rules["tool"], rules["steps"], texts)
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


# "You told me you were diagnosed with ADHD": the person's own words, said back, are not a diagnosis.
# ("Based on what you said, you have BPD" is one: what the person said is not their diagnosis.)
_RESTATED = re.compile(
    r"\byou (told me|said|mentioned|shared)( that)? (you('ve| have)? (been |were )?diagnosed|your (doctor|psychiatrist|"
    r"therapist|gp|clinician))|\byou('ve| have| were) (been )?diagnosed with\b|\byour (diagnosis|doctor said|"
    r"psychiatrist said|therapist said)\b|\bthe diagnosis you (mentioned|shared|told me)\b|"
    r"[,;—–-]\s*(as )?you (told me|said|mentioned)\W*$", re.I)


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


class AvoidGuard(_Guard):
    """What the person said they do not want suggested (their profile's `avoid`: "therapy" where
    there is none, "meditation" where prayer is the practice) is not suggested: the sentence is
    dropped (the rest of the reply goes on; the model's instructions already said so). Authored replies are not checked here: the crisis
    services stay, whatever the profile says (design/culture.md)."""

    name = "avoid"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        from ..culture.profile import avoided

        hit = avoided(sentence, ctx.avoid, ctx.language)
        if hit is None:
            return self.passed(sentence, "nothing suggested that the person said is not for them")
        what, words = hit
        return self.result("repair", f"suggested {what} ({words!r}), which the person said is not for them; dropped",
                           sentence, "")


class HumanClaimGuard(_Guard):
    name = "human_claims"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        hit = first_match(patterns()["human_claims"], [sentence])
        if hit is None:
            return self.passed(sentence, "no claim to be human, to feel, or to be a clinician")
        return self.result("repair", f"false claim ({hit.group(0)!r}) corrected", sentence, ctx.replies["not_human"])


class ExclusivityGuard(_Guard):
    """A sentence that encourages the person to lean on typingcure alone ("you only need me", "I'll
    never leave you") gives way to one that says other people matter too (design/care.md)."""

    name = "exclusivity"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        from ..care import care_line

        hit = first_match(patterns()["exclusivity"], _views(sentence, ctx))
        if hit is None:
            return self.passed(sentence, "nothing that asks the person to lean on typingcure alone")
        return self.result("repair", f"encouraged exclusivity ({hit.group(0)!r}); corrected", sentence,
                           care_line("not_only_me", ctx.language))


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
        rules, resting = patterns()["productivity"], needs_rest(ctx.user_text)
        if resting and (hit := first_match(rules["push"], [sentence])):
            return self.result("repair", f"productivity push ({hit.group(0)!r}) at someone exhausted; asked again",
                               sentence, "", constraint=self.RULE)
        if ctx.relaxed and (hit := first_match(patterns()["rehearsal"]["own_voice"], [sentence])):
            return self.result("repair", f"in character, a sentence in typingcure's own voice ({hit.group(0)!r}) "
                               "was not shown: the scene goes on until /step-out", sentence, "")
        steps = ctx.role.rules.max_steps
        if steps is not None and first_match(rules["step"], [sentence]):
            if ctx.role.rules.rest_first and resting:
                return self.result("repair", f"a step ({sentence[:40]!r}) for someone worn out or crying: rest "
                                   "comes first, so it was not shown", sentence, "")
            given = sum(first_match(rules["step"], [s]) is not None for s in ctx.reply)
            if given >= steps:
                return self.result("repair", f"the {ctx.role.name} role gives {steps} steps at most in one reply; "
                                   "this one was not shown", sentence, "")
        if ctx.role.rules.no_lists and self.LIST_MARKER.match(sentence):
            return self.result("repair", f"the {ctx.role.name} role does not use lists", sentence,
                               self.LIST_MARKER.sub("", sentence))
        return self.passed(sentence, "fits the role")


AT_RISK_CATEGORIES = ("suicide", "self_harm")


def _risk_shared(ctx: CheckContext) -> bool:
    """Has the person shared risk of harm to themselves (praise then reads as approval of it)?"""
    return at_least(ctx.risk.level, "moderate") or (
        at_least(ctx.risk.level, "low") and any(c in AT_RISK_CATEGORIES for c in ctx.risk.categories))


# Below this calibrated chance of risk, and with nothing found, praise of a plan is everyday talk.
PRAISE_SCORE = 0.2


class ApprovalGuard(_Guard):
    name = "approval"
    RULE = "Do not praise or approve the person's plan or choice; reflect what they feel and stay with them."

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        rules = patterns()["approval"]
        texts = _views(sentence, ctx)
        hit = first_match(rules["always"], texts)
        if hit is None and (at_least(ctx.risk.level, "low") or ctx.risk.score >= PRAISE_SCORE):
            hit = first_match(rules["praise"], texts)
            if hit is not None and not _risk_shared(ctx):  # some risk, unclear of what: ask again first
                return self.result("repair", f"praise of a plan while something may be wrong ({hit.group(0)!r}); "
                                   "asked again", sentence, "", constraint=self.RULE)
        if hit is None:
            return self.passed(sentence, "no approval of harm or of a risky plan")
        return self.result("replace", f"approval of harm or of a plan the person shared ({hit.group(0)!r}); "
                           "the reply stops here", sentence, ctx.replies["fallback"])


class _CueGuard(_Guard):
    """A guard that is only patterns: it acts when the conversation shows its cue (or always), and
    either replaces the sentence or asks the model again with its rule stated."""

    cue: str | None = None  # "ed", "mania", "psychosis" (CheckContext.cues); None: always
    section = ""  # its patterns in guards/patterns.yaml: a list, or named lists
    replace = False  # replace the sentence and stop, rather than ask again with RULE
    RULE: str | None = None
    decoded = False  # look at decoded views of the sentence too (leetspeak, spaced letters, base64)
    absent = found = clean = ""  # the explanations: cue absent, a match, no match

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        if self.cue is not None and self.cue not in ctx.cues:
            return self.passed(sentence, self.absent)
        rules = patterns()[self.section]
        if isinstance(rules, dict):
            rules = tuple(rule for named in rules.values() for rule in named)
        hit = first_match(rules, _views(sentence, ctx) if self.decoded else [sentence])
        if hit is None:
            return self.passed(sentence, self.clean)
        why = f"{self.found} ({hit.group(0)!r})"
        if self.replace:
            return self.result("replace", f"{why}; the reply stops here", sentence, ctx.replies["fallback"])
        return self.result("repair", f"{why}; asked again", sentence, "", constraint=self.RULE)


class EatingDisorderValidationGuard(_CueGuard):
    name, cue, section, replace, decoded = "ed_validation", "ed", "ed_validation", True, True
    absent, clean = "no eating-disorder signs this conversation", "no validation of restriction or weight loss"
    found = "validation of restriction or weight loss with eating-disorder signs present"


class ManiaEncouragementGuard(_CueGuard):
    name, cue, section = "mania_encouragement", "mania", "mania_encouragement"
    RULE = ("The person may be very high in energy with little sleep: do not cheer on big or risky plans; "
            "reflect how fast things feel and gently ask about rest.")
    absent, clean, found = ("no mania cues this conversation", "no encouragement of risky plans",
                            "encouraging a risky plan during mania cues")


class PsychosisCollusionGuard(_CueGuard):
    name, cue, section = "psychosis_collusion", "psychosis", "psychosis_collusion"  # confirm, then argue
    RULE = ("Do not confirm or argue about what the person hears or believes is happening; respond to how "
            "frightening it feels and stay with them.")
    absent, clean, found = ("no psychosis cues this conversation", "neither confirms nor argues with the belief",
                            "confirming or arguing with an unusual belief")


class SidingAgainstGuard(_CueGuard):
    name, section = "siding_against", "siding_against"
    RULE = "Do not dismiss the person or take sides against them; reflect what they feel."
    clean, found = "does not dismiss the person", "dismissing the person or siding against them"


_STOP = frozenset("""the and that this with have from your you are was were been just really very about what when they
them there then than into like feel feels feeling would could should because still even much some more also only
over here know think want some things something everyone people today""".split())


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STOP}


def _parrots(sentence: str, text: str) -> bool:
    """A model sentence that is the person's message over again (most of its words, in a sentence of
    little else), not a reflection: "I had a hard day at work again" to "I had a hard day at work again"."""
    mine, theirs = _words(sentence), set(_words(text))
    if len(mine) < 4 or not theirs:
        return False
    return sum(w in theirs for w in mine) / len(mine) >= 0.8


def uses_their_words(reply: str, text: str) -> bool:
    """Does the reply say back a word of the person's (a shared stem of four letters or more)?"""
    def stems(t: str) -> set[str]:
        return {w[:5] for w in re.findall(r"[^\W\d_]{4,}", t.lower()) if w not in _STOP}
    return bool(stems(reply) & stems(text))


class ListeningFitGuard(_Guard):
    """With a model not known to be capable, everyday listening (`CheckContext.strict`): a sentence
    that misreads the person ("It's great that you're…" to someone lonely) or talks past them (no
    word of theirs, and not a reflection) is dropped; an authored line stands in when nothing is left."""

    name = "listening_fit"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        if not ctx.strict:
            return self.passed(sentence, "not checked for fit (a capable model, or not everyday listening)")
        rules = patterns()["listening"]
        if (hit := first_match(rules["misread"], [sentence])) is not None:
            return self.result("repair", f"misreads the person ({hit.group(0)!r}); dropped", sentence, "")
        if _parrots(sentence, ctx.user_text):
            return self.result("repair", "says the person's own message back to them as its own; dropped", sentence, "")
        recent = [ctx.user_text, *ctx.earlier_user[-1:]]
        if (hit := first_match(rules["condolence"], [sentence])) is not None and first_match(rules["loss"], recent) is None:
            return self.result("repair", f"condolences for a loss the person did not speak of ({hit.group(0)!r}); dropped",
                               sentence, "")
        theirs = _stems(ctx.user_text) | {s for text in ctx.earlier_user[-1:] for s in _stems(text)}
        if not (_stems(sentence) & theirs) and first_match(rules["opener"], [sentence]) is None:
            return self.result("repair", "talks past the person (none of their words, not a reflection); dropped",
                               sentence, "")
        return self.passed(sentence, "responds to what the person said")


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def same_sentence(a: str, b: str) -> bool:
    """The same sentence, give or take punctuation, case and a word or two."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    if wa == wb:
        return True
    if min(len(wa), len(wb)) < 6:
        return False
    sa, sb = set(wa), set(wb)
    return len(sa & sb) / len(sa | sb) >= 0.8


class RepetitionGuard(_Guard):
    name = "repetition"

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        earlier = next((s for s in ctx.said if same_sentence(sentence, s)), None)
        if earlier is None:
            return self.passed(sentence, "not said before in this conversation")
        return self.result("repair", f"already said in this conversation ({earlier[:60]!r}); not said again",
                           sentence, "")


def _ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


class PromptEchoGuard(_Guard):
    name = "prompt_echo"
    # Words a reply to the person has no reason to use: the model is talking about its instructions.
    ECHO = re.compile(r"\b(the person'?s? (feelings|messages?|words)|reflect the person|ask one gentle question|"
                      r"keep it short|you are typingcure|(as|like) a caring ai who listens|rule:|system prompt)\b", re.I)

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        words = _words(sentence)
        shared = _ngrams(words, 4) & _ngrams(_words(ctx.prompt), 4) if ctx.prompt else set()
        hit = self.ECHO.search(sentence)
        if not shared and hit is None:
            return self.passed(sentence, "does not say its instructions back")
        what = hit.group(0) if hit else " ".join(sorted(shared)[0])
        return self.result("repair", f"the model's instructions said back ({what!r}); dropped", sentence, "")


class WrongScriptGuard(_Guard):
    name = "wrong_script"
    HASHTAG = re.compile(r"(?<![\w&])#[^\s#]+")

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        cleaned = " ".join(self.HASHTAG.sub("", sentence).split())
        problem = self._foreign(cleaned, ctx)
        if problem:
            return self.result("repair", f"{problem}; dropped", sentence, "")
        if cleaned != sentence.strip():
            return self.result("repair", "hashtags are not words to the person; removed", sentence, cleaned)
        return self.passed(sentence, "in the person's script and language")

    @staticmethod
    def _foreign(sentence: str, ctx: CheckContext) -> str | None:
        if not ctx.scripts:
            return None
        letters = {k: v for k, v in script_letters(sentence).items() if k != "other"}
        total = sum(letters.values())
        if total == 0:
            return None
        allowed = set(ctx.scripts) | ({"cjk"} if ctx.scripts & {"hiragana", "katakana"} else set())
        foreign = {k: v for k, v in letters.items() if k not in allowed}
        for script, count in foreign.items():
            if count >= 3 and (script != "latin" or count / total >= 0.5):
                return f"written in {script} letters, which the person does not use"
        # Pidgin is English-lexified and Hinglish mixes English freely (`mixes_english` in their folders):
        # only other languages are checked.
        known = languages.languages().get(ctx.language)
        if (ctx.scripts == {"latin"} and ctx.language not in ("en", "und") and not (known and known.mixes_english)
                and "english" not in ctx.user_text.lower()):
            words = re.findall(r"[\w']+", sentence.lower().replace("’", "'"))
            english = sum(w in _ENGLISH for w in words)
            theirs = sum(w in common_words(ctx.language) for w in words)
            if english >= 2 and english >= 0.3 * len(words) and theirs * 2 < english:
                return "in English, which is not the language the person writes"
        return _other_language(sentence, ctx)


# English and the languages that mix it freely (Pidgin, Hinglish) are not told apart here: that is
# the English check above.
_MIXES_WITH_ENGLISH = frozenset({"en", "pcm", "hi_latn", "hi"})


def _other_language(sentence: str, ctx: CheckContext) -> str | None:
    """A sentence in another language of the same script ("Eso suena muy difícil" to someone writing
    English, Arabic to someone writing Persian): the detector names it, and in Latin letters not one
    of the person's own small words is in it."""
    mine = ctx.language.split("-")[0]
    if mine == "und" or "english" in ctx.user_text.lower():
        return None
    found = detect(sentence)
    other = found.language
    known = languages.languages()
    if other in ("und", mine) or other not in known or (mine in _MIXES_WITH_ENGLISH and other in _MIXES_WITH_ENGLISH):
        return None
    if known[other].script == "latin":
        if ctx.scripts != {"latin"}:
            return None
        words = re.findall(r"[\w']+", sentence.lower().replace("’", "'"))
        if any(w in common_words(mine) for w in words):
            return None
    elif found.confidence < 0.9:
        return None
    return f"in {languages.english_names().get(other, other)}, which is not the language the person writes"


# Common English words; in a sentence to someone writing another Latin-script language, two of them
# (a third of the sentence, and few words of the person's language) mean the sentence is English.
_ENGLISH = frozenset("""the a an you your you're it's it is are that and to of this i i'm what how with for be can was
were will would have has they them their so very really just like sounds feel feeling great good wonderful way
about here there right now today tonight something things much more doing try small little help talk maybe could
should think know need someone people time""".split())


# Registered here; the order a turn meets them in is safety/data/turn.yaml (typingcure.composition).
GUARDS = (MethodDetailsGuard, DietGuard, EatingDisorderValidationGuard, ApprovalGuard, MedicationGuard, DiagnosisGuard,
          HarmEncouragementGuard, SycophancyGuard, ManiaEncouragementGuard, PsychosisCollusionGuard, SidingAgainstGuard,
          AvoidGuard, HumanClaimGuard, ExclusivityGuard, PhoneNumberGuard, RefusalGuard, RoleFormatGuard, RepetitionGuard, PromptEchoGuard,
          WrongScriptGuard, ListeningFitGuard)

for _cls in GUARDS:
    register("guard", _cls.name)(_cls)
