"""Single-session exercises as data: short, self-guided, done in one sitting (design/exercises.md).

    exercise_names()                      # ["action", "brain", "kindness", "problems", "grounding", "values"]
    run = ExerciseRun.start("grounding", "fr")
    words = exercise_words("grounding", "fr")    # the steps, card labels and lines, in French

An exercise file (`<name>.yaml` here) is a fixed skeleton of steps, each one question for the
person; the same fixed text in another language is that language folder's `exercises.yaml`. The
run moves one step per turn: the person's answer is kept for their card, and the next step's text
follows a short reflection (the model writes it only when it is known to be capable; the guards
check it like any reply). The policy decides what a turn does (`next_action`); the pipeline moves
the run on afterwards (`advance`), so risk and the crisis protocol come first on every answer.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, ClassVar, Literal

from .._kept import Kept
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import _yaml, languages
from ..errors import ConfigError

SHOWN_FIRST = ("grounding", "action", "problems", "values", "kindness", "brain")
ExerciseAction = Literal["exercise_started", "exercise_resumed", "exercise_step", "exercise_skipped",
                         "exercise_paused", "exercise_stopped", "exercise_done"]
CONTROLS = ("stop", "pause", "skip")
MAX_ANSWER = 2000  # characters of one answer kept on the card


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z_]{2,20}$")
    text: str
    card: str | None = None  # the label of the answer on the takeaway card (None: not on the card)
    plan: bool = False  # the answer is something the person will do: one that reads as risk is asked about


class Exercise(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    version: int = 1
    minutes: int = Field(ge=5, le=30)
    technique: str
    title: str
    summary: str
    steps: tuple[Step, ...] = Field(min_length=3, max_length=10)
    takeaway: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def exercise_names() -> list[str]:
    return _yaml.names_in("typingcure.exercises", SHOWN_FIRST)


@cache
def load_exercise(name: str) -> Exercise:
    if name not in exercise_names():
        raise ConfigError(f"unknown exercise {name!r} (choose from: {', '.join(exercise_names())})")
    raw = _yaml.safe_load(files("typingcure.exercises").joinpath(f"{name}.yaml").read_text("utf-8"))
    try:
        exercise = Exercise(**raw)
    except (TypeError, ValidationError) as exc:
        raise ConfigError(f"exercise file {name}.yaml is invalid: {exc}") from exc
    ids = [s.id for s in exercise.steps]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"exercise file {name}.yaml: two steps share an id")
    return exercise


def _flat(text: Any) -> str:
    return " ".join(str(text).split())


@languages.cached
def _translated(code: str) -> dict[str, Any]:
    raw = languages.load(code, "exercises") or {}
    raw.pop("language", None)
    return raw


def _codes(language: str, script: str | None) -> list[str]:
    """English first, then the language and its variant for the script, where they have the file."""
    base, variant = (language or "en").split("-")[0], languages.variant_for(language or "en", script or None)
    return ["en", *(c for c in dict.fromkeys((base, variant)) if c != "en" and c in languages.with_file("exercises"))]


@dataclass(frozen=True)
class ExerciseWords:
    """One exercise's fixed text in one language (English fills any gap)."""

    title: str
    summary: str
    steps: tuple[str, ...]
    cards: tuple[str | None, ...]
    takeaway: str
    lines: dict[str, Any]

    def line(self, key: str, **fill: Any) -> str:
        return _flat(self.lines[key]).format(**fill)


@languages.cached
def exercise_lines(language: str = "en", script: str | None = None) -> dict[str, Any]:
    """The exercises' own lines (start, pause, the thank-yous, the card's and the page's words) in a
    language, English filling any gap."""
    lines: dict[str, Any] = {}
    for code in _codes(language, script):
        lines.update(_translated(code).get("lines") or {})
    return lines


