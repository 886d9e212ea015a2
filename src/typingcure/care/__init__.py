"""Care over time: the bond a person feels with typingcure, time, their own outcomes, a summary.

    bond_of("you're the only one who understands me")   # "exclusive"
    care_line("nudge_break", "fr", minutes=45)            # a line of languages/fr/care.yaml
    care_lines("widen", "sw")                             # the variants of a line, in Swahili

The words are in each language's `care.yaml` (English fills any gap); what the person chose and
did over time is kept, encrypted, in the store's records `usage`, `outcomes` and `summaries`
(typingcure.care.usage, .outcomes, .summary). Design and choices: design/care.md.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from .. import languages
from ..safety.assess import Rx, literals_of

__all__ = ["BONDS", "Bond", "bond_language", "bond_of", "bond_share", "care_line", "care_lines", "care_web", "folded", "plain_error"]

Bond = Literal["exclusive", "love", "human", "leave"]
BONDS: tuple[Bond, ...] = ("exclusive", "love", "human", "leave")


def _codes(language: str, script: str | None) -> list[str]:
    """English first, then the language and its variant for the script, where they have the file."""
    base, variant = (language or "en").split("-")[0], languages.variant_for(language or "en", script or None)
    return ["en", *(c for c in dict.fromkeys((base, variant)) if c != "en" and c in languages.with_file("care"))]


@languages.cached
def _lines(code: str) -> dict[str, Any]:
    return dict((languages.load(code, "care") or {}).get("lines") or {})


def _merged(language: str, script: str | None) -> dict[str, Any]:
    lines: dict[str, Any] = {}
    for code in _codes(language, script):
        for key, value in _lines(code).items():
            if isinstance(value, dict) and isinstance(lines.get(key), dict):
                lines[key] = {**lines[key], **{k: v for k, v in value.items() if v}}
            elif value:
                lines[key] = value
    return lines


def care_lines(key: str, language: str = "en", script: str | None = None, kind: str | None = None) -> list[str]:
    """The variants of a line (a list in the file, or one line), `kind` picking within a mapping."""
    value = _merged(language, script).get(key)
    if kind is not None:
        value = (value or {}).get(kind) if isinstance(value, dict) else None
    if value is None:
        raise KeyError(f"care line {key!r}{f' ({kind})' if kind else ''} is missing from languages/en/care.yaml")
    return [" ".join(str(v).split()) for v in (value if isinstance(value, list) else [value])]


def care_line(key: str, language: str = "en", script: str | None = None, **fill: Any) -> str:
    """One line, filled (`{minutes}`, `{coping}` ...)."""
    return care_lines(key, language, script)[0].format(**fill)


@languages.cached
def care_web(language: str = "en") -> dict[str, str]:
    """Every single line of a language (English filling gaps), for the web pages' templates."""
    return {k: " ".join(str(v).split()) for k, v in _merged(language, None).items() if isinstance(v, str)}


def folded(text: str) -> str:
    """How cues read a message: NFKC, case folded, curly apostrophes straight, spaces single."""
    return " ".join(unicodedata.normalize("NFKC", text).replace("’", "'").casefold().split())


@languages.cached
def _cues() -> dict[str, tuple[tuple[str, Rx], ...]]:
    """Every language's cues, by kind, with the language each is of: a message is read with all of
    them (people mix languages). Each is an `Rx`: a cue whose literals a message lacks is not run."""
    cues: dict[str, list[tuple[str, Rx]]] = {kind: [] for kind in BONDS}
    for code in languages.with_file("care"):
        raw = (languages.load(code, "care") or {}).get("cues") or {}
        for kind, patterns in raw.items():
            if kind not in cues:
                raise ValueError(f"{languages.where(code, 'care')}: unknown cue kind {kind!r}; one of {BONDS}")
            cues[kind] += [(code, Rx(p, languages.where(code, "care"))) for p in patterns or ()]
    return {kind: tuple(v) for kind, v in cues.items()}


@languages.cached
def _cue_index() -> tuple[dict[str, tuple[tuple[int, str, str, Rx], ...]], tuple[tuple[int, str, str, Rx], ...]]:
    """The cues by a literal each must contain (one of its first set), and those that need none,
    each with its place in `_cues()`: a message is tried only against cues whose literal it holds."""
    by_literal: dict[str, list[tuple[int, str, str, Rx]]] = {}
    always: list[tuple[int, str, str, Rx]] = []
    cues = [(kind, code, p) for kind, patterns in _cues().items() for code, p in patterns]
    for place, (kind, code, p) in enumerate(cues):
        entry = (place, kind, code, p)
        if not p.needs:
            always.append(entry)
        for literal in p.needs[0] if p.needs else ():
            by_literal.setdefault(literal, []).append(entry)
    return {k: tuple(v) for k, v in by_literal.items()}, tuple(always)


def _found(said: str) -> list[tuple[str, str]]:
    """(kind, language) of every cue the folded message matches, in the order of `_cues()`."""
    by_literal, always = _cue_index()  # first: making the cues adds their literals to what a text is read for
    held = literals_of(said)
    tried = {entry for lit in held for entry in by_literal.get(lit, ())} | set(always)
    return [(kind, code) for _, kind, code, p in sorted(tried, key=lambda entry: entry[0])
            if p.may_match(said, held) and p.regex.search(said)]


def bond_language(text: str) -> str | None:
    """The language whose words about the bond a message uses, other than English where another's
    match too ("¿eres real?" is too short for the detector, but its cue is Spanish's)."""
    found = [code for _, code in _found(folded(text))]
    return next((c for c in found if c != "en"), found[0] if found else None)


def bond_share(text: str) -> float:
    """How much of a message its words about the bond take up (0 to 1): "you're the only one who gets
    me" is nearly all of it; a long message that mentions it in passing is mostly about other things."""
    said = folded(text)
    if not said:
        return 0.0
    cues = _cues()
    held = literals_of(said)
    spans = [m.span() for patterns in cues.values() for _, p in patterns if p.may_match(said, held) for m in p.matches(said)]
    covered = set().union(*(range(a, b) for a, b in spans)) if spans else set()
    return len(covered) / len(said)


def bond_of(text: str) -> Bond | None:
    """What a message says about the bond with typingcure, if it does: the person's only support
    (`exclusive`), love (`love`), whether it is a person or feels (`human`), fear it will go (`leave`)."""
    said = folded(text)
    if not said or len(said) > 2000:
        return None  # a long post is about the person's life, not about the bond
    found = _found(said)
    return found[0][0] if found else None  # type: ignore[return-value]


def plain_error(exc: ValueError) -> str:
    """A pydantic or plain ValueError as one line a person can read."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in errors())
    return str(exc)
