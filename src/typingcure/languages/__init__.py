"""Languages: one folder each, found by looking; every list of languages is read from the folders.

    languages()                      # {"ar": Language(...), "de": ..., "hi_latn": ..., ...}
    language("fa").own_name          # "فارسی"
    load("sw", "replies")            # the parsed replies.yaml of sw, or None when it has none
    interface_strings()["ko"]        # the web interface's words, English for any missing key

A folder `<code>/` holds `language.yaml` (required: its names, script, detection words and
negation cues; `LanguageInfo` below is its schema) and any of `lexicon.yaml`, `replies.yaml`,
`plan.yaml`, `compose.yaml`, `interface.yaml` and `guards.yaml`. The built-in folders are in
this package; `TYPINGCURE_LANGUAGES_DIR` (one or more folders, separated like PATH) adds more,
read after `reload()`. Layout, schemas and why: design/architecture.md, "A language is one folder".

This module owns finding and checking the files; what each file means is owned by its reader
(lexicons: safety/assess.py, replies: safety/replies.py, plan: safety/plan.py, composed parts:
safety/compose.py, guard patterns: safety/guards.py, detection: culture/language.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache, wraps
from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import _yaml
from ..errors import ConfigError

__all__ = [
    "ENV", "KINDS", "SCRIPT_LETTERS", "Derived", "Detection", "LanguageInfo", "cached", "english_names", "interface_strings",
    "language", "language_file", "languages", "load", "own_names", "reload", "variant_for", "where", "with_file",
]

Kind = Literal["language", "lexicon", "replies", "plan", "compose", "interface", "guards", "roles", "exercises", "care"]
KINDS: tuple[Kind, ...] = ("language", "lexicon", "replies", "plan", "compose", "interface", "guards", "roles", "exercises",
                           "care")
ENV = "TYPINGCURE_LANGUAGES_DIR"
# The letters a message must contain for a lexicon to run (`script` / `lexicon_runs_on`); `any` runs always.
# A language in a new script adds its letters here.
SCRIPT_LETTERS: dict[str, str] = {
    "cyrillic": r"[\u0400-\u04ff]",
    "hangul": r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]",
    "han": r"[\u3040-\u30ff\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]",
    "arabic": r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]",
    "devanagari": r"[\u0900-\u097f]",
    "latin": r"[A-Za-z\u00c0-\u024f]",
}
_CODE = re.compile(r"^[a-z]{2,3}(_[a-z]+)?$")
_UNICODE_SCRIPT = re.compile(r"^[A-Z]+$")  # the first word of a letter's Unicode name: LATIN, CJK, HANGUL

P = ParamSpec("P")
R = TypeVar("R")
_CACHES: list[Callable[[], None]] = []


def cached(func: Callable[P, R]) -> Callable[P, R]:
    """`functools.cache`, cleared by `reload()`: for anything worked out from the language files."""
    kept = cache(func)
    _CACHES.append(kept.cache_clear)
    return wraps(func)(kept)  # type: ignore[return-value]


def reload() -> None:
    """Forget what was read, so that a folder added (or `TYPINGCURE_LANGUAGES_DIR` changed) is seen."""
    for clear in _CACHES:
        clear()


class Detection(BaseModel):
    """How a message is recognised as this language (culture/language.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scripts: tuple[str, ...] = ()       # Unicode scripts whose letters, as the majority, make it this language
    needs_scripts: tuple[str, ...] = ()  # ... and only when letters of one of these are present too (kana for ja)
    needs_letters: str = ""             # ... or one of these letters is (a Persian letter for fa)
    label: str | None = None            # the script it reports, when not the majority's ("kana")
    words: tuple[str, ...] = ()         # common small words, counted in Latin-script text
    like: str | None = None             # shares its small words with this language: told by `points` and `forms`
    points: dict[str, int] = Field(default_factory=dict)  # its own words, with how much each tells it
    forms: tuple[str, ...] = ()         # its own forms (regexes), three points each, at most two counted
    enough: int = 3                     # the points that make it this language

    @field_validator("scripts", "needs_scripts")
    @classmethod
    def _unicode_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in value if not _UNICODE_SCRIPT.match(s) or s == "LATIN"]
        if bad:
            raise ValueError(f"{bad}: must be Unicode script names, the first word of a letter's name (CJK, HANGUL),"
                             " other than LATIN (Latin-script text is told by `words`)")
        return value

    @field_validator("words")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(w != w.lower() or not w.strip() for w in value):
            raise ValueError("words must be lower case and not empty")
        return value

    @field_validator("forms")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_regexes(value)

    @model_validator(mode="after")
    def _like_has_points(self) -> Detection:
        if self.like and not (self.points or self.forms):
            raise ValueError("a language `like` another needs its own `points` or `forms`")
        return self