@languages.cached
def exercise_words(name: str, language: str = "en", script: str | None = None) -> ExerciseWords:
    exercise = load_exercise(name)
    title, summary, takeaway = exercise.title, exercise.summary, exercise.takeaway
    steps = {s.id: s.text for s in exercise.steps}
    cards = {s.id: s.card for s in exercise.steps}
    for code in _codes(language, script):
        raw = _translated(code)
        theirs = (raw.get("exercises") or {}).get(name) or {}
        title, summary, takeaway = (theirs.get(k) or d for k, d in (("title", title), ("summary", summary),
                                                                     ("takeaway", takeaway)))
        steps.update({k: v for k, v in (theirs.get("steps") or {}).items() if k in steps})
        cards.update({k: v for k, v in (theirs.get("cards") or {}).items() if cards.get(k)})
    ids = [s.id for s in exercise.steps]
    return ExerciseWords(title=_flat(title), summary=_flat(summary), steps=tuple(_flat(steps[i]) for i in ids),
                         cards=tuple(_flat(cards[i]) if cards[i] else None for i in ids), takeaway=_flat(takeaway),
                         lines=exercise_lines(language, script))


_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$", re.UNICODE)


@languages.cached
def _control_words(code: str) -> dict[str, frozenset[str]]:
    raw = _translated(code).get("words") or {}
    return {kind: frozenset(_EDGES.sub("", unicodedata.normalize("NFKC", w).replace("’", "'").casefold())
                            for w in raw.get(kind) or ()) for kind in CONTROLS}


def control_of(text: str, language: str = "en", script: str | None = None) -> str | None:
    """"stop", "pause" or "skip" when the whole message is one of those words (in English or the
    exercise's language), else None: "I can't stop crying" is an answer, not a control."""
    said = " ".join(_EDGES.sub("", unicodedata.normalize("NFKC", text).replace("’", "'").casefold()).split())
    if not said or len(said) > 40:
        return None
    for code in _codes(language, script):
        for kind, words in _control_words(code).items():
            if said in words:
                return kind
    return None


class ExerciseRun(BaseModel):
    """Where one person is in one exercise. `status`: "new" (the next turn shows the start and the
    first step), "resumed" (the next turn shows the step it stopped at), "running" (step `step` is
    shown and waits for an answer), "paused" (the conversation goes on as usual)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    version: int = 1
    language: str = "en"
    script: str | None = None
    step: int = Field(default=0, ge=0)
    answers: dict[str, str] = Field(default_factory=dict)
    status: Literal["new", "resumed", "running", "paused"] = "new"
    started: float = Field(default_factory=time.time)

    @classmethod
    def start(cls, name: str, language: str = "en", script: str | None = None) -> ExerciseRun:
        exercise = load_exercise(name)
        return cls(name=exercise.name, version=exercise.version, language=language or "en", script=script)

    @property
    def exercise(self) -> Exercise:
        return load_exercise(self.name)

    @property
    def words(self) -> ExerciseWords:
        return exercise_words(self.name, self.language, self.script)

    @property
    def total(self) -> int:
        return len(self.exercise.steps)

    @property
    def active(self) -> bool:
        return self.status != "paused"

    @property
    def asks_for_a_plan(self) -> bool:
        """The step waiting for an answer asks what the person will do (not what they see or feel)."""
        return self.status == "running" and self.step < self.total and self.exercise.steps[self.step].plan

    def card(self, *, complete: bool) -> Card:
        words = self.words
        items = [(label, self.answers[step.id]) for step, label in zip(self.exercise.steps, words.cards)
                 if label and step.id in self.answers]
        return Card(exercise=self.name, title=words.line("card_title", title=words.title), made=time.strftime("%Y-%m-%d"),
                    language=self.language, items=items, takeaway_label=words.line("card_takeaway"),
                    takeaway=words.takeaway, complete=complete)


class Card(BaseModel):
    """What the person takes away from an exercise: their own answers under the step labels, and the
    exercise's one thing to remember. Kept (encrypted) only when they keep a history."""

    model_config = ConfigDict(extra="forbid")
    exercise: str
    title: str
    made: str
    language: str = "en"
    items: list[tuple[str, str]] = Field(default_factory=list)
    takeaway_label: str = "To remember"
    takeaway: str = ""
    complete: bool = True

    def lines(self) -> list[str]:
        out = [f"{label}: {answer}" for label, answer in self.items]
        return [*out, f"{self.takeaway_label}: {self.takeaway}"]

    def text(self) -> str:
        return "\n".join([self.title, f"({self.made})", "", *self.lines()]) + "\n"


