"""`typingcure chat` in a real pseudo-terminal: the first screen, passphrase tries, and cards that
stay straight in any script (design/terminal.md)."""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import locale
import os
import pty
import re
import select
import struct
import sys
import termios
import time
import unicodedata
from pathlib import Path
from typing import Iterator

import pytest

from typingcure.store import DB_NAME, KEY_NAME, open_store

from .conftest import run_cli, write_script

REPLY = "I hear you."
HINDI_TITLE = "अगर आपको अभी किसी की ज़रूरत है"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A typingcure command on its own pseudo-terminal, read and typed into as a person would."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, columns: int = 80) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: set the window size on its terminal, then become typingcure
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
                # an explicit environment: readline, once loaded, exports COLUMNS behind os.environ's back
                child = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
                os.execvpe(sys.executable, [sys.executable, "-m", "typingcure", *args], {**child, "TERM": "xterm", **(env or {})})
            finally:
                os._exit(127)
        self.pid, self.fd, self.raw, self.seen = pid, fd, b"", 0

    @property
    def text(self) -> str:
        """Everything shown so far, without colours and cursor moves."""
        return ANSI.sub("", self.raw.decode("utf-8", errors="replace")).replace("\r\n", "\n")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal
            return False
        self.raw += chunk
        return bool(chunk)

    def expect(self, wanted: str, timeout: float = 30) -> str:
        """Wait until `wanted` is shown after what was already expected; returns the text before it."""
        deadline = time.monotonic() + timeout
        while (at := self.text.find(wanted, self.seen)) < 0:
            if time.monotonic() > deadline or not self._read(0.2):
                raise AssertionError(f"{wanted!r} never came; the terminal showed:\n{self.text[self.seen:]}")
        before, self.seen = self.text[self.seen:at], at + len(wanted)
        return before

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode("utf-8") + b"\n")

    def close(self, timeout: float = 30) -> int:
        """Read until the program ends; its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.2):
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


@pytest.fixture
def script(tmp_path: Path) -> str:
    return write_script(tmp_path / "replies.json", {"replies": [REPLY], "cycle": True})  # type: ignore[arg-type]


@pytest.fixture
def kept_before(home: Path) -> Iterator[str]:
    """A home that already keeps one conversation under the passphrase yielded."""
    store = open_store("the right one", home)
    store.new_conversation({}, "listener")
    store.close()
    yield "the right one"


def conversations(home: Path, passphrase: str) -> list[str]:
    store = open_store(passphrase, home, create=False)
    try:
        return [c.id for c in store.conversations()]
    finally:
        store.close()


def talk_and_end(term: Terminal) -> str:
    """One message, its reply, /end: what the conversation showed."""
    start = term.seen
    term.expect("you ›")
    term.type("I had a long day at work")
    term.expect(REPLY)
    term.expect("you ›")
    term.type("/end")
    term.expect("Take care of yourself")
    assert term.close() == 0, term.text
    return term.text[start:]


def display_width(text: str) -> int:
    """Columns as the C library's wcswidth() counts them (what terminals on Linux use); by
    Unicode categories where there is no such library."""
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        libc = ctypes.CDLL(libc_name)
        libc.wcswidth.argtypes, libc.wcswidth.restype = [ctypes.c_wchar_p, ctypes.c_size_t], ctypes.c_int
        width = libc.wcswidth(text, len(text))
        if width >= 0:
            return int(width)
    return sum(0 if unicodedata.category(ch) in ("Mn", "Me", "Cf") else 2 if unicodedata.east_asian_width(ch) in "WF"
               else 1 for ch in text)


@pytest.fixture
def utf8_ctype() -> Iterator[None]:
    """wcswidth() needs a UTF-8 LC_CTYPE to measure anything but ASCII."""
    before = locale.setlocale(locale.LC_CTYPE)
    for name in ("C.UTF-8", "C.utf8", "en_US.UTF-8"):
        try:
            locale.setlocale(locale.LC_CTYPE, name)
            break
        except locale.Error:
            continue
    yield
    locale.setlocale(locale.LC_CTYPE, before)


def test_the_first_screen_comes_before_any_passphrase_prompt(script: str, home: Path) -> None:
    term = Terminal("chat", "--backend", script)
    first = term.expect("Choose a passphrase, or press Enter to continue without keeping anything:")
    said = ["a private place to type things out", "not a person, a therapist or an emergency service",
            "call your local emergency number", "The model runs on this computer: nothing you write leaves it",
            "History is kept only if you choose to, encrypted with a passphrase", "Keep your history?"]
    places = [first.find(words) for words in said]
    assert -1 not in places and places == sorted(places), first
    assert "assphrase:" not in first  # nothing was asked before the first screen ended
    term.type("")  # Enter alone: continue without keeping anything
    after = talk_and_end(term)
    assert "Not kept: you chose to continue without keeping anything" in after
    assert not (home / KEY_NAME).exists() and not (home / DB_NAME).exists()


def test_enter_alone_at_the_passphrase_keeps_nothing(script: str, home: Path, kept_before: str) -> None:
    term = Terminal("chat", "--backend", script)
    assert "private place to type things out" in term.expect("Passphrase, or press Enter to continue without keeping anything:")
    term.type("")
    assert "Not kept" in talk_and_end(term)
    assert len(conversations(home, kept_before)) == 1  # nothing added


def test_three_wrong_passphrases_then_the_conversation_goes_on_unkept(script: str, home: Path, kept_before: str) -> None:
    term = Terminal("chat", "--backend", script)
    for i, left in enumerate(["2 tries left", "1 try left", None]):
        term.expect("Passphrase, or press Enter")
        term.type(f"not it {i}")
        if left:
            term.expect(left)
    shown = talk_and_end(term)
    assert "Nothing from this conversation will be kept" in shown and "to try again, type /end and start typingcure chat" in shown
    assert "not it" not in term.text  # passphrases are never echoed
    assert len(conversations(home, kept_before)) == 1


def test_the_right_passphrase_on_the_second_try_keeps_the_history(script: str, home: Path, kept_before: str) -> None:
    term = Terminal("chat", "--backend", script)
    term.expect("Passphrase, or press Enter")
    term.type("not it")
    term.expect("2 tries left")
    term.expect("Passphrase, or press Enter")
    term.type(kept_before)
    assert "This conversation is kept, encrypted" in talk_and_end(term)
    ids = conversations(home, kept_before)
    assert len(ids) == 2
    store = open_store(kept_before, home, create=False)
    try:
        texts = [turn["user_text"] for c in store.export()["conversations"] for turn in c["turns"]]
    finally:
        store.close()
    assert texts == ["I had a long day at work"]


def test_two_different_new_passphrases_can_be_typed_again(script: str, home: Path) -> None:
    term = Terminal("chat", "--backend", script)
    term.expect("Choose a passphrase")
    term.type("one thing")
    term.expect("Type it again:")
    term.type("another thing")
    term.expect("The two were different; try again (2 tries left)")
    term.expect("Choose a passphrase")
    term.type("the same thing")
    term.expect("Type it again:")
    term.type("the same thing")
    assert "This conversation is kept, encrypted" in talk_and_end(term)
    assert len(conversations(home, "the same thing")) == 1


def test_the_care_card_border_is_straight_in_hindi(script: str, utf8_ctype: None) -> None:
    term = Terminal("chat", "--backend", script, "--country", "IN", env={"TYPINGCURE_HISTORY": "off"}, columns=72)
    term.expect("you ›")
    term.type("मैं मरना चाहता हूँ")
    term.expect(HINDI_TITLE)
    term.expect("╯")
    term.expect("you ›")
    term.type("/end")
    assert term.close() == 0
    text = term.text
    drawn = text[text.rindex("╭", 0, text.index(HINDI_TITLE)):text.index("╯", text.index(HINDI_TITLE)) + 1].split("\n")
    widths = {line: display_width(line) for line in drawn}
    assert len(drawn) >= 3 and len(set(widths.values())) == 1, widths
    assert max(widths.values()) <= 72
    assert all(line[0] in "╭│╰" and line[-1] in "╮│╯" for line in drawn)


def test_a_card_lines_up_in_any_script(utf8_ctype: None) -> None:
    from typingcure.cli.chat import card

    lines = ["मैं बहुत अकेला महसूस कर रहा हूँ, किसी से बात करनी है", "今すぐ誰かが必要なら、ここにいます。" * 3,
             "Emoji too 😀 👍🏽 and a flag 🇳🇬", "Tele-MANAS: call 14416 · https://telemanas.mohfw.gov.in (24/7)",
             "an escape \x1b[31m typed in"]
    for columns in (40, 60, 100):
        drawn = card(HINDI_TITLE, lines, columns)
        widths = [display_width(line) for line in drawn]
        assert len(set(widths)) == 1 and widths[0] <= columns, (columns, drawn)
        assert "\x1b" not in "".join(drawn) and HINDI_TITLE in drawn[0]
        body = "".join(line[2:-2] for line in drawn[1:-1]).replace(" ", "")
        assert "".join(lines).replace("\x1b", "").replace(" ", "") == body  # nothing lost in wrapping


def test_history_gives_three_tries_in_a_terminal_and_counts_turns_right(script: str, home: Path) -> None:
    env = {"TYPINGCURE_PASSPHRASE": "the right one"}
    assert run_cli("chat", "--backend", script, stdin="one thought\n", env=env).returncode == 0
    term = Terminal("history")
    term.expect("Passphrase:")
    term.type("not it")
    term.expect("2 tries left")
    term.expect("Passphrase:")
    term.type("the right one")
    assert term.close() == 0
    assert re.search(r"\b1 turn\b", term.text) and "1 turns" not in term.text
    locked = Terminal("history")
    for _ in range(3):
        locked.expect("Passphrase:")
        locked.type("not it")
    assert locked.close() == 5 and "wrong passphrase" in locked.text


def test_roles_in_a_terminal_a_rehearsal_from_scene_to_debrief(tmp_path: Path, home: Path) -> None:
    """/role lists the six roles with a line each; a rehearsal is set, played in character, and
    /step-out gives the debrief, one question at a time, then typingcure listens again."""
    from typingcure.roles import role_words

    words = role_words("rehearsal")
    backend = write_script(tmp_path / "boss.json", {"replies": ["I'm busy. Make it quick. As an AI, I care."], "cycle": True})
    term = Terminal("chat", "--backend", backend)
    term.expect("Choose a passphrase")
    term.type("")
    term.expect("you ›")

    def answer(line: str) -> str:
        term.type(line)
        return " ".join(term.expect("you ›").split())

    listed = answer("/role")
    for name in ("listener", "journal", "coach", "rehearsal", "meaning", "info"):
        assert role_words(name).summary in listed, listed
    assert words.intro in answer("/role rehearsal")
    assert words.line("ready") in answer("My boss. He's impatient and cuts me off. I want to ask him for a raise.")
    played = answer("I think my work this year deserves a raise.")
    assert "Make it quick" in played and "As an AI" not in played
    assert words.line("went_well") in answer("/step-out")
    for line, key in (("I said it.", "try_next"), ("Slow down.", "feel_now"), ("Better.", "done")):
        assert words.line(key) in answer(line)
    term.type("/end")
    term.expect("summary of this session before you go? (y/n)")  # a few turns: a summary, if they want one
    term.type("y")
    summary = term.expect("Take care of yourself")
    assert "This session" in summary and "I said it." in summary
    assert term.close() == 0, term.text


EXERCISE_ANSWERS = {"en": "a walk with my sister", "fr": "une promenade avec ma sœur", "ja": "妹と散歩すること",
                    "sw": "kutembea na dada yangu", "es": "un paseo con mi hermana", "ko": "동생과 산책하기"}


def _squeezed(text: str) -> str:
    return re.sub(r"[\s│]+", "", text)  # a card wraps its lines inside its border


@pytest.mark.parametrize("name,language", list(zip(
    ("grounding", "action", "problems", "values", "kindness", "brain"), ("en", "fr", "ja", "sw", "es", "ko"))))
def test_an_exercise_from_start_to_card_in_a_terminal(name: str, language: str, tmp_path: Path) -> None:
    """`typingcure exercise start NAME`: each step in the person's language, one answer each, then
    the card with their own words; the session ends with the exercise."""
    from typingcure.exercises import exercise_words, load_exercise

    words, answer = exercise_words(name, language), EXERCISE_ANSWERS[language]
    backend = write_script(tmp_path / "r.json", {"replies": [REPLY], "cycle": True})  # type: ignore[arg-type]
    term = Terminal("exercise", "start", name, "--language", language, "--backend", backend,
                    env={"TYPINGCURE_HISTORY": "off"})
    assert _squeezed(words.steps[0]) in _squeezed(term.expect("you ›"))
    for i in range(1, len(load_exercise(name).steps)):
        term.type(f"{answer} {i}")
        assert _squeezed(words.steps[i]) in _squeezed(term.expect("you ›")), (name, language, i)
    term.type(answer)
    shown = _squeezed(term.expect(words.line("card_not_kept").split()[0]))
    assert _squeezed(words.takeaway) in shown and _squeezed(words.line("card_title", title=words.title)) in shown
    assert _squeezed(f"{answer} 2") in shown  # the answer to the second step, which is on every card
    assert term.close() == 0, term.text
