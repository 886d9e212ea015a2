"""What the person chose to say about themselves, in the model's instructions and in the checks of
its replies (design/culture.md). Nothing here is inferred: a profile field that is empty changes
nothing.

    frame(profile)              # "What helps this person (their words): prayer; my church. ..."
    avoided(sentence, profile.avoid)   # ("therapy", match) when the sentence suggests what they avoid
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from .. import _yaml
from ..types import Profile, RiskAssessment, RiskCategory, at_least


@dataclass(frozen=True)
class Kind:
    name: str
    names: frozenset[str]
    terms: tuple[re.Pattern[str], ...]


@cache
def _raw() -> dict:  # type: ignore[type-arg]
    return _yaml.safe_load(files("typingcure.culture").joinpath("avoid.yaml").read_text("utf-8"))


@cache
def _data() -> tuple[tuple[Kind, ...], tuple[re.Pattern[str], ...]]:
    raw = _raw()
    kinds = tuple(Kind(name=name, names=frozenset(n.casefold() for n in (entry.get("names") or [])) | {name},
                       terms=tuple(re.compile(t, re.I) for t in entry["terms"]))
                  for name, entry in raw["kinds"].items())
    return kinds, tuple(re.compile(c, re.I) for c in raw["cues"])


@cache
def _patterns(key: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(c, re.I) for c in _raw()[key])


def asks_for_ideas(text: str) -> bool:
    """The person asks what they could do ("any ideas?", "¿qué puedo hacer?", "どうしたらいい")."""
    return any(p.search(text) for p in _patterns("asks"))


def kind_of(words: str) -> Kind | None:
    """The known kind a person's words name ("therapist" → therapy), or None (their own words)."""
    said = " ".join(words.casefold().split())
    return next((k for k in _data()[0] if said in k.names), None)


def _own_words(words: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words.split()) + r"(?!\w)", re.I)


def _own_variants(words: str) -> list[str]:
    """The person's words, and how a reply says them back: "my mom" → "your mom"."""
    said = " ".join(words.split())
    out = [said]
    if said.lower().startswith("my "):
        out.append("your " + said[3:])
    return out


def said_back(words: str, language: str = "en") -> str:
    """What the person wrote, as a reply says it back to them: in English "my sister" → "your
    sister"; in other languages their words as they are."""
    return _own_variants(words)[-1] if language.split("-")[0] == "en" else " ".join(words.split())


def never_avoided(words: str) -> bool:
    """A crisis service, which no profile can remove ("hotlines", "Samaritans", "emergency")."""
    return bool(re.search(_raw()["never_avoided"], words, re.I))


def avoided(sentence: str, avoid: tuple[str, ...], language: str = "en") -> tuple[str, str] | None:
    """(what the person avoids, the words found) when the sentence suggests it; None otherwise. A
    sentence must also offer or urge something ("you could see a therapist", "tu pourrais essayer");
    saying back what the person said ("therapy isn't an option for you", "ta famille te pèse") is not
    a suggestion."""
    from ..safety.check import views

    avoid = tuple(a for a in avoid if not never_avoided(a))
    if not avoid or never_avoided(sentence) or re.search(_raw()["not_suggested"], sentence, re.I):
        return None
    texts = views(sentence)  # leetspeak, s p a c e d letters and the like, undone
    found: tuple[str, str] | None = None
    for words in avoid:
        kind = kind_of(words)
        patterns = kind.terms if kind is not None else tuple(_own_words(w) for w in _own_variants(words))
        hit = next((m for p in patterns for text in texts if (m := p.search(text))), None)
        if hit is not None:
            found = (kind.name if kind is not None else words, hit.group(0))
            break
    if found is None:
        return None
    cues = (*_data()[1], *_patterns("cues_other"))  # a sentence in another language may slip in
    if not any(c.search(text) for c in cues for text in texts):
        return None
    return found


def frame(profile: Profile) -> str:
    """The person's own choices, for the model's instructions ("" when they chose nothing)."""
    parts = []
    if profile.coping:
        parts.append(f"What helps this person, in their own words: {'; '.join(profile.coping)}. "
                     "If you suggest anything, start from these.")
    avoid = [a for a in profile.avoid if not never_avoided(a)]
    if avoid:
        parts.append(f"Never suggest {'; '.join(avoid)}: the person said these are not for them.")
    if profile.identity:
        parts.append(f"The person wants this respected and affirmed: {profile.identity}.")
    if profile.register:
        parts.append("Speak to them formally and politely." if profile.register == "formal"
                     else "Speak to them informally, as a friend would.")
    if not profile.coping:
        parts.append("Do not assume their religion, family or community: mention these only if they do.")
    if profile.pack:
        from .packs import model_note

        parts.append(model_note(profile.pack))
    return " ".join(parts)


