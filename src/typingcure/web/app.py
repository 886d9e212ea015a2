"""The web app: a calm, private place to type, over the same run_turn() and store as the CLI.

    app = create_app(Settings(), home=user_dir())
    uvicorn.run(app, host="127.0.0.1", port=8000)          # `typingcure serve`

Server-rendered pages (Jinja2, autoescaped: what people type is shown as text, never run), one
small script of our own that streams checked sentences over Server-Sent Events, no CDN and no
third-party assets. The web layer holds no safety logic: every message goes through run_turn().
Security (design/web.md): only its own Host and Origin, a session cookie that binds the unlocked
history to the browser that unlocked it, CSRF token on every form, strict headers (CSP without
inline script, no referrer, no framing) on every response, an access token when bound beyond
loopback, unlock guesses slowed and then locked out, and the history locks again after a quiet
spell, on a timer.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import os
import queue
import sys
import secrets
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..commands import command_of
from ..config import Settings, country_code
from ..explain import explain_turn
from ..errors import ConfigError, InputError, TypingcureError
from ..types import at_least
from ..culture.language import OWN_NAMES
from ..pipeline import Parts, Session, assess_safely, build_parts, run_turn
from ..roles import load_role, role_names
from ..safety.decide import LANGUAGE_NAMES
from ..safety.plan import SECTIONS, SafetyPlan, plan_texts
from ..safety.replies import replies
from ..safety.resources import care_card, no_checked_line
from ..store import KEY_NAME, KeyFile, LockedError, SQLiteStore, StoreRecorder, to_markdown, wipe
from ..types import Message, Profile, Resource, TurnResult

PAGES = {"chat": "listener", "journal": "journal"}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}
# Each language by its own name, so someone who reads no English finds theirs (the English name after it).
LOOPBACK = ("127.0.0.1", "localhost", "::1")
OPEN_PATHS = ("/unlock", "/unlock/skip")        # reachable before this browser has a session
PUBLIC_PATHS = ("/about", "/healthz")          # reachable by anyone the Host check lets in; they show nothing private
SESSION_COOKIE = "tc_session"
STREAM_SECONDS = 180.0   # a reader waits at most this long for a reply to finish
MAX_BODY = 256_000       # bytes in a form post: a 16,000-character message in any script, with room; more is refused unread
MAX_QUEUED = 4           # turns waiting on one page (two tabs, a double click); more are refused with a clear line
FREE_GUESSES = 3         # wrong passphrases before each further guess must wait
LOCKOUT_AFTER = 10       # wrong passphrases before a long lockout
LOCKOUT_SECONDS = 900.0


def guess_delay(failures: int) -> float:
    """Seconds before the next unlock attempt is heard, after `failures` wrong passphrases in a row:
    none for the first few (a typo), then doubling to five minutes, and a quarter of an hour after ten."""
    if failures >= LOCKOUT_AFTER:
        return LOCKOUT_SECONDS
    return 0.0 if failures < FREE_GUESSES else min(2.0 ** (failures - FREE_GUESSES), 300.0)


def split_host(value: str) -> tuple[str, int | None]:
    """`127.0.0.1:8000` -> ("127.0.0.1", 8000); `[::1]:8000` -> ("::1", 8000); a bad port -> port -1."""
    value = value.strip().lower()
    if value.startswith("["):
        name, closed, rest = value[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            return name, -1  # "[::1" or "[::1]x": not a host
        port_text = rest[1:]
    elif value.count(":") == 1:
        name, _, port_text = value.partition(":")
    else:
        name, port_text = value, ""
    if not port_text:
        return name, None
    return name, int(port_text) if port_text.isascii() and port_text.isdecimal() and len(port_text) <= 5 else -1


def backend_reach(spec: str) -> Literal["network", "file"] | None:
    """What a backend spec reaches beyond the built-in and pulled models, for a confirmation: an
    address on the network, or a file on this computer. None when it is one of ours."""
    kind, _, rest = spec.partition(":")
    if kind == "openai":
        return "network"
    if kind == "scripted":
        return "file"
    if kind == "local" and rest:
        from ..backends.catalogue import entry_named

        return None if entry_named(rest) is not None else "file"  # a pulled model by name is ours
    return None


@dataclass
class Page:
    session: Session
    conversation: str | None = None
    queued: int = 0     # turns sent and not yet answered; they are answered one after another
    turn: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class State:
    settings: Settings
    home: Path
    token: str | None
    idle_seconds: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    parts: Parts | None = None
    store: SQLiteStore | None = None
    history: str = "locked"  # locked | open | off
    pages: dict[str, Page] = field(default_factory=dict)
    nonces: set[str] = field(default_factory=set)
    streams: dict[str, queue.Queue] = field(default_factory=dict)  # type: ignore[type-arg]
    last_seen: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    profile: Profile = field(default_factory=Profile)
    backend: str = ""
    sessions: set[str] = field(default_factory=set)   # browsers that unlocked (or chose to keep nothing)
    start_code: str | None = None                      # one use: lets the first browser into a history opened at start
    failures: int = 0                                  # wrong passphrases in a row
    next_guess: float = 0.0                            # monotonic time before which a guess is not heard
    hosts: tuple[str, ...] = LOOPBACK
    port: int | None = None


def _tel(text: str) -> str:
    return "".join(ch for ch in text.split("(")[0].split(" or ")[0].split("/")[0] if ch.isdigit() or ch == "+")


def _cards(resources: tuple[Resource, ...] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in resources:
        data = r.card() if isinstance(r, Resource) else r
        out.append({**data, "tel": _tel(data["phone"] or ""), "sms_digits": _tel(data["sms"] or "")})
    return out


def create_app(settings: Settings, *, home: Path, token: str | None = None, idle_minutes: float = 15,
               hosts: Sequence[str] = (), port: int | None = None, passphrase: str | None = None) -> FastAPI:
    """The app for one person. `hosts` are names it answers to besides 127.0.0.1, localhost and ::1
    (the address it is bound to); `port`, when given, must be the one in the Host header. With a
    `passphrase` (TYPINGCURE_PASSPHRASE) the history is open from the start, and the browser that
    opens `app.state.tc.start_link` first is the one that may see it."""
    if not isinstance(idle_minutes, (int, float)) or not math.isfinite(idle_minutes) or idle_minutes <= 0:
        raise ConfigError(f"the idle time must be a number of minutes above 0, not {idle_minutes!r}")
    state = State(settings=settings, home=home, token=token, idle_seconds=idle_minutes * 60,
                  profile=Profile(country=settings.country, language=settings.language), backend=settings.backend,
                  hosts=tuple(dict.fromkeys([*LOOPBACK, *(h.strip("[]").lower() for h in hosts)])), port=port)
    env = Environment(loader=FileSystemLoader(str(files("typingcure.web").joinpath("templates"))),
                      autoescape=select_autoescape(["html"]))
    env.globals["no_checked_line"] = lambda: no_checked_line(state.profile.country)  # card.html says so
    app = FastAPI(title="typingcure", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.tc = state
    static = files("typingcure.web").joinpath("static")

    # -- plumbing ------------------------------------------------------------------------------

    loaded = yaml.safe_load(files("typingcure.web").joinpath("strings.yaml").read_text("utf-8"))
    strings = {lang: {**loaded["en"], **words} for lang, words in loaded.items()}  # English for any missing key

    def ui_language() -> str:
        language = state.profile.language
        return language if language and language in strings else "en"

    def ui_strings(language: str | None = None) -> dict[str, str]:
        """The interface strings of the chosen language, or of `language` (e.g. the one a message was written in)."""
        return strings[language if language in strings else ui_language()]

    def card_context(turn: TurnResult, words: dict[str, str]) -> dict[str, Any]:
        """What card.html shows under a reply: the care card, notes, and a link to the plan when the reply offers it."""
        text = replies(turn.intake.language, turn.intake.script)
        web = {text[f"note_{k}"]: text[f"note_{k}_web"] for k in ("no_country", "set_country")}
        notes = [web.get(n, n) for n in turn.notes]
        return {"resources": _cards(turn.decision.resources), "notes": notes,
                "plan_link": words["plan"] if "/plan" in turn.reply else None}

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("lang", ui_language())
        context.setdefault("t", ui_strings())
        context.setdefault("title", "typingcure")
        context.setdefault("csrf", state.csrf)
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    loading = threading.Lock()

    def parts() -> Parts:
        with loading:  # turns arriving together load the model once
            if state.parts is None:
                state.parts = build_parts(state.backend, state.settings)
            return state.parts

    def page(name: str) -> Page:
        if name not in state.pages:
            session = Session(profile=state.profile, role=PAGES[name])
            state.pages[name] = Page(session, _restore(name, session))
        return state.pages[name]

    def _restore(name: str, session: Session) -> str | None:
        """After a restart: the latest kept conversation of this page continues."""
        if state.store is None:
            return None
        for info in state.store.conversations():
            if info.role == PAGES[name]:
                for raw in state.store.turns(info.id):
                    turn = TurnResult.model_validate(raw)
                    session.turns.append(turn)
                    session.messages.append(Message("user", turn.user_text))
                    if turn.reply:
                        session.messages.append(Message("assistant", turn.reply))
                return info.id
        return state.store.new_conversation(state.profile.model_dump(), PAGES[name])

    def kept_text() -> str:
        words = ui_strings()
        if state.history == "open":
            return words["kept_open"].format(home=state.home)
        return words["kept_off"] if state.history == "off" else words["kept_locked"]

    def reset_choices() -> None:
        """Back to the configured profile and model: what one visit chose does not carry to the next
        visitor (the person's own choices come back from the encrypted store when they unlock)."""
        state.profile = Profile(country=settings.country, language=settings.language)
        if state.backend != settings.backend:
            state.backend, state.parts = settings.backend, None

    def lock() -> None:
        if state.store is not None:
            state.store.close()
        state.store, state.history, state.pages, state.sessions = None, "locked", {}, set()
        reset_choices()

    def watch(ref: weakref.ref[State]) -> None:
        """The idle lock, on a timer: the store is closed when the time is up, not at the next request."""
        while True:
            current = ref()
            if current is None:
                return
            interval = min(15.0, max(0.2, current.idle_seconds / 4))
            with current.lock:
                if current.history == "open" and time.monotonic() - current.last_seen > current.idle_seconds:
                    lock()
            del current
            time.sleep(interval)

    threading.Thread(target=watch, args=(weakref.ref(state),), daemon=True, name="typingcure-idle-lock").start()

    if passphrase:
        # The terminal that started serve knows the passphrase; the browser proves it came from
        # there with the one-time code in the printed address (nobody else on this computer has it).
        state.store, state.history = SQLiteStore.open(home, passphrase), "open"
        saved, chosen = state.store.get("profile"), state.store.get("backend")
        if saved:
            state.profile = Profile.from_saved(saved)
        if isinstance(chosen, str) and chosen:
            state.backend = chosen
        state.start_code = secrets.token_urlsafe(24)

    def host_ok(value: str | None, scheme_port: int = 80) -> bool:
        if not value:
            return False
        name, given = split_host(value)
        if name not in state.hosts or given == -1:
            return False
        return state.port is None or (given if given is not None else scheme_port) == state.port

    def origin_ok(request: Request) -> bool:
        """A state-changing request must come from a page of this app (a browser always says where from)."""
        site, origin = request.headers.get("sec-fetch-site"), request.headers.get("origin")
        if site is not None and site not in ("same-origin", "none"):
            return False
        if origin is None:
            return True  # not a browser (the session cookie still guards what matters)
        if origin == "null":  # what a browser sends under Referrer-Policy: no-referrer; its Sec-Fetch-Site says more
            return site == "same-origin"
        try:
            parts_ = urlsplit(origin)
        except ValueError:
            return False
        return parts_.scheme in ("http", "https") and host_ok(parts_.netloc, 443 if parts_.scheme == "https" else 80)

    def known(request: Request) -> bool:
        given = request.cookies.get(SESSION_COOKIE, "")
        return bool(given) and any(secrets.compare_digest(given.encode("utf-8", "replace"), s.encode()) for s in state.sessions)

    def new_session(response: Response, *, only: bool) -> None:
        """This browser may now see the history; `only` drops every other browser's session."""
        value = secrets.token_urlsafe(32)
        state.sessions = {value} if only else {*state.sessions, value}
        response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="strict", path="/")

    def secured(response: Response) -> Response:
        for key, value in HEADERS.items():
            response.headers[key] = value
        return response

    @app.middleware("http")
    async def guard(request: Request, call_next):  # type: ignore[no-untyped-def]
        # DNS rebinding: a page from another site that points its name at 127.0.0.1 says so in Host.
        if not host_ok(request.headers.get("host")):
            return secured(PlainTextResponse(f"This app answers only at http://127.0.0.1:{state.port or 'PORT'}/ "
                                             "(a page from somewhere else tried to reach it).", status_code=421))
        if state.token is not None:
            given = request.query_params.get("token") or request.cookies.get("tc_access") or ""
            if not given or not secrets.compare_digest(given.encode("utf-8", "replace"), state.token.encode("utf-8")):
                return secured(PlainTextResponse("an access token is needed", status_code=401))
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            if not origin_ok(request):
                return secured(PlainTextResponse("refused: this form was not sent from this app's own page", status_code=403))
            length = request.headers.get("content-length", "")
            if not (length.isascii() and length.isdecimal()):
                return secured(PlainTextResponse("a form must say how long it is (Content-Length)", status_code=411))
            if int(length) > MAX_BODY:
                return secured(PlainTextResponse(f"that is too much to send at once (more than {MAX_BODY // 1000} kB)", status_code=413))
        path = request.url.path
        code = request.query_params.get("code")
        if code and state.start_code and secrets.compare_digest(code.encode("utf-8", "replace"), state.start_code.encode()):
            state.start_code = None  # one use
            entered = secured(RedirectResponse("/", 303))
            new_session(entered, only=False)
            state.last_seen = time.monotonic()
            return entered
        public = path in PUBLIC_PATHS or path.startswith("/static/")
        issue = False
        with state.lock:
            if state.history == "open" and time.monotonic() - state.last_seen > state.idle_seconds:
                lock()
            mine = known(request)
            if not mine and not public and path not in OPEN_PATHS:
                if state.settings.history != "off":
                    return unlock_page(None)
                # Nothing is kept: a new browser starts afresh, and what an earlier one had open is dropped.
                state.history, state.pages, issue = "off", {}, True
                reset_choices()
            if mine and not public and not path.startswith("/chat/stream"):
                state.last_seen = time.monotonic()  # only the person's own requests keep the history open
        try:
            response = await call_next(request)
        except Exception as exc:
            if os.environ.get("TYPINGCURE_DEBUG"):
                import traceback

                traceback.print_exception(exc, file=sys.stderr)
            else:
                print(f"typingcure: {type(exc).__name__} while answering {request.method} {path} "
                      "(TYPINGCURE_DEBUG=1 shows the details)", file=sys.stderr)
            words = ui_strings()
            response = render("error.html", 500, heading=words["err_failed_h"], message=words["err_failed"])
        if issue:
            new_session(response, only=True)
        if mine and not public and not path.startswith("/chat/stream"):
            state.last_seen = time.monotonic()  # idle time counts from the end of the person's last request
        secured(response)
        response.set_cookie("tc_csrf", state.csrf, httponly=True, samesite="strict")
        if state.token is not None:
            response.set_cookie("tc_access", state.token, httponly=True, samesite="strict")
        return response

    class Refused(Exception):
        pass

    @app.exception_handler(Refused)
    async def refused(_request: Request, _exc: Refused) -> Response:
        words = ui_strings()
        return secured(render("error.html", 403, heading=words["err_expired_h"], message=words["err_expired"]))

    async def checked(request: Request):  # type: ignore[no-untyped-def]
        """The form, once its CSRF token matches both the page and the cookie; else a 403 page."""
        try:
            form = await request.form(max_files=0, max_fields=60, max_part_size=MAX_BODY)
        except Exception:
            raise Refused() from None
        given = str(form.get("csrf", "")).encode("utf-8", "replace")  # bytes: compare_digest refuses non-ASCII text
        if not secrets.compare_digest(given, state.csrf.encode()) or request.cookies.get("tc_csrf") != state.csrf:
            raise Refused()
        return form

    def unlock_page(error: str | None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        response = render("unlock.html", status, title=ui_strings()["unlock"], error=error,
                          new=not KeyFile(state.home / KEY_NAME).exists())
        secured(response).headers.update(headers or {})
        response.set_cookie("tc_csrf", state.csrf, httponly=True, samesite="strict")
        return response

    # -- unlocking --------------------------------------------------------------------------------

    unlocking = asyncio.Lock()  # one guess at a time: parallel guesses wait their turn, and their delay

    def try_passphrase(secret: str) -> SQLiteStore | None:
        """Argon2 and the store, in a worker thread. The store when it was locked; None when it is
        already open (another browser unlocked it) and the passphrase is right."""
        if state.store is None:
            return SQLiteStore.open(state.home, secret)
        KeyFile(state.home / KEY_NAME).unlock(secret)
        return None

    @app.post("/unlock")
    async def unlock(request: Request) -> Response:
        form = await checked(request)
        secret, again = str(form.get("passphrase", "")), form.get("again")
        if again is not None and secret != again:
            return unlock_page(ui_strings()["unlock_mismatch"], 400)
        async with unlocking:
            wait = state.next_guess - time.monotonic()
            if wait > 0:
                return unlock_page(ui_strings()["unlock_wait"].format(n=math.ceil(wait)), 429,
                                   {"Retry-After": str(math.ceil(wait))})
            try:
                opened = await run_in_threadpool(try_passphrase, secret)
            except LockedError:
                state.failures += 1
                state.next_guess = time.monotonic() + guess_delay(state.failures)
                return unlock_page(ui_strings()["unlock_wrong"], 401)
            except TypingcureError as exc:
                return unlock_page(exc.message, 500)
            state.failures, state.next_guess = 0, 0.0
        response = RedirectResponse("/", 303)
        with state.lock:
            if opened is not None:
                state.store, state.history, state.pages = opened, "open", {}
                reset_choices()
                saved, backend = opened.get("profile"), opened.get("backend")
                if saved:
                    state.profile = Profile.from_saved(saved)
                if isinstance(backend, str) and backend and backend != state.backend:
                    state.backend, state.parts = backend, None  # the model the person chose, kept encrypted
            # A browser that only chose to keep nothing does not see a history someone unlocked.
            new_session(response, only=opened is not None)
            state.last_seen = time.monotonic()
        return response

    @app.post("/unlock/skip")
    async def skip(request: Request) -> Response:
        await checked(request)
        with state.lock:
            if state.history == "open":
                return unlock_page(ui_strings()["unlock_elsewhere"], 409)
            state.history, state.pages = "off", {}
            reset_choices()
            response = RedirectResponse("/", 303)
            new_session(response, only=True)
        return response

    # -- talking ------------------------------------------------------------------------------------

    def fresh_nonce() -> str:
        nonce = secrets.token_urlsafe(16)
        if len(state.nonces) > 500:  # a page left open for days, or someone reloading in a loop
            state.nonces.clear()
        state.nonces.add(nonce)
        return nonce

    def chat_view(name: str, error: str | None = None, summary: str | None = None, status: int = 200,
                  summary_cards: list[dict[str, Any]] | None = None, said: str | None = None) -> Response:
        current = page(name)
        nonce = fresh_nonce()
        role, words = load_role(current.session.role), ui_strings()
        turns = [{"user_text": t.user_text, "reply": for_the_web(t.reply), **card_context(t, words)} for t in current.session.turns]
        return render("chat.html", status, title=words[name if name == "journal" else "talk"], page=name,
                      intro=words.get(f"intro_{role.name}", role.intro), kept=kept_text(), turns=turns, nonce=nonce, role=current.session.role,
                      roles=[load_role(r) for r in role_names()], send_url=f"/{name}/send",
                      error=error, summary=summary, summary_cards=summary_cards or [], said=said,
                      card_title=replies(state.profile.language or "en")["card_title"])

    @app.get("/", response_class=HTMLResponse)
    async def chat_page() -> Response:
        return await run_in_threadpool(chat_view, "chat")  # reading a kept conversation is SQLite: off the loop

    @app.get("/journal", response_class=HTMLResponse)
    async def journal_page() -> Response:
        return await run_in_threadpool(chat_view, "journal")

    @app.post("/chat/role")
    async def choose_role(request: Request) -> Response:
        form = await checked(request)
        role = str(form.get("role", ""))
        if role in role_names():
            page("chat").session.role = role
        return RedirectResponse("/", 303)

    def start_turn(name: str, text: str) -> tuple[str, threading.Thread]:
        current, store = page(name), state.store
        current.queued += 1
        stream_id = uuid.uuid4().hex
        out: queue.Queue = queue.Queue()  # type: ignore[type-arg]
        if len(state.streams) > 50:  # replies nobody came to read (the page was closed): let them go
            for old in list(state.streams)[:-50]:
                state.streams.pop(old, None)
        state.streams[stream_id] = out

        def work() -> None:
            # Runs to the end even if the browser goes away: the turn is kept whole, once. The model
            # is loaded here, the first time, off the event loop.
            try:
                current.turn.acquire()  # two tabs sending at once: answered in turn, neither lost
                turn_parts = parts()
                if store is not None and current.conversation:
                    turn_parts = Parts(**{**turn_parts.__dict__, "recorder": StoreRecorder(store, current.conversation)})
                turn = run_turn(current.session, text, turn_parts, on_release=lambda piece: out.put(("sentence", for_the_web(piece))))
                words = ui_strings(turn.intake.language)
                extra = env.get_template("card.html").render(t=words, card_title=replies(turn.intake.language, turn.intake.script)["card_title"],
                                                             **card_context(turn, words))
                if not turn.reply:
                    extra = f"<p class='muted'>{_escape(words['quiet'])}</p>" + extra
                out.put(("done", extra))
            except TypingcureError as exc:
                out.put(("done", f"<p class='notice' role='alert'>{_escape(exc.message)}</p>"))
            except Exception as exc:
                print(f"typingcure: {type(exc).__name__} while answering a message", file=sys.stderr)
                out.put(("done", "<p class='notice' role='alert'>Something went wrong while answering; nothing "
                                 "was kept of this message. Try again.</p>"))
            finally:
                current.turn.release()
                current.queued -= 1

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        return stream_id, worker

    async def send(request: Request, name: str) -> Response:
        form = await checked(request)
        text, nonce = str(form.get("text", "")), str(form.get("nonce", ""))
        wants_json = "application/json" in request.headers.get("accept", "")
        if nonce not in state.nonces:  # a double submit: the first one is already on its way
            return JSONResponse({"error": "That message was already sent."}, 409) if wants_json else RedirectResponse(f"/{'' if name == 'chat' else name}", 303)
        state.nonces.discard(nonce)

        def refuse(message: str, status: int) -> Response:
            """The message was not sent; the page may send it again (a fresh nonce), and it stays in the box."""
            if not wants_json:
                return chat_view(name, message, status=status)
            return JSONResponse({"error": message, "next_nonce": fresh_nonce()}, status)

        if page(name).queued >= MAX_QUEUED:
            return refuse(ui_strings()["err_busy"], 429)
        if not text.strip() or not text.strip("\u200b\u200c\u200d\u2060\ufeff \t\r\n"):
            return refuse(ui_strings()["err_empty"], 400)
        command = command_of(text)
        if command:
            return web_command(name, command[0], command[1], wants_json)
        if len(text) > state.settings.max_message_chars:
            return refuse(ui_strings()["err_long"].format(n=f"{len(text):,}", limit=f"{state.settings.max_message_chars:,}"), 413)
        stream_id, worker = start_turn(name, text)
        if wants_json:
            return JSONResponse({"stream": f"/chat/stream/{stream_id}", "next_nonce": fresh_nonce()})
        await run_in_threadpool(worker.join)  # a plain form waits for the reply, without holding up anyone else
        state.streams.pop(stream_id, None)
        return RedirectResponse("/" if name == "chat" else f"/{name}", 303)

    def web_command(name: str, command: str, arg: str, wants_json: bool) -> Response:
        """The terminal's slash commands, typed in the page: the same effect, shown as the page shows things."""
        current = page(name)
        go: str | None = None
        html, words = "", ui_strings()
        ending = command in ("end", "quit", "exit") and name == "chat"
        if command in ("end", "quit", "exit"):
            go = None if ending else "/journal"
        elif command == "plan":
            go = "/plan"
        elif command in ("settings", "language"):
            go = "/settings"
        elif command == "resources":
            html = env.get_template("card.html").render(t=words, card_title=replies(ui_language())["card_title"],
                                                        resources=_cards(care_card(state.profile.country)), notes=[], plan_link=None)
        elif command == "country" and not arg:
            html = f"<p class='notice'>{_escape(words['country_now'].format(country=state.profile.country or '-'))}</p>"
        elif command == "country":
            try:
                state.profile = Profile(**{**state.profile.model_dump(), "country": country_code(arg)})
            except InputError:
                html = f"<p class='notice' role='alert'>{_escape(words['country_two_letters'])}</p>"
            else:
                for p in state.pages.values():
                    p.session.profile = state.profile
                if state.store is not None:
                    state.store.put("profile", state.profile.model_dump())
                html = f"<p class='notice'>{_escape(words['saved'])} ({_escape(state.profile.country or '-')})</p>"
        elif command == "role" and arg in role_names() and name == "chat":
            current.session.role = arg
            html = f"<p class='notice'>{_escape(words.get('intro_' + arg, load_role(arg).intro))}</p>"
        elif command == "why":
            last = current.session.turns[-1] if current.session.turns else None
            lines = explain_turn(last) if last else ["Nothing to explain yet."]
            html = "<ul class='notes'>" + "".join(f"<li>{_escape(line)}</li>" for line in lines) + "</ul>"
        else:
            shown = ", ".join(f"/{c}" for c in ("plan", "resources", "country XX", "role NAME", "why", "end"))
            html = f"<p class='notice'>{_escape(words['commands_here'].format(commands=shown))}</p>"
        if wants_json:
            return JSONResponse({"redirect": go, "end": ending, "html": html, "next_nonce": fresh_nonce()})
        if ending:
            return end_view()
        return RedirectResponse(go, 303) if go else chat_view(name, said=html)

    @app.post("/chat/send")
    async def chat_send(request: Request) -> Response:
        return await send(request, "chat")

    @app.post("/journal/send")
    async def journal_send(request: Request) -> Response:
        return await send(request, "journal")

    @app.get("/chat/stream/{stream_id}")
    async def stream(stream_id: str) -> Response:
        out = state.streams.pop(stream_id, None)  # one reader per reply
        if out is None:
            return PlainTextResponse("no such reply", status_code=404)

        async def events() -> AsyncIterator[str]:
            # Polls without holding a thread, so many open streams cannot starve the others; waits a bounded time.
            deadline = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < deadline:
                try:
                    kind, data = out.get_nowait()
                except queue.Empty:
                    await asyncio.sleep(0.02)
                    continue
                yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"
                if kind == "done":
                    return
            notice = "<p class='notice' role='alert'>The reply is taking too long; reload the page to see it when it comes.</p>"
            yield f"event: done\ndata: {json.dumps(notice)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/chat/end")
    async def end(request: Request) -> Response:
        await checked(request)
        return end_view()

    def end_view() -> Response:
        current = page("chat")
        turns = current.session.turns
        highest = max((t.risk.level for t in turns), key=["none", "low", "moderate", "high", "imminent"].index, default="none")
        words = ui_strings()
        worried = highest in ("moderate", "high", "imminent")
        summary = " ".join([words["end_count_one" if len(turns) == 1 else "end_count"].format(n=len(turns)), *([words["end_worried"]] if worried else []), words["end_care"]])
        state.pages.pop("chat", None)
        if state.store is not None:
            state.pages["chat"] = Page(Session(profile=state.profile), state.store.new_conversation(state.profile.model_dump(), "listener"))
        # After a hard session the close repeats the local services, not only a mention of them.
        return chat_view("chat", summary=summary, summary_cards=_cards(care_card(state.profile.country)) if worried else [])

    # -- safety plan -----------------------------------------------------------------------------------

    def current_plan() -> SafetyPlan:
        for p in state.pages.values():
            if p.session.plan is not None:
                return p.session.plan
        stored = state.store.get("safety_plan") if state.store is not None else None
        return SafetyPlan(**stored) if stored else SafetyPlan()

    def plan_view(template: str, **context: Any) -> HTMLResponse:
        """The plan in the chosen language: its steps and words come from the plan texts (safety/data/plan)."""
        texts, plan = plan_texts(ui_language()), current_plan()
        steps = texts["sections"]
        sections = [{"key": s, "title": steps[s]["title"], "prompt": " ".join(steps[s]["prompt"].split()),
                     "entries": plan.sections.get(s, []), "text": "\n".join(plan.sections.get(s, []))} for s in SECTIONS]
        return render(template, title=ui_strings()["plan"], plan_title=texts["title"], not_filled=texts["not_filled"],
                      sections=sections, cards=_cards(care_card(state.profile.country)), **context)

    @app.get("/plan", response_class=HTMLResponse)
    async def plan_page(saved: int = 0, worried: int = 0) -> Response:
        return plan_view("plan.html", saved=saved, worried=worried)

    @app.post("/plan")
    async def plan_save(request: Request) -> Response:
        form = await checked(request)
        plan = SafetyPlan(sections={s: [line.strip() for line in str(form.get(s, "")).splitlines() if line.strip()][:30]
                                    for s in SECTIONS}, updated=datetime.now().isoformat(timespec="seconds"))
        session = page("chat").session
        session.plan = plan
        if state.store is not None:
            await run_in_threadpool(state.store.put, "safety_plan", plan.model_dump())
        # What is written in the plan is read like a message: a plan that says "I'll take them all"
        # is a reason to be worried, and the services come first on the page.
        written = "\n".join(line for lines in plan.sections.values() for line in lines)
        risk = await run_in_threadpool(lambda: assess_safely(parts().assessor, written, session)) if written else None
        worried = risk is not None and at_least(risk.level, "high")
        return RedirectResponse("/plan?saved=1" + ("&worried=1" if worried else ""), 303)

    @app.get("/plan/print", response_class=HTMLResponse)
    async def plan_print() -> Response:
        return plan_view("plan_print.html", card_title=replies(ui_language())["card_title"])

    # -- settings and privacy --------------------------------------------------------------------------

    def model_choices() -> list[tuple[str, str]]:
        """Installed and pulled models, and what an Ollama server on this machine serves (if any)."""
        from ..backends.catalogue import installed_models
        from ..backends.ollama import ollama_models

        found = [(m.spec, f"{m.name} ({m.note})") for m in installed_models()]
        return found + [(f"ollama:{name}", f"{name} (Ollama, not marked capable)") for name in ollama_models()]

    def settings_view(message: str | None = None, status: int = 200, confirm: str | None = None) -> Response:
        conversations = [{"id": c.id, "turns": c.turns, "role": c.role, "when": f"{datetime.fromtimestamp(c.updated):%Y-%m-%d %H:%M}"}
                         for c in state.store.conversations()] if state.store is not None else []
        return render("settings.html", status, title=ui_strings()["settings"], profile=state.profile, backend=state.backend,
                      languages=[(code, OWN_NAMES.get(code, name) if OWN_NAMES.get(code, name) == name else f"{OWN_NAMES[code]} · {name}")
                                 for code, name in sorted(LANGUAGE_NAMES.items(), key=lambda kv: kv[1])], kept=kept_text(),
                      conversations=conversations, message=message, models=model_choices(), confirm=confirm,
                      model_help=_with_code(ui_strings()["model_help"], local="local", named="local:NAME",
                                            pull="typingcure models pull NAME", file="local:/path/model.gguf",
                                            ollama="ollama:NAME", openai="openai:MODEL@URL"))

    @app.get("/settings", response_class=HTMLResponse)
    async def settings_page() -> Response:
        return await run_in_threadpool(settings_view)

    @app.post("/settings/profile")
    async def save_profile(request: Request) -> Response:
        form = await checked(request)
        try:
            profile = Profile(country=str(form.get("country", "")) or None, language=str(form.get("language", "")) or None,
                              helps=str(form.get("helps", ""))[:300] or None)
        except ValueError:
            return settings_view(ui_strings()["country_two_letters"], 400)
        state.profile = profile
        for p in state.pages.values():
            p.session.profile = profile
        if state.store is not None:
            await run_in_threadpool(state.store.put, "profile", profile.model_dump())
        return settings_view(ui_strings()["saved"])

    @app.post("/settings/backend")
    async def save_backend(request: Request) -> Response:
        form = await checked(request)
        spec = str(form.get("backend", "")).strip()[:500]
        reach, words = backend_reach(spec), ui_strings()
        if state.history != "open" and KeyFile(state.home / KEY_NAME).exists():
            return settings_view(words["model_locked"], 403)  # before anything is loaded for a visit that may not change it
        if reach and form.get("confirm_backend") != "yes":
            # A page (or a person in a hurry) must not send the conversation elsewhere unseen.
            rest = spec.partition(":")[2]
            said = (words["model_confirm_net"].format(spec=spec, where=rest.partition("@")[2] or "?") if reach == "network"
                    else words["model_confirm_file"].format(spec=spec, path=rest))
            return settings_view(said, 400, confirm=spec)
        try:
            candidate = await run_in_threadpool(build_parts, spec, state.settings)
        except TypingcureError as exc:
            # Never the error's own words for a file: they can quote a line of whatever file was named.
            return settings_view(words["model_unusable"].format(spec=spec) if reach == "file"
                                 else exc.message.splitlines()[0][:300], 400)
        state.backend, state.parts = spec, candidate
        if state.store is not None:
            state.store.put("backend", spec)
        return settings_view(words["model_now"].format(spec=spec))

    @app.get("/settings/export")
    async def export(format: str = "markdown") -> Response:
        if state.store is None:
            return settings_view(ui_strings()["nothing_kept_export"], 400)
        data = await run_in_threadpool(state.store.export)
        if format == "json":
            return Response(json.dumps(data, indent=2, ensure_ascii=False), media_type="application/json",
                            headers={"Content-Disposition": "attachment; filename=typingcure-export.json"})
        return Response(to_markdown(data), media_type="text/markdown",
                        headers={"Content-Disposition": "attachment; filename=typingcure-export.md"})

    @app.post("/settings/forget")
    async def forget(request: Request) -> Response:
        form = await checked(request)
        if state.store is None:
            return settings_view(ui_strings()["nothing_kept"], 400)
        cid = str(form.get("conversation", ""))
        try:
            await run_in_threadpool(state.store.forget, cid)  # forgetting compacts the file: seconds on a big one
        except TypingcureError as exc:
            return settings_view(exc.message, 400)
        state.pages = {k: v for k, v in state.pages.items() if v.conversation != cid}
        return settings_view(ui_strings()["forgotten"])

    @app.post("/settings/wipe")
    async def wipe_all(request: Request) -> Response:
        form = await checked(request)
        if form.get("confirm") != "yes":
            return settings_view(ui_strings()["wipe_tick"], 400)
        if state.history != "open" and KeyFile(state.home / KEY_NAME).exists():
            # Only someone who unlocked the history may destroy it (a visit that keeps nothing may not).
            return settings_view(ui_strings()["wipe_locked"], 403)
        with state.lock:  # never held across an await: the idle-lock thread and the middleware take it too
            if state.store is not None:
                state.store.close()
            state.store, state.pages, state.history = None, {}, "off"
        await run_in_threadpool(wipe, state.home)
        return settings_view(ui_strings()["wiped"])

    @app.get("/about", response_class=HTMLResponse)
    async def about(request: Request) -> Response:
        # Where the history lies is for the person, not for whoever asks.
        return render("about.html", title=ui_strings()["about"], home=str(state.home) if known(request) else "…")

    @app.get("/healthz")
    async def healthz() -> Response:
        return PlainTextResponse("ok")

    @app.get("/static/{name}")
    async def static_file(name: str) -> Response:
        if name not in ("app.css", "app.js"):
            return PlainTextResponse("not found", status_code=404)
        media = "text/css" if name.endswith(".css") else "text/javascript"
        return Response(static.joinpath(name).read_text("utf-8"), media_type=media)

    return app


TERMINAL_HINT = re.compile(r"\s*[(（][^()（）]*/plan[^()（）]*[)）]")  # "(type /plan)", "（/plan と入力）": a link here instead
def for_the_web(reply: str) -> str:
    """A reply as the web page shows it: the terminal's "(type /plan)" becomes the link under it."""
    return TERMINAL_HINT.sub("", reply)


def _with_code(text: str, **codes: str) -> Any:
    """An interface string with {placeholders} filled by <code> spans; everything else escaped."""
    from markupsafe import Markup, escape

    return Markup(escape(text)).format(**{k: Markup("<code>{}</code>").format(v) for k, v in codes.items()})


def _escape(text: str) -> str:
    import html

    return html.escape(text)
