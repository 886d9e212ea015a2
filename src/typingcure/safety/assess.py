"""The assess stage: how much risk, of what, and about whom — from this message and the conversation.

    assessor = create("assessor", "lexicon")
    risk = assessor.assess("everyone would be better off without me", history=[...])
    risk.level, risk.categories, risk.evidence

The lexicon assessor reads per-language pattern files (`data/lexicon/*.yaml`). A match is
cancelled by a negation just before it ("I would never kill myself") or by an idiom it sits in
("this exam is killing me"). Conversation rules (design/risk-levels.md):
- risk about the person persists across turns (at least moderate) until they say they are safe;
- a method-seeking question after distress is high risk even when it looks neutral alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Protocol, Sequence

import yaml

from ..errors import ConfigError
from ..registry import register
from ..types import RISK_LEVELS, Evidence, RiskAssessment, RiskCategory, RiskLevel, level_rank

LEVEL_SCORE: dict[RiskLevel, float] = {"none": 0.02, "low": 0.25, "moderate": 0.55, "high": 0.85, "imminent": 0.97}
NEGATION_WINDOW = 40


class Assessor(Protocol):
    spec: str

    def assess(self, text: str, history: Sequence[str] = (), language: str = "en") -> RiskAssessment: ...


@dataclass(frozen=True)
class Pattern:
    id: str
    category: RiskCategory
    level: RiskLevel
    regex: re.Pattern[str]
    about: str = "self"
    method_seeking: bool = False


@dataclass(frozen=True)
class Lexicon:
    language: str
    patterns: tuple[Pattern, ...]
    negations: tuple[re.Pattern[str], ...]
    idioms: tuple[re.Pattern[str], ...]
    distress: tuple[re.Pattern[str], ...]
    reassurance: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class _Hit:
    pattern: Pattern
    span: str


def _compile(regex: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(regex, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"lexicon {where}: invalid regex ({exc})") from exc


@lru_cache(maxsize=None)
def load_lexicon(language: str) -> Lexicon:
    resource = files("typingcure.safety").joinpath(f"data/lexicon/{language}.yaml")
    if not resource.is_file():
        raise ConfigError(f"no risk lexicon for language {language!r}")
    raw = yaml.safe_load(resource.read_text("utf-8"))
    where = f"{language}.yaml"
    try:
        patterns = tuple(
            Pattern(
                id=p["id"],
                category=p["category"],
                level=p["level"],
                regex=_compile(p["regex"], f"{where} {p['id']}"),
                about=p.get("about", "self"),
                method_seeking=bool(p.get("method_seeking", False)),
            )
            for p in raw["patterns"]
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"lexicon {where}: malformed pattern ({exc})") from exc
    for p in patterns:
        if p.level not in RISK_LEVELS:
            raise ConfigError(f"lexicon {where} {p.id}: unknown level {p.level!r}")
    return Lexicon(
        language=language,
        patterns=patterns,
        **{key: tuple(_compile(r, f"{where} {key}") for r in raw.get(key, [])) for key in
           ("negations", "idioms", "distress", "reassurance")},
    )


def available_lexicons() -> list[str]:
    folder = files("typingcure.safety").joinpath("data/lexicon")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def _scan(lexicon: Lexicon, text: str) -> list[_Hit]:
    idiom_spans = [m.span() for r in lexicon.idioms for m in r.finditer(text)]
    hits: list[_Hit] = []
    for pattern in lexicon.patterns:
        for m in pattern.regex.finditer(text):
            start, end = m.span()
            if any(s < end and start < e for s, e in idiom_spans):
                continue
            before = re.split(r"[.!?;\n]", text[max(0, start - NEGATION_WINDOW):start])[-1]
            if any(n.search(before) for n in lexicon.negations):
                continue
            hits.append(_Hit(pattern, m.group(0)))
            break  # one hit per pattern is enough evidence
    return hits


def _any(patterns: Sequence[re.Pattern[str]], text: str) -> bool:
    return any(p.search(text) for p in patterns)


class LexiconAssessor:
    def __init__(self, languages: Sequence[str] | None = None, history_turns: int = 5) -> None:
        self.lexicons = tuple(load_lexicon(lang) for lang in (languages or available_lexicons()))
        self.history_turns = history_turns
        self.spec = "lexicon"

    def _hits(self, text: str) -> list[_Hit]:
        return [hit for lexicon in self.lexicons for hit in _scan(lexicon, text)]

    def _matches(self, key: str, text: str) -> bool:
        return any(_any(getattr(lexicon, key), text) for lexicon in self.lexicons)

    def assess(self, text: str, history: Sequence[str] = (), language: str = "en") -> RiskAssessment:
        hits = self._hits(text)
        evidence = [self._evidence(h, h.pattern.level, f"matched {h.pattern.id}") for h in hits]
        level: RiskLevel = max((h.pattern.level for h in hits), key=level_rank, default="none")
        reasons = [f"this message: {', '.join(h.pattern.id for h in hits)}"] if hits else []

        earlier = list(history)[-self.history_turns:]
        earlier_hits = [h for past in earlier for h in self._hits(past) if h.pattern.about == "self"]
        distress_before = bool(earlier_hits) or any(self._matches("distress", past) for past in earlier)

        seeking = [h for h in hits if h.pattern.method_seeking]
        if seeking and distress_before and level_rank(level) < level_rank("high"):
            level = "high"
            evidence.append(self._evidence(seeking[0], "high", "a question about means after distress earlier in the conversation"))
            reasons.append("method-seeking after distress")

        carried = max((h.pattern.level for h in earlier_hits), key=level_rank, default="none")
        if level_rank(carried) >= level_rank("moderate") and level_rank(level) < level_rank("moderate"):
            if self._matches("reassurance", text):
                reasons.append(f"earlier risk ({carried}) eased: the person says they are safe now")
                level = "low"
            else:
                reasons.append(f"earlier risk ({carried}) persists until the person says otherwise")
                level = "moderate"
            for h in earlier_hits[:2]:
                evidence.append(self._evidence(h, level, "earlier in the conversation"))

        categories = tuple(dict.fromkeys(e.category for e in evidence if level_rank(e.level) > 0 or level != "none"))
        about_self = [h for h in hits if h.pattern.about == "self"] or earlier_hits
        about = "self" if about_self or not hits else "someone_else"
        score = min(1.0, LEVEL_SCORE[level] + 0.01 * max(0, len(evidence) - 1))
        return RiskAssessment(
            level=level,
            categories=categories if level != "none" else (),
            score=round(score, 3),
            evidence=tuple(evidence),
            about=about,
            assessor=self.spec,
            explanation="; ".join(reasons) or "no risk signals found",
        )

    @staticmethod
    def _evidence(hit: _Hit, level: RiskLevel, why: str) -> Evidence:
        return Evidence(detector="lexicon", category=hit.pattern.category, level=level, span=hit.span[:200], explanation=why)


@register("assessor", "lexicon")
def lexicon_assessor(languages: Sequence[str] | None = None, history_turns: int = 5) -> LexiconAssessor:
    """Per-language patterns with negation, idioms and conversation rules."""
    return LexiconAssessor(languages, history_turns)