def next_action(run: ExerciseRun, text: str) -> ExerciseAction:
    """What this message does to the exercise (for a run that is not paused)."""
    if run.status == "new":
        return "exercise_started"
    if run.status == "resumed":
        return "exercise_resumed"
    control = control_of(text, run.language, run.script)
    if control == "stop":
        return "exercise_stopped"
    if control == "pause":
        return "exercise_paused"
    last = run.step >= run.total - 1
    if control == "skip":
        return "exercise_done" if last else "exercise_skipped"
    return "exercise_done" if last else "exercise_step"


def reply_of(run: ExerciseRun, action: ExerciseAction) -> str:
    """The fixed text a turn shows (after any reflection of the answer)."""
    words, n = run.words, run.step
    if action == "exercise_started":
        return f"{words.line('started', title=words.title, minutes=run.exercise.minutes, total=run.total)} {words.steps[0]}"
    if action == "exercise_resumed":
        return f"{words.line('resumed', n=n + 1, total=run.total)} {words.steps[n]}"
    if action == "exercise_paused":
        return words.line("paused", n=n + 1)
    if action == "exercise_stopped":
        return words.line("stopped") + (f" {words.line('stopped_card')}" if _kept(run) else "")
    if action == "exercise_done":
        return f"{words.line('done')} {words.takeaway}"
    return f"{words.line('skipped')} {words.steps[n + 1]}" if action == "exercise_skipped" else words.steps[n + 1]


def _kept(run: ExerciseRun) -> bool:
    return any(label for step, label in zip(run.exercise.steps, run.words.cards) if step.id in run.answers)


def advance(run: ExerciseRun, text: str, actions: tuple[str, ...] | list[str]) -> tuple[ExerciseRun | None, Card | None]:
    """The run after a turn that did `actions` (None: it ended), and the card when it ended with one."""
    action = next((a for a in actions if a.startswith("exercise_")), None)
    if action is None:
        return run, None
    if action in ("exercise_started", "exercise_resumed"):
        return run.model_copy(update={"status": "running"}), None
    if action == "exercise_paused":
        return run.model_copy(update={"status": "paused"}), None
    if action == "exercise_stopped":
        return None, run.card(complete=False) if _kept(run) else None
    answers = dict(run.answers)
    if action in ("exercise_step", "exercise_done") and control_of(text, run.language, run.script) is None:
        answers[run.exercise.steps[run.step].id] = text.strip()[:MAX_ANSWER]
    if action == "exercise_done":
        return None, run.model_copy(update={"answers": answers}).card(complete=True)
    return run.model_copy(update={"answers": answers, "step": run.step + 1}), None


RECORD = "exercises"  # the store's record of the book


class ExerciseBook(Kept):
    """What is kept (the store's "exercises" record, encrypted, exported): a paused run and the cards."""

    store_name: ClassVar[str] = RECORD

    model_config = ConfigDict(extra="forbid")
    paused: ExerciseRun | None = None
    cards: list[Card] = Field(default_factory=list)


# -- the commands, the same in the terminal and the web page ------------------------------------------


@dataclass
class Said:
    """What a command shows (`lines`), and the message of a turn to run after it (`turn`: the start
    or the resumption of an exercise is a turn, so that risk is assessed as on any other)."""

    lines: list[str]
    turn: str | None = None
    card: Card | None = None


