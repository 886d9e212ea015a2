"""Culture packs: notes for a place, written from sources and reviewed against a checklist, that
anyone can read and improve (design/culture.md): practices people there often draw on and how to
offer them, local ways of saying distress, how help-seeking is often framed, and services beyond
the crisis lines. A pack is used only when the person chooses it (`profile.pack`); a country, a
name or a language never chooses one, and what the person said themselves always comes first.

    names()                           # ("arab-gulf", "china-taiwan-hong-kong", ...)
    pack("nigeria").sources           # where every note comes from, with its date
    options(pack("nigeria"), "pcm", avoid=("family",), turn=3)   # labels to offer as choices
    problems()                        # what is wrong with the packs as shipped ([] when none)
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import _yaml
from ..errors import ConfigError

# Practices a pack may offer. Faith, family and elders are offered only beside everyday ones, so a
# pack never decides that the person is religious or leans on their family.
EVERYDAY = ("friends", "nature", "movement", "music", "art", "rest", "writing", "cooking", "crafts")
Kind = Literal["prayer", "faith community", "family", "elders", "friends", "nature", "movement", "music", "art",
               "rest", "writing", "cooking", "crafts", "community"]
ASKED = 3  # practices offered at once, at most
# Words in `avoid` that rule out a kind of practice beyond its own name ("no religion" rules out prayer).
_FAITH = ("pray", "religio", "faith", "god", "church", "mosque", "temple", "spiritual", "worship")
RULED_OUT: dict[str, tuple[str, ...]] = {"prayer": _FAITH, "faith community": _FAITH,
                                         "family": ("family", "parent", "relative"), "elders": ("elder",),
                                         "community": ("communit", "group")}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    title: str = Field(min_length=3)
    where: str = Field(min_length=3)   # a citation or an address
    date: str = Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")  # publication or update date


class Idiom(_Strict):
    words: str = Field(min_length=2)   # as people say it ("thinking too much")
    language: str = Field(pattern=r"^[a-z]{2,3}(_[a-z]+)?$")  # any language, not only typingcure's (Shona: sn)
    means: str = Field(min_length=3)   # what it usually carries, in plain words: never a diagnosis


class Practice(_Strict):
    kind: Kind
    labels: dict[str, str]  # language code -> how a reply names it ("prayer", "기도")


class Service(_Strict):
    name: str
    what: str
    how: str                 # how a person reaches it, in words (no number here: numbers live in the crisis file)
    crisis_file: str | None = None  # its country in safety/data/crisis_lines.yaml, when it is listed there
    source: str
    source_date: str = Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")


class Answer(_Strict):
    item: str
    answer: Literal["yes"]
    note: str = Field(min_length=10)


class Pack(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z-]{1,40}$")
    title: str
    about: str                     # what the notes cover, and that people differ within it
    written_about: tuple[str, ...]  # country codes the sources speak of: shown to help choosing, never applied
    languages: tuple[str, ...]
    reviewed: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    help_seeking: str              # how help-seeking is often framed there (for the model and for readers)
    for_the_model: str             # what a model is told when the person chose this pack
    avoid: tuple[str, ...]         # framings that hurt here
    idioms: tuple[Idiom, ...] = ()
    practices: tuple[Practice, ...]
    services: tuple[Service, ...] = ()
    sources: tuple[Source, ...] = Field(min_length=1)
    review: tuple[Answer, ...]


@cache
def checklist() -> dict[str, str]:
    """The review questions every pack answers (packs/checklist.yaml): item -> question."""
    raw = _yaml.safe_load(files("typingcure.culture").joinpath("packs/checklist.yaml").read_text("utf-8"))
    return {str(k): str(v) for k, v in raw.items()}


@cache
def _packs() -> dict[str, Pack]:
    found: dict[str, Pack] = {}
    for entry in sorted(files("typingcure.culture").joinpath("packs").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml") or entry.name == "checklist.yaml":
            continue
        try:
            made = Pack(**_yaml.safe_load(entry.read_text("utf-8")))
        except (TypeError, ValidationError) as exc:
            raise ConfigError(f"culture pack {entry.name} is invalid: {exc}") from None
        if f"{made.id}.yaml" != entry.name:
            raise ConfigError(f"culture pack {entry.name}: its id is {made.id!r}; the file must be {made.id}.yaml")
        found[made.id] = made
    return found


def names() -> tuple[str, ...]:
    return tuple(_packs())


def pack(name: str) -> Pack:
    try:
        return _packs()[name]
    except KeyError:
        raise ConfigError(f"no culture pack {name!r}; there are: {', '.join(names())}") from None


def problems() -> list[str]:
    """What a reviewer must fix before a pack ships: unanswered checklist items, too few everyday
    practices, labels in a language typingcure does not have, services not in the crisis file."""
    from ..languages import languages
    from ..safety.resources import all_resources

    known, listed, out = set(languages()), all_resources(), []
    for p in _packs().values():
        answered = {a.item for a in p.review}
        out += [f"{p.id}: checklist item {item!r} is not answered" for item in checklist() if item not in answered]
        out += [f"{p.id}: {item!r} is not a checklist item" for item in answered - set(checklist())]
        if sum(1 for x in p.practices if x.kind in EVERYDAY) < 2:
            out.append(f"{p.id}: fewer than two everyday practices beside faith, family and community")
        for x in p.practices:
            out += [f"{p.id}: practice {x.kind}: no language {code!r}" for code in x.labels if code not in known]
            missing = [code for code in p.languages if code not in x.labels]
            out += [f"{p.id}: practice {x.kind} has no label in {code}" for code in missing]
        for s in p.services:
            if s.crisis_file is not None and s.name not in {r.name for r in listed.get(s.crisis_file, ())}:
                out.append(f"{p.id}: service {s.name!r} is not in the crisis file under {s.crisis_file}")
            if re.search(r"\d{3,}", s.how):
                out.append(f"{p.id}: service {s.name!r}: numbers belong in the crisis file, with their source")
    return out


def _avoided(practice: Practice, avoid: tuple[str, ...]) -> bool:
    from .profile import kind_of

    kinds = {(k.name if (k := kind_of(a)) is not None else a.casefold()) for a in avoid}
    kinds |= {"family" for k in kinds if k == "calling family"}
    words = {a.casefold() for a in avoid}
    if any(cue in w for w in words for cue in RULED_OUT.get(practice.kind, ())):
        return True
    return practice.kind in kinds or any(w in label.casefold() or label.casefold() in w
                                         for label in practice.labels.values() for w in words)


def options(chosen: Pack, language: str, avoid: tuple[str, ...] = (), turn: int = 0) -> tuple[str, ...]:
    """Up to three of the pack's practices, named in `language`, to offer as choices: never one the
    person avoids, two everyday ones and at most one of faith, family or community, a different set
    each turn.
    Empty when the pack names none in that language."""
    usable = [x for x in chosen.practices if language in x.labels and not _avoided(x, avoid)]
    everyday = [x for x in usable if x.kind in EVERYDAY]
    if not everyday:
        return ()
    others = [x for x in usable if x.kind not in EVERYDAY]
    # Two everyday practices and at most one of faith, family or community: a pack widens the
    # choices, it does not lean them toward any belief.
    picked = [everyday[turn % len(everyday)]]
    if others:
        picked.append(others[turn % len(others)])
    picked += [x for x in everyday[turn % len(everyday) + 1:] + everyday[:turn % len(everyday)]][:ASKED - len(picked)]
    return tuple(x.labels[language] for x in picked)


def offered(profile: Any, language: str, script: str = "", turn: int = 0) -> str:
    """The practices of the person's chosen pack, listed as a reply writes them ("a friend, prayer,
    a short walk"); "" when they chose no pack, or it has nothing in their language."""
    if not getattr(profile, "pack", None) or profile.pack not in _packs():
        return ""
    from ..languages import variant_for

    chosen = options(_packs()[profile.pack], variant_for(language, script or None), tuple(profile.avoid), turn)
    if language in ("ja", "zh"):
        return "、".join(chosen)
    return ("، " if language in ("ar", "fa") else ", ").join(chosen)


def model_note(name: str) -> str:
    """What the model is told when the person chose this pack."""
    p = pack(name)
    return (f"The person chose notes about {p.title} to inform suggestions: {p.for_the_model} "
            "Offer anything from these only as one choice among others, never as what they must believe or do; "
            "what they said about themselves comes first.")
