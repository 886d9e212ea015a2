"""Replies composed from authored parts, for turns where the model's judgement is not trusted.

    parts = compose_parts("hi", "latin")          # romanised Hindi: languages/hi_latn/compose.yaml
    situation = situation_of(risk, text, parts)   # "suicide", "mania", "compulsion", ... or None
    reply = careful_reply(situation, parts, said=earlier_replies, seed=len(earlier_replies))
    reply = listening_reply(text, parts, said=earlier_replies, seed=...)

With a model that is not known to be capable (the bundled one), the policy composes the reply at
moderate risk and in sensitive situations (eating-disorder signs, mania or psychosis cues, a
compulsion that must be done now, abuse) from a reflection and a validating line chosen by
situation; the fixed question and the care card follow as before. Where the model is weak in the
person's language or script, everyday listening is composed the same way: a reflection chosen by
what the message is about, a validating line, and one open question.

A line already said in this conversation is not said again while another is left; when every line
has been used, the one said longest ago is chosen. Never the same wording twice in a row.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterable, Sequence

from .. import languages
from ..errors import ConfigError
from ..types import RiskAssessment, at_least

Patterns = tuple[re.Pattern[str], ...]

# Situations whose reply is composed when the model is not capable, even below moderate risk.
SENSITIVE = ("eating_disorder", "mania", "psychosis", "compulsion", "abuse")
# Tried in this order: good news first (a promotion is not strain at work); a loss or caring for
# someone names a relative too, so family comes last.
SITUATIONS = ("good_news", "grief", "caring", "heartbreak", "loneliness", "money", "study", "work", "family")


@dataclass(frozen=True)
class ComposeParts:
    language: str  # the folder's name: a language code, or a variant such as hi_latn
    reflect: dict[str, tuple[str, ...]]
    validate: dict[str, tuple[str, ...]]
    listen_situations: dict[str, Patterns]
    listen_reflect: dict[str, tuple[str, ...]]
    listen_validate: tuple[str, ...]
    listen_ask: tuple[str, ...]
    good_ask: tuple[str, ...]
    echo: tuple[str, ...]
    contrast: Patterns
    heard: tuple[str, ...]
    unheard: Patterns
    cues: dict[str, Patterns]

    @property
    def can_listen(self) -> bool:
        return bool(self.listen_ask and self.listen_reflect.get("general"))


def _lines(node: Any, where: str) -> tuple[str, ...]:
    if node is None:
        return ()
    if not isinstance(node, list) or not all(isinstance(x, str) and x.strip() for x in node):
        raise ConfigError(f"{where} must be a list of non-empty lines")
    return tuple(" ".join(x.split()) for x in node)


def _echo_lines(node: Any, where: str) -> tuple[str, ...]:
    lines = _lines(node, where)
    if any(line.count("{words}") != 1 for line in lines):
        raise ConfigError(f"{where}: every line needs exactly one {{words}}")
    return lines


def _patterns(node: Any, where: str) -> Patterns:
    try:
        return tuple(re.compile(str(p), re.IGNORECASE) for p in _lines(node, where))
    except re.error as exc:
        raise ConfigError(f"{where}: invalid regex ({exc})") from None


def file_name(language: str, script: str | None = None) -> str:
    """The folder whose parts to use: a variant for the script has its own (romanised Hindi: Latin
    letters are not Devanagari)."""
    return languages.variant_for(language, script)


@languages.cached
def _load(name: str) -> ComposeParts | None:
    raw = languages.load(name, "compose")
    if raw is None:
        return None
    where = languages.where(name, "compose")
    listen = raw.get("listen") or {}
    return ComposeParts(
        language=name,
        reflect={k: _lines(v, f"{where} reflect.{k}") for k, v in (raw.get("reflect") or {}).items()},
        validate={k: _lines(v, f"{where} validate.{k}") for k, v in (raw.get("validate") or {}).items()},
        listen_situations={k: _patterns(v, f"{where} listen.situations.{k}")
                           for k, v in (listen.get("situations") or {}).items()},
        listen_reflect={k: _lines(v, f"{where} listen.reflect.{k}") for k, v in (listen.get("reflect") or {}).items()},
        listen_validate=_lines(listen.get("validate"), f"{where} listen.validate"),
        listen_ask=_lines(listen.get("ask"), f"{where} listen.ask"),
        good_ask=_lines(listen.get("good_ask"), f"{where} listen.good_ask"),
        echo=_echo_lines(listen.get("echo"), f"{where} listen.echo"),
        contrast=_patterns(listen.get("contrast"), f"{where} listen.contrast"),
        heard=_lines(listen.get("heard"), f"{where} listen.heard"),
        unheard=_patterns(listen.get("unheard_cues"), f"{where} listen.unheard_cues"),
        cues={k: _patterns(v, f"{where} cues.{k}") for k, v in (raw.get("cues") or {}).items()},
    )


def compose_parts(language: str, script: str | None = None) -> ComposeParts:
    """The authored parts for the person's language and script; English when there are none."""
    found = _load(file_name(language, script)) or _load(file_name(language))
    english = _load("en")
    if english is None:
        raise ConfigError("languages/en/compose.yaml is missing")
    return found or english


