"""Who may reach the app, and what every response carries (design/web.md, "Hardening").

    app.middleware("http")(guard)                       # Host, token, Origin, size, session, headers
    app.add_exception_handler(Refused, refused)
    form = await checked(request)                       # a form whose CSRF token matches, else 403

Only its own Host (DNS rebinding), the access token when there is one, state changes only from the
app's own pages, bounded posts, the session cookie that binds the unlocked history to the browser
that unlocked it, the idle lock checked at each request, and strict headers on every response,
failures included. The routes hold no security of their own beyond calling `checked`.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from ..store import history_at
from .state import State, state_of

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}
OPEN_PATHS = ("/unlock", "/unlock/skip")        # reachable before this browser has a session
PUBLIC_PATHS = ("/about", "/healthz")          # reachable by anyone the Host check lets in; they show nothing private
MAX_BODY = 256_000       # bytes in a form post: a 16,000-character message in any script, with room; more is refused unread

CallNext = Callable[[Request], Awaitable[Response]]


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


def host_ok(state: State, value: str | None, scheme_port: int = 80) -> bool:
    if not value:
        return False
    name, given = split_host(value)
    if name not in state.hosts or given == -1:
        return False
    return state.port is None or (given if given is not None else scheme_port) == state.port


def origin_ok(state: State, request: Request) -> bool:
    """A state-changing request must come from a page of this app (a browser always says where from)."""
    site, origin = request.headers.get("sec-fetch-site"), request.headers.get("origin")
    if site is not None and site not in ("same-origin", "none"):
        return False
    if origin is None:
        return True  # not a browser (the session cookie still guards what matters)
    if origin == "null":  # what a browser sends under Referrer-Policy: no-referrer; its Sec-Fetch-Site says more
        return site == "same-origin"
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and host_ok(state, parts.netloc, 443 if parts.scheme == "https" else 80)


def secured(response: Response) -> Response:
    for key, value in HEADERS.items():
        response.headers[key] = value
    return response


def unlock_page(state: State, error: str | None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """What a browser without a session sees: the passphrase (or a new one), or keep nothing."""
    response = state.render("unlock.html", status, title=state.ui_strings()["unlock"], error=error,
                            new=not history_at(state.home).exists())
    secured(response).headers.update(headers or {})
    response.set_cookie("tc_csrf", state.csrf, httponly=True, samesite="strict")
    return response


# -- forms ------------------------------------------------------------------------------------------


class Refused(Exception):
    """A form without the right CSRF token (or one that cannot be read)."""


async def refused(request: Request, _exc: Exception) -> Response:
    state = state_of(request)
    words = state.ui_strings()
    return secured(state.render("error.html", 403, heading=words["err_expired_h"], message=words["err_expired"]))


async def checked(request: Request) -> FormData:
    """The form, once its CSRF token matches both the page and the cookie; else a 403 page."""
    csrf = request.scope.get("typingcure.csrf") or state_of(request).csrf  # multi-user: what every worker derives
    try:
        form = await request.form(max_files=0, max_fields=60, max_part_size=MAX_BODY)
    except Exception:
        raise Refused() from None
    given = str(form.get("csrf", "")).encode("utf-8", "replace")  # bytes: compare_digest refuses non-ASCII text
    if not secrets.compare_digest(given, csrf.encode()) or request.cookies.get("tc_csrf") != csrf:
        raise Refused()
    return form


# -- the middleware ---------------------------------------------------------------------------------


def refusal(state: State, request: Request) -> Response | None:
    """Refused before anything is read: another Host, no access token, another site's form, too much."""
    # DNS rebinding: a page from another site that points its name at 127.0.0.1 says so in Host.
    if not host_ok(state, request.headers.get("host")):
        return PlainTextResponse(f"This app answers only at http://127.0.0.1:{state.port or 'PORT'}/ "
                                 "(a page from somewhere else tried to reach it).", status_code=421)
    if state.token is not None:
        given = request.query_params.get("token") or request.cookies.get("tc_access") or ""
        if not given or not secrets.compare_digest(given.encode("utf-8", "replace"), state.token.encode("utf-8")):
            return PlainTextResponse("an access token is needed", status_code=401)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if not origin_ok(state, request):
            return PlainTextResponse("refused: this form was not sent from this app's own page", status_code=403)
        length = request.headers.get("content-length", "")
        if not (length.isascii() and length.isdecimal()):
            return PlainTextResponse("a form must say how long it is (Content-Length)", status_code=411)
        if int(length) > MAX_BODY:
            return PlainTextResponse(f"that is too much to send at once (more than {MAX_BODY // 1000} kB)", status_code=413)
    return None


def entered_with_code(state: State, request: Request) -> Response | None:
    """The browser that opens the address printed at start (its one-time code) may see the history."""
    code = request.query_params.get("code")
    if not (code and state.start_code and secrets.compare_digest(code.encode("utf-8", "replace"), state.start_code.encode())):
        return None
    state.start_code = None  # one use
    entered = secured(RedirectResponse("/", 303))
    state.new_session(entered, only=False)
    state.last_seen = time.monotonic()
    return entered


def admitted(state: State, request: Request, counts: bool) -> tuple[Response | None, bool, bool]:
    """(the unlock page or None, this browser is the person's, a new off-the-record session is due).
    `counts`: a request of the person's that keeps the history open."""
    path = request.url.path
    public = path in PUBLIC_PATHS or path.startswith("/static/")
    with state.lock:
        state.idle_check()
        mine = state.known(request)
        if not mine and not public and path not in OPEN_PATHS:
            if state.settings.history != "off":
                return unlock_page(state, None), False, False
            # Nothing is kept: a new browser starts afresh, and what an earlier one had open is dropped.
            state.history, state.pages = "off", {}
            state.reset_choices()
            return None, False, True
        if mine and counts:
            state.last_seen = time.monotonic()  # only the person's own requests keep the history open
    return None, mine, False


async def answered(state: State, request: Request, call_next: CallNext) -> Response:
    """The route's response; any failure is one clear page (the details on stderr only when asked)."""
    try:
        return await call_next(request)
    except Exception as exc:
        if os.environ.get("TYPINGCURE_DEBUG"):
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        else:
            print(f"typingcure: {type(exc).__name__} while answering {request.method} {request.url.path} "
                  "(TYPINGCURE_DEBUG=1 shows the details)", file=sys.stderr)
        words = state.ui_strings()
        return state.render("error.html", 500, heading=words["err_failed_h"], message=words["err_failed"])


async def guard(request: Request, call_next: CallNext) -> Response:
    state = state_of(request)
    early = refusal(state, request)
    if early is not None:
        return secured(early)
    entered = entered_with_code(state, request)
    if entered is not None:
        return entered
    path = request.url.path
    counts = not (path in PUBLIC_PATHS or path.startswith(("/static/", "/chat/stream")))
    unlock, mine, issue = admitted(state, request, counts)
    if unlock is not None:
        return unlock
    response = await answered(state, request, call_next)
    if issue:
        state.new_session(response, only=True)
    if mine and counts:
        state.last_seen = time.monotonic()  # idle time counts from the end of the person's last request
    secured(response)
    response.set_cookie("tc_csrf", state.csrf, httponly=True, samesite="strict")
    if state.token is not None:
        response.set_cookie("tc_access", state.token, httponly=True, samesite="strict")
    return response
