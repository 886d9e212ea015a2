"""`typingcure chat`: an interactive conversation, streamed; also works with stdin as a pipe.

In a terminal the first screen says what typingcure is and is not, and only then asks whether to
keep history (a passphrase, or Enter alone for nothing kept); cards are boxes drawn by display
width so Devanagari, CJK and emoji keep the border straight (design/terminal.md).

Commands: /role [NAME], /country XX, /resources, /plan [show|edit N|new|stop], /why, /help, /end.
A line that cannot be used (not UTF-8, an unknown country, a message too long) gets one line
saying why, and the conversation goes on; a line of only invisible characters is an empty line.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import unicodedata
from functools import lru_cache

import click

from ..commands import command_of
from ..config import Settings, country_code, load_settings, user_dir
from ..errors import BackendError, InputError, TypingcureError
from ..explain import card_words, explain_turn, resource_lines
from ..pipeline import Parts, Session, assess_safely, build_parts, run_turn
from ..roles import load_role, role_names, role_words
from ..safety.plan import SECTIONS, PlanFlow, SafetyPlan, plan_texts, render_plan
from ..safety.replies import replies
from ..safety.resources import care_card, no_line_sentence
from ..store import passphrase_from_env
from ..types import Profile, at_least
from ._io import MAX_STDIN_BYTES, decode, is_blank, read_lines
from .care import CareDesk
from .personas import PersonaDesk
from ..culture.profile import edit as profile_edit, shown as profile_shown
from ..exercises import ExerciseBook, command as exercise_command, exercise_words, restore, sync
from .store_cmds import NotKept, open_history

# A turn that did one of these spoke about safety: an exercise it paused stays open as a chat.
SAFETY_ACTIONS = ("crisis_reply", "asked_about_safety", "asked_about_suicide", "checked_in", "care_card")

HELP = """Commands:
  /role [NAME]   what I am for today: {roles}
  /step-out      end a rehearsal and talk it over
  /exercise      short exercises to do in one sitting (/exercise NAME, pause, resume, stop, cards)
  /profile       what helps you, what not to suggest, formal or informal (/profile coping WORDS, avoid WORDS)
  /time          time here today, and reminders (/time break 30, /time remind 20 WHY, /time off)
  /outcomes      what distress and better look like for you, in your words; /checkin to check in (0-10)
  /summary       a short summary of this session, to keep if you like
  /persona       your saved personas (/persona new NAME, use NAME, keep, back, off, show, delete NAME)
  /country XX    your country (two letters, `typingcure countries` lists them), for the right local services
  /resources     local crisis lines and emergency numbers
  /plan          make a safety plan together (/plan show, /plan edit N, /plan new)
  /why           what each safety stage decided on the last turn, and why
  /end           end the session (Ctrl-D works too)
In an emergency, call your local emergency number. I'm an AI, not a person, a therapist or an emergency service."""


WELCOME = """typingcure is a private place to type things out.
It is an AI: not a person, a therapist or an emergency service.
If you are in danger, call your local emergency number; /resources shows the right services for your country.
{where}
{kept}
Its safety checks do not depend on the model: /why shows what they decided and why."""

WHERE = {False: "The model runs on this computer: nothing you write leaves it.",
         True: "What you write goes to the model server you chose, with personal details replaced first."}
KEPT = {True: "This conversation is kept on this computer, encrypted with your passphrase;\n"
              "typingcure export, forget and wipe are always one command away.",
        False: "Nothing from this conversation is written to disk, so there is nothing to delete afterwards.",
        None: "History is kept only if you choose to, encrypted with a passphrase only you know."}

NOT_KEPT: dict[NotKept, str] = {
    "no terminal": "Not kept: no passphrase (type one in a terminal, or set TYPINGCURE_PASSPHRASE).",
    "skipped": "Not kept: you chose to continue without keeping anything; nothing from this conversation is written to disk.",
    "wrong three times": "Not kept: that passphrase did not open your history (3 tries). Nothing from this conversation "
                         "will be kept.\nYour history is untouched: to try again, type /end and start typingcure chat again.",
    "different three times": "Not kept: the two passphrases were different (3 tries). Nothing from this conversation "
                             "will be kept.\nTo keep your history, type /end and start typingcure chat again.",
}


