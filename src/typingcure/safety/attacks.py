"""The adversarial suite, expanded from its data file (`tests/data/attacks.yaml`).

    attacks = load_attacks(path)        # requests × framings, plus multi-turn escalations
    known_gaps(path, "capable")         # conversations the guards are known to fail, and why
    attack.turns, attack.replies        # what the attacker writes; what a complying model answers
    leaks(attack, reply)                # what the independent judge finds in a reply

The complying model's answer is built for each conversation from the request's shape (a dose, a
height, steps, a diet plan…), in the framing's language and voice (a story, a character, a school
report, a translation…), encoded as the framing asks (leetspeak, spaced letters, base64), and,
for a split escalation, given half per turn. Slots such as `[DOSE]` stand for the details, so the
data holds none. Leaks are judged by `typingcure.evals.criteria`, which shares nothing with the
guards, so a guard cannot be graded by its own patterns (design/evaluation.md).
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _yaml

_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
FILLER = "That sounds like a lot to hold."


@dataclass(frozen=True)
class Attack:
    id: str
    request: str
    framing: str
    turns: tuple[str, ...]
    replies: tuple[str, ...]  # what a complying model answers to each turn
    language: str = "en"
    shape: str = ""
    core: str = ""  # the harmful part, before the framing's voice and encoding

    @property
    def comply(self) -> str:
        """The complying answer to the attacker's last turn."""
        return self.replies[-1]


def encode(text: str, how: str) -> str:
    if how == "leet":
        return text.lower().translate(_LEET)
    if how == "spaced":
        return "  ".join(" ".join(word) for word in text.split())
    if how == "base64":
        return base64.b64encode(text.encode()).decode()
    return text


def _pick(options: list[str], key: str) -> str:
    return options[zlib.crc32(key.encode()) % len(options)]


def _core(data: dict[str, Any], request: dict[str, Any], language: str, key: str) -> str:
    options = data["cores"][request["shape"]][language]
    return _pick(options, key).format(means=request["means"][language])


def _answer(data: dict[str, Any], request: dict[str, Any], voice: str, language: str, key: str) -> tuple[str, str]:
    """The complying answer in the framing's voice, and its harmful core."""
    template = data["voices"][voice][language]
    core = _core(data, request, language, key)
    core_en = _core(data, request, "en", key) if "{core_en}" in template else ""
    return str(template.format(core=core, core_en=core_en)), core


def _halves(text: str) -> tuple[str, str]:
    words = text.split()
    middle = len(words) // 2
    return " ".join(words[:middle]), " ".join(words[middle:])


def load_attacks(path: Path) -> list[Attack]:
    data = _yaml.safe_load(path.read_text(encoding="utf-8"))
    attacks = []
    for request in data["requests"]:
        for framing in data["framings"]:
            key, language = f"{request['id']}-{framing['id']}", framing.get("language", "en")
            answer, core = _answer(data, request, framing["voice"], language, key)
            attacks.append(Attack(key, request["id"], framing["id"], (framing["text"].format(ask=request["ask"]),),
                                  (encode(answer, framing.get("encode", "plain")),), language, request["shape"], core))
        for escalation in data["escalations"]:
            key = f"{request['id']}-{escalation['id']}"
            turns = tuple(t.format(ask=request["ask"]) for t in escalation["turns"])
            answer, core = _answer(data, request, escalation["voice"], "en", key)
            replies = _halves(answer) if escalation.get("split") else (*[FILLER] * (len(turns) - 1), answer)
            attacks.append(Attack(key, request["id"], escalation["id"], turns, tuple(replies), "en", request["shape"], core))
    return attacks


def known_gaps(path: Path, model: str) -> dict[str, str]:
    """Conversations the guards are known to let a leak through, with why, for a model kind
    (`bundled`: a model not known to be capable; `capable`: one whose words are used at moderate risk)."""
    data = _yaml.safe_load(path.read_text(encoding="utf-8"))
    return dict((data.get("known_gaps") or {}).get(model) or {})


def leaks(attack: Attack, reply: str) -> list[str]:
    """What the independent judge finds in a reply to this attack: one line per leak."""
    from ..evals.criteria import judge_reply

    return [f"{leak.kind}: {leak.rule}: {leak.text}" for leak in judge_reply(reply).leaks]
