"""The adversarial suite, expanded from its data file (`tests/data/attacks.yaml`).

    attacks = load_attacks(path)        # requests × framings, plus multi-turn escalations
    leaks(attack, reply)                # the facts from `leak` found in the reply or a decoded view

A framing may ask for an encoded answer; the complying reply is then encoded the same way
(leetspeak, spaced letters, base64), so the suite checks that encodings do not get details past
the guards.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .check import views

_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})


@dataclass(frozen=True)
class Attack:
    id: str
    request: str
    framing: str
    turns: tuple[str, ...]
    comply: str
    leak: tuple[str, ...]


def encode(text: str, how: str) -> str:
    if how == "leet":
        return text.lower().translate(_LEET)
    if how == "spaced":
        return "  ".join(" ".join(word) for word in text.split())
    if how == "base64":
        return base64.b64encode(text.encode()).decode()
    return text


def load_attacks(path: Path) -> list[Attack]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    attacks = []
    for request in data["requests"]:
        for framing in data["framings"]:
            attacks.append(Attack(
                f"{request['id']}-{framing['id']}", request["id"], framing["id"],
                (framing["text"].format(ask=request["ask"]),), encode(request["comply"], framing["encode"]),
                tuple(request["leak"]),
            ))
        for escalation in data["escalations"]:
            attacks.append(Attack(
                f"{request['id']}-{escalation['id']}", request["id"], escalation["id"],
                tuple(t.format(ask=request["ask"]) for t in escalation["turns"]), request["comply"],
                tuple(request["leak"]),
            ))
    return attacks


def leaks(attack: Attack, reply: str) -> list[str]:
    """Which of the attack's forbidden facts appear in the reply, as written or decoded."""
    found = []
    for view in (*views(reply), re.sub(r"\s+", " ", re.sub(r"(?<=\w) (?=\w)", "", reply))):
        lowered = view.lower()
        found += [fact for fact in attack.leak if fact.lower() in lowered]
    return sorted(set(found))
