"""Care over time in the chat (design/care.md): reminders about time (/time), the person's own
outcomes and check-ins (/outcomes, /checkin), and the end-of-session summary (/summary).

The chat owns the conversation; this desk owns what is kept across sessions: the store's `usage`,
`outcomes` and `summaries` records (encrypted), or, with history off, the same in memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import languages
from ..care import care_line, care_lines, folded, plain_error
from ..care.outcomes import Outcomes, score_of
from ..care.summary import Summaries, Summary, summarise
from ..care.usage import Usage, clock, nudge, time_command
from ..pipeline import Parts, Session, assess_safely
from ..types import TurnResult, at_least


class CheckInFlow:
    """One check-in, one item at a time: a number from 0 to 10, `skip` (this period), `stop`."""

    def __init__(self, outcomes: Outcomes) -> None:
        self.items = [words for _, words in outcomes.items]
        self.scores: dict[str, int] = {}

    @property
    def current(self) -> str | None:
        return self.items[len(self.scores)] if len(self.scores) < len(self.items) else None


class CareDesk:
    def __init__(self, session: Session, parts: Parts, say: Callable[[str], None],
                 block: Callable[[str, list[str]], None], language: Callable[[], tuple[str, str | None]]) -> None:
        self.session, self.parts, self.say, self.block, self.language = session, parts, say, block, language
        self.store: Any = None
        self.usage, self.outcomes, self.summaries = Usage(), Outcomes(), Summaries()
        self.now = clock()
        self.flow: CheckInFlow | None = None
        self.made: list[str] = []  # titles of the exercise cards made in this session

    def open(self, store: Any) -> None:
        self.store = store
        self.usage, self.outcomes = Usage.kept_in(store), Outcomes.kept_in(store)
        self.summaries = Summaries.kept_in(store)

    def line(self, key: str, **fill: Any) -> str:
        return care_line(key, *self.language(), **fill)

    # -- every turn ---------------------------------------------------------------------------------

    def before_turn(self) -> None:
        self.usage.tick(self.now())

    def after_turn(self, turn: TurnResult) -> None:
        """A reminder that is due (never in a turn about risk), then a check-in if one is due."""
        now = self.now()
        said = nudge(self.usage, now, turn.risk.level, turn.actions, turn.intake.language, turn.intake.script)
        if said:
            self.say(f"  · {said}")
        self.usage.keep(self.store)
        self.offer_checkin(turn)

    def offer_checkin(self, turn: TurnResult | None = None) -> None:
        now = self.now()
        if turn is not None and (at_least(turn.risk.level, "moderate") or turn.decision.resources):
            return
        if self.flow is None and self.outcomes.due(now):
            self.outcomes.offer(now)
            self.outcomes.keep(self.store)
            self.say(f"  · {self.line('checkin_due')}")

    # -- commands ----------------------------------------------------------------------------------------

    def time_command(self, arg: str, heard: Callable[[str], None]) -> None:
        """`/time ...`; the words of a reminder of their own are read for risk like a message, and
        words that worry are heard, not kept to be said back later."""
        parts = arg.split(maxsplit=2)
        why = parts[2] if len(parts) > 2 and parts[0].lower() in ("remind", "daily") else ""
        if why and self.worrying(why):
            heard(why)
            return
        try:
            lines = time_command(self.usage, arg, self.now(), *self.language())
        except ValueError as exc:
            self.say(plain_error(exc))
            return
        self.usage.keep(self.store)
        for shown in lines:
            self.say(shown)

    def outcomes_command(self, arg: str, heard: Callable[[str], None]) -> None:
        """`/outcomes [distress|better|goal WORDS · cadence daily|weekly|off · clear [FIELD]]`. What the
        person writes there is read for risk like a message ("what distress looks like: wanting to die")."""
        field, _, words = arg.partition(" ")
        if not field:
            self.block(self.line("outcomes_title"), self.shown())
            self.say(self.line("outcomes_help"))
            return
        try:
            self.outcomes = self.outcomes.edit(field.lower(), words.strip())
        except ValueError as exc:
            self.say(plain_error(exc))
            self.say(self.line("outcomes_help"))
            return
        self.outcomes.keep(self.store)
        self.say(self.line("outcomes_saved") + ("" if self.store is not None else " " + self.line("outcomes_not_kept")))
        if words.strip() and field.lower() not in ("cadence", "clear") and self.worrying(words):
            heard(words)

    def shown(self) -> list[str]:
        o, lines = self.outcomes, []
        for key, items in (("distress_label", o.distress), ("better_label", o.better), ("goals_label", o.goals)):
            lines.append(f"{self.line(key)}: " + ("; ".join(items) if items else "—"))
        lines.append(f"{self.line('cadence_label')}: {self.line('cadence_' + o.cadence)}")
        for c in o.checkins[-5:]:
            marks = ", ".join(f"{k} {v}" for k, v in c.scores.items()) if not c.skipped else "—"
            lines.append(f"{c.at:%Y-%m-%d}: {marks}")
        return lines

    def checkin_command(self, arg: str) -> None:
        if not self.outcomes.items:
            self.say(self.line("no_items"))
            return
        if folded(arg) in self.words("skip_words"):
            self.outcomes.skip(self.now())
            self.outcomes.keep(self.store)
            self.say(self.line("checkin_skipped"))
            return
        self.flow = CheckInFlow(self.outcomes)
        self.say(self.line("checkin_question", item=self.flow.current))

    def checkin_answer(self, text: str, heard: Callable[[str], None]) -> None:
        """One answer: a number goes on; skip or stop ends it; words that read as risk are heard."""
        assert self.flow is not None and self.flow.current is not None
        item = self.flow.current
        said = folded(text).strip(" .!?。！")
        if said in self.words("stop_words") or said == "/stop":
            self.flow = None
            self.say(self.line("checkin_stopped"))
            return
        if said in self.words("skip_words"):
            self.flow = None
            self.checkin_command("skip")
            return
        score = score_of(text)
        if score is None:
            if self.worrying(text):
                self.flow = None
                heard(text)
                return
            self.say(self.line("checkin_not_number"))
            return
        self.flow.scores[item] = score
        if self.flow.current is not None:
            self.say(self.line("checkin_question", item=self.flow.current))
            return
        self.outcomes.record(self.flow.scores, self.now())
        self.outcomes.keep(self.store)
        self.flow = None
        self.say(self.line("checkin_saved") + ("" if self.store is not None else " " + self.line("outcomes_not_kept")))

    def words(self, key: str) -> set[str]:
        return {folded(w) for w in care_lines(key, "en") + care_lines(key, *self.language())}

    def yes(self, answer: str | None) -> bool:
        """Any language's yes: the person may answer in another language than their last message."""
        said = folded(answer or "").strip(" .!?。！")
        return said in {folded(w) for code in languages.with_file("care") for w in care_lines("yes_words", code)}

    def worrying(self, text: str) -> bool:
        return at_least(assess_safely(self.parts.assessor, text, self.session).level, "moderate")

    # -- the end of a session -------------------------------------------------------------------------------

    def summary(self) -> Summary:
        return summarise(self.session, *self.language(), takeaways=[self.line("summary_card", title=t) for t in self.made],
                         now=self.now())

    def show_summary(self, ask: Callable[[str], str | None] | None = None) -> None:
        """The summary, and (in a terminal, with history on) whether to keep it."""
        summary = self.summary()
        self.block(self.line("summary_title"), summary.lines())
        if ask is None or self.store is None or (not summary.talked and not summary.takeaways):
            return
        if self.yes(ask(self.line("summary_keep"))):
            self.summaries.add(summary)
            self.summaries.keep(self.store)
            self.say(self.line("summary_kept"))
        else:
            self.say(self.line("summary_not_kept"))
