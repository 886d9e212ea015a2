"""A small, offline language detector for short messages.

Non-Latin scripts decide by script (Hangul -> ko, kana -> ja, Han -> zh, Devanagari -> hi,
Arabic script -> ar or fa, Cyrillic -> ru). Latin-script text is decided by counting common
function words per language; too few hits means "unknown" and the caller falls back to the
language the person chose in their profile. It never guesses from a name or a country.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Each language's name in that language: what a person who reads no English looks for.
OWN_NAMES: dict[str, str] = {
    "en": "English", "es": "Español", "pt": "Português", "fr": "Français", "de": "Deutsch", "ru": "Русский",
    "ko": "한국어", "zh": "中文", "ja": "日本語", "hi": "हिन्दी", "ar": "العربية", "fa": "فارسی",
    "tr": "Türkçe", "id": "Bahasa Indonesia", "sw": "Kiswahili", "pcm": "Naijá (Pidgin)",
}

_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("i the and to a of my me is it that you not this was have just feel don't can't i'm with for "
                    "today all day bad good what so but when because".split()),
    "es": frozenset("yo el la los las que de no me mi es y en un una lo por con estoy siento quiero muy pero todos "
                    "todo día días hoy qué sé mal bien tengo hay también porque cuando".split()),
    "pt": frozenset("eu o a os as que de não me meu minha é e em um uma com estou sinto quero muito mas você hoje "
                    "tudo dia dias mal bem tenho também porque quando isso".split()),
    "fr": frozenset("je le la les que de ne pas me mon ma est et en un une avec suis sens veux très mais tu "
                    "aujourd'hui tout jour mal bien ai aussi parce quand ça".split()),
    "de": frozenset("ich der die das und zu nicht mich mein meine ist es ein eine mit bin fühle will sehr aber du".split()),
    "tr": frozenset("ben bir ve bu çok değil ama benim beni için ile mi ne gibi istiyorum hissediyorum da de".split()),
    "id": frozenset("saya aku tidak yang dan ini itu di ke dengan ingin merasa sangat tapi kamu sudah mau".split()),
    "sw": frozenset("mimi na ya wa ni sana siwezi nataka kwa lakini wewe hii katika nina sijui hapana".split()),
    "pcm": frozenset("dey wetin no be go na abeg una dem una don wan sabi pikin oga sef comot wahala wey abi sha "
                     "oya nawa chop shey".split()),
    "hi-latn": frozenset("main mujhe mera meri hai nahi nahin kya aur ko bahut hoon hun raha rahi kuch bhi".split()),
}

# Nigerian Pidgin shares most of its words with English. Its own words (three points; "dey" two,
# since texting English writes it for "they"), words it shares with slang (one point) and its own
# forms ("I don tire", "e no fit", "see am", "I know say", "sorry o": three points) tell it; three
# points make Pidgin ("no wahala" alone is Nigerian English).
_PIDGIN = {**dict.fromkeys("wetin abeg una pikin sabi comot wahala nawa oya gbege katakata nko".split(), 3),
           "dey": 2, **dict.fromkeys("oga sef wey abi dem sha jare don wan na".split(), 1)}
_PIDGIN_FORMS = re.compile(
    r"\b(i|e|we|dem|you|u|una|she|he)\s+((just|still|also|really|don|go)\s+)?(don|dey|wan|no\s+fit|go\s+dey)\s+[^\W\d_]+"
    r"|\bna\s+(im|so|wetin|why|how|who|dem|una|me|my|your|because|just|the|true)\b|\bmake\s+(i|we|una|e|dem)\s+"
    r"|\bno\s+(dey|fit|wan|sabi|be|get|reach)\b|^\W*how\s+far\b|\b(no\s+vex|e\s+be\s+like|small\s+small|well\s+well"
    r"|e\s+no\s+easy)\b|\b(see|call|tell|ask|give|help|miss|know|beg|hear|follow|carry|think|talk\s+to|meet|visit"
    r"|pay|leave|find|sit\s+with)\s+am\b|\b(know|think|talk|tell|hear|thank\s+you|without|sure)\s+say\b"
    r"|\w\s+o+\s*(?:[.!?,]|$)",
    re.IGNORECASE,
)


def sounds_pidgin(text: str, words: list[str]) -> bool:
    points = sum(_PIDGIN.get(w, 0) for w in words) + 3 * min(2, len(_PIDGIN_FORMS.findall(text)))
    return points >= 3


_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@dataclass(frozen=True)
class Detected:
    language: str  # "und" when unknown
    confidence: float
    script: str


def _script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        script = name.split(" ")[0]
        if script in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "DEVANAGARI", "ARABIC", "CYRILLIC", "LATIN"):
            counts[script] = counts.get(script, 0) + 1
        else:
            counts["OTHER"] = counts.get("OTHER", 0) + 1
    return counts


def common_words(language: str) -> frozenset[str]:
    """The small words detection counts for a Latin-script language (empty when it has none)."""
    return _WORDS.get("hi-latn" if language == "hi" else language, frozenset())


def script_letters(text: str) -> dict[str, int]:
    """Letters per script, lower case (`latin`, `devanagari`, `cjk`, `hiragana`, ... `other`)."""
    return {k.lower(): v for k, v in _script_counts(text).items()}


def detect(text: str) -> Detected:
    counts = _script_counts(text[:4000])
    total = sum(counts.values())
    if total == 0:
        return Detected("und", 0.0, "none")
    script = max(counts, key=lambda k: counts[k])
    share = counts[script] / total
    if counts.get("HIRAGANA", 0) + counts.get("KATAKANA", 0) > 0 and script in ("CJK", "HIRAGANA", "KATAKANA"):
        return Detected("ja", share, "kana")
    by_script = {"HANGUL": "ko", "CJK": "zh", "DEVANAGARI": "hi", "CYRILLIC": "ru"}
    if script in by_script:
        return Detected(by_script[script], share, script.lower())
    if script == "ARABIC":
        persian = any(ch in "پچژگکی" for ch in text)
        return Detected("fa" if persian else "ar", share, "arabic")
    if script != "LATIN":
        return Detected("und", 0.0, script.lower())
    words = [w.lower() for w in _WORD.findall(text[:4000])]
    if not words:
        return Detected("und", 0.0, "latin")
    # Pidgin's common words are English words ("no", "be", "go"): it is told by its own (sounds_pidgin).
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in _WORDS.items() if lang != "pcm"}
    best = max(scores, key=lambda k: scores[k])
    scores["pcm"] = 0
    if (best == "en" or scores[best] <= max(1, scores["en"])) and sounds_pidgin(text[:4000], words):
        best, scores["pcm"] = "pcm", max(scores.values()) + 1
    hits = scores[best]
    runner_up = max(v for k, v in scores.items() if k != best)
    if hits == 0 or hits == runner_up:
        return Detected("und", 0.0, "latin")
    confidence = min(1.0, hits / max(3, len(words) * 0.3)) * (1 - runner_up / (hits + runner_up))
    return Detected("hi" if best == "hi-latn" else best, round(confidence, 2), "latin")