class LanguageInfo(BaseModel):
    """The schema of `language.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str                       # the folder's name: ISO 639 code, or code_variant (hi_latn)
    name: str                       # in English ("Reply in Persian.")
    own_name: str                   # in the language itself: what a person who reads no English looks for
    variant_of: str | None = None   # a way of writing another language (hi_latn: hi in Latin letters)
    script: str = "latin"           # a SCRIPT_LETTERS name; for a variant, the script it is chosen for
    lexicon_runs_on: str | None = None  # when not `script`: the letters its lexicon needs (`any`: always)
    detect: Detection = Detection()
    negation_cues: tuple[str, ...] = ()  # regexes, anywhere in a message (`\b` around a word): "I would never…"
    spaced: bool = True             # words and sentences are separated by spaces (not in Chinese or Japanese)
    mixes_english: bool = False     # people writing it mix in English freely: an English sentence is not foreign
    notes: str = ""

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError("must be a lower-case language code such as sw, pcm or hi_latn")
        return value

    @field_validator("script", "lexicon_runs_on")
    @classmethod
    def _script(cls, value: str | None) -> str | None:
        if value is not None and value not in SCRIPT_LETTERS and value != "any":
            raise ValueError(f"must be one of {[*SCRIPT_LETTERS, 'any']} (a new script adds its letters to SCRIPT_LETTERS)")
        return value

    @field_validator("negation_cues")
    @classmethod
    def _cues(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_regexes(value)

    @property
    def runs_on(self) -> str:
        """The letters its lexicon needs in a message before it runs."""
        return self.lexicon_runs_on or self.script

    @property
    def base(self) -> str:
        """The language it is a way of writing, or itself."""
        return self.variant_of or self.code


def _check_regexes(value: tuple[str, ...]) -> tuple[str, ...]:
    for source in value:
        try:
            re.compile(source, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"invalid regex {source!r} ({exc})") from None
    return value


# -- finding the folders -----------------------------------------------------------------------

def _roots() -> list[Traversable]:
    extra = [Path(p).expanduser() for p in os.environ.get(ENV, "").split(os.pathsep) if p.strip()]
    for folder in extra:
        if not folder.is_dir():
            raise ConfigError(f"{ENV}: {folder} is not a folder")
    return [files(__name__), *extra]


@cached
def _folders() -> dict[str, Traversable]:
    found: dict[str, Traversable] = {}
    for root in _roots():
        for folder in sorted(root.iterdir(), key=lambda p: p.name):
            if not folder.is_dir() or not folder.joinpath("language.yaml").is_file():
                continue
            if folder.name in found:
                raise ConfigError(f"language {folder.name!r} is in two folders: {found[folder.name]} and {folder}")
            found[folder.name] = folder
    return dict(sorted(found.items()))


def where(code: str, kind: str) -> str:
    """How an error names a language's file: `languages/<code>/<kind>.yaml`, or its path when the
    folder was added through TYPINGCURE_LANGUAGES_DIR."""
    folder = _folders().get(code)
    if folder is None or str(folder).startswith(str(files(__name__))):
        return f"languages/{code}/{kind}.yaml"
    return str(folder.joinpath(f"{kind}.yaml"))


def _read(resource: Traversable, place: str) -> Any:
    try:
        return _yaml.safe_load(resource.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{place}: not valid YAML ({exc})") from None


def _info(code: str, folder: Traversable) -> LanguageInfo:
    place = where(code, "language")
    raw = _read(folder.joinpath("language.yaml"), place)
    if not isinstance(raw, dict):
        raise ConfigError(f"{place} must be a mapping")
    try:
        info = LanguageInfo.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{place}: {problems}") from None
    if info.code != code:
        raise ConfigError(f"{place}: code is {info.code!r}, but the folder is named {code!r}")
    return info


@cached
def languages() -> dict[str, LanguageInfo]:
    """Every language folder, by code (variants such as hi_latn included), checked against the schema."""
    found = {code: _info(code, folder) for code, folder in _folders().items()}
    for info in found.values():
        if info.variant_of and (info.variant_of not in found or found[info.variant_of].variant_of):
            raise ConfigError(f"{where(info.code, 'language')}: variant_of {info.variant_of!r} is not a language folder")
        if info.detect.like and info.detect.like not in found:
            raise ConfigError(f"{where(info.code, 'language')}: detect.like {info.detect.like!r} is not a language folder")
    for script in {s for info in found.values() for s in info.detect.scripts}:
        plain = [c for c, i in found.items() if script in i.detect.scripts and not (i.detect.needs_scripts or i.detect.needs_letters)]
        if len(plain) > 1:
            raise ConfigError(f"languages {plain} all claim {script} letters: all but one need `needs_scripts` or `needs_letters`")
    if "en" not in found:
        raise ConfigError("languages/en is missing: English fills every gap")
    return found


def language(code: str) -> LanguageInfo:
    try:
        return languages()[code]
    except KeyError:
        raise ConfigError(f"no language folder {code!r} (languages: {', '.join(languages())})") from None


def language_file(code: str, kind: Kind) -> Traversable | None:
    """The file of one kind in a language's folder, or None (no such language, or no such file)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
    folder = _folders().get(code)
    resource = folder.joinpath(f"{kind}.yaml") if folder is not None else None
    return resource if resource is not None and resource.is_file() else None


