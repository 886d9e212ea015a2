"""The assess stage: how much risk, of what, and about whom — from this message and the conversation.

    assessor = create("assessor", "layered")
    risk = assessor.assess("everyone would be better off without me", history=[...])
    risk.level, risk.categories, risk.about, risk.evidence, risk.score

Layers (design/risk-levels.md):
1. lexicons, one per language (`languages/<code>/lexicon.yaml`): patterns with a category and a level,
   cancelled by a negation just before them or an idiom around them, lowered by a distant-past
   marker or a fiction/news/study frame;
2. semantic similarity to authored exemplars (`semantic.py`), which may raise a message with no
   lexicon hit to low or moderate, never higher;
3. optionally a capable model (`model_assess.py`), which may raise the level, never lower it.
Markers act on the clause they stand in, not on the whole message: one "never", "story" or
"years ago" in a long post only sets aside its own sentence. Then the conversation rules: risk
about the person persists until they say they are safe; a method-seeking question after distress
is high; and when typingcure's last reply asked about suicide or safety, the message is read as
the answer (yes raises, a clear no clears a false alarm, an unclear answer keeps the question open).
"""

from __future__ import annotations

import bisect
import itertools
import dataclasses
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol
from collections.abc import Sequence

from .. import languages
from ..culture.language import detect as detect_language
from ..errors import ConfigError
from ..registry import register
from ..types import RISK_CATEGORIES, RISK_LEVELS, Evidence, RiskAssessment, RiskCategory, RiskLevel, level_rank
from . import literal_cache

if TYPE_CHECKING:
    from .classifier import RiskClassifier

LONGEST = 200_000  # characters assessed in full; longer texts keep their first and last halves of this
LEVEL_SCORE: dict[RiskLevel, float] = {"none": 0.02, "low": 0.25, "moderate": 0.55, "high": 0.85, "imminent": 0.97}
NEGATION_WINDOW = 40
MARKERS = ("negations", "idioms", "past", "frames", "distress", "reassurance", "selves", "others",
           "asked", "asked_topic", "asked_safe", "affirm", "deny", "unsure")
# A history entry is the person's text, or {"role": "user" | "assistant", "content": ...}.
HistoryEntry = "str | dict[str, str] | Any"
ANSWER_CHARS = 400  # a longer message is read for itself, not as a one-word answer


class Assessor(Protocol):
    spec: str

    def assess(self, text: str, history: Sequence[Any] = (), language: str = "en") -> RiskAssessment: ...


def fold(text: str) -> str:
    """Lower case, with the letters that case-insensitive matching treats specially made plain."""
    return text.lower().replace("i\u0307", "i").replace("ı", "i").replace("ſ", "s").replace("\u212a", "k")


class _Literals:
    """Every literal any `Rx` needs, indexed so that the literals a text holds are found in one walk
    along it (rather than by asking of each rule in turn): at each place, the literals of one or two
    letters that stand there, then those beginning with the three letters there (the longer ones
    by their first six). `version` grows with each literal added."""

    def __init__(self) -> None:
        self.tiny: set[str] = set()
        self.by_three: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
        self.known: set[str] = set()
        self.version = 0

    def add(self, needs: tuple[frozenset[str], ...]) -> None:
        for group in needs:
            for literal in group - self.known:
                self.known.add(literal)
                self.version += 1
                if len(literal) < 3:
                    self.tiny.add(literal)
                    continue
                short, by_six = self.by_three.setdefault(literal[:3], ([], {}))
                if len(literal) < 6:
                    short.append(literal)
                else:
                    by_six.setdefault(literal[:6], []).append(literal)

    def held_by(self, folded: str) -> frozenset[str]:
        found: set[str] = set()
        tiny, at = self.tiny, self.by_three.get
        for i in range(len(folded)):
            if tiny:
                found.update(t for t in (folded[i], folded[i:i + 2]) if t in tiny)
            entry = at(folded[i:i + 3])
            if entry is None:
                continue
            short, by_six = entry
            found.update(literal for literal in short if folded.startswith(literal, i))
            if by_six:
                found.update(literal for literal in by_six.get(folded[i:i + 6], ()) if folded.startswith(literal, i))
        return frozenset(found)


_LITERALS = _Literals()


class _Seen:
    """What was worked out about a text read lately (its folded form, which literals it holds, where
    its sentences end): every pattern of every lexicon asks the same questions of the same text."""

    __slots__ = ("_held", "_runs", "_spans", "_version", "ends", "folded", "text")
    kept: ClassVar[dict[str, _Seen]] = {}  # by text, least recently asked about first

    def __init__(self, text: str) -> None:
        self.text, self.folded = text, fold(text)
        self.ends: dict[str, list[int]] = {}
        self._spans: list[tuple[int, int]] | None = None
        self._held: frozenset[str] = frozenset()
        self._version = -1
        self._runs: tuple[int, int, int, int] | None = None

    @property
    def runs(self) -> tuple[int, int, int, int]:
        if self._runs is None:
            self._runs = _runs(self.text)
        return self._runs

    @property
    def held(self) -> frozenset[str]:
        """The known literals this text holds (worked out again if a literal was added since)."""
        if self._version != _LITERALS.version:
            self._held, self._version = _LITERALS.held_by(self.folded), _LITERALS.version
        return self._held

    @property
    def spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            self._spans = _sentence_spans(self.text)
        return self._spans


def _seen(text: str) -> _Seen:
    """What is known of `text`, by its value: the same sentence cut out of a post again (a new
    string each time) is not read again."""
    kept = _Seen.kept
    seen = kept.pop(text, None)
    if seen is None:
        seen = _Seen(text)
        if len(kept) >= 256:
            try:
                del kept[next(iter(kept))]  # the least recently asked about
            except (KeyError, RuntimeError, StopIteration):
                pass  # another turn's thread changed it meanwhile: it is only a memo
    kept[text] = seen
    return seen


def literals_of(text: str) -> frozenset[str]:
    """The known literals `text` holds, for `Rx.may_match(text, held)` over many patterns at once."""
    return _seen(text).held


