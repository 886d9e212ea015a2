"""The end-of-session summary: what the person wrote about, in their own words, and what they take
with them; in their language; shown, and kept, only if they want it.

    summary = summarise(session, "en", takeaways=["your card from Grounding"])
    summary.lines()                      # the lines to show
    book = Summaries.kept_in(store); book.add(summary); book.keep(store)

It is drawn from the session, not written by a model: their own words (a short phrase of each of up
to three messages) under authored headings. Nothing from a message read as risk at moderate or above
is quoted back; a line says that some of it was very hard instead. Design: design/care.md.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .._kept import Kept
from ..types import at_least
from . import care_line

__all__ = ["RECORD", "Summaries", "Summary", "summarise"]

RECORD = "summaries"
MAX_KEPT = 200
PHRASE = 90          # characters of a message, at most, in the summary
QUOTED = 3           # messages quoted, at most
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n+")


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime
    language: str = "en"
    script: str | None = None
    talked: list[str] = Field(default_factory=list)     # the person's own words, shortened
    hard: bool = False                                  # some of it was read as risk
    takeaways: list[str] = Field(default_factory=list)

    def lines(self) -> list[str]:
        language, script = self.language, self.script
        if not self.talked and not self.hard and not self.takeaways:
            return [care_line("summary_none", language, script)]
        out: list[str] = []
        if self.talked:
            out += [care_line("summary_talked", language, script), *(f"  “{t}”" for t in self.talked)]
        if self.hard:
            out.append(care_line("summary_hard", language, script))
        if self.takeaways:
            out += [care_line("summary_takeaways", language, script), *(f"  · {t}" for t in self.takeaways)]
        return out

    def text(self) -> str:
        title = care_line("summary_title", self.language, self.script)
        return "\n".join([f"{title} ({self.at:%Y-%m-%d %H:%M})", *self.lines()]) + "\n"


class Summaries(Kept):
    """Kept encrypted (the store's "summaries" record), only those the person chose to keep."""

    store_name: ClassVar[str] = RECORD

    model_config = ConfigDict(extra="forbid")
    items: list[Summary] = Field(default_factory=list)


    def add(self, summary: Summary) -> None:
        self.items = [*self.items, summary][-MAX_KEPT:]


_UNSPACED = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\u3400-\u4dbf]")


def _words(text: str) -> int:
    """Words, and in Chinese and Japanese (no spaces) about two characters a word."""
    return len(text) // 2 if _UNSPACED.search(text) else len(text.split())


def _phrase(text: str) -> str:
    """The start of a message: its first sentences until there are five words or more ("My boss." alone
    says little), at most PHRASE characters, cut between words."""
    said = ""
    for sentence in _SENTENCE.split(text.strip()):
        said = " ".join(f"{said} {sentence}".split())
        if _words(said) >= 5 or len(said) >= PHRASE:
            break
    if len(said) <= PHRASE:
        return said
    cut = said[:PHRASE].rsplit(" ", 1)[0] if " " in said[:PHRASE] else said[:PHRASE]
    return cut.rstrip(",;:") + "…"


def summarise(session: Any, language: str = "en", script: str | None = None, takeaways: list[str] | None = None,
              now: datetime | None = None) -> Summary:
    """What this session held: up to three of the person's messages (the longest, in order), a line
    if any was read as risk, and what they take with them (their cards, their plan, what helps them)."""
    turns = [t for t in session.turns if t.user_text and not t.user_text.startswith("/")]
    hard = any(at_least(t.risk.level, "moderate") for t in turns)
    quotable = [(i, session.redactor.restore(t.user_text)) for i, t in enumerate(turns)
                if not at_least(t.risk.level, "moderate") and _words(t.user_text) >= 3]
    chosen = sorted(sorted(quotable, key=lambda p: -len(p[1]))[:QUOTED])
    talked = list(dict.fromkeys(_phrase(text) for _, text in chosen))
    extra = list(takeaways or [])
    if session.plan is not None and session.plan.filled():
        extra.append(care_line("summary_plan", language, script))
    if session.profile.coping:
        extra.append(care_line("summary_coping", language, script, coping=", ".join(session.profile.coping)))
    return Summary(at=now or datetime.now(), language=language, script=script, talked=talked, hard=hard,
                   takeaways=extra)
