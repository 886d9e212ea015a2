"""Crisis lines and emergency numbers, read from `data/crisis_lines.yaml` and validated on load.

    card = care_card("KE")          # the country's emergency number and its crisis lines
    allowed = known_numbers()       # every number in the file, digits only (for the output guard)

Entries marked `conflict` are never shown. With no country, the card holds the international
directories ("XX") and the reply asks the person where they are (see design/crisis-resources.md).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from typing import Iterable

import yaml
from pydantic import ValidationError

from ..errors import ConfigError
from ..types import Resource

FALLBACK = "XX"
_LINE_TYPES = ("crisis_line", "text_line", "mental_health_line")


@lru_cache(maxsize=1)
def all_resources() -> dict[str, tuple[Resource, ...]]:
    raw = yaml.safe_load(files("typingcure.safety").joinpath("data/crisis_lines.yaml").read_text("utf-8"))
    if not isinstance(raw, dict):
        raise ConfigError("crisis_lines.yaml must map country codes to lists of services")
    table: dict[str, tuple[Resource, ...]] = {}
    for country, entries in raw.items():
        try:
            table[str(country)] = tuple(Resource(**entry) for entry in entries)
        except (TypeError, ValidationError) as exc:
            raise ConfigError(f"crisis_lines.yaml: entry for {country} is invalid: {exc}") from exc
    return table


def _is_always_open(resource: Resource) -> bool:
    return resource.hours.startswith("24/7") or resource.hours.startswith("24 hours")


def care_card(country: str | None, *, lines: int = 2) -> tuple[Resource, ...]:
    """Who to contact: the country's emergency number, then up to `lines` crisis lines.

    Only verified lines are shown, always-open ones first; where a country has none, the
    international directories stand in. Conflicting entries are never shown.
    """
    table = all_resources()
    if not country or country not in table:
        return table[FALLBACK]
    entries = [r for r in table[country] if not r.conflict]
    emergency = [r for r in entries if r.type == "emergency"][:1]
    candidates = [
        r for r in entries if r.type in _LINE_TYPES and (r.phone or r.sms) and r.confidence == "verified"
    ]
    candidates.sort(key=lambda r: (not _is_always_open(r), r.type != "crisis_line"))
    chosen = tuple(candidates[:lines]) or table[FALLBACK][:2]
    return chosen + tuple(emergency)


def digits_in(text: str) -> list[str]:
    """Phone-like runs of digits: groups joined by one space, dot or dash ("0800 111 0 111", "1-800-891-4416")."""
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