def _ends(text: str, chars: str) -> list[int]:
    """Where any of `chars` stands in `text`, in order."""
    seen = _seen(text)
    found = seen.ends.get(chars)
    if found is None:
        found = seen.ends[chars] = [i for i, c in enumerate(text) if c in chars]
    return found


class Rx:
    """A case-insensitive regex with a pre-check: the literals any match must contain (one of each
    set, worked out from the pattern). Most lexicon entries cannot match most texts, and a
    substring test is far cheaper than running the regex, so a long post is assessed quickly."""

    __slots__ = ("_needs", "_reach", "_regex", "pattern")

    def __init__(self, source: str, where: str = "") -> None:
        self.pattern = source
        self._regex: re.Pattern[str] | None = None
        self._reach: Reach | None = None
        needs = literal_cache.known(source)
        if needs is None:  # not seen on this machine: check it compiles, then work out its literals
            try:
                self._regex = re.compile(source, re.IGNORECASE)
            except re.error as exc:
                raise ConfigError(f"{where}: invalid regex ({exc})") from exc
            needs = required_literals(source)
            literal_cache.remember(source, needs)
        self.needs = needs

    @property
    def needs(self) -> tuple[frozenset[str], ...]:
        return self._needs

    @needs.setter
    def needs(self, needs: tuple[frozenset[str], ...]) -> None:
        _LITERALS.add(needs)
        self._needs = needs

    @property
    def regex(self) -> re.Pattern[str]:
        """Compiled the first time a text holds the literals (a pattern from the table compiled before)."""
        if self._regex is None:
            try:
                self._regex = re.compile(self.pattern, re.IGNORECASE)
            except re.error as exc:  # only a pattern the table knew and that was edited since
                raise ConfigError(f"invalid regex {self.pattern[:40]!r} ({exc})") from exc
        return self._regex

    def may_match(self, text: str, held: frozenset[str] | None = None) -> bool:
        """Whether the text holds the literals (`held`: the text's, when the caller has them)."""
        held = _seen(text).held if held is None else held
        return all(not held.isdisjoint(group) for group in self._needs)

    def search(self, text: str) -> re.Match[str] | None:
        return self.regex.search(text) if self.may_match(text) else None

    def reach(self, text: str) -> int:
        """How far from a needed literal a match in `text` can read (its widest match plus every
        look-ahead, `_reach`), or -1 when that is not bounded."""
        if self._reach is None:
            self._reach = _reach(self.pattern) or (-1, 0, 0, 0, 0)
        fixed, *per_run = self._reach
        if fixed < 0:
            return -1
        return fixed + sum(k * n for k, n in zip(per_run, _seen(text).runs, strict=True) if k)

    def matches(self, text: str) -> Any:
        """What `regex.finditer(text)` yields, the same matches in the same order; on a long text,
        by searching only the stretches around the places its most selective literals stand.

        Exact: a match holds one of those literals, so it starts and ends, and reads, within
        `reach` of one of them; a search limited to such a stretch finds only what the whole text
        holds there (any match it finds holds a literal whose stretch it lies inside), and none is
        missed (none lies outside every stretch)."""
        folded = _seen(text).folded
        reach = self.reach(text) if len(text) >= LONG_TEXT and self._needs and len(folded) == len(text) else -1
        if reach < 0 or reach > len(text) // 4:
            yield from self.regex.finditer(text)
            return
        stretches = []
        for literal in self._needs[0]:
            at = folded.find(literal)
            while at != -1:
                stretches.append((max(0, at - reach), min(len(text), at + len(literal) + reach + 1)))
                at = folded.find(literal, at + 1)
        stretches.sort()
        regex, done = self.regex, 0
        for start, end in _merged(stretches):
            at = max(done, start)
            while at < end and (m := regex.search(text, at, end)) is not None:
                yield m
                done = at = max(m.end(), m.start() + 1)


LONG_TEXT = 300  # characters: longer texts are searched stretch by stretch (Rx.matches)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _sre() -> tuple[Any, Any, tuple[Any, ...]]:
    """Python's own regex parser and its constants, and the repeat operators among them."""
    try:
        from re import _constants as sc, _parser as sp  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - older Pythons
        import sre_constants as sc  # type: ignore[no-redef]
        import sre_parse as sp  # type: ignore[no-redef]
    return sc, sp, (sc.MAX_REPEAT, sc.MIN_REPEAT, getattr(sc, "POSSESSIVE_REPEAT", sc.MAX_REPEAT))


Reach = tuple[int, int, int, int, int]  # characters, and how many of the text's longest runs (Runs)
_WORDY = re.compile(r"\w")


