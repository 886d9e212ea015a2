"""Slash commands, the same in the terminal and the web page.

A message is a command only when the whole of it is one: "/plan", "/country KE", "/role journal".
`/persona new NAME`, `/persona use NAME`, `/persona keep|back|off|show|delete NAME`: saved personas.
`/exercise [NAME | pause | resume | stop | cards | card N]`: single-session exercises.
`/profile`, `/profile FIELD WORDS`, `/profile clear FIELD`: what the person chose to tell typingcure
(the words they set are read for risk like a message).
`/time [...]`, `/outcomes [...]`, `/checkin [skip]`, `/summary`: care over time (design/care.md;
the words set there are read for risk like a message).
`/step-out` ends a rehearsal: in that role it is the message of a turn (the debrief follows).
Anything else that happens to start with a slash ("/end it all, I want to die tonight") is a
message like any other, and goes through the pipeline and its risk assessment.
"""

from __future__ import annotations

import re

COMMAND = re.compile(
    r"^/(?:(plan)(?:\s+(?:show|new|stop|edit(?:\s+\S{1,4})?))?"
    r"|(resources|why|help|end|quit|exit|settings|step-out)"
    r"|(country)(?:\s+(\S{1,12}))?"
    r"|(role)(?:\s+([a-z]{2,20}))?"
    r"|(persona)(?:\s+(?:new|use|delete|show|keep|back|off)(?:\s+[^\s/][^/\n]{0,39})?)?"
    r"|(exercise)(?:\s+(?:card\s+[^\s/]{1,10}|[a-z]{2,20}))?"
    r"|(profile)(?:\s+(?:clear\s+[a-z]{4,10}|(?:coping|avoid|identity|register|languages|language|country|pack)\s+[^/\n]{1,300}))?"
    r"|(time)(?:\s+(?i:off|on|(?:break|late|many)\s+\w{1,5}|(?:remind|daily)(?:\s+\w{1,5}(?:\s+[^\n]{1,120})?)?))?"
    r"|(outcomes)(?:\s+(?i:clear(?:\s+[a-z]{4,10})?|cadence\s+[a-z]{2,10}|(?:distress|better|goals?)\s+[^\n]{1,200}))?"
    r"|(checkin)(?:\s+(?i:skip))?|(summary))"
    r"\s*[.!]?$"
)


def command_of(text: str) -> tuple[str, str] | None:
    """`/country ke` -> ("country", "ke"); `/plan edit 2` -> ("plan", "edit 2"); not exactly a command -> None."""
    found = COMMAND.match(text.strip())
    if found is None:
        return None
    plan, plain, country, country_arg, role, role_arg, persona, exercise, profile, time, outcomes, checkin, summary = (
        found.groups())
    name = plan or plain or country or role or persona or exercise or profile or time or outcomes or checkin or summary
    if plan or persona or exercise or profile or time or outcomes or checkin:
        return name, text.strip()[len(name) + 1:].strip().rstrip(".!").strip()
    return name, (country_arg if country else role_arg if role else "") or ""