def listing(language: str = "en", script: str | None = None) -> list[str]:
    out = []
    for name in exercise_names():
        words = exercise_words(name, language, script)
        minutes = words.line("web_minutes", minutes=load_exercise(name).minutes)
        out.append(f"{name:<10} {words.title} ({minutes}): {words.summary}")
    return out


def command(session: Any, arg: str, book: ExerciseBook, language: str = "en", script: str | None = None) -> Said:
    """`/exercise [list | NAME | pause | resume | stop | cards | card N]` for a pipeline Session."""
    arg = " ".join(arg.split()).lower()
    run: ExerciseRun | None = session.exercise
    lines = exercise_lines(language, script)
    if arg in ("", "list"):
        shown = listing(language, script)
        if run is not None:
            words = run.words
            shown.append(f"* {words.title}: {words.line('step_of', n=run.step + 1, total=run.total)}"
                         + (" (/exercise resume)" if run.status == "paused" else ""))
        return Said([*shown, "/exercise NAME · pause · resume · stop · cards"])
    if arg == "pause":
        if run is None:
            return Said([_flat(lines["none_running"])])
        session.exercise = run.model_copy(update={"status": "paused"})
        return Said([run.words.line("paused", n=run.step + 1)])
    if arg == "resume":
        if run is None:
            return Said([_flat(lines["none_paused"])])
        session.exercise = run.model_copy(update={"status": "resumed"})  # the step it is at is shown again
        return Said([], turn="/exercise resume")
    if arg == "stop":
        if run is None:
            return Said([_flat(lines["none_running"])])
        session.exercise, card = advance(run, "", ("exercise_stopped",))
        if card is not None:
            session.cards.append(card)
        return Said([reply_of(run, "exercise_stopped")], card=card)
    if arg == "cards":
        cards = [*book.cards, *session.cards]
        if not cards:
            return Said([_flat(lines["no_cards"])])
        return Said([f"{i}. {c.title} ({c.made})" for i, c in enumerate(cards, 1)] + ["/exercise card N"])
    if arg.startswith("card"):
        cards, n = [*book.cards, *session.cards], arg.removeprefix("card").strip()
        if not re.fullmatch(r"[0-9]{1,3}", n) or not 1 <= int(n) <= len(cards):
            return Said([_flat(lines["no_such_card"]).format(count=len(cards))])
        card = cards[int(n) - 1]
        return Said([card.title, f"({card.made})", *card.lines()], card=card)
    name = load_exercise(arg).name  # an unknown name: ConfigError, with the names to choose from
    shown = []
    card = None
    if run is not None:  # the one under way (or paused) stops, and keeps a card of what was written
        _, card = advance(run, "", ("exercise_stopped",))
        if card is not None:
            session.cards.append(card)
        shown.append(reply_of(run, "exercise_stopped"))
    session.exercise = ExerciseRun.start(name, language, script)
    return Said(shown, turn=f"/exercise {name}", card=card)


def sync(book: ExerciseBook, session: Any, store: Any = None) -> bool:
    """Move what the session made into the book (the run under way, new cards), and keep the book in
    `store` (encrypted) when one is open and something changed; True if it changed."""
    before = book.model_dump_json()
    book.cards.extend(session.cards)
    session.cards.clear()
    book.paused = session.exercise
    changed = book.model_dump_json() != before
    if changed:
        book.keep(store)
    return changed


def restore(book: ExerciseBook, session: Any) -> None:
    """A run kept from an earlier session comes back paused: the conversation goes on as usual until
    the person resumes it."""
    run = book.paused
    if run is None or session.exercise is not None:
        return
    if run.name not in exercise_names() or run.version != load_exercise(run.name).version or run.step >= run.total:
        book.paused = None  # the exercise changed since: its steps no longer line up with the answers
        return
    session.exercise = run.model_copy(update={"status": "paused"})