def _reach(pattern: str) -> Reach | None:
    """How far a match of `pattern` can read from where it starts: its widest match plus every
    look-ahead, as a fixed number of characters and, for each unbounded repeat of one character,
    one of the text's longest runs of such characters (a word, a space, a line, a run without a
    space). None when that is not bounded (a backreference, an end anchor, a repeated group)."""
    sc, sp, repeats = _sre()
    ahead = [0, 0, 0, 0, 0]

    def add(x: list[int], y: list[int], times: int = 1) -> list[int]:
        return [a + b * times for a, b in zip(x, y, strict=True)]

    def run_of(items: Any) -> list[int] | None:
        """Which longest run bounds an unbounded repeat of this one-character item."""
        if len(items) != 1:
            return None
        op, av = items[0]
        if op is sc.ANY:
            return [0, 0, 0, 1, 0]  # any but a newline: at most a line
        if op is sc.IN and av and av[0][0] is not sc.NEGATE:
            kinds = set()
            for kind, value in av:
                if kind is sc.CATEGORY:
                    kinds.add({sc.CATEGORY_WORD: 1, sc.CATEGORY_DIGIT: 1, sc.CATEGORY_SPACE: 2,
                               sc.CATEGORY_NOT_SPACE: 4}.get(value, -1))
                elif kind is sc.LITERAL:
                    kinds.add(1 if _WORDY.match(chr(value)) else 4 if not chr(value).isspace() else 2)
                else:
                    kinds.add(-1)
            if (kinds and -1 not in kinds and 2 not in kinds) or kinds == {2}:
                vector = [0, 0, 0, 0, 0]
                vector[kinds.pop() if len(kinds) == 1 else 4] = 1  # word and other letters: a run without a space
                return vector
        return None

    def width(items: Any) -> list[int] | None:
        total = [0, 0, 0, 0, 0]
        for op, av in items:
            if op in (sc.GROUPREF, sc.GROUPREF_EXISTS) or (op is sc.AT and av in (sc.AT_END, sc.AT_END_STRING)):
                return None
            if op in (sc.LITERAL, sc.NOT_LITERAL, sc.ANY, sc.IN, sc.CATEGORY):
                total[0] += 1
            elif op in (sc.ASSERT, sc.ASSERT_NOT):
                inner = width(av[1])
                if inner is None:
                    return None
                if av[0] == 1:  # a look-ahead reads past where it stands
                    ahead[:] = add(ahead, inner)
            elif op is sc.SUBPATTERN or op is getattr(sc, "ATOMIC_GROUP", None):
                inner = width(av[-1] if op is sc.SUBPATTERN else av)
                if inner is None:
                    return None
                total = add(total, inner)
            elif op is sc.BRANCH:
                branches = [width(b) for b in av[1]]
                if any(b is None for b in branches):
                    return None
                total = add(total, [max(column) for column in zip(*branches, strict=True)])  # type: ignore[arg-type]
            elif op in repeats:
                if av[1] == sc.MAXREPEAT:
                    inner = run_of(av[2])
                    if inner is None:
                        return None
                    total = add(total, inner)
                else:
                    inner = width(av[2])
                    if inner is None:
                        return None
                    total = add(total, inner, av[1])
            elif op is not sc.AT:
                return None  # nothing else is expected: not bounded, to be safe
        return total

    try:
        found = width(sp.parse(pattern))
    except Exception:
        return None
    if found is None:
        return None
    r = add(found, ahead)
    return (r[0], r[1], r[2], r[3], r[4])


def _runs(text: str) -> tuple[int, int, int, int]:
    """The longest word, space, line and run without a space in `text`."""
    longest = lambda rx: max(map(len, re.findall(rx, text)), default=0)  # noqa: E731
    return longest(r"\w+"), longest(r"\s+"), longest(r"[^\n]+"), longest(r"\S+")


_INDEXES: dict[int, tuple[Sequence[Rx], dict[str, list[int]], list[int]]] = {}


def _candidates(rules: Sequence[Rx], text: str, held: frozenset[str]) -> list[int]:
    """Where in `rules` (a tuple kept by its owner) the rules stand whose literals `text` holds, in
    order. The rules are indexed once by their most selective literals, so a text is checked
    against the few rules its literals point to rather than against every rule in turn."""
    entry = _INDEXES.get(id(rules))
    if entry is None or entry[0] is not rules:
        by_literal: dict[str, list[int]] = {}
        always = []
        for i, rx in enumerate(rules):
            if rx.needs:
                for literal in rx.needs[0]:
                    by_literal.setdefault(literal, []).append(i)
            else:
                always.append(i)
        if len(_INDEXES) > 512:
            _INDEXES.clear()
        entry = _INDEXES[id(rules)] = (rules, by_literal, always)
    by_literal, found = entry[1], set(entry[2])
    if len(held) < len(by_literal):
        for literal in held:
            found.update(by_literal.get(literal, ()))
    else:
        for literal, where in by_literal.items():
            if literal in held:
                found.update(where)
    return [i for i in sorted(found) if rules[i].may_match(text, held)]


def might(rules: Sequence[Rx], text: str) -> list[Rx]:
    """The rules, in order, that may match `text` (its literal pre-check passes): run only these."""
    return [rules[i] for i in _candidates(rules, text, _seen(text).held)]


@dataclass(frozen=True)
class Pattern:
    id: str
    category: RiskCategory
    level: RiskLevel
    alternatives: tuple[Rx, ...]  # each alternative of the lexicon entry, checked on its own
    about: str = "self"
    method_seeking: bool = False
    subject_check: bool = False


def required_literals(regex: str, keep: int = 3) -> tuple[frozenset[str], ...]:
    """Sets of literal strings such that any match of `regex` contains one string of each set.

    Worked out from the parsed pattern: a run of literal characters is required; a group or a
    repetition of at least one requires what its content requires; an alternation requires one
    of its branches' requirements. Only the `keep` most selective sets are kept. A regex with no
    such literal (all character classes) gets none, and is always run."""
    sc, sp, repeats = _sre()

    def walk(items: Any) -> list[frozenset[str]]:
        found: list[frozenset[str]] = []
        run = ""
        for op, av in items:
            if op is sc.LITERAL:
                run += fold(chr(av))
                continue
            if run:
                found.append(frozenset({run}))
                run = ""
            if op is sc.SUBPATTERN:
                found += walk(av[-1])
            elif op is sc.BRANCH:
                branches = [best(walk(b)) for b in av[1]]
                if all(branches):
                    found.append(frozenset().union(*branches))  # type: ignore[arg-type]
            elif op in repeats and av[0] >= 1:
                found += walk(av[2])
        if run:
            found.append(frozenset({run}))
        return found

    def best(groups: list[frozenset[str]]) -> frozenset[str] | None:
        return max(groups, key=_selectivity, default=None)

    try:
        groups = walk(sp.parse(regex))
    except Exception:
        return ()
    groups = [g for g in groups if all(g) and min(len(x) for x in g) >= 2]
    return tuple(sorted(groups, key=_selectivity, reverse=True)[:keep])


def _selectivity(group: frozenset[str]) -> tuple[int, int]:
    return min(len(x) for x in group), -len(group)


