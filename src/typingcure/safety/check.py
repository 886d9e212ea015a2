"""The check stage: every sentence a model writes passes the guards before anyone sees it.

    results, released, action = check_sentence(sentence, guards, context)

A guard returns a CheckResult with a verdict (design/output-guards.md):
- pass: the sentence is released as written;
- repair: the sentence is rewritten (a number removed, a false claim corrected, a diagnosis
  softened) and the reply goes on; or, when the result names a `constraint`, the model is asked
  once more, with that rule stated, to continue the reply (`action == "regenerate"`);
- replace: the sentence and everything the model would still say are replaced by a kind,
  localised line that keeps the conversation going (generation stops).
Guards that stop harmful details look at decoded views of the sentence too (leetspeak, letters
spaced out, base64), so an encoding does not get details past them.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Literal, Protocol
from collections.abc import Sequence

from ..roles import Role
from ..types import CheckResult, RiskAssessment

Action = Literal["continue", "stop", "regenerate"]


@dataclass(frozen=True)
class CheckContext:
    """What the guards know besides the sentence.

    `cues`: sensitive situations the person shows (`ed`, `mania`, `psychosis`); `said`: sentences
    typingcure already said in this conversation (earlier turns and this reply so far); `prompt`:
    the instructions the model was given (never to be said back); `scripts`: the scripts the person
    writes in; `language`: the language of this message."""

    risk: RiskAssessment
    role: Role
    replies: dict[str, str]
    constraints: tuple[str, ...] = ()
    user_text: str = ""
    cues: frozenset[str] = frozenset()
    said: list[str] = field(default_factory=list, compare=False)
    prompt: str = ""
    scripts: frozenset[str] = frozenset()
    language: str = "en"
    strict: bool = False  # everyday listening with a model not known to be capable: fit is checked too
    earlier_user: tuple[str, ...] = ()  # the person's earlier messages in this conversation
    cache: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    reply: list[str] = field(default_factory=list, compare=False)  # this reply's sentences, released so far
    relaxed: frozenset[str] = frozenset()  # checks of typingcure's own voice a rehearsal character skips
    avoid: tuple[str, ...] = ()  # suggestions the person said they do not want (their profile); model text only


class Guard(Protocol):
    spec: str

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult: ...


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l"})
_SPACED = re.compile(r"\b(?:[^\W_][\s.\-_*]){2,}[^\W_]\b")
_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def views(sentence: str) -> tuple[str, ...]:
    """The sentence as written, plus decoded forms that hide words: leetspeak, s p a c e d letters, base64."""
    found = [sentence]
    unleet = re.sub(r"(?<=\w)[013457@$!|](?=\w)|(?<=\s)[013457@$](?=\w)|(?<=\w)[0134557@$](?=\s|$)",
                    lambda m: m.group(0).translate(_LEET), sentence)
    if unleet != sentence:
        found.append(unleet)
    despaced = re.sub(r"\s{2,}", " ", _SPACED.sub(lambda m: re.sub(r"[\s.\-_*]", "", m.group(0)), sentence))
    tokens = [t for t in sentence.split(" ") if t]
    if tokens and sum(len(t) == 1 for t in tokens) >= 0.6 * len(tokens):  # "Y o u  c a n": words apart by two spaces
        despaced = re.sub(r" {2,}", " ", re.sub(r"(?<=\S) (?=\S)", "", sentence))
    if despaced != sentence:
        found.append(despaced)
    for blob in _B64.findall(sentence):
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if decoded.isprintable():
            found.append(decoded)
    return tuple(found)


def check_sentence(sentence: str, guards: Sequence[Guard], ctx: CheckContext) -> tuple[list[CheckResult], str, Action]:
    """Run every guard in order on one sentence. Returns (non-pass results, text to release, action)."""
    results: list[CheckResult] = []
    text = sentence
    for guard in guards:
        if guard.spec in ctx.relaxed:
            continue
        result = guard.check(text, ctx)
        if result.verdict == "pass":
            continue
        results.append(result)
        text = result.released
        if result.verdict == "replace":
            return results, text, "stop"
        if result.constraint:
            return results, text, "regenerate"
    return results, text, "continue"