def welcome(*, remote: bool, kept: bool | None) -> list[str]:
    """The first-run welcome, true for this session: where the words go, and whether they are kept
    (None: not chosen yet, the choice comes next)."""
    return WELCOME.format(where=WHERE[remote], kept=KEPT[kept]).split("\n")


TYPING = "typing…"


PROMPT = "typingcure › "


@lru_cache(maxsize=4096)
def _cell(ch: str) -> int:
    if (unicodedata.category(ch) in ("Mn", "Me", "Cf", "Cc") and ch != "\u00ad") or "\u1160" <= ch <= "\u11ff":
        return 0  # marks drawn on the letter before, joiners, controls; Hangul vowels and finals that join a syllable
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _cells(text: str) -> int:
    """Columns `text` takes in a terminal, counted as POSIX wcwidth() does (glibc, xterm, VTE): wide
    and fullwidth characters (CJK, most emoji) two; non-spacing marks, format characters (a zero
    width joiner) none; spacing marks such as Devanagari vowel signs one (Rich counts them none,
    which is what broke the card's border: design/terminal.md)."""
    return sum(_cell(ch) for ch in text)


def _printable(text: str) -> str:
    """Control characters (an escape sequence someone typed, a tab) shown as a space, not obeyed."""
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` columns, broken between words (inside a word only when
    it alone is wider than the line); its indent and the spaces that align columns are kept, and a
    continued line starts under the first word."""
    indent = text[:len(text) - len(text.lstrip(" "))]
    indent = indent if _cells(indent) <= width // 2 else ""
    lines, line = [], ""
    for token in re.findall(r" +|[^ ]+", text):
        if token.startswith(" ") or _cells(line + token) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
            line = indent
        for ch in token:  # a run with no spaces wider than the line (Chinese, Japanese, a URL)
            if _cells(line + ch) > width and line.strip():
                lines.append(line)
                line = indent
            line += ch
    return [*lines, line.rstrip()]


def card(title: str, lines: list[str], columns: int) -> list[str]:
    """A box around `lines`, as wide as they need and no wider than `columns`, each line padded by
    display width (`_cells`), so the right border stays straight whatever the script."""
    room = max(10, columns - 4)
    body = [part for line in lines for piece in line.split("\n") for part in _wrap(_printable(piece), room)]
    label = _wrap(_printable(title).strip(), room - 2)[0]
    width = min(room, max([_cells(line) for line in body] + [_cells(label) + 2 if label else 0]))
    label = f" {label} " if label else ""
    left = (width + 2 - _cells(label)) // 2
    top = "╭" + "─" * left + label + "─" * (width + 2 - left - _cells(label)) + "╮"
    return [top, *(f"│ {line}{' ' * (width - _cells(line))} │" for line in body), "╰" + "─" * (width + 2) + "╯"]


class Wrapped:
    """Streamed sentences written to a terminal with lines broken between words, by display width
    (a line of Korean or Chinese is half as many characters), never inside a word."""

    def __init__(self, width: int, indent: int = len(PROMPT)) -> None:
        self.width, self.indent, self.column, self.space = max(20, width), indent, indent, False

    def _newline(self) -> None:
        click.echo("\n" + " " * self.indent, nl=False)
        self.column, self.space = self.indent, False

    def write(self, piece: str) -> None:
        for token in re.findall(r"\s+|\S+", piece):
            if token.isspace():
                if "\n" in token:
                    self._newline()
                else:
                    self.space = self.column > self.indent
                continue
            cells = _cells(token)
            if self.column + self.space + cells > self.width and self.column > self.indent:
                self._newline()
            elif self.space:
                click.echo(" ", nl=False)
                self.column += 1
            self.space = False
            if self.column + cells <= self.width:
                click.echo(token, nl=False)
                self.column += cells
                continue
            for ch in token:  # a run with no spaces wider than the line (Chinese, Japanese, a URL)
                if self.column + _cells(ch) > self.width:
                    self._newline()
                click.echo(ch, nl=False)
                self.column += _cells(ch)


def _closing_words(language: str) -> str:
    """The web app's words for the end of a hard session, in the person's language."""
    from ..languages import interface_strings

    strings = interface_strings()  # English already fills any key a language lacks
    return strings.get(language, strings["en"])["end_worried"]


class ChatUI:
    """Plain text when piped; in a terminal, boxes (cards) for the care card, /why and the plan."""

    def __init__(self, session: Session, parts: Parts, interactive: bool, store=None, kept: str = "",  # type: ignore[no-untyped-def]
                 settings: Settings | None = None) -> None:
        self.session, self.parts, self.interactive = session, parts, interactive
        self.store, self.kept = store, kept
        self.settings = settings or Settings()
        self.lines = read_lines(sys.stdin.buffer)
        self.flow: PlanFlow | None = None
        self.personas: PersonaDesk | None = None  # once it is known whether history is kept
        self.book = ExerciseBook()
        self.exercise_only = False  # `typingcure exercise start`: the session ends with the exercise
        self.care = CareDesk(session, parts, self.say, lambda title, lines: self.block(title, lines, "green"), self.language)

    def open_care(self) -> None:
        """Time spent, the person's own outcomes and kept summaries, from the store when there is one."""
        self.care.open(self.store)

    def open_exercises(self) -> None:
        """The exercise cards and any paused exercise, from the store when there is one."""
        self.book = ExerciseBook.kept_in(self.store)
        restore(self.book, self.session)

    def profile_command(self, arg: str) -> None:
        """`/profile`: what the person chose to tell typingcure, shown and changed; kept encrypted
        with the history. What they write there is read for risk like a message."""
        if not arg:
            self.block("Your profile (only what you choose; never guessed)", profile_shown(self.session.profile), "magenta")
            self.say("Change it: /profile coping prayer, my sister · /profile avoid therapy · /profile register formal · "
                     "/profile clear FIELD")
            return
        self.session.profile, words = profile_edit(self.session.profile, arg)
        if self.store is not None:
            self.store.put("profile", self.session.profile.model_dump())
        self.say("Saved." + ("" if self.store is not None else " (History is off: for this session only.)"))
        if words and at_least(assess_safely(self.parts.assessor, words, self.session).level, "moderate"):
            self.turn(words)  # "/profile identity nobody would miss me" is heard, not only filed

    def exercise_over(self) -> bool:
        """`typingcure exercise start` ends when its exercise is done or stopped, or when the person
        paused it and it is kept (with history on). Paused for their safety, the conversation goes on."""
        if not self.exercise_only:
            return False
        run, last = self.session.exercise, self.session.turns[-1] if self.session.turns else None
        if run is None:
            return True
        if run.active or (last is not None and any(a in last.actions for a in SAFETY_ACTIONS)):
            return False
        if self.store is None:
            self.say("History is off, so a paused exercise is not kept once you leave: /exercise resume goes on now, "
                     "/end finishes.")
            self.exercise_only = False  # from here on, an ordinary chat
            return False
        return True

    def keep_exercises(self) -> None:
        """After a turn or a command: a new card is shown, and what changed is kept (encrypted)."""
        made = list(self.session.cards)
        sync(self.book, self.session, self.store)
        for made_card in made:
            self.care.made.append(made_card.title)
            words = exercise_words(made_card.exercise, made_card.language)
            self.block(made_card.title, [f"({made_card.made})", *made_card.lines()], "green")
            self.say(words.line("card_kept" if self.store is not None else "card_not_kept"))

    def open_personas(self) -> None:
        self.personas = PersonaDesk(self.session, self.parts, self.settings, self.say,
                                    lambda title, lines: self.block(title, lines, "magenta"), self.store)

    def say(self, text: str) -> None:
        click.echo(text)

    def block(self, title: str, lines: list[str], style: str = "cyan") -> None:
        if not self.interactive:
            self.say(f"{title}:" if title else "")
            for line in lines:
                self.say("  " + line)
            return
        colour = not os.environ.get("NO_COLOR")
        drawn = card(title, lines, shutil.get_terminal_size().columns)
        for i, line in enumerate(drawn):
            if colour and i in (0, len(drawn) - 1):
                line = click.style(line, fg=style)
            elif colour:
                line = click.style(line[:1], fg=style) + line[1:-1] + click.style(line[-1:], fg=style)
            self.say(line)

    def read(self) -> str | None:
        """The next line, None at the end; InputError for a line that cannot be read (the next one can)."""
        try:
            if self.interactive:
                return input("you › ")
        except EOFError:
            return None
        except UnicodeDecodeError:
            raise InputError("that line is not valid UTF-8 text") from None
        raw = next(self.lines, b"")
        if raw is None:
            raise InputError(f"that line is longer than {MAX_STDIN_BYTES // (1024 * 1024)} MB")
        return decode(raw, "that line").rstrip("\r\n") if raw else None

    def first_screen(self, kept: bool | None) -> None:
        """The welcome, once per home: what typingcure is and is not, where the words go, whether
        they are kept (None: the choice comes next)."""
        marker = user_dir() / ".welcome-shown"
        if marker.exists():
            return
        remote = bool(self.parts.backend.remote)
        self.block("Welcome", welcome(remote=remote, kept=kept), "green")
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # a read-only home: the welcome shows again next time, nothing worse

    def greet(self) -> None:
        self.first_screen(kept=self.store is not None)
        if self.kept:
            self.say(self.kept)
        self.say(role_words(self.session.role, *self.language()).intro)
        self.say("Type /help for commands, /end to finish.\n")
        self.care.offer_checkin()

    def command(self, line: str) -> bool:
        """Handle a slash command; returns False when the session should end."""
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        last = self.session.turns[-1] if self.session.turns else None
        if name in ("end", "quit", "exit"):
            return False
        if name == "help":
            self.say(HELP.format(roles=", ".join(role_names())))
        elif name == "role":
            language, script = self.language()
            if not arg:
                for r in role_names():
                    mark = "*" if r == self.session.role else " "
                    self.say(f" {mark}{r:<10} {role_words(r, language, script).summary}")
                self.say("Type /role NAME to switch; the safety checks are the same in every role.")
            else:
                self.session.role = load_role(arg).name
                self.say(role_words(arg, language, script).intro)
        elif name == "persona":
            if self.personas is None:
                self.open_personas()
            self.personas.command(arg)  # type: ignore[union-attr]
        elif name == "profile":
            self.profile_command(arg)
        elif name == "time":
            self.care.time_command(arg, self.turn)
        elif name == "outcomes":
            self.care.outcomes_command(arg, self.turn)
        elif name == "checkin":
            self.care.checkin_command(arg)
        elif name == "summary":
            self.care.show_summary(self.ask if self.interactive else None)
        elif name == "exercise":
            said = exercise_command(self.session, arg, self.book, *self.language())
            if said.card is not None and said.lines and said.lines[0] == said.card.title:
                self.block(said.card.title, said.lines[1:], "green")
            else:
                for shown in said.lines:
                    self.say(shown)
            if said.turn:
                self.turn(said.turn)
            self.keep_exercises()
        elif name == "step-out":
            if self.session.role == "rehearsal":
                self.turn("/step-out")
            else:
                self.say("There is no rehearsal to step out of; /role rehearsal starts one.")
        elif name == "country":
            self.session.profile = Profile(**{**self.session.profile.model_dump(), "country": country_code(arg)})
            if self.store is not None:
                self.store.put("profile", self.session.profile.model_dump())
            self.say(f"Country set to {self.session.profile.country or 'not set'}.")
        elif name == "resources":
            self.services(card_words(self.language()[0])["checked_services"])
        elif name == "plan":
            self.plan_command(arg)
        elif name == "why":
            if last:
                self.block("Why the last reply looks the way it does", explain_turn(last), "magenta")
            else:
                self.say("Nothing to explain yet.")
        else:
            self.say(f"Unknown command /{name}. Type /help.")
        return True

    # -- the safety plan ------------------------------------------------------------------------

    def plan_language(self) -> str:
        """The plan speaks the language the person chose, else the one they last wrote in."""
        if self.session.profile.language:
            return self.session.profile.language
        return self.session.turns[-1].intake.language if self.session.turns else "en"

    def plan_command(self, arg: str) -> None:
        plan, language = self.session.plan, self.plan_language()
        word, _, rest = arg.partition(" ")
        if word == "show" or (not word and plan is not None and plan.filled()):
            self.block(plan_texts(language)["title"], render_plan(plan, language))
            if not word:
                self.say("Type /plan edit N to change a step, or /plan new to start again.")
        elif word == "stop":
            self.flow = None
            until = "" if self.store is not None else " until this session ends"
            self.say(f"Okay, we've stopped. What you wrote so far is kept{until}; /plan show shows it.")
        elif word == "edit":
            if rest.strip().isdecimal() and 1 <= int(rest) <= len(SECTIONS):
                self.flow = PlanFlow(plan, language=language, only=SECTIONS[int(rest) - 1])
                self.session.plan = self.flow.plan
                self.say(self.flow.question())
            else:
                titles = plan_texts(language)["sections"]
                for i, section in enumerate(SECTIONS, start=1):
                    self.say(f"  {i}. {titles[section]['title']}")
                self.say("Type /plan edit N with the number of the step to change.")
        else:  # start, or start again
            self.flow = PlanFlow(None if word == "new" else plan, language=language)
            self.session.plan = self.flow.plan
            self.say(self.flow.start())

    def plan_answer(self, text: str) -> None:
        assert self.flow is not None
        if self.flow.wants_to_stop(text):  # "stop" mid-plan stops it; it is not saved as a step
            self.plan_command("stop")
            return
        risk = assess_safely(self.parts.assessor, text, self.session)
        if at_least(risk.level, "high"):
            self.flow = None
            self.say("Let's pause the plan for a moment; what you just wrote matters more.")
            self.turn(text)
            return
        following = self.flow.answer(text)
        if self.store is not None:
            self.store.put("safety_plan", self.flow.plan.model_dump())
        if following is None:
            texts, self.flow = self.flow.texts, None
            self.say(" ".join(texts["done"].split()))
            self.block(texts["title"], render_plan(self.session.plan, texts["language"]))
            return
        self.say(following)
        if self.flow.section == "professionals":
            self.services(card_words(self.language()[0])["checked_services"])

    def turn(self, text: str) -> None:
        typing = self.interactive  # "typing…" from the moment the message is sent, until the first sentence
        if typing:
            click.echo(PROMPT + click.style(TYPING, dim=True), nl=False)
        wrapped = Wrapped(shutil.get_terminal_size().columns - 1) if self.interactive else None

        def release(piece: str) -> None:
            nonlocal typing
            if typing:
                click.echo("\r\x1b[K" + PROMPT, nl=False)
                typing = False
            if wrapped is not None:
                wrapped.write(piece)
            else:
                click.echo(piece, nl=False)

        if self.personas is not None:
            self.personas.check()  # a change to what the persona was pinned to is said before the reply
        self.care.before_turn()
        try:
            turn = run_turn(self.session, text, self.parts, on_release=release)
        finally:
            if typing:
                click.echo("\r\x1b[K" + PROMPT, nl=False)
        click.echo("" if turn.reply else "(saved quietly)")
        if turn.decision.resources:
            self.say("")
            self.block(replies(turn.intake.language, turn.intake.script)["card_title"], resource_lines(turn), "yellow")
        for note in turn.notes:
            self.say(f"  · {note}")
        self.care.after_turn(turn)
        self.say("")

    def ask(self, question: str) -> str | None:
        """A yes-or-no question in a terminal; None at the end of input."""
        try:
            return input(f"{question} ")
        except (EOFError, UnicodeDecodeError):
            return None

    def offer_summary(self) -> None:
        """In a terminal, after a few turns: a summary if the person wants one (never asked when piped)."""
        if self.interactive and len(self.session.turns) >= 3 and self.care.yes(self.ask(self.care.line("summary_offer"))):
            self.care.show_summary(self.ask)

    def close_after_risk(self) -> None:
        """After a session with risk at moderate or more, the close repeats the local services, in the
        language the person last wrote in."""
        turns = self.session.turns
        if not any(at_least(t.risk.level, "moderate") for t in turns):
            return
        language, script = turns[-1].intake.language, turns[-1].intake.script
        self.say("")
        self.say(_closing_words(language))
        self.services(replies(language, script)["card_title"], "yellow", language, script)

    def language(self) -> tuple[str, str | None]:
        """The language the person chose, else the one they last wrote in (and its script)."""
        last = self.session.turns[-1].intake if self.session.turns else None
        return self.session.profile.language or (last.language if last else "en"), (last.script if last else None)

    def services(self, title: str, style: str = "cyan", language: str | None = None, script: str | None = None) -> None:
        """The card for the person's country on its own, and where typingcure has no checked national
        line there, a sentence in their language that says so and what else can help."""
        country = self.session.profile.country
        if language is None:
            language, script = self.language()
        self.block(title, resource_lines(None, care_card(country), language), style)
        if gap := no_line_sentence(country, replies(language, script)):
            self.say(f"  · {gap}")

    def run(self, greet: bool = True) -> int:
        if greet:
            self.greet()
        status = 0
        while True:
            try:
                line = self.read()
            except InputError as exc:
                self.say(f"typingcure: {exc.message}")
                continue
            if line is None:
                break
            line = line.strip()
            if is_blank(line):
                continue
            if command_of(line) is not None:  # exactly a command; "/end it all…" is a message, read for risk
                try:
                    if not self.command(line) or self.exercise_over():
                        break
                except TypingcureError as exc:
                    self.say(f"typingcure: {exc.message}")
                continue
            try:
                if self.personas is not None and self.personas.asking is not None:
                    self.personas.answer(line)
                elif self.care.flow is not None:
                    self.care.checkin_answer(line, self.turn)
                elif self.flow is not None:
                    self.plan_answer(line)
                else:
                    self.turn(line)
                    self.keep_exercises()
                if self.exercise_over():
                    break
            except InputError as exc:
                self.say(f"\ntypingcure: {exc.message}")
            except BackendError as exc:
                self.say(f"\ntypingcure: {exc.message}")
                if not self.interactive:
                    return exc.exit_code
                status = exc.exit_code
        self.close_after_risk()
        if not self.exercise_only:  # `exercise start` ends with its card, which is its summary
            self.offer_summary()
        words = card_words(self.language()[0])
        self.say(f"{words['end_care']} {words['end_remote' if self.parts.backend.remote else 'end_private']}")
        return 0 if self.interactive else status


@click.command("chat")
@click.option("--backend", help="local | local:/path/model.gguf | openai:MODEL@URL | scripted:FILE")
@click.option("--role", help="listener | journal | coach | rehearsal | meaning | info (/role lists them)")
@click.option("--country", help="Two-letter country code, for the right local services.")
@click.option("--language", help="Your language code, if you want to set it (e.g. en, es, sw).")
def chat_command(backend: str | None, role: str | None, country: str | None, language: str | None) -> None:
    """Talk it through. Streams replies; reads lines from a pipe too."""
    settings = load_settings({"backend": backend, "role": role, "country": country, "language": language})
    session = Session(profile=Profile(country=settings.country, language=settings.language), role=load_role(settings.role).name)
    parts = build_parts(settings.backend, settings)
    parts.backend.prepare()
    ui = ChatUI(session, parts, interactive=sys.stdin.isatty(), settings=settings)
    if ui.interactive and settings.history != "off" and not passphrase_from_env():
        ui.first_screen(kept=None)  # what this is, before anything is asked
    ui.store, ui.kept = _keep_history(settings.history, session, parts)
    ui.open_personas()  # a persona in use comes back with the history
    ui.open_exercises()
    ui.open_care()
    try:
        code = ui.run()
    finally:
        if ui.store is not None:
            ui.store.close()
    sys.exit(code)


def _keep_history(history: str, session: Session, parts: Parts):  # type: ignore[no-untyped-def]
    """Open the encrypted store when history is on and a passphrase can be had; say what happens."""
    from ..store import StoreRecorder

    if history == "off":
        return None, "History is off: nothing from this conversation is kept."
    store, why = open_history()
    if store is None:
        return None, NOT_KEPT[why or "skipped"]
    saved_profile = store.get("profile") or {}
    if saved_profile and not session.profile.country:
        session.profile = Profile.from_saved({**saved_profile, **session.profile.model_dump(exclude_none=True)})
    plan = store.get("safety_plan")
    if plan:
        session.plan = SafetyPlan(**plan)
    parts.recorder = StoreRecorder(store, store.new_conversation(session.profile.model_dump(), session.role))
    fixed = "".join(f"\n{note}" for note in store.notes)  # e.g. files others could read, made private
    return store, f"This conversation is kept, encrypted, in {user_dir()} (typingcure export, forget, wipe).{fixed}"