@dataclass(frozen=True)
class Markers:
    """The words around a pattern that change what it means (negations, idioms, past tense, frames,
    distress, reassurance, who it is about). One lexicon's, or every language's at once: people mix
    languages, and a negation or an idiom in one language must cancel a pattern written in another."""

    negations: tuple[Rx, ...]
    idioms: tuple[Rx, ...]
    past: tuple[Rx, ...]
    frames: tuple[Rx, ...]
    distress: tuple[Rx, ...]
    reassurance: tuple[Rx, ...]
    selves: tuple[Rx, ...]
    others: tuple[Rx, ...]
    asked: tuple[Rx, ...] = ()
    asked_topic: tuple[Rx, ...] = ()  # a question sentence that names suicide or self-harm in any wording
    asked_safe: tuple[Rx, ...] = ()
    affirm: tuple[Rx, ...] = ()
    deny: tuple[Rx, ...] = ()
    unsure: tuple[Rx, ...] = ()

    @classmethod
    def of(cls, lexicons: Sequence[Lexicon]) -> Markers:
        return cls(**{key: tuple(p for lexicon in lexicons for p in getattr(lexicon.markers, key)) for key in MARKERS})


@dataclass(frozen=True)
class Lexicon:
    language: str
    patterns: tuple[Pattern, ...]
    markers: Markers
    alternatives: tuple[Rx, ...] = field(init=False, repr=False)  # every pattern's, in order
    owners: tuple[int, ...] = field(init=False, repr=False)  # the pattern each alternative is of

    def __post_init__(self) -> None:
        pairs = [(alt, i) for i, p in enumerate(self.patterns) for alt in p.alternatives]
        object.__setattr__(self, "alternatives", tuple(a for a, _ in pairs))
        object.__setattr__(self, "owners", tuple(i for _, i in pairs))


@dataclass(frozen=True)
class Hit:
    pattern: Pattern
    level: RiskLevel
    span: str
    why: str
    detector: str
    about: str = "self"
    p: float = 0.0  # a learned layer's probability of risk


