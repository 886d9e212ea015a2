"""Crisis lines and emergency numbers, read from `data/crisis_lines.yaml` and validated on load.

    card = care_card("KE", now=datetime.now())   # open verified lines first, then the emergency number
    open_now(card[0], now)                        # True, False, or None when the hours are unknown
    allowed = known_numbers()                     # every number in the file, digits only (phone guard)
    no_checked_line("TR")                         # True: the card shows directories and 112 only
    no_line_sentence("TR", replies("tr"))         # says so, in Turkish, with what else can help

Entries marked `conflict` are never shown. With no country, the card holds the international
directories ("XX"). See design/crisis-resources.md.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from functools import lru_cache
from importlib.resources import files
from collections.abc import Iterable, Mapping, Sequence

from pydantic import ValidationError

from .. import _yaml
from ..errors import ConfigError
from ..types import Resource

FALLBACK = "XX"
_LINE_TYPES = ("crisis_line", "text_line", "mental_health_line")


@lru_cache(maxsize=1)
def all_resources() -> dict[str, tuple[Resource, ...]]:
    raw = _yaml.safe_load(files("typingcure.safety").joinpath("data/crisis_lines.yaml").read_text("utf-8"))
    if not isinstance(raw, dict):
        raise ConfigError("crisis_lines.yaml must map country codes to lists of services")
    table: dict[str, tuple[Resource, ...]] = {}
    for country, entries in raw.items():
        try:
            table[str(country)] = tuple(Resource(**entry) for entry in entries)
        except (TypeError, ValidationError) as exc:
            raise ConfigError(f"crisis_lines.yaml: entry for {country} is invalid: {exc}") from exc
    return table


def always_open(resource: Resource) -> bool:
    return resource.open is None and (resource.hours.startswith("24/7") or resource.hours.startswith("24 hours"))


def open_now(resource: Resource, now: datetime | None = None) -> bool | None:
    """Whether the line is open at `now` (local time); None when its hours are unknown."""
    if always_open(resource) or resource.type == "emergency":
        return True
    if resource.open is None or resource.open == "limited":
        return None
    start, end = (_clock(t) for t in resource.open.split("-"))
    current = (now or datetime.now()).time()
    if start <= end:
        return start <= current < end
    return current >= start or current < end  # a window past midnight


def _clock(text: str) -> time:
    hours, minutes = map(int, text.split(":"))
    return time(23, 59, 59) if hours == 24 else time(hours, minutes)


def care_card(country: str | None, *, now: datetime | None = None, lines: int = 2) -> tuple[Resource, ...]:
    """Who to contact: up to `lines` verified lines (open now first), then the emergency number.

    Where a country has no verified line, the international directories stand in (and
    `no_line_sentence` says so in the person's language). Conflicting
    entries are never shown. The emergency number is always on the card, so a line that is
    closed now is always paired with something open at every hour.
    """
    table = all_resources()
    if not country or country not in table:
        return table[FALLBACK]
    entries = [r for r in table[country] if not r.conflict]
    emergency = [r for r in entries if r.type == "emergency"][:1]
    candidates = [r for r in entries if r.type in _LINE_TYPES and (r.phone or r.sms) and r.confidence == "verified"]
    candidates.sort(key=lambda r: (open_now(r, now) is not True, not always_open(r), r.type != "crisis_line"))
    chosen = tuple(candidates[:lines]) or table[FALLBACK][:2]
    return chosen + tuple(emergency)


def no_checked_line(country: str | None) -> bool:
    """A country is set, but typingcure has no checked national line for it: its card shows the
    international directories instead (and its emergency number, where the file has one)."""
    directories = all_resources()[FALLBACK]
    return bool(country) and any(r in directories for r in care_card(country))


def no_line_sentence(country: str | None, text: Mapping[str, str], card: Sequence[Resource] | None = None) -> str:
    """What a card says when typingcure has no checked national line for `country`: the sentence
    `line_none_country` of `text` (the replies of the person's language), with the emergency number
    of the card, or the words for "your local emergency number" where the file has none. Empty when
    the country has a checked line, or when no country is set (the reply asks for one instead)."""
    if not no_checked_line(country):
        return ""
    shown = care_card(country) if card is None else card
    emergency = next((r.phone for r in shown if r.type == "emergency" and r.phone), text["emergency_unknown"])
    return text["line_none_country"].format(emergency=emergency)


def digits_in(text: str) -> list[str]:
    """Phone-like runs of digits: groups joined by one space, dot or dash ("0800 111 0 111", "1-800-891-4416")."""
    text = re.sub(r"\b\d{1,2}:\d{2}\b", " ", text)  # clock times ("open 10:00-24:00") are not numbers
    runs = re.findall(r"\+?\d+(?:[ .\-]\d+)*", text)
    return [d for d in (re.sub(r"\D", "", r) for r in runs) if len(d) >= 3]


@lru_cache(maxsize=1)
def known_numbers() -> frozenset[str]:
    numbers: set[str] = set()
    for entries in all_resources().values():
        for r in entries:
            for field in (r.phone, r.phone_e164, r.sms):
                if field:
                    numbers.update(_split_numbers(field))
    return frozenset(numbers)


def _split_numbers(field: str) -> Iterable[str]:
    # "14416 or 1-800-891-4416", "999 (112 from mobiles)", "0570-783-556 (navi dial, 10:00-22:00)"
    for part in re.split(r"\bor\b|/|,|\(|\)", field):
        digits = re.sub(r"\D", "", part)
        if len(digits) >= 2 and not re.search(r"\d{1,2}:\d{2}", part):
            yield digits