def available() -> list[str]:
    """The language folders with composed parts (romanised Hindi, `hi_latn`, included)."""
    return languages.with_file("compose")


def cue(parts: ComposeParts, name: str, texts: Iterable[str]) -> bool:
    """Does any text show the cue (`compulsion`, `mania`, `psychosis`), in this language or English?"""
    english = _load("en")
    rules = parts.cues.get(name, ()) + (english.cues.get(name, ()) if english and english is not parts else ())
    return any(rule.search(text) for text in texts for rule in rules)


def situation_of(risk: RiskAssessment, text: str, parts: ComposeParts) -> str | None:
    """What a careful reply is about: the risk category, or a sensitive situation (the cue words in
    `cues`, or a category the assessor found even at low risk); None for everyday talk."""
    categories = set(risk.categories)
    serious = at_least(risk.level, "moderate")
    if risk.about == "someone_else" and serious:
        return "someone_else"
    if cue(parts, "psychosis", [text]):
        return "psychosis"
    if cue(parts, "mania", [text]):
        return "mania"
    for category in ("suicide", "self_harm"):
        if category in categories and serious:
            return category
    guessed = [e for e in risk.evidence if e.category == "psychosis_mania"]
    if "psychosis_mania" in categories and (serious or not all(e.detector.startswith(("classifier", "semantic"))
                                                               for e in guessed)):
        # A learned layer's low guess alone ("so stressed I haven't slept properly in days": 0.45) is
        # not answered as racing energy or voices the person never wrote of; the cues above are.
        return "mania" if any("mania" in e.explanation for e in risk.evidence) else "psychosis"
    for category in ("eating_disorder", "abuse", "self_harm"):
        if category in categories and at_least(risk.level, "low"):
            return category
    if cue(parts, "compulsion", [text]):
        return "compulsion"
    if serious:
        return "suicide" if "suicide" in categories else "distress"
    return None


def learned_only(risk: RiskAssessment) -> bool:
    """Is the concern only a learned layer's reading (the classifier or the similarity layer), with no
    explicit words? Then a composed reply does not say back thoughts of suicide the person never
    wrote: it reflects the heaviness, and the direct question asks."""
    serious = [e for e in risk.evidence if at_least(e.level, "moderate")]
    return bool(serious) and all(e.detector.startswith(("classifier", "semantic")) for e in serious)


def carried_over(risk: RiskAssessment) -> bool:
    """Is the risk only what was said earlier (this message adds nothing)? Then a composed reply
    reflects this message, and the check-in keeps the earlier concern."""
    earlier = [e for e in risk.evidence if "earlier in the conversation" in e.explanation]
    now = [e for e in risk.evidence if e not in earlier]
    return bool(earlier) and not any(at_least(e.level, "moderate") for e in now)


def normalise(sentence: str) -> str:
    return re.sub(r"[\W_]+", " ", sentence.lower()).strip()


def _choose(options: Sequence[str], said: Sequence[str], seed: int, spare: Sequence[str] = ()) -> str:
    """A line not said yet in this conversation (picked by seed); else one of `spare` not said yet
    (a more general line); else the one said longest ago."""
    if not options:
        return ""
    spoken = [normalise(s) for s in said]
    for pool in (options, spare):
        fresh = [o for o in pool if not any(normalise(o) in s for s in spoken)]
        if fresh:
            return fresh[seed % len(fresh)]

    def last_said(option: str) -> int:
        key = normalise(option)
        return max(i for i, s in enumerate(spoken) if key in s)

    return min(options, key=last_said)