FIELDS = ("coping", "avoid", "identity", "register", "languages", "language", "country", "pack")
SHOWN = {"coping": "what helps you", "avoid": "suggestions you don't want", "identity": "what you want affirmed",
         "register": "formal or informal", "languages": "other languages you speak", "language": "your language",
         "country": "your country",
         "pack": "notes about a place you chose: typingcure culture packs"}


def shown(profile: Profile) -> list[str]:
    """The profile as the person reads it, field by field ("-" for what they left blank)."""
    out = []
    for name in FIELDS:
        value = getattr(profile, name)
        text = "; ".join(value) if isinstance(value, tuple) else (value or "")
        out.append(f"{name:<10} {text or '-'}   ({SHOWN[name]})")
    return out


def edit(profile: Profile, arg: str) -> tuple[Profile, str]:
    """`/profile FIELD WORDS` sets a field (coping and avoid: a comma-separated list, in their words);
    `/profile clear FIELD` empties it. Returns the new profile and the words that were set ("" if
    none). Bad input is InputError with what to type instead."""
    from ..errors import InputError

    name, _, value = " ".join(arg.split()).partition(" ")
    name = name.lower()
    if name == "clear":
        field = value.lower()
        if field not in FIELDS:
            raise InputError(f"/profile clear FIELD, where FIELD is one of: {', '.join(FIELDS)}")
        return Profile(**{**profile.model_dump(), field: None}), ""
    if name not in FIELDS or not value:
        raise InputError(f"/profile FIELD WORDS, where FIELD is one of: {', '.join(FIELDS)} "
                         "(e.g. /profile coping prayer, my sister; /profile avoid therapy)")
    try:
        return Profile(**{**profile.model_dump(), name: value.lower() if name in ("register", "pack") else value}), value
    except ValueError as exc:
        errors: list[dict] = getattr(exc, "errors", lambda: [])()  # type: ignore[type-arg]
        why = errors[0]["msg"].removeprefix("Value error, ") if errors else str(exc)
        raise InputError(f"{name}: {why}") from None


# -- what the person wrote into their profile, read like a message ---------------------------------

# The categories whose low reading still matters where a short text is filed as a plan or offered
# back as what helps (a coping entry here; an exercise's plan in the care policy).
WORRYING: frozenset[RiskCategory] = frozenset({"suicide", "self_harm", "eating_disorder", "medical_emergency"})


@dataclass(frozen=True)
class Screened:
    """The profile with what must never be offered back left out ("hurting myself" as coping), and
    the texts in it that read as risk at moderate or above, with their assessment."""

    profile: Profile
    risky: tuple[tuple[str, RiskAssessment], ...]


def screen(profile: Profile, assess: Callable[[str], RiskAssessment]) -> Screened:
    """Each coping entry is read as the person saying it helps them ("cutting helps me cope" is high
    risk, "cutting" alone only low); the identity is read as written."""
    kept, risky = [], []
    rules = _raw()["never_offered"]
    for entry in profile.coping:
        risk = assess(f"{entry} helps me cope")
        if re.search(rules["self_harm"], entry, re.I) and not at_least(risk.level, "moderate"):
            risk = RiskAssessment(level="moderate", categories=("self_harm",), score=0.5, assessor="profile",
                                  explanation="self-harm named as what helps")
        worrying = bool(set(risk.categories) & WORRYING) and (at_least(risk.level, "low") or risk.score >= 0.45)
        if worrying or at_least(risk.level, "moderate"):
            risky.append((entry, risk))
        elif not re.search(rules["other"], entry, re.I):
            kept.append(entry)  # drink, drugs or not eating are kept in the profile, never offered back
    if profile.identity:
        risk = assess(profile.identity)
        if at_least(risk.level, "moderate"):
            risky.append((profile.identity, risk))
    return Screened(profile.model_copy(update={"coping": tuple(kept)}), tuple(risky))
