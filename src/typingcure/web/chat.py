"""Talking: the chat and journal pages, sending, the reply stream, the role, the end of a session,
and the terminal's slash commands typed in the page.

    POST /chat/send (Accept: application/json)  ->  {"stream": "/chat/stream/ID", "next_nonce": ...}
    GET  /chat/stream/ID                        ->  event: sentence ... event: done (the care card)

A turn runs in a worker thread through run_turn(), to the end even if the browser goes away, so it
is kept whole, once; turns on one page are answered one after another. No safety logic here.
"""

from __future__ import annotations

import html
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..commands import command_of
from ..config import country_code
from ..errors import InputError, TypingcureError
from ..explain import explain_turn
from ..culture.profile import edit as profile_edit, shown as profile_shown
from ..pipeline import Parts, Session, assess_safely, run_turn
from ..roles import load_role, role_names, role_words
from ..care import plain_error
from ..care.usage import time_command
from .care import after_turn as care_after_turn, summary_of
from .exercises import keep as keep_exercises, progress as exercise_progress, run_command as exercise_command, said_html
from .personas import persona_notice
from ..safety.replies import replies
from ..safety.resources import care_card
from ..store import Store, StoreRecorder
from ..types import Profile, TurnResult, at_least
from .security import checked
from .state import PAGES, Feed, Page, State, Tc, cards

STREAM_SECONDS = 180.0   # a reader waits at most this long for a reply to finish
MAX_QUEUED = 4           # turns waiting on one page (two tabs, a double click); more are refused with a clear line
LEVELS = ["none", "low", "moderate", "high", "imminent"]
TERMINAL_HINT = re.compile(r"\s*[(（][^()（）]*/plan[^()（）]*[)）]")  # "(type /plan)", "（/plan と入力）": a link here instead

router = APIRouter()


def for_the_web(reply: str) -> str:
    """A reply as the web page shows it: the terminal's "(type /plan)" becomes the link under it."""
    return TERMINAL_HINT.sub("", reply)


FAILED = "Something went wrong while answering; nothing was kept of this message. Try again."


def _notice(text: str, alert: bool = False) -> str:
    role = " role='alert'" if alert else ""
    return f"<p class='notice'{role}>{html.escape(text)}</p>"


# -- the pages --------------------------------------------------------------------------------------


def card_context(turn: TurnResult, words: dict[str, str]) -> dict[str, Any]:
    """What card.html shows under a reply: the care card, notes, and a link to the plan when the reply offers it."""
    text = replies(turn.intake.language, turn.intake.script)
    web = {text[f"note_{k}"]: text[f"note_{k}_web"] for k in ("no_country", "set_country", "coping_saved")}
    notes = [web.get(n, n) for n in turn.notes]
    return {"resources": cards(turn.decision.resources), "notes": notes,
            "plan_link": words["plan"] if "offered_safety_plan" in turn.actions else None,
            "card_link": any(a in turn.actions for a in ("exercise_done", "exercise_stopped"))}


def chat_view(state: State, name: str, error: str | None = None, summary: str | None = None, status: int = 200,
              summary_cards: list[dict[str, Any]] | None = None, said: str | None = None, ended: bool = False) -> Response:
    current = state.page(name)
    nonce = state.fresh_nonce()
    role, words = load_role(current.session.role), state.ui_strings()
    language = state.ui_language()
    turns = [{"user_text": t.user_text, "reply": for_the_web(t.reply), **card_context(t, words)} for t in current.session.turns]
    return state.render("chat.html", status, title=words[name if name == "journal" else "talk"], page=name,
                        intro=role_words(role.name, language).intro, kept=state.kept_text(), turns=turns, nonce=nonce,
                        role=current.session.role, roles=[(r, role_words(r, language)) for r in role_names()],
                        send_url=f"/{name}/send",
                        error=error, summary=summary, summary_cards=summary_cards or [], said=said,
                        persona=persona_notice(state) if name == "chat" else None,
                        progress=exercise_progress(state) if name == "chat" else None, ended=ended,
                        card_title=replies(state.profile.language or "en")["card_title"])


