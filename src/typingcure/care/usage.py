"""Time spent with typingcure, and gentle reminders the person can change or turn off.

    usage = Usage.kept_in(store)                 # the store's "usage" record (encrypted), or a new one
    usage.tick(now)                              # a turn happened now: session length, daily totals
    said = nudge(usage, now, turn.risk.level, turn.actions, "en")   # a reminder that is due, or None

Reminders: a break after a long session (45 minutes by default), late at night, many sessions in a
day, and the person's own ("remind me after 20 minutes", "equal time with friends" after an hour a
day). Each is said at most once in its period (the session, the night, the day), never in a turn
about risk (it waits for a later turn), never a lock-out. Design and choices: design/care.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .._kept import Kept
from .._text import their_words
from ..types import at_least
from . import care_line

__all__ = ["IDLE", "RECORD", "TimeSettings", "Usage", "clock", "nudge", "time_command"]

RECORD = "usage"
IDLE = timedelta(minutes=30)       # a gap this long between messages starts a new session
LATE_HOURS = (0, 5)                # from midnight to 5 in the morning, local time
DAYS_KEPT = 400
# A turn that did one of these spoke about safety: no reminder about time in it.
SAFETY_ACTIONS = frozenset({"crisis_reply", "emergency_first", "asked_about_safety", "asked_about_suicide",
                            "checked_in", "care_card", "offered_safety_plan", "guidance_for_helper"})


Minutes = Annotated[int, Field(ge=0, le=1440)]


class TimeSettings(BaseModel):
    """What the person chose. Minutes 0 = off."""

    model_config = ConfigDict(extra="forbid")
    break_after: Minutes = 45                        # a break after this long in one session
    late_night: bool = True                          # a word about rest late at night
    many_sessions: Annotated[int, Field(ge=0, le=100)] = 5   # a word after this many sessions in a day
    remind_after: Minutes = 0                        # their own: after this long in one session
    remind_why: str = ""                             # ... in their words ("time to call Mum")
    daily_after: Minutes = 0                         # their own: after this long in a day
    daily_why: str = ""                              # ... in their words ("equal time with friends")

    @field_validator("remind_why", "daily_why")
    @classmethod
    def _words(cls, value: str) -> str:
        value = their_words(value)
        if len(value) > 120:
            raise ValueError("at most 120 characters")
        return value


class Day(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: int = 0
    sessions: int = 0


class Usage(Kept):
    """Kept encrypted (the store's "usage" record, exported, removed by `wipe`)."""

    store_name: ClassVar[str] = RECORD

    model_config = ConfigDict(extra="forbid")
    settings: TimeSettings = Field(default_factory=lambda: TimeSettings())
    days: dict[str, Day] = Field(default_factory=dict)       # ISO date -> time and sessions that day
    session: int = 0                                         # how many sessions so far
    session_start: datetime | None = None
    last_seen: datetime | None = None
    shown: dict[str, str] = Field(default_factory=dict)      # reminder -> the period it was last said in


    def tick(self, now: datetime) -> None:
        """A message now: a new session after a gap of IDLE (or at the first), else time added."""
        day = self.days.setdefault(now.date().isoformat(), Day())
        if self.last_seen is None or self.session_start is None or not timedelta(0) <= now - self.last_seen < IDLE:
            self.session += 1
            self.session_start = now
            day.sessions += 1
        else:
            day.seconds += int((now - self.last_seen).total_seconds())
        self.last_seen = now
        for old in sorted(self.days)[:-DAYS_KEPT]:
            del self.days[old]

    def session_minutes(self, now: datetime) -> int:
        return int((now - self.session_start).total_seconds() // 60) if self.session_start else 0

    def today(self, now: datetime) -> Day:
        return self.days.get(now.date().isoformat(), Day())


def _night(now: datetime) -> str:
    """The night a moment belongs to: 2 a.m. on the 5th is the night of the 4th."""
    return (now - timedelta(hours=LATE_HOURS[1])).date().isoformat()


def nudge(usage: Usage, now: datetime, level: str, actions: Iterable[str] = (), language: str = "en",
          script: str | None = None) -> str | None:
    """The reminder due now, marked as said; None when none is due or the turn was about risk."""
    if at_least(level, "moderate") or SAFETY_ACTIONS & set(actions):  # type: ignore[arg-type]
        return None  # never in a crisis turn: it waits for a later one
    s, minutes, today = usage.settings, usage.session_minutes(now), usage.today(now)
    day_minutes = today.seconds // 60
    session, night, day = f"session {usage.session}", _night(now), now.date().isoformat()
    due: list[tuple[str, str, str]] = []  # (reminder, period, line)
    if s.remind_after and minutes >= s.remind_after:
        key = "nudge_remind_why" if s.remind_why else "nudge_remind"
        due.append(("remind", session, care_line(key, language, script, minutes=s.remind_after, why=s.remind_why)))
    if s.daily_after and day_minutes >= s.daily_after:
        key = "nudge_daily_why" if s.daily_why else "nudge_daily"
        due.append(("daily", day, care_line(key, language, script, minutes=s.daily_after, why=s.daily_why)))
    if s.break_after and minutes >= s.break_after:
        due.append(("break", session, care_line("nudge_break", language, script, minutes=minutes)))
    if s.late_night and LATE_HOURS[0] <= now.hour < LATE_HOURS[1]:
        due.append(("late", night, care_line("nudge_late", language, script)))
    if s.many_sessions and today.sessions >= s.many_sessions:
        due.append(("many", day, care_line("nudge_many", language, script, count=today.sessions)))
    for name, period, line in due:
        if usage.shown.get(name) != period:
            usage.shown[name] = period
            return f"{line} {care_line('nudge_off', language, script)}"
    return None


def clock() -> Callable[[], datetime]:
    """Local time; `TYPINGCURE_NOW` (ISO, e.g. 2026-12-04T23:50) starts the clock there and lets it
    run, so that a test or a demonstration can see the late-night reminder at any hour."""
    start = os.environ.get("TYPINGCURE_NOW", "").strip()
    if not start:
        return datetime.now
    try:
        offset = datetime.fromisoformat(start) - datetime.now()
    except ValueError:
        return datetime.now
    return lambda: datetime.now() + offset


def _minutes(word: str) -> int:
    if word in ("off", "0"):
        return 0
    if not (word.isascii() and word.isdigit()) or len(word) > 4 or not 1 <= int(word) <= 1440:
        raise ValueError("minutes from 1 to 1440, or off")
    return int(word)


def time_command(usage: Usage, arg: str, now: datetime, language: str = "en", script: str | None = None) -> list[str]:
    """`/time [break N|off · late on|off · many N|off · remind N [why] · daily N [why] · off]`: shows
    today's time and the reminders, or changes one (ValueError with what is allowed)."""
    words = arg.split(maxsplit=2)
    if words:
        words[0] = words[0].lower()
    s = usage.settings
    if words:
        what, value, why = words[0].lower(), (words[1].lower() if len(words) > 1 else ""), (words[2] if len(words) > 2 else "")
        if what == "off" and not value:  # the built-in reminders; the person's own stay until they turn them off
            usage.settings = s.model_copy(update={"break_after": 0, "late_night": False, "many_sessions": 0})
        elif what == "on" and not value:
            usage.settings = s.model_copy(update={k: TimeSettings.model_fields[k].default
                                                  for k in ("break_after", "late_night", "many_sessions")})
        elif what == "break" and value:
            usage.settings = s.model_copy(update={"break_after": _minutes(value)})
        elif what == "late" and value in ("on", "off"):
            usage.settings = s.model_copy(update={"late_night": value == "on"})
        elif what == "many" and value:
            count = _minutes(value)
            if count > 100:
                raise ValueError("a number of sessions from 1 to 100, or off")
            usage.settings = s.model_copy(update={"many_sessions": count})
        elif what in ("remind", "daily") and value:
            usage.settings = TimeSettings.model_validate({**s.model_dump(), f"{what}_after": _minutes(value),
                                                          f"{what}_why": why})
        else:
            raise ValueError(care_line("time_help", language, script))
        usage.shown.clear()  # a changed reminder may be said again
        return [care_line("time_saved", language, script)]
    return time_lines(usage, now, language, script)


def time_lines(usage: Usage, now: datetime, language: str = "en", script: str | None = None) -> list[str]:
    s, today = usage.settings, usage.today(now)
    off, on = care_line("time_off_word", language, script), care_line("time_on_word", language, script)

    def after(minutes: int, why: str = "") -> str:
        if not minutes:
            return off
        said = care_line("time_minutes", language, script, minutes=minutes)
        return f"{said} (\"{why}\")" if why else said

    return [
        care_line("time_today", language, script, minutes=today.seconds // 60, sessions=today.sessions,
                  session=usage.session_minutes(now)),
        care_line("time_settings", language, script, brk=after(s.break_after), late=on if s.late_night else off,
                  many=care_line("time_count", language, script, count=s.many_sessions) if s.many_sessions else off,
                  remind=after(s.remind_after, s.remind_why), daily=after(s.daily_after, s.daily_why)),
        care_line("time_help", language, script),
    ]
