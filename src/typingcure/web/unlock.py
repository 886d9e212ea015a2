"""Unlocking the history, or keeping nothing this time: `POST /unlock`, `POST /unlock/skip`.

    guess_delay(4)    # 2.0: seconds before the next guess is heard, after four wrong ones

Guesses are heard one at a time and slowed, then locked out (design/web.md, "Unlock guesses");
Argon2 runs in a worker thread. The page itself is security.unlock_page (the middleware shows it).
"""

from __future__ import annotations

import math
import time

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import TypingcureError
from ..store import LockedError, Store, history_at
from .security import checked, unlock_page
from .state import State, Tc

FREE_GUESSES = 3         # wrong passphrases before each further guess must wait
LOCKOUT_AFTER = 10       # wrong passphrases before a long lockout
LOCKOUT_SECONDS = 900.0

router = APIRouter()


def guess_delay(failures: int) -> float:
    """Seconds before the next unlock attempt is heard, after `failures` wrong passphrases in a row:
    none for the first few (a typo), then doubling to five minutes, and a quarter of an hour after ten."""
    if failures >= LOCKOUT_AFTER:
        return LOCKOUT_SECONDS
    return 0.0 if failures < FREE_GUESSES else min(2.0 ** (failures - FREE_GUESSES), 300.0)


def try_passphrase(state: State, secret: str) -> Store | None:
    """Argon2 and the store, in a worker thread. The store when it was locked; None when it is
    already open (another browser unlocked it) and the passphrase is right."""
    if state.store is None:
        return history_at(state.home).open(secret)
    history_at(state.home).check(secret)
    return None


async def guessed(state: State, secret: str) -> Store | Response | None:
    """One guess, heard in turn and after its delay: what try_passphrase gives, or the page that says no."""
    async with state.unlocking:  # parallel guesses wait their turn, and their delay
        wait = state.next_guess - time.monotonic()
        if wait > 0:
            return unlock_page(state, state.ui_strings()["unlock_wait"].format(n=math.ceil(wait)), 429,
                               {"Retry-After": str(math.ceil(wait))})
        try:
            opened = await run_in_threadpool(try_passphrase, state, secret)
        except LockedError:
            state.failures += 1
            state.next_guess = time.monotonic() + guess_delay(state.failures)
            return unlock_page(state, state.ui_strings()["unlock_wrong"], 401)
        except TypingcureError as exc:
            return unlock_page(state, exc.message, 500)
        state.failures, state.next_guess = 0, 0.0
        return opened


@router.post("/unlock")
async def unlock(request: Request, state: Tc) -> Response:
    form = await checked(request)
    secret, again = str(form.get("passphrase", "")), form.get("again")
    if again is not None and secret != again:
        return unlock_page(state, state.ui_strings()["unlock_mismatch"], 400)
    opened = await guessed(state, secret)
    if isinstance(opened, Response):
        return opened
    response = RedirectResponse("/", 303)
    with state.lock:
        if opened is not None:
            state.open_history(opened)
        # A browser that only chose to keep nothing does not see a history someone unlocked.
        state.new_session(response, only=opened is not None)
        state.last_seen = time.monotonic()
    return response


@router.post("/unlock/skip")
async def skip(request: Request, state: Tc) -> Response:
    await checked(request)
    with state.lock:
        if state.history == "open":
            return unlock_page(state, state.ui_strings()["unlock_elsewhere"], 409)
        state.history, state.pages = "off", {}
        state.reset_choices()
        response = RedirectResponse("/", 303)
        state.new_session(response, only=True)
    return response