def end_view(state: State) -> Response:
    """A short summary, and a fresh conversation; after a hard session the local services again."""
    turns = state.page("chat").session.turns
    highest = max((t.risk.level for t in turns), key=LEVELS.index, default="none")
    words = state.ui_strings()
    worried = highest in ("moderate", "high", "imminent")
    summary = " ".join([words["end_count_one" if len(turns) == 1 else "end_count"].format(n=len(turns)),
                        *([words["end_worried"]] if worried else []), words["end_care"]])
    state.ended = summary_of(state, state.page("chat").session) if turns else None  # /summary shows it, to keep or not
    state.pages.pop("chat", None)
    if state.store is not None:
        state.pages["chat"] = Page(Session(profile=state.profile),
                                   state.store.new_conversation(state.profile.model_dump(), "listener"))
    # After a hard session the close repeats the local services, not only a mention of them.
    return chat_view(state, "chat", summary=summary, summary_cards=cards(care_card(state.profile.country)) if worried else [],
                     ended=state.ended is not None)


@router.get("/", response_class=HTMLResponse)
async def chat_page(state: Tc) -> Response:
    return await run_in_threadpool(chat_view, state, "chat")  # reading a kept conversation is SQLite: off the loop


@router.get("/journal", response_class=HTMLResponse)
async def journal_page(state: Tc) -> Response:
    return await run_in_threadpool(chat_view, state, "journal")


@router.post("/chat/role")
async def choose_role(request: Request, state: Tc) -> Response:
    form = await checked(request)
    role = str(form.get("role", ""))
    if role in role_names():
        state.page("chat").session.role = role
    return RedirectResponse("/", 303)


@router.post("/chat/end")
async def end(request: Request, state: Tc) -> Response:
    await checked(request)
    return end_view(state)


# -- a turn -----------------------------------------------------------------------------------------


def careful_failure(state: State) -> str:
    """What the page shows when answering failed unexpectedly: a warm line, that nothing was kept,
    and the local services (the more careful reply: what was written is not known to be safe)."""
    try:
        words, text = state.ui_strings(), replies(state.ui_language())
        card = state.env.get_template("card.html").render(t=words, card_title=text["card_title"], notes=[], plan_link=None,
                                                          resources=cards(care_card(state.profile.country)))
        return f"<p class='muted'>{html.escape(text['backend_failed'])}</p>" + _notice(FAILED, alert=True) + card
    except Exception:
        return _notice(FAILED, alert=True)  # even the card failed: the stream still ends, and says so


def answer(state: State, current: Page, store: Store | None, text: str, out: Feed) -> None:
    """One turn, in a worker thread: each checked sentence as it is released, then the card (done),
    kept in `store` (the one open when it was sent). The model is loaded here, the first time, off
    the event loop. Whatever fails, `done` is sent: a reader never waits for a turn that died."""
    finished = False
    try:
        with current.turn:  # two tabs sending at once: answered in turn, neither lost
            parts = state.loaded_parts()
            if store is not None and current.conversation:
                parts = Parts(**{**parts.__dict__, "recorder": StoreRecorder(store, current.conversation)})
            state.usage.tick(state.now())
            turn = run_turn(current.session, text, parts, on_release=lambda piece: out.put(("sentence", for_the_web(piece))))
            if current is state.pages.get("chat"):
                keep_exercises(state)  # a card made, or the exercise moved on: kept with the history
            words = state.ui_strings(turn.intake.language)
            extra = state.env.get_template("card.html").render(
                t=words, card_title=replies(turn.intake.language, turn.intake.script)["card_title"], **card_context(turn, words))
            extra += care_after_turn(state, turn, store)
            if not turn.reply:
                extra = f"<p class='muted'>{html.escape(words['quiet'])}</p>" + extra
        out.put(("done", extra))
        finished = True
    except TypingcureError as exc:
        out.put(("done", _notice(exc.message, alert=True)))
        finished = True
    except Exception as exc:
        print(f"typingcure: {type(exc).__name__} while answering a message", file=sys.stderr)
    finally:
        current.queued -= 1
        if not finished:  # any other failure (or one while rendering the card): the stream still ends now
            out.put(("done", careful_failure(state)))


def start_turn(state: State, name: str, text: str) -> tuple[str, threading.Thread]:
    current = state.page(name)
    current.queued += 1
    stream_id = uuid.uuid4().hex
    out = Feed()
    if len(state.streams) > 50:  # replies nobody came to read (the page was closed): let them go
        for old in list(state.streams)[:-50]:
            state.streams.pop(old, None)
    state.streams[stream_id] = out
    worker = threading.Thread(target=answer, args=(state, current, state.store, text, out), daemon=True)
    worker.start()
    return stream_id, worker