def _pattern(raw: dict, where: str) -> Pattern:  # type: ignore[type-arg]
    try:
        sources = [raw["regex"]] if "regex" in raw else [str(alt) for alt in raw["any"]]
        pattern = Pattern(
            id=raw["id"], category=raw["category"], level=raw["level"],
            alternatives=tuple(Rx(src, f"lexicon {where} {raw['id']}") for src in sources),
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


@languages.cached
def load_lexicon(language: str) -> Lexicon:
    raw = languages.load(language, "lexicon")
    if raw is None:
        raise ConfigError(f"no risk lexicon for language {language!r}")
    where = languages.where(language, "lexicon")
    if not isinstance(raw, dict) or raw.get("language") != language:
        raise ConfigError(f"lexicon {where} must be a mapping with language: {language}")
    unknown = set(raw) - {"language", "patterns", *MARKERS}
    if unknown:
        raise ConfigError(f"lexicon {where}: unknown keys {sorted(unknown)}")
    markers = {key: tuple(Rx(r, f"lexicon {where} {key}") for r in raw.get(key) or []) for key in MARKERS}
    return Lexicon(language=language, patterns=tuple(_pattern(p, where) for p in raw["patterns"]), markers=Markers(**markers))


def available_lexicons() -> list[str]:
    """The language folders with a risk lexicon."""
    return languages.with_file("lexicon")


@languages.cached
def _runs_on() -> dict[str, str]:
    return {code: info.runs_on for code, info in languages.languages().items()}


# A lexicon only runs on text that contains its script (`script`, or `lexicon_runs_on` in the
# language's folder: Hindi is also written in Latin letters, so its lexicon runs on any text).
SCRIPTS = languages.Derived(_runs_on)
_SCRIPT_TESTS = tuple((name, re.compile(letters)) for name, letters in languages.SCRIPT_LETTERS.items())


def _scripts(text: str) -> set[str]:
    found = {name for name, test in _SCRIPT_TESTS if test.search(text)}
    return found | {"any"}


def _sentence_before(text: str, start: int) -> str:
    ends = _ends(text, ".!?\n。！？;")
    k = bisect.bisect_left(ends, start)
    left = ends[k - 1] if k else -1
    return text[left + 1:start]


def _subject_is_other(before: str, markers: Markers) -> bool:
    """True when the last subject before a match is someone else ("my brother says he wants to…")."""
    last_other = max((m.end() for r in might(markers.others, before) for m in r.regex.finditer(before)), default=-1)
    last_self = max((m.end() for r in might(markers.selves, before) for m in r.regex.finditer(before)), default=-1)
    return last_other > last_self


def _sentence_around(text: str, start: int, end: int) -> str:
    ends = _ends(text, ".!?\n。！？")
    k = bisect.bisect_left(ends, start)
    left = ends[k - 1] if k else -1
    k = bisect.bisect_left(ends, end, k)
    return text[left + 1:ends[k] if k < len(ends) else len(text)]


_SENTENCE_END = re.compile(r"[.!?\n。！？;]+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where each sentence of `text` starts and ends (the unit that markers act on)."""
    return list(_seen(text).spans)


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _marked_spans(text: str, patterns: Sequence[Rx], reach: int = 0) -> tuple[tuple[int, int], ...]:
    """The sentences holding a match of any pattern, each with the `reach` sentences after it."""
    sentences = _seen(text).spans
    stops = [e for _, e in sentences]
    marked: list[tuple[int, int]] = []
    for pattern in might(patterns, text):
        for m in pattern.matches(text):
            # The first sentence that holds the match's start, or that the match runs into.
            k = bisect.bisect_right(stops, m.start())
            if k < len(sentences) and (sentences[k][0] <= m.start() or m.end() > sentences[k][0]):
                marked.append((sentences[k][0], sentences[min(len(sentences) - 1, k + reach)][1]))
    return tuple(marked)


CLASSIFIER_CARRY = 2  # earlier messages whose classifier-only risk still counts


@dataclass(frozen=True)
class Context:
    """What the markers say about one text, worked out once for all lexicons. A frame (a story,
    a song, the news) covers its own sentence and the next one, not the whole message."""

    markers: Markers
    idiom_spans: tuple[tuple[int, int], ...]
    frame_spans: tuple[tuple[int, int], ...]
    denied: list[tuple[int, int]] = field(default_factory=list)  # risk words a negation cancelled

    @classmethod
    def of(cls, text: str, markers: Markers) -> Context:
        spans = tuple(m.span() for r in might(markers.idioms, text) for m in r.matches(text))
        return cls(markers, spans, _marked_spans(text, markers.frames, reach=1))

    def framed(self, start: int) -> bool:
        return any(s <= start < e for s, e in self.frame_spans)


def scan(lexicon: Lexicon, text: str, context: Context | None = None) -> list[Hit]:
    """Every pattern of one lexicon that holds in `text`, after negations, idioms, distance and frames."""
    context = context or Context.of(text, lexicon.markers)
    lexicon_markers, idiom_spans = context.markers, context.idiom_spans
    hits: list[Hit] = []
    candidates = _candidates(lexicon.alternatives, text, _seen(text).held)
    for k, group in itertools.groupby(candidates, key=lexicon.owners.__getitem__):
        pattern = lexicon.patterns[k]
        for m in (m for i in group for m in lexicon.alternatives[i].matches(text)):
            start, end = m.span()
            if any(s < end and start < e for s, e in idiom_spans):
                continue
            before = re.split(r"[.!?;\n。！？,，]", text[max(0, start - NEGATION_WINDOW):start])[-1]
            if any(n.regex.search(before) for n in might(lexicon_markers.negations, before)):
                context.denied.append((start, end))  # "I'm not having thoughts of ending my life"
                continue
            level, why = pattern.level, f"matched {pattern.id}"
            about = pattern.about
            if pattern.subject_check and _subject_is_other(_sentence_before(text, start), lexicon_markers):
                about, why = "someone_else", f"matched {pattern.id}, about someone else"
                level = min(level, "moderate", key=level_rank)
            sentence = _sentence_around(text, start, end)
            if level_rank(level) > level_rank("low") and any(p.regex.search(sentence) for p in might(lexicon_markers.past, sentence)):
                level, why = "low", f"matched {pattern.id}, in the distant past"
            elif context.framed(start) and level_rank(level) > level_rank("low"):
                floor: RiskLevel = "moderate" if pattern.method_seeking else "low"
                level, why = floor, f"matched {pattern.id}, inside a story, song, news or study frame"
            clause = sentence.strip() or m.group(0)
            hits.append(Hit(pattern, level, clause, why, f"lexicon:{lexicon.language}", about))
            break  # one hit per pattern is enough evidence
    return hits


@dataclass
class _State:
    """One message's assessment as the conversation rules work on it, step by step."""

    text: str
    level: RiskLevel
    hits: list[Hit]
    evidence: list[Evidence]
    reasons: list[str]
    failures: list[str]


@dataclass
class _Earlier:
    """The person's earlier messages that count, what the layers found in them, and what carries forward."""

    texts: list[str]
    hits: list[Hit]
    carried: list[Hit]


class LexiconAssessor:
    """Lexicons plus the conversation rules; the other layers plug in through `extra_layers`."""

    def __init__(self, languages: Sequence[str] | None = None, history_turns: int = 5) -> None:
        self.lexicons = tuple(load_lexicon(lang) for lang in (languages or available_lexicons()))
        literal_cache.save()  # once, for every lexicon whose literals were worked out just now
        self.markers = Markers.of(self.lexicons)
        self.history_turns = history_turns
        self.spec = "lexicon"
        self.load_failures: list[str] = []
        self._hits = lru_cache(maxsize=4096)(self._hits_uncached)
        self._markers = lru_cache(maxsize=4096)(self._markers_uncached)

    # -- layers over one message -------------------------------------------------------------

    def _hits_uncached(self, text: str) -> tuple[Hit, ...]:
        return self._scan(text)[0]

    def _scan(self, text: str) -> tuple[tuple[Hit, ...], Context]:
        context = Context.of(text, self.markers)
        scripts = _scripts(text)
        hits = tuple(hit for lexicon in self.lexicons if SCRIPTS.get(lexicon.language, "latin") in scripts
                     for hit in scan(lexicon, text, context))
        return hits, context

    def _markers_uncached(self, key: str, text: str) -> bool:
        return any(p.regex.search(text) for p in might(getattr(self.markers, key), text))

    def message_hits(self, text: str) -> list[Hit]:
        """What the layers find in one message, before conversation rules."""
        return list(self._hits(text))

    def _second_opinion(
        self, text: str, history: Sequence[str], level: RiskLevel, evidence: list[Evidence], reasons: list[str]
    ) -> RiskLevel:
        """A hook for a model-based layer; the lexicon assessor has none."""
        return level

    # -- the conversation ----------------------------------------------------------------------

    def question_in(self, reply: str) -> str | None:
        """What typingcure's reply asked: "risk" (are you thinking of suicide? yes means risk),
        "safe" (are you safe? yes means safe), "both" (either way round), or None."""
        questions = _QUESTION.findall(reply)
        asks_risk = self._markers("asked", reply) or any(self._markers("asked_topic", q) for q in questions)
        asks_safe = self._markers("asked_safe", reply)
        if asks_risk and asks_safe:
            return "both"
        return "risk" if asks_risk else "safe" if asks_safe else None

    def answer_in(self, text: str, question: str | None) -> str | None:
        """How a message answers typingcure's question: "risk" (yes, sometimes, a plan), "clear"
        (a clear no, "I'm safe"), "unclear", or None (not an answer)."""
        if question is None or len(text) > ANSWER_CHARS:
            return None
        yes, no = self._markers("affirm", text), self._markers("deny", text)
        unsure = self._markers("unsure", text)
        safe_words = self._markers("reassurance", text)
        if safe_words and question != "safe":
            return "clear"  # "yeah, I'm okay now, the thoughts passed"
        if question == "safe":
            yes, no = no, yes or safe_words
        elif question == "both":
            if safe_words and not yes:
                return "clear"
            return "unclear" if (yes or no or unsure) else None
        if yes and not no:
            return "risk"
        if (no or safe_words) and not yes:
            return "clear"
        if unsure or (yes and no):
            return "unclear"
        return None

    def assess(self, text: str, history: Sequence[Any] = (), language: str = "en") -> RiskAssessment:
        text, trimmed = _bounded(text)
        turns = _turns(history)
        question = self.question_in(turns[-1][1]) if turns and turns[-1][0] == "assistant" else None
        answer = self.answer_in(text, question)
        state = self._this_message(text, answer, trimmed)
        earlier = self._earlier(turns)
        self._method_after_distress(state, earlier)
        carried = self._answer(state, answer, earlier)
        self._persistence(state, carried, earlier)
        level = self._second_opinion(text, [t for _, t in turns], state.level, state.evidence, state.reasons)
        hits, evidence, reasons = state.hits, state.evidence, state.reasons
        about_self = any(h.about == "self" and level_rank(h.level) > 0 for h in hits) or (
            level_rank(carried) >= level_rank("moderate") or answer is not None
        )
        about: Literal["self", "someone_else"] = "self" if about_self or not hits else "someone_else"
        categories = _categories(evidence) if level != "none" else ()
        reasons += [f"{why}; the other layers decided" for why in dict.fromkeys(state.failures)]
        return RiskAssessment(
            level=level, categories=categories, score=self._score(level, hits, evidence), evidence=tuple(evidence),
            about=about, assessor=self.spec, explanation="; ".join(reasons) or "no risk signals found",
            failed=bool(state.failures),
        )

    def _this_message(self, text: str, answer: str | None, trimmed: bool) -> _State:
        """What the layers find in the message itself; a clear no to typingcure's question weakens it."""
        hits = self.message_hits(text)
        failures = list(self.load_failures) + [h.why for h in hits if h.detector == "failed"]
        hits = [h for h in hits if h.detector != "failed"]
        if answer == "clear":
            # A clear no or "I'm safe" is not evidence: a learned layer may still read distress in it
            # ("no, just homesick": low), never more; explicit words ("no, but I want to die") stand.
            hits = [h if h.detector.startswith("lexicon") or level_rank(h.level) <= level_rank("low")
                    else dataclasses.replace(h, level="low") for h in hits
                    if not (h.detector.startswith("lexicon") and level_rank(h.level) < level_rank("moderate"))]
        level: RiskLevel = max((h.level for h in hits), key=level_rank, default="none")
        reasons = [f"this message: {', '.join(h.why for h in hits)}"] if hits else []
        if trimmed:
            reasons.append(f"the message was very long: its first and last {LONGEST // 2:,} characters were assessed")
        return _State(text, level, hits, [_evidence(h, h.level, h.why) for h in hits], reasons, failures)

    def _earlier(self, turns: Sequence[tuple[str, str]]) -> _Earlier:
        """The person's earlier messages, and which of them count: only those after the last time
        they said they were safe (or answered no to typingcure's question) carry risk forward."""
        users = [(i, _bounded(t)[0]) for i, (role, t) in enumerate(turns) if role == "user" and t]
        users = users[-self.history_turns:]
        # "I'm safe now" clears every earlier concern; a no to the question about suicide clears the
        # concern about suicide, while self-harm, an eating disorder or abuse keep being asked about.
        reassured_at = denied_at = -1
        for i, past in users:
            asked = self.question_in(turns[i - 1][1]) if i > 0 and turns[i - 1][0] == "assistant" else None
            if self._markers("reassurance", past):
                reassured_at = i
            elif self.answer_in(past, asked) == "clear":
                denied_at = i
        hits = [h for _, past in users for h in self.message_hits(past) if h.about == "self"]
        # The classifier's reading of an earlier message carries for two more messages only: alone it
        # is too unsure (above all outside English) to keep a whole conversation at moderate risk.
        recent = {i for i, _ in users[-CLASSIFIER_CARRY:]}
        carried = [h for i, past in users if i > reassured_at for h in self.message_hits(past)
                   if h.about == "self" and (i > denied_at or h.pattern.category != "suicide")
                   and (h.detector != "classifier" or i in recent)]
        return _Earlier([past for _, past in users], hits, carried)

    def _method_after_distress(self, state: _State, earlier: _Earlier) -> None:
        """A question about means after distress is high. Distress: words of a setback, a lexicon's
        reading at low or more, or a learned layer's at moderate or more (its low alone is too unsure:
        "a school project on bridges" read as distress made the next question about bridges high)."""
        distress_before = any(level_rank(h.level) >= level_rank("moderate" if h.detector.startswith(("classifier", "semantic"))
                                                                else "low") for h in earlier.hits) or any(
            self._markers("distress", past) for past in earlier.texts
        ) or self._markers("distress", state.text)
        seeking = [h for h in state.hits if h.pattern.method_seeking]
        if seeking and distress_before and level_rank(state.level) < level_rank("high"):
            state.level = "high"
            state.evidence.append(_evidence(seeking[0], "high", "a question about means after distress in this conversation"))
            state.reasons.append("method-seeking after distress")

    def _answer(self, state: _State, answer: str | None, earlier: _Earlier) -> RiskLevel:
        """The message read as the answer to typingcure's question; gives the risk carried from before."""
        carried: RiskLevel = max((h.level for h in earlier.carried), key=level_rank, default="none")
        text, level = state.text, state.level
        if answer == "risk":
            if level_rank(level) < level_rank("high"):
                state.level = "high"
            state.evidence.append(Evidence(detector="answer", category="suicide", level="high", span=text[:200],
                                           explanation="answered yes to typingcure's question about suicide or safety"))
            state.reasons.append("the person answered yes to the question about suicide or safety")
        elif answer == "clear" and level_rank(level) < level_rank("moderate"):
            level = min(level, "low", key=level_rank)
            state.level = "low" if level_rank(carried) >= level_rank("low") else level
            state.reasons.append("the person answered no to the question about suicide or safety: that concern clears")
            earlier.carried = [h for h in earlier.carried if h.pattern.category != "suicide"]
            carried = max((h.level for h in earlier.carried), key=level_rank, default="none")
        elif answer == "unclear" and level_rank(level) < level_rank("moderate"):
            state.level = "moderate"
            state.evidence.append(Evidence(detector="answer", category="suicide", level="moderate", span=text[:200],
                                           explanation="an unclear answer to the question about suicide or safety"))
            state.reasons.append("the answer to the question about suicide or safety was unclear: keep asking gently")
        return carried

    def _persistence(self, state: _State, carried: RiskLevel, earlier: _Earlier) -> None:
        """Risk about the person persists until they say they are safe."""
        if level_rank(carried) >= level_rank("moderate") and level_rank(state.level) < level_rank("moderate"):
            if self._markers("reassurance", state.text):
                state.reasons.append(f"earlier risk ({carried}) eased: the person says they are safe now")
                state.level = max(state.level, "low", key=level_rank)
            else:
                state.reasons.append(f"earlier risk ({carried}) persists until the person says otherwise")
                state.level = "moderate"
            for h in earlier.carried[:2]:
                state.evidence.append(_evidence(h, state.level, "earlier in the conversation"))

    def _score(self, level: RiskLevel, hits: Sequence[Hit], evidence: Sequence[Evidence]) -> float:
        return _score(level, evidence)


_QUESTION = re.compile(r"[^.!?。！？؟\n]*[?？؟]")  # a sentence of a reply that asks


def _turns(history: Sequence[Any]) -> list[tuple[str, str]]:
    """History as (role, text): a plain string is the person's; a mapping or Message has a role."""
    turns: list[tuple[str, str]] = []
    for entry in history:
        if isinstance(entry, str):
            turns.append(("user", _sound(entry)))
            continue
        role = entry.get("role") if isinstance(entry, dict) else getattr(entry, "role", None)
        content = entry.get("content") if isinstance(entry, dict) else getattr(entry, "content", None)
        if role in ("user", "assistant") and isinstance(content, str):
            turns.append((role, _sound(content)))
    return turns


def _interpolate(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    if x <= xs[0]:
        return float(ys[0])
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x <= x1:
            return float(y0 + (y1 - y0) * ((x - x0) / (x1 - x0) if x1 > x0 else 1.0))
    return float(ys[-1])


def _sound(text: str) -> str:
    """A lone surrogate (from a broken paste or an API caller) becomes U+FFFD: left in, it makes a
    learned layer fail, and the words around it ("nobody would miss me") must still be read."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _bounded(text: str) -> tuple[str, bool]:
    """At most LONGEST characters, so a pasted book is assessed in bounded time (design/risk-levels.md)."""
    text = _sound(text)
    if len(text) <= LONGEST:
        return text, False
    half = LONGEST // 2
    return text[:half] + "\n" + text[-half:], True


def _categories(evidence: Sequence[Evidence]) -> tuple[RiskCategory, ...]:
    evidence = [e for e in evidence if e.detector != "classifier:distress"]
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



_NEVER = (Rx(r"(?!x)x"),)
DISTRESS_LOW = 0.6  # the classifier's distress class at this probability gives low (a careful frame)
def _capped(level: RiskLevel, cap: RiskLevel | None) -> RiskLevel:
    return cap if cap is not None and level_rank(level) > level_rank(cap) else level


SHORT_WORDS = 6     # a passage shorter than this: similarity alone says low at most
# A passage shorter than this needs the classifier's high cut for moderate; in English, where the
# lexicons and the similarity layer read short messages, ten words ("My mom keeps comparing me to my
# cousin" was moderate after the fourth round; design/risk-levels.md).
ENGLISH_SHORT_WORDS = 10
NEGATED_WORDS = 12  # ... and so does a short passage with a negation in it
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _word_count(passage: str) -> int:
    """Words, and in Chinese, Japanese and Korean about two characters a word."""
    return len(passage.split()) if not _UNSPACED.search(passage) else len(passage) // 2


@languages.cached
def negation_cue() -> re.Pattern[str]:
    """Negation words of every language (`negation_cues` in its folder), anywhere in a message (the
    lexicons' own negation markers only look just before a match). Used to keep the semantic layer
    away from "I would never…"."""
    cues = dict.fromkeys(cue for info in languages.languages().values() for cue in info.negation_cues)
    return re.compile("|".join(f"(?:{cue})" for cue in cues) or r"(?!x)x", re.IGNORECASE)


class LayeredAssessor(LexiconAssessor):
    """Lexicons, then the learned layers where no lexicon spoke, then an optional model's opinion.

    The learned layers (the classifier, and similarity to authored exemplars) read the message
    with the sentences that a marker explains set aside: an idiom, the distant past, a story or
    the news, or the person saying they are safe. A long post is also read in windows of a few
    sentences, so one risky passage in a long post about other things is not averaged away."""

    WINDOW_SENTENCES = 3
    WINDOW_FROM = 600  # characters: shorter messages are read whole

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
        classifier_moderate: float | None = None,
        classifier_low: float | None = None,
        classifier_model: RiskClassifier | None = None,
    ) -> None:
        from .classifier import RiskClassifier
        from .model_assess import ModelAssessor
        from .semantic import SemanticDetector

        super().__init__(languages, history_turns)
        self.semantic: SemanticDetector | None = None
        self.classifier: RiskClassifier | None = None
        try:
            self.semantic = SemanticDetector.load(threshold, margin) if semantic else None
        except Exception as exc:
            self.load_failures.append(f"the similarity layer could not load ({type(exc).__name__})")
        try:
            self.classifier = (classifier_model or RiskClassifier.load()) if classifier else None
        except Exception as exc:
            self.load_failures.append(f"the classifier could not load ({type(exc).__name__})")
        cuts = dict(getattr(self.classifier, "meta", {}).get("cuts") or {"low": 0.5, "moderate": 0.7, "high": 0.95})
        self.cuts = (classifier_low if classifier_low is not None else cuts["low"],
                     classifier_moderate if classifier_moderate is not None else cuts["moderate"],
                     max(cuts.get("high", 0.95), classifier_moderate or 0.0))
        self.cut_other = float(cuts.get("moderate_other_languages", self.cuts[2]))
        self.cut_by_language = {k: float(v) for k, v in (cuts.get("moderate_by_language") or {}).items()}
        self.model = ModelAssessor(model, model_timeout) if model is not None else None  # type: ignore[arg-type]
        self.spec = "layered"

    def readable(self, text: str, denied: Sequence[tuple[int, int]] = ()) -> list[str]:
        """The passages the learned layers read: the message without the sentences a marker explains
        (an idiom, the distant past, a frame, "I'm safe", a risk phrase the person negates), whole
        when short, else in overlapping windows of a few sentences."""
        set_aside = [span for key in ("idioms", "past", "frames", "reassurance")
                     for span in _marked_spans(text, getattr(self.markers, key), reach=1 if key == "frames" else 0)]
        set_aside += list(denied)
        kept = [text[s:e].strip() for s, e in sentence_spans(text)
                if not any(a <= s < b or s <= a < e for a, b in set_aside)]
        kept = [k for k in kept if k]
        if not kept:
            return []
        whole = ". ".join(kept)
        if len(whole) < self.WINDOW_FROM:
            return [whole]
        step = max(1, self.WINDOW_SENTENCES - 1)
        windows = [". ".join(kept[i:i + self.WINDOW_SENTENCES]) for i in range(0, len(kept), step)]
        return [whole[:4000], *windows[:200]]

    def _hits_uncached(self, text: str) -> tuple[Hit, ...]:
        hits, context = self._scan(text)
        if hits:
            return hits
        try:
            return self._learned_hits(text, context.denied)
        except Exception as exc:
            why = f"a learned layer failed ({type(exc).__name__})"
            return (Hit(Pattern("failed", "suicide", "none", _NEVER), "none", text[:200], why, "failed"),)

    def _learned_hits(self, text: str, denied: Sequence[tuple[int, int]] = ()) -> tuple[Hit, ...]:
        passages = self.readable(text, denied)
        found: list[Hit] = []
        if self.semantic is not None:
            for passage in passages[:1]:
                # Similarity does not understand "never", and its embeddings are English ones.
                if negation_cue().search(passage) or detect_language(passage).language not in ("en", "und"):
                    continue
                # A few words ("My family", "go on") are close to many exemplars and mean little on
                # their own: there similarity alone says low at most (explicit short messages are
                # the lexicons' work, as for the classifier below).
                words = _word_count(passage)
                cap: RiskLevel | None = "low" if words < SHORT_WORDS else None
                found += [
                    Hit(Pattern(f"semantic:{h.exemplar.category}", h.exemplar.category, h.exemplar.level, _NEVER),
                        _capped(h.exemplar.level, cap), passage[:200],
                        f"close to an authored example ({h.similarity:.2f}): “{h.exemplar.text}”"
                        + (" (too few words to say more than low)" if cap and _capped(h.exemplar.level, cap) != h.exemplar.level else ""),
                        "semantic", "self")
                    for h in self.semantic.hits(passage)
                ]
        if self.classifier is not None and passages:
            low, moderate, _ = self.cuts
            scored = [(self.classifier.predict(p), p) for p in passages]
            (best, passage) = max(scored, key=lambda sp: sp[0].risk)
            if best.risk < low and max(pred.distress for pred, _ in scored) >= DISTRESS_LOW:
                found.append(Hit(Pattern("classifier:distress", "suicide", "low", _NEVER), "low", passage[:200],
                                 "the classifier reads distress, with no sign of risk", "classifier:distress", "self",
                                 best.risk))
            elif best.risk >= low:
                # Its moderate cut keeps 97% of no-risk texts below. On a short passage ("thanks for
                # listening", "I'd never hurt myself") it has too little to go on: there it needs
                # the high cut for moderate. Explicit short messages are the lexicons' work.
                words = _word_count(passage)
                # Outside English it has seen only our own few hundred messages per language and
                # XSafety's prompts, and reads a sad message as a risky one more readily
                # (design/risk-encoders.md): there it has its own moderate cut, chosen the same way.
                written_in = detect_language(passage).language
                short = ENGLISH_SHORT_WORDS if written_in in ("en", "und") else SHORT_WORDS
                unsure = words < short or (words <= NEGATED_WORDS and bool(negation_cue().search(passage)))
                other = written_in not in ("en", "und")
                need = self.cuts[2] if unsure else self.cut_by_language.get(written_in, self.cut_other) if other else moderate
                # Food and meals are everyday words ("every family dinner is about her"): on its own,
                # the classifier's eating-disorder reading needs the high cut for moderate too.
                if best.category == "eating_disorder":
                    need = max(need, self.cuts[2])
                level: RiskLevel = "moderate" if best.risk >= need else "low"
                where = "" if passage == passages[0] else " in one passage"
                found.append(Hit(Pattern(f"classifier:{best.category}", best.category, level, _NEVER), level,  # type: ignore[arg-type]
                                 passage[:200], f"the classifier gives {best.risk:.2f} for "
                                 f"{best.category.replace('_', ' ')}{where}", "classifier", "self", best.risk))
        return tuple(found)

    def _score(self, level: RiskLevel, hits: Sequence[Hit], evidence: Sequence[Evidence]) -> float:
        """The calibrated probability that the message shows risk at moderate or above
        (design/risk-levels.md): the classifier's calibrated probability, or the share of risky
        texts at the level the rules gave, whichever is higher."""
        meta = getattr(self.classifier, "meta", {}) if self.classifier is not None else {}
        table, priors = meta.get("calibration"), meta.get("lexicon_priors") or {}
        if not table:
            return _score(level, evidence)
        p = max((h.p for h in hits if h.detector.startswith("classifier")), default=0.0)
        calibrated = _interpolate(p, table["p"], table["risk"]) if p > 0 else 0.0
        floor = {"none": 0.0, "low": 0.1, "moderate": 0.5, "high": 0.8, "imminent": 0.9}[level]
        prior = float(priors.get(level, floor)) if level_rank(level) >= level_rank("moderate") else 0.0
        score = max(calibrated, prior, floor if level_rank(level) >= level_rank("moderate") else 0.0)
        if level_rank(level) < level_rank("moderate"):
            score = min(score, 0.49)
        return round(min(1.0, score), 3)

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
    classifier: bool = True, classifier_moderate: float | None = None, classifier_low: float | None = None,
    classifier_model: RiskClassifier | None = None,
) -> LayeredAssessor:
    """Lexicons, semantic similarity, a small classifier and an optional model, fused with the conversation."""
    return LayeredAssessor(languages, history_turns, semantic, threshold, margin, model, model_timeout,
                           classifier, classifier_moderate, classifier_low, classifier_model)
