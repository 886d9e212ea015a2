"""The one state object of the web app, shared by every router: `request.app.state.tc`.

    state = State(settings=settings, home=home, token=None, idle_seconds=900)
    state.ui_strings()["talk"]; state.render("about.html", title="About")
    async def route(state: Tc) -> Response: ...      # a route asks for it by type

It holds what one person's app remembers between requests: the settings, the home folder, the
access token, the unlocked store (or none), the open pages, the Jinja environment, the unlock
guess counters, the sessions of the browsers that unlocked. It owns the changes of the history
between locked, open and off; it does not decide who may see what (security.py does).
"""

from __future__ import annotations

import asyncio
import queue
import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..care import care_web
from ..config import Settings
from ..languages import interface_strings
from ..pipeline import Parts, Session, build_parts
from ..care.outcomes import Outcomes
from ..care.summary import Summaries, Summary
from ..care.usage import Usage, clock
from ..exercises import ExerciseBook, exercise_lines, restore
from ..personas import Personas
from ..safety.resources import no_checked_line
from ..store import Store
from ..types import Message, Profile, Resource, TurnResult

PAGES = {"chat": "listener", "journal": "journal"}  # each page and the role it starts in
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SESSION_COOKIE = "tc_session"


class Feed(queue.Queue[tuple[str, str]]):
    """A reply's pieces: put by the turn's thread, read on the event loop without polling. The
    reader waits on an asyncio event that a put sets, so a sentence is sent the moment it is
    released, and an open stream costs nothing while it waits."""

    def __init__(self) -> None:
        super().__init__()
        self._wake: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def _put(self, item: tuple[str, str]) -> None:  # called with the queue's lock held
        super()._put(item)
        if self._wake is not None:
            loop, event = self._wake
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the reader's loop has closed: nobody is waiting
                self._wake = None

    async def next(self, seconds: float) -> tuple[str, str] | None:
        """The next piece, or None when `seconds` pass without one."""
        event = asyncio.Event()
        with self.mutex:  # a put either comes before this (the piece is there) or sees the event
            if not self._qsize():
                self._wake = (asyncio.get_running_loop(), event)
        if self._wake is not None:
            try:
                await asyncio.wait_for(event.wait(), max(0.0, seconds))
            except TimeoutError:
                pass
            finally:
                with self.mutex:
                    self._wake = None
        try:
            return self.get_nowait()
        except queue.Empty:
            return None



@dataclass
class Page:
    session: Session
    conversation: str | None = None
    queued: int = 0     # turns sent and not yet answered; they are answered one after another
    turn: threading.Lock = field(default_factory=threading.Lock)


def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(str(files("typingcure.web").joinpath("templates"))),
                       autoescape=select_autoescape(["html"]))


