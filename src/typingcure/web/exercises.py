"""The exercises in the web app: `GET /exercises` (the list, a paused one, the cards kept),
`POST /exercises/start|pause|resume|stop`, `GET /exercises/cards/N` (one card, to print).

An exercise runs in the chat page: its start and each answer are turns (run_turn, in a worker, like
any message), so risk and the crisis protocol come first. The cards and a paused exercise are kept
encrypted with the history (the store's "exercises" record); with history off they last until the
app stops. No safety logic here (design/exercises.md).
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import ConfigError
from ..exercises import Said, command, exercise_names, exercise_words, load_exercise, sync
from .security import checked
from .state import State, Tc

router = APIRouter()


def keep(state: State) -> None:
    """What the chat's session made (cards, the run under way) into the book, and the store."""
    sync(state.book, state.page("chat").session, state.store)


def progress(state: State) -> dict[str, Any] | None:
    """The exercise bar of the chat page: its title, the step, and whether it is paused."""
    run = state.page("chat").session.exercise
    if run is None:
        return None
    words = run.words
    return {"title": words.title, "step": words.line("step_of", n=run.step + 1, total=run.total),
            "paused": run.status == "paused"}


def said_html(said: Said) -> str:
    return "<ul class='notes'>" + "".join(f"<li>{html.escape(line)}</li>" for line in said.lines) + "</ul>"


def run_command(state: State, arg: str) -> tuple[Said, str | None]:
    """`/exercise …` on the chat page: what it shows, and the stream of the turn it starts (if any)."""
    from .chat import start_turn

    said = command(state.page("chat").session, arg, state.book, state.ui_language())
    stream = None
    if said.turn:
        stream, worker = start_turn(state, "chat", said.turn)
        worker.join()  # called off the event loop
        state.streams.pop(stream, None)
    keep(state)
    return said, stream


@router.get("/exercises", response_class=HTMLResponse)
async def exercises_page(state: Tc) -> Response:
    language = state.ui_language()
    listed = [{"name": n, "words": exercise_words(n, language), "minutes": load_exercise(n).minutes}
              for n in exercise_names()]
    cards = [*state.book.cards, *state.page("chat").session.cards]
    return state.render("exercises.html", title=state.exercise_lines()["web_title"], exercises=listed,
                        progress=progress(state), cards=list(enumerate(cards, 1)), kept=state.kept_text())


@router.post("/exercises/{action}")
async def exercise_action(action: str, request: Request, state: Tc) -> Response:
    form = await checked(request)
    if action == "start":
        name = str(form.get("name", ""))
        if name not in exercise_names():
            return RedirectResponse("/exercises", 303)
        arg = name
    elif action in ("pause", "resume", "stop"):
        arg = action
    else:
        return JSONResponse({"error": "no such action"}, 404)
    try:
        await run_in_threadpool(run_command, state, arg)
    except ConfigError:
        return RedirectResponse("/exercises", 303)
    return RedirectResponse("/" if action in ("start", "resume") else "/exercises" if action == "stop" else "/", 303)


@router.get("/exercises/cards/{number}", response_class=HTMLResponse)
async def card_page(number: int, state: Tc) -> Response:
    cards = [*state.book.cards, *state.page("chat").session.cards]
    if not 1 <= number <= len(cards):
        return RedirectResponse("/exercises", 303)
    card = cards[number - 1]
    return state.render("exercise_card.html", title=card.title, card=card)
