"""Personal data out, placeholders in: what a remote model never sees.

    redactor = Redactor()
    text, found = redactor.redact("I'm Ana, my email is ana@x.org")   # "I'm [NAME_1], my email is [EMAIL_1]"
    redactor.restore("Hi [NAME_1]!")                                  # "Hi Ana!"

Used only when the backend is remote (design/privacy.md). Placeholders are stable for a
conversation, so the model can follow who is who. Names are found by how people introduce them
("my sister Maya", "I'm called Ade", "I met Tom"); emails, phone numbers, street addresses and ID
numbers by their shape. It is a careful net, not a guarantee, and `/why` shows what it replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

RELATIONS = (r"friend|best friend|sister|brother|mum|mom|mother|dad|father|boss|partner|husband|wife|boyfriend|"
             r"girlfriend|son|daughter|manager|teacher|colleague|coworker|cousin|aunt|uncle|flatmate|roommate|ex|"
             r"neighbou?r|grandma|grandpa|therapist|doctor")
NOT_NAMES = {"I", "I'm", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January",
             "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
             "December", "God", "Allah", "English", "Christmas", "Ramadan", "Diwali", "Eid", "Easter", "The", "A"}
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("ID", re.compile(r"\b\d{3}-\d{2}-\d{4}\b|\b[A-Z]{1,2}\d{6,9}[A-Z]?\b|\b\d{9,}\b")),
    ("PHONE", re.compile(r"(?<!\w)\+?\d[\d ()\-]{6,}\d\b")),
    ("ADDRESS", re.compile(r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|"
                           r"Way|Boulevard|Blvd|Crescent|Terrace|Place|Square)\b\.?")),
    ("NAME", re.compile(rf"(?:(?i:\b(?:my name is|i'?m called|i am called|call me|named|called)\s+)"
                        rf"|(?i:\b(?:my|our) (?:{RELATIONS}),?\s+)"
                        rf"|(?i:\b(?:with|to|from|and|told|asked|saw|met|texted|called|like|love|miss|hate)\s+)"
                        rf"|(?i:^(?:i'?m|i am|this is)\s+))(?P<name>[A-Z][a-z]{{1,20}}(?:\s[A-Z][a-z]{{1,20}})?)")),
)


@dataclass
class Redactor:
    forward: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def _placeholder(self, kind: str, value: str) -> str:
        if value not in self.forward:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.forward[value] = f"[{kind}_{self.counts[kind]}]"
        return self.forward[value]

    def redact(self, text: str) -> tuple[str, list[str]]:
        found: list[str] = []
        for kind, pattern in KINDS:
            def swap(m: re.Match[str], kind: str = kind) -> str:
                value = m.group("name") if kind == "NAME" else m.group(0)
                if kind == "NAME" and (value.split()[0] in NOT_NAMES or not value[0].isupper()):
                    return m.group(0)
                placeholder = self._placeholder(kind, value)
                found.append(f"{kind.lower()} → {placeholder}")
                return m.group(0).replace(value, placeholder)
            text = pattern.sub(swap, text)
        for value, placeholder in self.forward.items():  # known values anywhere, e.g. in the model's own replies
            text = text.replace(value, placeholder)
        return text, found

    def restore(self, text: str) -> str:
        for value, placeholder in self.forward.items():
            text = text.replace(placeholder, value)
        return text