def _spaced(code: str) -> bool:
    info = languages.languages().get(code)
    return info is None or info.spaced


def join(pieces: Sequence[str], parts: ComposeParts) -> str:
    """Sentences joined as the language writes them (Chinese and Japanese: no space between)."""
    glue = " " if _spaced(parts.language) else ""
    return glue.join(p for p in pieces if p)


def _seed(text: str, turn: int) -> int:
    return zlib.crc32(f"{turn}:{text}".encode())


def careful_reply(situation: str, parts: ComposeParts, *, text: str = "", said: Sequence[str] = (),
                  with_reflection: bool = True) -> str:
    """A reflection and a validating line for a careful turn (the question and card are added by
    the policy). `with_reflection=False` when the question that follows reflects already."""
    english = compose_parts("en")
    reflect = parts.reflect.get(situation) or parts.reflect.get("distress") or english.reflect["distress"]
    validate = (parts.validate.get(situation) or ()) + (parts.validate.get("any") or ())
    seed = _seed(text, len(said))
    spare = parts.reflect.get("distress") or english.reflect["distress"]
    pieces = [_choose(reflect, said, seed, spare)] if with_reflection else []
    pieces.append(_choose(validate or english.validate["any"], said, seed // 7))
    return join(pieces, parts)


def listening_situation(text: str, parts: ComposeParts) -> str:
    for name in SITUATIONS:
        if any(rule.search(text) for rule in parts.listen_situations.get(name, ())):
            return name
    return "general"


def good_news(text: str, parts: ComposeParts, situation: str | None = None) -> bool:
    """Good news, and nothing turned after it ("I got the promotion, but nobody at home cares" is not)."""
    situation = situation or listening_situation(text, parts)
    mixed = [*parts.contrast, *parts.listen_situations.get("grief", ())]  # "…but", or a loss in the same message
    return (situation == "good_news" and bool(parts.listen_reflect.get("good_news")) and bool(parts.good_ask)
            and not any(rule.search(text) for rule in mixed))


def open_question(text: str, parts: ComposeParts, said: Sequence[str] = ()) -> str:
    """One authored open question not asked yet in this conversation (after a model's reflection);
    after good news, one of its own."""
    good = good_news(text, parts)
    return _choose(parts.good_ask if good else parts.listen_ask, said, _seed(text, len(said)) // 11)


# Clauses of a message, split where its punctuation splits them.
_CLAUSE = re.compile(r"[^.!?…。！？؟;；\n,،、，:：()\[\]]+")
_QUOTE_TRIM = " \t\"'“”„«»‘’「」『』-–—*_~"
# A message that thanks or asks is answered, not quoted back.
_THANKS = re.compile(
    r"\b(thank|thanks|thx|ty|god bless|gracias|obrigad[oa]|valeu|merci|danke|asante|terima ?kasih|makasih|"
    r"te[sş]ekk[üu]r|sa[gğ] ?ol|shukriya|dhanyavaad|dhanyawad|jare)\b|شكر|ممنون|مرسی|спасибо|감사|고마|ありがと|谢谢|धन्यवाद|शुक्रिया",
    re.IGNORECASE)
_UNSAFE_TO_QUOTE = re.compile(r"https?://|www\.|\S@\S|\d{4,}|[<>{}]")
# A clause that asks, even without a question mark, is answered and never quoted back.
_ASKS = re.compile(
    r"^\W*(how|what|where|which|who|why|when|can|could|should|would|is|are|do|does|did|will|any|"
    r"c[oó]mo|qu[eé]|d[oó]nde|cu[aá]l|cu[aá]nt[oa]s?|por ?qu[eé]|puedo|onde|quanto|posso|comment|o[uù]|quel(le)?s?|"
    r"combien|pourquoi|est-ce|wie|was|wo|welche[rs]?|warum|kann|soll|bagaimana|apa|di ?mana|berapa|kenapa|gimana|"
    r"vipi|nini|wapi|ngapi|kwa ?nini|nasıl|ne|nerede|nereden|kaç|neden|kaise|kya|kahan|kitn[ae]|kyun|wetin|how far|where)\b",
    re.IGNORECASE)


def _fits(clause: str, unspaced: bool) -> bool:
    if unspaced:
        return 4 <= len(clause) <= 18
    words = clause.split()
    return 3 <= len(words) <= 8 and len(clause) <= 60 and max(len(w) for w in words) <= 24


def echo_phrase(text: str, parts: ComposeParts) -> str | None:
    """A short phrase of the person's own to quote back as they wrote it: the part after a turn
    ("…but it weighs on me") when there is one, else their longest clause of three to eight words
    (four to eighteen characters in Chinese and Japanese). None for a question, thanks, a link or an
    address, long numbers, or when no clause fits."""
    text = " ".join(text.split())
    if not text or re.search(r"[?？؟]", text) or _THANKS.search(text) or _UNSAFE_TO_QUOTE.search(text):
        return None
    phrase = _phrase(text, parts)
    return None if phrase is None or _ASKS.search(phrase) else phrase


def _phrase(text: str, parts: ComposeParts) -> str | None:
    unspaced = not _spaced(parts.language)
    for rule in parts.contrast:
        turns = list(rule.finditer(text))
        if turns:
            after = _CLAUSE.match(text, turns[-1].end()) or _CLAUSE.search(text, turns[-1].end())
            tail = after.group(0).strip(_QUOTE_TRIM) if after else ""
            if tail and _fits(tail, unspaced):
                return tail
    clauses = [c.strip(_QUOTE_TRIM) for c in _CLAUSE.findall(text)]
    fitting = [(len(c.split()) if not unspaced else len(c), i, c) for i, c in enumerate(clauses) if c and _fits(c, unspaced)]
    return max(fitting)[2] if fitting else None


def echo_line(text: str, parts: ComposeParts, said: Sequence[str] = (), seed: int = 0) -> str:
    """A reflection in the person's own words ("You said “…”, and I'm taking that in."), or ""."""
    words = echo_phrase(text, parts) if parts.echo else None
    if not words:
        return ""
    # A frame is known by its own words, the quote left out: one not used yet in this conversation,
    # else the one used longest ago.
    spoken = [normalise(s) for s in said]

    def last_used(frame: str) -> int:
        pieces = [normalise(p) for p in frame.split("{words}") if normalise(p)]
        used = [i for i, s in enumerate(spoken) if pieces and all(p in s for p in pieces)]
        return max(used) if used else -1

    fresh = [f for f in parts.echo if last_used(f) < 0]
    template = fresh[seed % len(fresh)] if fresh else min(parts.echo, key=last_used)
    return template.replace("{words}", words)


def names_risk(risk: RiskAssessment) -> bool:
    """Does this message itself hold explicit risk words (a lexicon, an answer, a model's reading)?
    Then nothing of it is quoted back."""
    return any(e.detector.startswith(("lexicon", "answer", "model")) and "earlier in the conversation" not in e.explanation
               for e in risk.evidence)


def listening_reply(text: str, parts: ComposeParts, *, said: Sequence[str] = (), question: bool = True,
                    quote: bool = True) -> str:
    """Everyday listening from authored lines: a reflection, a validating line, and one open
    question (none when a question from typingcure follows). The reflection is in the person's own
    words (a short phrase of theirs, quoted) on every other turn and whenever no situation is
    recognised, else a line for the situation. Good news gets a reflection and a question of its
    own and no line about heaviness. When the person says they are not being heard, an honest
    acknowledgement comes first."""
    seed = _seed(text, len(said))
    pieces: list[str] = []
    if any(rule.search(text) for rule in parts.unheard):
        pieces.append(_choose(parts.heard, said, seed))
    situation = listening_situation(text, parts)
    good = good_news(text, parts, situation)
    if situation == "good_news" and not good:
        situation = "general"
    echo = echo_line(text, parts, said, seed // 13) if quote and not good and (
        situation == "general" or len(said) % 2 == 1) else ""
    if echo:
        pieces.append(echo)
    else:
        reflect = parts.listen_reflect.get(situation) or parts.listen_reflect.get("general", ())
        pieces.append(_choose(reflect, said, seed // 3, parts.listen_reflect.get("general", ())))
    if not good and (len(said) % 2 == 1 or not question):  # a validating line every other turn keeps replies short
        pieces.append(_choose(parts.listen_validate, said, seed // 5))
    if question:
        asks = parts.good_ask if good and parts.good_ask else parts.listen_ask
        pieces.append(_choose(asks, said, seed // 11))
    return join(pieces, parts)