async def send(request: Request, state: State, name: str) -> Response:
    form = await checked(request)
    text, nonce = str(form.get("text", "")), str(form.get("nonce", ""))
    wants_json = "application/json" in request.headers.get("accept", "")
    if not state.take_nonce(nonce):  # a double submit: the first one is already on its way
        if wants_json:
            return JSONResponse({"error": "That message was already sent."}, 409)
        return RedirectResponse(f"/{'' if name == 'chat' else name}", 303)

    def refuse(message: str, status: int) -> Response:
        """The message was not sent; the page may send it again (a fresh nonce), and it stays in the box."""
        if not wants_json:
            return chat_view(state, name, message, status=status)
        return JSONResponse({"error": message, "next_nonce": state.fresh_nonce()}, status)

    words, limit = state.ui_strings(), state.settings.max_message_chars
    if state.page(name).queued >= MAX_QUEUED:
        return refuse(words["err_busy"], 429)
    if not text.strip() or not text.strip("\u200b\u200c\u200d\u2060\ufeff \t\r\n"):
        return refuse(words["err_empty"], 400)
    command = command_of(text)
    if command and command[0] == "exercise" and name == "chat":
        return await typed_exercise(state, command[1], wants_json)
    if command and command[0] == "profile":
        return await typed_profile(state, name, command[1], wants_json)
    if command and not (command[0] == "step-out" and state.page(name).session.role == "rehearsal"):
        return web_command(state, name, command[0], command[1], wants_json)
    if len(text) > limit:
        return refuse(words["err_long"].format(n=f"{len(text):,}", limit=f"{limit:,}"), 413)
    if wants_json and state.account is not None:
        # Several workers: the stream may reach another one, which answers the message it finds there.
        stream_id = await run_in_threadpool(state.account.defer, name, text)
        return JSONResponse({"stream": f"/chat/stream/{stream_id}", "next_nonce": state.fresh_nonce()})
    stream_id, worker = start_turn(state, name, text)
    if wants_json:
        return JSONResponse({"stream": f"/chat/stream/{stream_id}", "next_nonce": state.fresh_nonce()})
    await run_in_threadpool(worker.join)  # a plain form waits for the reply, without holding up anyone else
    state.streams.pop(stream_id, None)
    return RedirectResponse("/" if name == "chat" else f"/{name}", 303)


async def typed_profile(state: State, name: str, arg: str, wants_json: bool) -> Response:
    """`/profile …` typed in the page: shown, or changed (and kept); words that worry are then heard
    as a message, with the crisis protocol, not only filed."""
    words = state.ui_strings()
    stream = None
    try:
        if arg:
            profile, said = profile_edit(state.profile, arg)
            state.profile = profile
            for p in state.pages.values():
                p.session.profile = profile
            if state.store is not None:
                await run_in_threadpool(state.store.put, "profile", profile.model_dump())
            session = state.page(name).session  # the model is loaded off the event loop, as the plan page does
            risk = await run_in_threadpool(lambda: assess_safely(state.loaded_parts().assessor, said, session))
            if said and at_least(risk.level, "moderate"):
                stream, worker = start_turn(state, name, said)
            shown = _notice(words["saved"])
        else:
            shown = "<ul class='notes'>" + "".join(f"<li>{html.escape(line)}</li>" for line in profile_shown(state.profile)) + "</ul>"
    except TypingcureError as exc:
        shown = _notice(exc.message, alert=True)
    if wants_json:
        if stream is not None:
            return JSONResponse({"stream": f"/chat/stream/{stream}", "next_nonce": state.fresh_nonce()})
        return JSONResponse({"redirect": None, "end": False, "html": shown, "next_nonce": state.fresh_nonce()})
    if stream is not None:
        await run_in_threadpool(worker.join)
        state.streams.pop(stream, None)
    return chat_view(state, name, said=shown)


async def typed_exercise(state: State, arg: str, wants_json: bool) -> Response:
    """`/exercise …` typed in the chat: a start or a resumption is a turn (shown as one when the page
    reloads); anything else is shown under the conversation."""
    try:
        said, stream = await run_in_threadpool(exercise_command, state, arg)
    except TypingcureError as exc:
        shown = _notice(exc.message, alert=True)
    else:
        shown = said_html(said) if said.lines else ""
        if stream is not None:
            shown = ""
    if wants_json:
        return JSONResponse({"redirect": "/" if not shown else None, "end": False, "html": shown,
                             "next_nonce": state.fresh_nonce()})
    return RedirectResponse("/", 303) if not shown else chat_view(state, "chat", said=shown)


@router.post("/chat/send")
async def chat_send(request: Request, state: Tc) -> Response:
    return await send(request, state, "chat")


