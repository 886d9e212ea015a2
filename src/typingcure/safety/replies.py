"""Fixed reply templates, one file per language (`languages/<code>/replies.yaml`); English fills any gap."""

from __future__ import annotations

import re

from .. import languages
from ..errors import ConfigError
from ..types import Action


@languages.cached
def _load(language: str) -> dict[str, str]:
    raw = languages.load(language, "replies") or {}
    return {k: " ".join(str(v).split()) for k, v in raw.items() if k != "language"}


def replies(language: str, script: str | None = None) -> dict[str, str]:
    """All templates for `language` (a variant for the script, such as romanised Hindi, has its own file);
    English fills any gap (tests keep every language complete)."""
    english = _load("en")
    if not english:
        raise ConfigError("languages/en/replies.yaml is missing")
    base, variant = language.split("-")[0], languages.variant_for(language, script)
    return {**english, **_load(base), **(_load(variant) if variant != base else {})}


def available_languages() -> list[str]:
    """The language folders with replies (romanised Hindi, `hi_latn`, included)."""
    return languages.with_file("replies")


# The fixed lines that put typingcure's question to the person, and what saying one did: a
# conversation given as messages only (`reply --json`, the proxy) kept no turns, so what was asked
# is read from typingcure's own earlier replies, in any language.
ASKING: dict[str, Action] = {
    "ask_directly": "asked_about_suicide", "check_in": "checked_in", "self_harm_moderate": "asked_about_safety",
    "eating_disorder_moderate": "asked_about_safety", "psychosis_moderate": "asked_about_safety",
    "crisis_high": "asked_about_safety", "self_harm_high": "asked_about_safety", "abuse_high": "asked_about_safety",
    "harm_to_others_high": "asked_about_safety", "psychosis_high": "asked_about_safety",
    "crisis_imminent": "asked_about_safety", "medical_imminent": "asked_about_safety",
}
_SENTENCE = re.compile(r"[^.!?。！？؟]*[?？؟]")


@languages.cached
def _asking() -> tuple[tuple[str, Action], ...]:
    """(a question sentence of a fixed line, its action), for every language's lines."""
    found: dict[str, Action] = {}
    for code in available_languages():
        lines = _load(code)
        for key, action in ASKING.items():
            for question in _SENTENCE.findall(lines.get(key, "")):
                question = question.strip()
                if len(question) >= 12 and "{" not in question and "}" not in question:
                    found.setdefault(question, action)
    return tuple(found.items())


def asked_in(reply: str) -> tuple[Action, ...]:
    """What an earlier reply of typingcure's asked, read from its fixed questions ("are you having
    thoughts of ending your life?" -> asked_about_suicide)."""
    said = " ".join(reply.split())
    return tuple(dict.fromkeys(action for question, action in _asking() if question in said))
