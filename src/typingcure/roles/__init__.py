"""Support roles as data: what the person chose the bot to be today.

    role = load_role("coach")
    role.prompt, role.speaks, role.rules.max_steps
    words = role_words("coach", "fr")       # title, summary, intro and authored lines, in French

A role file (`<name>.yaml` here) holds a short prompt (the bundled model is tiny), the rules its
replies are checked against, whether it speaks always or only when risk is found, its authored
lines for a model not known to be capable (in English), and an example exchange. The same fixed
text in another language is that language folder's `roles.yaml` (design/roles.md). A role can
shape how typingcure speaks; it can never lower the safety floor: risk, the crisis protocol and
the guards that keep anyone safe apply whatever the role (`in_character_relaxes` may only name
the checks in RELAXABLE).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .. import _yaml, languages
from ..errors import ConfigError

# Checks of how typingcure speaks as itself, which a character in a rehearsal does not follow.
RELAXABLE = frozenset({"human_claims", "siding_against", "listening_fit"})
TEXT_KEYS = ("title", "summary", "intro")


class RoleRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    no_lists: bool = False
    max_sentences: int | None = Field(default=8, ge=1, le=20)  # None: no limit (the proxy's role only)
    max_steps: int | None = Field(default=None, ge=1, le=5)  # concrete steps in one reply
    rest_first: bool = False  # rest and care before any step when the person is worn out or crying


class Exchange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    user: str
    reply: str


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    version: int = 1
    title: str
    summary: str
    speaks: Literal["always", "on_risk"]
    # typingcure's own offers after an everyday reply (rest for someone worn out, what helps them);
    # off for the proxy, where the reply is the client's chatbot's.
    offers: bool = True
    intro: str
    prompt: str
    rest_prompt: str = ""
    rules: RoleRules = RoleRules()
    in_character_relaxes: frozenset[str] = frozenset()
    lines: dict[str, Any] = Field(default_factory=dict)
    example: tuple[Exchange, ...] = ()

    @field_validator("in_character_relaxes")
    @classmethod
    def _only_shaping(cls, value: frozenset[str]) -> frozenset[str]:
        unsafe = sorted(value - RELAXABLE)
        if unsafe:
            raise ValueError(f"a role cannot turn off {', '.join(unsafe)} (only {', '.join(sorted(RELAXABLE))})")
        return value

    @property
    def digest(self) -> str:
        """A short hash of everything that shapes the role's replies (its prompt, rules and lines)."""
        shaped = self.model_dump(mode="json", include={"version", "prompt", "rest_prompt", "rules", "lines",
                                                       "in_character_relaxes"})
        shaped["in_character_relaxes"] = sorted(shaped["in_character_relaxes"])
        return hashlib.sha256(repr(sorted(shaped.items())).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RoleWords:
    """A role's fixed text in one language (English fills any gap)."""

    title: str
    summary: str
    intro: str
    lines: dict[str, Any]

    def line(self, key: str, **fill: str) -> str:
        return " ".join(str(self.lines[key]).split()).format(**fill)


# The order a person is offered the roles in; a role added as a file comes after these.
SHOWN_FIRST = ("listener", "journal", "coach", "rehearsal", "meaning", "info")


def role_names() -> list[str]:
    return _yaml.names_in("typingcure.roles", SHOWN_FIRST)


# Roles that are not offered to a person: the proxy speaks in `proxy` (`_proxy.yaml`): the client's
# chatbot answers in its own voice, with typingcure's frames and checks (design/proxy.md).
HIDDEN = ("proxy",)


@cache
def load_role(name: str) -> Role:
    if name not in role_names() and name not in HIDDEN:
        raise ConfigError(f"unknown role {name!r} (choose from: {', '.join(role_names())})")
    file = f"_{name}.yaml" if name in HIDDEN else f"{name}.yaml"
    raw = _yaml.safe_load(files("typingcure.roles").joinpath(file).read_text("utf-8"))
    try:
        return Role(**raw)
    except (TypeError, ValidationError) as exc:
        raise ConfigError(f"role file {name}.yaml is invalid: {exc}") from exc


@languages.cached
def _translated(code: str) -> dict[str, Any]:
    raw = languages.load(code, "roles") or {}
    raw.pop("language", None)
    return raw


def role_words(name: str, language: str = "en", script: str | None = None) -> RoleWords:
    """The fixed text of a role in `language` (its variant for `script`, such as romanised Hindi)."""
    role = load_role(name)
    english = {**role.model_dump(include=set(TEXT_KEYS)), "lines": dict(role.lines)}
    base, variant = language.split("-")[0], languages.variant_for(language, script or None)
    found: dict[str, Any] = dict(english)
    for code in dict.fromkeys((base, variant)):
        if code == "en" or code not in languages.languages():
            continue
        theirs = _translated(code).get(name) or {}
        found.update({k: theirs[k] for k in TEXT_KEYS if k in theirs})
        found["lines"] = {**found["lines"], **(theirs.get("lines") or {})}
    return RoleWords(title=" ".join(found["title"].split()), summary=" ".join(found["summary"].split()),
                     intro=" ".join(found["intro"].split()), lines=found["lines"])


@dataclass(frozen=True)
class Term:
    """A checked general explanation of one word (`_info_terms.yaml`)."""

    name: str
    match: re.Pattern[str]
    text: str
    source: str
    label: str


@cache
def terms() -> tuple[Term, ...]:
    raw = _yaml.safe_load(files("typingcure.roles").joinpath("_info_terms.yaml").read_text("utf-8"))
    return tuple(Term(name=name, match=re.compile(entry["match"], re.I), text=" ".join(entry["text"].split()),
                      source=entry["source"], label=entry.get("label", name)) for name, entry in raw["terms"].items())


def find_term(text: str) -> Term | None:
    """The first term the person's message names (earliest in the message)."""
    found = [(m.start(), t) for t in terms() if (m := t.match.search(text))]
    return min(found, key=lambda pair: pair[0])[1] if found else None


SCENE_WORDS = 5  # after the safety check, a message this long describes a new scene (not "go on")


def is_new_scene(text: str) -> bool:
    return len(text.split()) >= SCENE_WORDS or len(text) >= 4 * SCENE_WORDS * 2


# A rehearsal's fixed lines and what a turn that said one did (for a conversation given as messages
# only, as in `reply --json`, where no turn kept its actions).
LINE_ACTIONS: dict[str, tuple[str, ...]] = {
    "safety_check": ("rehearsal_scene", "rehearsal_safety_check"), "not_yet": ("rehearsal_not_yet",),
    "ready": ("rehearsal_ready",), "went_well": ("debrief_went_well",), "try_next": ("debrief_try",),
    "feel_now": ("debrief_feel",), "done": ("rehearsal_done",), "stopped": ("rehearsal_stopped",),
}


@cache
def _rehearsal_lines() -> tuple[tuple[str, str], ...]:
    codes = ["en", *(c for c in languages.with_file("roles") if c != "en")]
    found = []
    for code in codes:
        words = role_words("rehearsal", code if code != "hi_latn" else "hi", "latin" if code == "hi_latn" else None)
        found += [(key, words.line(key)) for key in LINE_ACTIONS]
    return tuple(dict.fromkeys(found))


def rehearsal_actions(pairs: list[tuple[str, str]]) -> list[tuple[str, tuple[str, ...]]]:
    """(the person's message, the actions of the reply) for each (message, reply) of a rehearsal
    given as messages: a reply that holds one of the fixed lines did what that line does; any other
    reply after the scene was set spoke in character."""
    out: list[tuple[str, tuple[str, ...]]] = []
    playing = False
    for user_text, reply in pairs:
        keys = [key for key, line in _rehearsal_lines() if line and line in " ".join(reply.split())]
        if keys:
            actions = LINE_ACTIONS[keys[-1]]
            confirming = bool(out) and any(a in out[-1][1] for a in ("rehearsal_safety_check", "rehearsal_not_yet"))
            if keys[-1] == "ready" and (not confirming or is_new_scene(user_text)):
                actions = ("rehearsal_scene", *actions)
            playing = keys[-1] == "ready"
        else:
            actions = ("in_character",) if playing else ()
        out.append((user_text, actions))
    return out
