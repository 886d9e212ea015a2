"""The assess stage: how much risk, of what, and about whom — from this message and the conversation.

    assessor = create("assessor", "layered")
    risk = assessor.assess("everyone would be better off without me", history=[...])
    risk.level, risk.categories, risk.about, risk.evidence, risk.score

Layers (design/risk-levels.md):
1. lexicons, one file per language in `data/lexicon/`: patterns with a category and a level,
   cancelled by a negation just before them or an idiom around them, lowered by a distant-past
   marker or a fiction/news/study frame;
2. semantic similarity to authored exemplars (`semantic.py`), which may raise a message with no
   lexicon hit to low or moderate, never higher;
3. optionally a capable model (`model_assess.py`), which may raise the level, never lower it.
Then the conversation rules: risk about the person persists until they say they are safe, and a
method-seeking question after distress is high.
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
from ..types import RISK_CATEGORIES, RISK_LEVELS, Evidence, RiskAssessment, RiskCategory, RiskLevel, level_rank

LONGEST = 200_000  # characters assessed in full; longer texts keep their first and last halves of this
LEVEL_SCORE: dict[RiskLevel, float] = {"none": 0.02, "low": 0.25, "moderate": 0.55, "high": 0.85, "imminent": 0.97}
NEGATION_WINDOW = 40
MARKERS = ("negations", "idioms", "past", "frames", "distress", "reassurance", "selves", "others")


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
    subject_check: bool = False


@dataclass(frozen=True)
class Markers:
    """The words around a pattern that change what it means (negations, idioms, past tense, frames,
    distress, reassurance, who it is about). One lexicon's, or every language's at once: people mix
    languages, and a negation or an idiom in one language must cancel a pattern written in another."""

    negations: tuple[re.Pattern[str], ...]
    idioms: tuple[re.Pattern[str], ...]
    past: tuple[re.Pattern[str], ...]
    frames: tuple[re.Pattern[str], ...]
    distress: tuple[re.Pattern[str], ...]
    reassurance: tuple[re.Pattern[str], ...]
    selves: tuple[re.Pattern[str], ...]
    others: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, lexicons: Sequence[Lexicon]) -> Markers:
        return cls(**{key: tuple(p for lexicon in lexicons for p in getattr(lexicon.markers, key)) for key in MARKERS})


@dataclass(frozen=True)
class Lexicon:
    language: str
    patterns: tuple[Pattern, ...]
    markers: Markers


@dataclass(frozen=True)
class Hit:
    pattern: Pattern
    level: RiskLevel
    span: str
    why: str
    detector: str
    about: str = "self"


def _compile(regex: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(regex, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"lexicon {where}: invalid regex ({exc})") from exc


def _pattern(raw: dict, where: str) -> Pattern:  # type: ignore[type-arg]
    try:
        source = raw["regex"] if "regex" in raw else "|".join(f"(?:{alt})" for alt in raw["any"])
        pattern = Pattern(
            id=raw["id"], category=raw["category"], level=raw["level"], regex=_compile(source, f"{where} {raw['id']}"),
            about=raw.get("about", "self"), method_seeking=bool(raw.get("method_seeking", False)),
            subject_check=raw.get("subject") == "check",
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"lexicon {where}: malformed pattern ({exc})") from exc
    if pattern.level not in RISK_LEVELS or pattern.category not in RISK_CATEGORIES:
        raise ConfigError(f"lexicon {where} {pattern.id}: unknown level or category")
    if pattern.about not in ("self", "someone_else"):
        raise ConfigError(f"lexicon {where} {pattern.id}: about must be self or someone_else")
    return pattern


@lru_cache(maxsize=None)
def load_lexicon(language: str) -> Lexicon:
    resource = files("typingcure.safety").joinpath(f"data/lexicon/{language}.yaml")
    if not resource.is_file():
        raise ConfigError(f"no risk lexicon for language {language!r}")
    raw = yaml.safe_load(resource.read_text("utf-8"))
    where = f"{language}.yaml"
    if not isinstance(raw, dict) or raw.get("language") != language:
        raise ConfigError(f"lexicon {where} must be a mapping with language: {language}")
    unknown = set(raw) - {"language", "patterns", *MARKERS}
    if unknown:
        raise ConfigError(f"lexicon {where}: unknown keys {sorted(unknown)}")
    markers = {key: tuple(_compile(r, f"{where} {key}") for r in raw.get(key) or []) for key in MARKERS}
    return Lexicon(language=language, patterns=tuple(_pattern(p, where) for p in raw["patterns"]), markers=Markers(**markers))


def available_lexicons() -> list[str]:
    folder = files("typingcure.safety").joinpath("data/lexicon")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


# A lexicon only runs on text that contains its script (Hindi is also written in Latin letters).
SCRIPTS = {"ru": "cyrillic", "ko": "hangul", "zh": "han", "ja": "han", "ar": "arabic", "fa": "arabic", "hi": "any"}
_SCRIPT_TESTS = (
    ("cyrillic", re.compile(r"[\u0400-\u04ff]")),
    ("hangul", re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")),
    ("han", re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")),
    ("arabic", re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")),
    ("latin", re.compile(r"[A-Za-z\u00c0-\u024f]")),
)


def _scripts(text: str) -> set[str]:
    found = {name for name, test in _SCRIPT_TESTS if test.search(text)}
    return found | {"any"}


def _sentence_before(text: str, start: int) -> str:
    left = max(text.rfind(c, 0, start) for c in ".!?\n。！？;")
    return text[left + 1:start]


def _subject_is_other(before: str, markers: Markers) -> bool:
    """True when the last subject before a match is someone else ("my brother says he wants to…")."""
    last_other = max((m.end() for r in markers.others for m in r.finditer(before)), default=-1)
    last_self = max((m.end() for r in markers.selves for m in r.finditer(before)), default=-1)
    return last_other > last_self


def _sentence_around(text: str, start: int, end: int) -> str:
    left = max(text.rfind(c, 0, start) for c in ".!?\n。！？")
    rights = [i for i in (text.find(c, end) for c in ".!?\n。！？") if i != -1]
    return text[left + 1:min(rights) if rights else len(text)]


@dataclass(frozen=True)
class Context:
    """What the markers say about one text, worked out once for all lexicons."""

    markers: Markers
    idiom_spans: tuple[tuple[int, int], ...]
    framed: bool

    @classmethod
    def of(cls, text: str, markers: Markers) -> Context:
        spans = tuple(m.span() for r in markers.idioms for m in r.finditer(text))
        return cls(markers, spans, any(f.search(text) for f in markers.frames))


def scan(lexicon: Lexicon, text: str, context: Context | None = None) -> list[Hit]:
    """Every pattern of one lexicon that holds in `text`, after negations, idioms, distance and frames."""
    context = context or Context.of(text, lexicon.markers)
    lexicon_markers, idiom_spans, framed = context.markers, context.idiom_spans, context.framed
    hits: list[Hit] = []
    for pattern in lexicon.patterns:
        for m in pattern.regex.finditer(text):
            start, end = m.span()
            if any(s < end and start < e for s, e in idiom_spans):
                continue
            before = re.split(r"[.!?;\n。！？,，]", text[max(0, start - NEGATION_WINDOW):start])[-1]
            if any(n.search(before) for n in lexicon_markers.negations):
                continue
            level, why = pattern.level, f"matched {pattern.id}"
            about = pattern.about
            if pattern.subject_check and _subject_is_other(_sentence_before(text, start), lexicon_markers):
                about, why = "someone_else", f"matched {pattern.id}, about someone else"
                level = min(level, "moderate", key=level_rank)
            if level_rank(level) > level_rank("low") and any(
                p.search(_sentence_around(text, start, end)) for p in lexicon_markers.past
            ):
                level, why = "low", f"matched {pattern.id}, in the distant past"
            elif framed and level_rank(level) > level_rank("low"):
                floor: RiskLevel = "moderate" if pattern.method_seeking else "low"
                level, why = floor, f"matched {pattern.id}, inside a story, song, news or study frame"
            hits.append(Hit(pattern, level, m.group(0), why, f"lexicon:{lexicon.language}", about))
            break  # one hit per pattern is enough evidence
    return hits


class LexiconAssessor:
    """Lexicons plus the conversation rules; the other layers plug in through `extra_layers`."""

    def __init__(self, languages: Sequence[str] | None = None, history_turns: int = 5) -> None:
        self.lexicons = tuple(load_lexicon(lang) for lang in (languages or available_lexicons()))
        self.markers = Markers.of(self.lexicons)
        self.history_turns = history_turns
        self.spec = "lexicon"
        self._hits = lru_cache(maxsize=4096)(self._hits_uncached)
        self._markers = lru_cache(maxsize=4096)(self._markers_uncached)

    # -- layers over one message -------------------------------------------------------------

    def _hits_uncached(self, text: str) -> tuple[Hit, ...]:
        context = Context.of(text, self.markers)
        scripts = _scripts(text)
        return tuple(hit for lexicon in self.lexicons if SCRIPTS.get(lexicon.language, "latin") in scripts
                     for hit in scan(lexicon, text, context))

    def _markers_uncached(self, key: str, text: str) -> bool:
        return any(p.search(text) for p in getattr(self.markers, key))

    def message_hits(self, text: str) -> list[Hit]:
        """What the layers find in one message, before conversation rules."""
        return list(self._hits(text))

    def _second_opinion(
        self, text: str, history: Sequence[str], level: RiskLevel, evidence: list[Evidence], reasons: list[str]
    ) -> RiskLevel:
        """A hook for a model-based layer; the lexicon assessor has none."""
        return level

    # -- the conversation ----------------------------------------------------------------------

    def assess(self, text: str, history: Sequence[str] = (), language: str = "en") -> RiskAssessment:
        text, trimmed = _bounded(text)
        hits = self.message_hits(text)
        evidence = [_evidence(h, h.level, h.why) for h in hits]
        level: RiskLevel = max((h.level for h in hits), key=level_rank, default="none")
        reasons = [f"this message: {', '.join(h.why for h in hits)}"] if hits else []
        if trimmed:
            reasons.append(f"the message was very long: its first and last {LONGEST // 2:,} characters were assessed")

        earlier = [_bounded(t)[0] for t in list(history)[-self.history_turns:] if t]
        earlier_hits = [h for past in earlier for h in self.message_hits(past) if h.about == "self"]
        distress_before = any(level_rank(h.level) >= level_rank("low") for h in earlier_hits) or any(
            self._markers("distress", past) for past in earlier
        ) or self._markers("distress", text)

        seeking = [h for h in hits if h.pattern.method_seeking]
        if seeking and distress_before and level_rank(level) < level_rank("high"):
            level = "high"
            evidence.append(_evidence(seeking[0], "high", "a question about means after distress in this conversation"))
            reasons.append("method-seeking after distress")

        carried = max((h.level for h in earlier_hits), key=level_rank, default="none")
        if level_rank(carried) >= level_rank("moderate") and level_rank(level) < level_rank("moderate"):
            if self._markers("reassurance", text):
                reasons.append(f"earlier risk ({carried}) eased: the person says they are safe now")
                level = max(level, "low", key=level_rank)
            else:
                reasons.append(f"earlier risk ({carried}) persists until the person says otherwise")
                level = "moderate"
            for h in earlier_hits[:2]:
                evidence.append(_evidence(h, level, "earlier in the conversation"))

        level = self._second_opinion(text, history, level, evidence, reasons)
        about_self = any(h.about == "self" and level_rank(h.level) > 0 for h in hits) or (
            level_rank(carried) >= level_rank("moderate")
        )
        about = "self" if about_self or not hits else "someone_else"
        categories = _categories(evidence) if level != "none" else ()
        return RiskAssessment(
            level=level, categories=categories, score=_score(level, evidence), evidence=tuple(evidence), about=about,
            assessor=self.spec, explanation="; ".join(reasons) or "no risk signals found",
        )


def _bounded(text: str) -> tuple[str, bool]:
    """At most LONGEST characters, so a pasted book is assessed in bounded time (design/risk-levels.md)."""
    if len(text) <= LONGEST:
        return text, False
    half = LONGEST // 2
    return text[:half] + "\n" + text[-half:], True


def _categories(evidence: Sequence[Evidence]) -> tuple[RiskCategory, ...]:
    ranked = sorted(evidence, key=lambda e: -level_rank(e.level))
    return tuple(dict.fromkeys(e.category for e in ranked))


def _score(level: RiskLevel, evidence: Sequence[Evidence]) -> float:
    agreeing = sum(1 for e in evidence if e.level == level)
    return round(min(1.0, LEVEL_SCORE[level] + 0.01 * max(0, agreeing - 1)), 3)


def _evidence(hit: Hit, level: RiskLevel, why: str) -> Evidence:
    return Evidence(detector=hit.detector, category=hit.pattern.category, level=level, span=hit.span[:200], explanation=why)


@register("assessor", "lexicon")
def lexicon_assessor(languages: Sequence[str] | None = None, history_turns: int = 5) -> LexiconAssessor:
    """Per-language patterns with negation, idioms, distance, frames and conversation rules."""
    return LexiconAssessor(languages, history_turns)



_NEVER = re.compile(r"(?!x)x")
# Negation words of the lexicon languages, anywhere in a message (the lexicons' own negation
# markers only look just before a match). Used to keep the semantic layer away from "I would never…".
_NEGATION_CUE = re.compile(
    r"\b(not|never|no|don'?t|won'?t|wouldn'?t|isn'?t|nunca|jam[aá]s|n[aã]o|jamais|pas|nie|nicht|niemals|kein"
    r"|tidak|nggak|gak|sitaki|asla)\b|не\b|никогда|不|没|沒|않|안 |ない|नहीं|nahi|لا |لن |نمی|هرگز",
    re.IGNORECASE,
)


class LayeredAssessor(LexiconAssessor):
    """Lexicons, then semantic similarity where no lexicon spoke, then an optional model's opinion."""

    def __init__(
        self,
        languages: Sequence[str] | None = None,
        history_turns: int = 5,
        semantic: bool = True,
        threshold: float = 0.5,
        margin: float = 0.08,
        model: object | None = None,
        model_timeout: float = 8.0,
        classifier: bool = True,
        classifier_moderate: float = 0.7,
        classifier_low: float = 0.5,
    ) -> None:
        from .classifier import RiskClassifier
        from .model_assess import ModelAssessor
        from .semantic import SemanticDetector

        super().__init__(languages, history_turns)
        self.semantic = SemanticDetector.load(threshold, margin) if semantic else None
        self.classifier = RiskClassifier.load() if classifier else None
        self.cuts = (classifier_low, classifier_moderate)
        self.model = ModelAssessor(model, model_timeout) if model is not None else None  # type: ignore[arg-type]
        self.spec = "layered"

    def _hits_uncached(self, text: str) -> tuple[Hit, ...]:
        hits = super()._hits_uncached(text)
        if hits:
            return hits
        # Neither layer understands "years ago" or "in my novel": leave those to the lexicons. The
        # classifier was trained on negated sentences; similarity was not, so it also skips "never…".
        if any(self._markers(key, text) for key in ("idioms", "past", "frames")):
            return hits
        found: list[Hit] = []
        if self.semantic is not None and not _NEGATION_CUE.search(text):
            found += [
                Hit(Pattern(f"semantic:{h.exemplar.category}", h.exemplar.category, h.exemplar.level, _NEVER),
                    h.exemplar.level, text[:200],
                    f"close to an authored example ({h.similarity:.2f}): “{h.exemplar.text}”", "semantic", "self")
                for h in self.semantic.hits(text)
            ]
        if self.classifier is not None:
            category, p = self.classifier.predict(text)
            low, moderate = self.cuts
            if p >= low:
                # With a negation in the message the classifier alone can say low, never more.
                negated = bool(_NEGATION_CUE.search(text))
                level: RiskLevel = "moderate" if p >= moderate and not negated else "low"
                found.append(Hit(Pattern(f"classifier:{category}", category, level, _NEVER), level, text[:200],  # type: ignore[arg-type]
                                 f"the classifier gives {p:.2f} for {category.replace('_', ' ')}", "classifier", "self"))
        return tuple(found)

    def _second_opinion(
        self, text: str, history: Sequence[str], level: RiskLevel, evidence: list[Evidence], reasons: list[str]
    ) -> RiskLevel:
        if self.model is None:
            return level
        opinion = self.model.assess(text, history)
        if opinion.failed:
            reasons.append(f"model layer ignored: {opinion.explanation}")
            return level
        if level_rank(opinion.level) > level_rank(level):
            for category in opinion.categories or ("suicide",):
                evidence.append(Evidence(detector="model", category=category, level=opinion.level, span=text[:200],
                                         explanation=opinion.explanation))
            reasons.append(f"the model layer raised the level to {opinion.level}")
            return opinion.level
        return level


@register("assessor", "layered")
def layered_assessor(
    languages: Sequence[str] | None = None, history_turns: int = 5, semantic: bool = True,
    threshold: float = 0.5, margin: float = 0.08, model: object | None = None, model_timeout: float = 8.0,
    classifier: bool = True, classifier_moderate: float = 0.7, classifier_low: float = 0.5,
) -> LayeredAssessor:
    """Lexicons, semantic similarity, a small classifier and an optional model, fused with the conversation."""
    return LayeredAssessor(languages, history_turns, semantic, threshold, margin, model, model_timeout,
                           classifier, classifier_moderate, classifier_low)
