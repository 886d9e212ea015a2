"""A small, offline language detector for short messages.

Non-Latin scripts decide by script (as the folders have it: Hangul -> ko, kana -> ja, Han -> zh, Devanagari -> hi,
Arabic script -> ar or fa, Cyrillic -> ru). Latin-script text is decided by counting common
function words per language; too few hits means "unknown" and the caller falls back to the
language the person chose in their profile. It never guesses from a name or a country.
Which script and which words tell a language are in its folder (`detect` in
languages/<code>/language.yaml); nothing here names a language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .. import languages as _languages
from ..languages import Derived, LanguageInfo, cached

# Each language's name in that language: what a person who reads no English looks for.
OWN_NAMES: Derived = Derived(_languages.own_names)


@cached
def _words() -> dict[str, frozenset[str]]:
    """Common small words by language folder (a variant such as hi_latn by its own code)."""
    return {code: frozenset(info.detect.words) for code, info in _languages.languages().items() if info.detect.words}


@cached
def _counted_scripts() -> frozenset[str]:
    return frozenset({"LATIN", *(s for info in _languages.languages().values()
                                  for s in (*info.detect.scripts, *info.detect.needs_scripts))})


@cached
def _forms(code: str) -> re.Pattern[str] | None:
    forms = _languages.language(code).detect.forms
    return re.compile("|".join(forms), re.IGNORECASE) if forms else None


def _sounds_like(info: LanguageInfo, text: str, words: list[str]) -> bool:
    """A language that shares its small words with another (Nigerian Pidgin with English) is told by
    its own words and forms: points for each (a form three, at most two forms counted)."""
    forms = _forms(info.code)
    found = len(forms.findall(text)) if forms is not None else 0
    points = sum(info.detect.points.get(w, 0) for w in words) + 3 * min(2, found)
    return points >= info.detect.enough


_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class Detected:
    language: str  # "und" when unknown
    confidence: float
    script: str


def _script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    counted = _counted_scripts()  # the scripts some language is told by, and Latin
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        script = name.split(" ")[0]
        if script in counted:
            counts[script] = counts.get(script, 0) + 1
        else:
            counts["OTHER"] = counts.get("OTHER", 0) + 1
    return counts


def common_words(language: str) -> frozenset[str]:
    """The small words detection counts for a Latin-script language, or for its way of being written in
    Latin letters (hi: hi_latn's); empty when it has none."""
    words = _words()
    return words.get(language) or words.get(_languages.variant_for(language, "latin"), frozenset())


def script_letters(text: str) -> dict[str, int]:
    """Letters per script, lower case (`latin`, `devanagari`, `cjk`, `hiragana`, ... `other`)."""
    return {k.lower(): v for k, v in _script_counts(text).items()}


def _by_script(script: str, counts: dict[str, int], text: str) -> LanguageInfo | None:
    """The language told by a (non-Latin) majority script: one that needs a sign of its own (kana
    for Japanese, a Persian letter for Persian) when the sign is there, else the one that needs none."""
    claims = [info for info in _languages.languages().values() if script in info.detect.scripts]
    plain = None
    for info in claims:
        needs = info.detect
        if not (needs.needs_scripts or needs.needs_letters):
            plain = plain or info
        elif any(counts.get(s, 0) for s in needs.needs_scripts) or any(ch in needs.needs_letters for ch in text):
            return info
    return plain


def detect(text: str) -> Detected:
    counts = _script_counts(text[:4000])
    total = sum(counts.values())
    if total == 0:
        return Detected("und", 0.0, "none")
    script = max(counts, key=lambda k: counts[k])
    share = counts[script] / total
    if script != "LATIN":
        told = _by_script(script, counts, text)
        if told is None:
            return Detected("und", 0.0, script.lower())
        return Detected(told.base, share, told.detect.label or script.lower())
    words = [w.lower() for w in _WORD.findall(text[:4000])]
    if not words:
        return Detected("und", 0.0, "latin")
    infos = _languages.languages()
    # A language `like` another (Pidgin's small words are English ones: "no", "be", "go") is told by its own.
    scores = {code: sum(w in vocab for w in words) for code, vocab in _words().items() if not infos[code].detect.like}
    if not scores:
        return Detected("und", 0.0, "latin")
    best = max(scores, key=lambda k: scores[k])
    alike = [info for info in infos.values() if info.detect.like]
    scores.update(dict.fromkeys((info.code for info in alike), 0))
    for info in alike:
        other = info.detect.like or ""
        if (best == other or scores[best] <= max(1, scores.get(other, 0))) and _sounds_like(info, text[:4000], words):
            best, scores[info.code] = info.code, max(scores.values()) + 1
    hits = scores[best]
    runner_up = max((v for k, v in scores.items() if k != best), default=0)
    if hits == 0 or hits == runner_up:
        return Detected("und", 0.0, "latin")
    confidence = min(1.0, hits / max(3, len(words) * 0.3)) * (1 - runner_up / (hits + runner_up))
    return Detected(infos[best].base, round(confidence, 2), "latin")  # romanised Hindi is Hindi