@dataclass
class State:
    settings: Settings
    home: Path
    token: str | None
    idle_seconds: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    parts: Parts | None = None                       # the model and the safety layer, loaded at the first turn
    store: Store | None = None
    history: str = "locked"  # locked | open | off
    pages: dict[str, Page] = field(default_factory=dict)
    nonces: set[str] = field(default_factory=set)
    streams: dict[str, Feed] = field(default_factory=dict)
    last_seen: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)  # never held across an await
    profile: Profile = field(default_factory=Profile)
    backend: str = ""
    sessions: set[str] = field(default_factory=set)   # browsers that unlocked (or chose to keep nothing)
    start_code: str | None = None                      # one use: lets the first browser into a history opened at start
    failures: int = 0                                  # wrong passphrases in a row
    next_guess: float = 0.0                            # monotonic time before which a guess is not heard
    hosts: tuple[str, ...] = LOOPBACK
    port: int | None = None
    env: Environment = field(default_factory=_templates, repr=False)
    loading: threading.Lock = field(default_factory=threading.Lock, repr=False)   # turns arriving together load the model once
    unlocking: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)      # one guess at a time
    _strings: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    personas: Personas = field(default_factory=Personas)  # the person's own, from the encrypted store
    book: ExerciseBook = field(default_factory=ExerciseBook)  # exercise cards and a paused exercise (kept when history is)
    configured: Settings | None = field(default=None, repr=False)  # the settings a visit's choices go back to
    usage: Usage = field(default_factory=Usage)          # time spent and the reminders chosen (typingcure.care)
    outcomes: Outcomes = field(default_factory=Outcomes)  # the person's own outcomes and check-ins
    summaries: Summaries = field(default_factory=Summaries)  # session summaries they chose to keep
    ended: Summary | None = None                          # the summary of the session just ended, until kept or not
    now: Any = field(default_factory=clock, repr=False)  # local time (TYPINGCURE_NOW moves it, for tests)
    account: Any = field(default=None, repr=False)       # serve --multi-user: the signed-in account (web/accounts.Signed)
    shared_parts: Any = field(default=None, repr=False)  # serve --multi-user: the worker's one model, for every account

    def __post_init__(self) -> None:
        self.configured = self.settings  # what a visit's choices (a persona's pinned settings) go back to
        self.env.globals["no_checked_line"] = lambda: no_checked_line(self.profile.country)  # card.html says so
        self.ui_strings()  # read once, at the start: ui_language() looks in them

    # -- words and pages -------------------------------------------------------------------------

    def ui_strings(self, language: str | None = None) -> dict[str, str]:
        """The interface strings of the chosen language, or of `language` (e.g. the one a message was
        written in); English for any missing key. Read once, from each language's folder
        (languages/<code>/interface.yaml)."""
        if not self._strings:
            self._strings = interface_strings()
        return self._strings[language if language in self._strings else self.ui_language()]

    def ui_language(self) -> str:
        """The chosen language when the interface speaks it (has strings), else English."""
        language = self.profile.language
        return language if language and language in self._strings else "en"

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("lang", self.ui_language())
        context.setdefault("t", self.ui_strings())
        context.setdefault("title", "typingcure")
        context.setdefault("csrf", self.csrf)
        context.setdefault("x", self.exercise_lines())
        context.setdefault("c", care_web(self.ui_language()))
        context.setdefault("account", self.account is not None)
        context.setdefault("kept", self.kept_text())
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    def exercise_lines(self) -> dict[str, Any]:
        """The exercises' own words (languages/<code>/exercises.yaml) in the chosen language."""
        return exercise_lines(self.ui_language())

    def kept_text(self) -> str:
        words = self.ui_strings()
        if self.account is not None:
            return "Kept on this service's database, encrypted with your password: the people running it cannot read it."
        if self.history == "open":
            return words["kept_open"].format(home=self.home)
        return words["kept_off"] if self.history == "off" else words["kept_locked"]

    def fresh_nonce(self) -> str:
        if self.account is not None:  # any worker may be sent the form: the value proves itself
            return self.account.fresh_nonce()
        nonce = secrets.token_urlsafe(16)
        if len(self.nonces) > 500:  # a page left open for days, or someone reloading in a loop
            self.nonces.clear()
        self.nonces.add(nonce)
        return nonce

    def take_nonce(self, nonce: str) -> bool:
        """True the first time a form's one-use value comes back (a double submit is False)."""
        if self.account is not None:
            return bool(self.account.take_nonce(nonce))
        if nonce not in self.nonces:
            return False
        self.nonces.discard(nonce)
        return True

    # -- the model and the pages -----------------------------------------------------------------

    def loaded_parts(self) -> Parts:
        if self.shared_parts is not None:
            return self.shared_parts()  # type: ignore[no-any-return]
        with self.loading:  # turns arriving together load the model once
            if self.parts is None:
                self.parts = build_parts(self.backend, self.settings)
            return self.parts

    def page(self, name: str) -> Page:
        if name not in self.pages:
            session = Session(profile=self.profile, role=PAGES[name])
            if name == "chat" and self.personas.current is not None:
                session.persona, session.role = self.personas.current, self.personas.current.role
            if name == "chat":
                restore(self.book, session)
            self.pages[name] = Page(session, self._restore(name, session))
        return self.pages[name]

    def _restore(self, name: str, session: Session) -> str | None:
        """After a restart: the latest kept conversation of this page continues."""
        if self.store is None:
            return None
        for info in self.store.conversations():
            if info.role == PAGES[name]:
                for raw in self.store.turns(info.id):
                    turn = TurnResult.model_validate(raw)
                    session.turns.append(turn)
                    session.messages.append(Message("user", turn.user_text))
                    if turn.reply:
                        session.messages.append(Message("assistant", turn.reply))
                return info.id
        return self.store.new_conversation(self.profile.model_dump(), PAGES[name])

    # -- the history: locked, open, off ----------------------------------------------------------

    def reset_choices(self) -> None:
        """Back to the configured profile and model: what one visit chose does not carry to the next
        visitor (the person's own choices come back from the encrypted store when they unlock)."""
        self.settings = self.configured or self.settings
        self.profile = Profile(country=self.settings.country, language=self.settings.language)
        if self.backend != self.settings.backend:
            self.backend, self.parts = self.settings.backend, None

    def open_history(self, store: Store) -> None:
        """The store is unlocked: its pages start afresh, with the profile and model kept in it."""
        self.store, self.history, self.pages = store, "open", {}
        self.reset_choices()
        saved, backend = store.get("profile"), store.get("backend")
        self.personas = Personas.load(store.get("personas"))
        self.book = ExerciseBook.kept_in(store)
        self.usage, self.outcomes, self.summaries = Usage.kept_in(store), Outcomes.kept_in(store), Summaries.kept_in(store)
        if saved:
            self.profile = Profile.from_saved(saved)
        if isinstance(backend, str) and backend and backend != self.backend and self.account is None:
            self.backend, self.parts = backend, None  # the model the person chose, kept encrypted

    def lock_history(self) -> None:
        if self.store is not None:
            self.store.close()
        self.store, self.history, self.pages, self.sessions = None, "locked", {}, set()
        self.personas, self.book = Personas(), ExerciseBook()
        self.usage, self.outcomes, self.summaries, self.ended = Usage(), Outcomes(), Summaries(), None
        self.reset_choices()

    def idle_check(self) -> None:
        """Locks the history when the person has been quiet too long. Called with `lock` held."""
        if self.history == "open" and time.monotonic() - self.last_seen > self.idle_seconds:
            self.lock_history()

    # -- browser sessions ------------------------------------------------------------------------

    def known(self, request: Request) -> bool:
        if self.account is not None:
            return True  # the middleware found this account's session
        given = request.cookies.get(SESSION_COOKIE, "")
        return bool(given) and any(secrets.compare_digest(given.encode("utf-8", "replace"), s.encode()) for s in self.sessions)

    def new_session(self, response: Response, *, only: bool) -> None:
        """This browser may now see the history; `only` drops every other browser's session."""
        value = secrets.token_urlsafe(32)
        self.sessions = {value} if only else {*self.sessions, value}
        response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="strict", path="/")


def watch(ref: weakref.ref[State]) -> None:
    """The idle lock, on a timer: the store is closed when the time is up, not at the next request.
    Holds the state weakly, so an app that is gone takes its thread with it."""
    while True:
        current = ref()
        if current is None:
            return
        interval = min(15.0, max(0.2, current.idle_seconds / 4))
        with current.lock:
            current.idle_check()
        del current
        time.sleep(interval)


def state_of(request: Request) -> State:
    """The state this request is answered with: the app's own, or (serve --multi-user) the signed-in person's."""
    return cast(State, request.scope.get("typingcure.state") or request.app.state.tc)


async def _current(request: Request) -> State:
    return state_of(request)  # async: a dependency FastAPI need not run in a worker thread


Tc = Annotated[State, Depends(_current)]


def _tel(text: str) -> str:
    return "".join(ch for ch in text.split("(")[0].split(" or ")[0].split("/")[0] if ch.isdigit() or ch == "+")


def cards(resources: tuple[Resource, ...] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resources as card.html shows them, with the digits to dial and to text."""
    out = []
    for r in resources:
        data = r.card() if isinstance(r, Resource) else r
        out.append({**data, "tel": _tel(data["phone"] or ""), "sms_digits": _tel(data["sms"] or "")})
    return out