def with_file(kind: Kind) -> list[str]:
    """The codes of the languages that have a file of this kind, in order."""
    return [code for code in languages() if language_file(code, kind) is not None]


def load(code: str, kind: Kind) -> Any:
    """One file parsed afresh (its reader keeps what it works out) and checked to be a mapping, with
    `language:`, when given, naming the folder; None when the language has no such file."""
    resource = language_file(code, kind)
    if resource is None:
        return None
    place = where(code, kind)
    raw = _read(resource, place)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{place} must be a mapping")
    if "language" in raw and raw["language"] != code:
        raise ConfigError(f"{place}: language is {raw['language']!r}, but the folder is named {code!r}")
    if kind in ("replies", "interface"):
        bad = [k for k, v in raw.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise ConfigError(f"{place}: every entry must be a text (not {bad[:3]})")
    return raw


def variant_for(language_code: str, script: str | None) -> str:
    """The folder for a language written in a script: its variant for that script (hi in Latin
    letters: hi_latn), else the language itself (`pt-BR` → `pt`)."""
    base = (language_code or "en").split("-")[0]
    if script:
        for code, info in languages().items():
            if info.variant_of == base and info.script == script:
                return code
    return base


@cached
def own_names() -> dict[str, str]:
    """Each language's name in that language (variants left out)."""
    return {code: info.own_name for code, info in languages().items() if not info.variant_of}


@cached
def english_names() -> dict[str, str]:
    """Each language's name in English (variants left out): the languages a person can choose."""
    return {code: info.name for code, info in languages().items() if not info.variant_of}


@cached
def interface_strings() -> dict[str, dict[str, str]]:
    """The web interface's words, by language, with English filled in for any key a language lacks."""
    english = load("en", "interface") or {}
    return {code: {**english, **load(code, "interface")} for code in with_file("interface")}


class Derived(Mapping[str, str]):
    """A mapping worked out from the folders each time it is read (so a folder added is seen)."""

    def __init__(self, make: Callable[[], dict[str, str]]) -> None:
        self._make = make

    def __getitem__(self, key: str) -> str:
        return self._make()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._make())

    def __len__(self) -> int:
        return len(self._make())

    def __repr__(self) -> str:
        return repr(self._make())