@router.post("/journal/send")
async def journal_send(request: Request, state: Tc) -> Response:
    return await send(request, state, "journal")


async def events(out: Feed) -> AsyncIterator[str]:
    """The reply as Server-Sent Events, each piece as soon as it is put; waits a bounded time."""
    deadline = time.monotonic() + STREAM_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        piece = await out.next(left)
        if piece is None:
            continue
        kind, data = piece
        yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"
        if kind == "done":
            return
    notice = "<p class='notice' role='alert'>The reply is taking too long; reload the page to see it when it comes.</p>"
    yield f"event: done\ndata: {json.dumps(notice)}\n\n"


@router.get("/chat/stream/{stream_id}")
async def stream(stream_id: str, state: Tc) -> Response:
    out = state.streams.pop(stream_id, None)  # one reader per reply
    if out is None and state.account is not None:
        deferred = await run_in_threadpool(state.account.claim, stream_id)
        if deferred is not None and deferred[0] in PAGES:
            started, _ = start_turn(state, deferred[0], deferred[1])
            out = state.streams.pop(started, None)
    if out is None:
        return PlainTextResponse("no such reply", status_code=404)
    return StreamingResponse(events(out), media_type="text/event-stream")


# -- slash commands typed in the page ---------------------------------------------------------------


def set_country(state: State, arg: str) -> str:
    words = state.ui_strings()
    try:
        state.profile = Profile(**{**state.profile.model_dump(), "country": country_code(arg)})
    except InputError:
        return _notice(words["country_two_letters"], alert=True)
    for p in state.pages.values():
        p.session.profile = state.profile
    if state.store is not None:
        state.store.put("profile", state.profile.model_dump())
    return _notice(f"{words['saved']} ({state.profile.country or '-'})")


def shown_here(state: State, name: str, command: str, arg: str) -> str:
    """What a command that stays on the page shows in it (HTML, escaped)."""
    words, current = state.ui_strings(), state.page(name)
    if command == "resources":
        return state.env.get_template("card.html").render(t=words, card_title=replies(state.ui_language())["card_title"],
                                                          resources=cards(care_card(state.profile.country)), notes=[],
                                                          plan_link=None)
    if command == "country" and not arg:
        return _notice(words["country_now"].format(country=state.profile.country or "-"))
    if command == "country":
        return set_country(state, arg)
    if command == "role" and arg in role_names() and name == "chat":
        current.session.role = arg
        return _notice(role_words(arg, state.ui_language()).intro)
    if command == "step-out":  # not in a rehearsal: what one is, and how it starts
        return _notice(role_words("rehearsal", state.ui_language()).summary + " (/role rehearsal)")
    if command == "time":
        try:
            lines = time_command(state.usage, arg, state.now(), state.ui_language())
        except ValueError as exc:
            return _notice(plain_error(exc))
        state.usage.keep(state.store)
        return "<ul class='notes'>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"
    if command == "why":
        last = current.session.turns[-1] if current.session.turns else None
        lines = explain_turn(last) if last else ["Nothing to explain yet."]
        return "<ul class='notes'>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"
    shown = ", ".join(f"/{c}" for c in ("plan", "resources", "country XX", "profile", "role NAME", "exercise", "time", "outcomes",
                                                "summary", "step-out", "why", "end"))
    return _notice(words["commands_here"].format(commands=shown))


GO_TO = {"plan": "/plan", "settings": "/settings", "language": "/settings", "outcomes": "/outcomes",
         "checkin": "/outcomes#checkin", "summary": "/summary"}  # commands that open another page


def web_command(state: State, name: str, command: str, arg: str, wants_json: bool) -> Response:
    """The terminal's slash commands, typed in the page: the same effect, shown as the page shows things."""
    state.page(name)  # the page exists (or is restored) whatever the command
    stopping = command in ("end", "quit", "exit")
    ending = stopping and name == "chat"
    go = ("/journal" if not ending else None) if stopping else GO_TO.get(command)
    if command == "time" and len(arg.split()) > 2:
        go = "/outcomes#time"  # a reminder in the person's own words: set on the page that reads them for risk
    shown = "" if stopping or go else shown_here(state, name, command, arg)
    if wants_json:
        return JSONResponse({"redirect": go, "end": ending, "html": shown, "next_nonce": state.fresh_nonce()})
    if ending:
        return end_view(state)
    return RedirectResponse(go, 303) if go else chat_view(state, name, said=shown)
