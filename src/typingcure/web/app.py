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

The app is routers around one state object (`app.state.tc`, state.py): security.py (the
middleware and the CSRF check), unlock.py, chat.py (talking, the stream, slash commands), plan.py,
settings.py, public.py (about, health, static files).
"""

from __future__ import annotations

import math
import secrets
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI

from ..config import Settings
from ..errors import ConfigError
from ..store import history_at
from ..store.accounts import Accounts
from ..types import Profile
from . import accounts as account_routes, care, chat, exercises, personas, plan, public, settings as settings_routes, unlock
from .accounts import Directory, guard_accounts
from .chat import MAX_QUEUED, STREAM_SECONDS, for_the_web
from .security import HEADERS, MAX_BODY, Refused, guard, refused, split_host
from .settings import backend_reach
from .state import LOOPBACK, PAGES, Page, State, watch
from .unlock import guess_delay

__all__ = ["HEADERS", "MAX_BODY", "MAX_QUEUED", "PAGES", "STREAM_SECONDS", "Page", "State", "backend_reach",
           "create_app", "for_the_web", "guess_delay", "split_host"]


def create_app(settings: Settings, *, home: Path, token: str | None = None, idle_minutes: float = 15,
               hosts: Sequence[str] = (), port: int | None = None, passphrase: str | None = None,
               accounts: Accounts | None = None, admin_key: str | None = None) -> FastAPI:
    """The app for one person. `hosts` are names it answers to besides 127.0.0.1, localhost and ::1
    (the address it is bound to); `port`, when given, must be the one in the Host header. With a
    `passphrase` (TYPINGCURE_PASSPHRASE) the history is open from the start, and the browser that
    opens the address with `app.state.tc.start_code` (`?code=…`) first is the one that may see it.
    With `accounts` it is the app for many people (`serve --multi-user`, web/accounts.py): each signs
    in, and their history is theirs, in the accounts' database; `admin_key` opens /admin (counts only)."""
    if not isinstance(idle_minutes, (int, float)) or not math.isfinite(idle_minutes) or idle_minutes <= 0:
        raise ConfigError(f"the idle time must be a number of minutes above 0, not {idle_minutes!r}")
    state = State(settings=settings, home=home, token=token, idle_seconds=idle_minutes * 60,
                  profile=Profile(country=settings.country, language=settings.language), backend=settings.backend,
                  hosts=tuple(dict.fromkeys([*LOOPBACK, *(h.strip("[]").lower() for h in hosts)])), port=port)
    if passphrase and accounts is None:
        # The terminal that started serve knows the passphrase; the browser proves it came from
        # there with the one-time code in the printed address (nobody else on this computer has it).
        state.open_history(history_at(home).open(passphrase))
        state.start_code = secrets.token_urlsafe(24)
    app = FastAPI(title="typingcure", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.tc = state
    if accounts is None:
        threading.Thread(target=watch, args=(weakref.ref(state),), daemon=True, name="typingcure-idle-lock").start()
        app.middleware("http")(guard)
    else:
        app.state.directory = Directory(accounts, state, admin_key)
        app.middleware("http")(guard_accounts)
        app.include_router(account_routes.router)
    app.add_exception_handler(Refused, refused)
    for module in (unlock, chat, plan, settings_routes, personas, exercises, care, public):
        app.include_router(module.router)
    return app
