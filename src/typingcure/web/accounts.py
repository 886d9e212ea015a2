"""Many people on one service: `typingcure serve --multi-user` (design/organisations.md).

    GET  /account/sign-in   POST /account/sign-in   POST /account/sign-up
    GET  /account           POST /account/sign-out  POST /account/delete
    GET  /admin             (with the admin key: counts only, never content)

Each request finds its person from the session cookie, in the database (store/accounts.py), so any
worker can answer any request: a worker keeps a copy of each signed-in person's state (their pages,
profile, exercises) and takes a new one from the database when another worker wrote since. Forms
carry values every worker can check (the form token is derived from the session's secret; a
message's one-use value is checked in the database), and a message sent from the page is kept,
sealed, until its stream is opened, by whichever worker that reaches. Everything else is the
one-person app, unchanged: the same routes and the same run_turn().
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import TypingcureError
from ..store.accounts import AccountError, Accounts, derived
from ..store.crypto import Box, LockedError
from ..store.postgres import PostgresStore
from .security import CallNext, PUBLIC_PATHS, answered, refusal, secured
from .state import State, state_of

ACCOUNT_COOKIE = "tc_account"
VISITOR_PATHS = ("/account/sign-in", "/account/sign-up")  # reachable before signing in
CACHED = 1000  # signed-in people whose state a worker keeps

router = APIRouter()


@dataclass
class Signed:
    """A signed-in person, as State.account: what the pages need that must hold across workers."""
    accounts: Accounts
    person: str
    secret: str
    box: Box

    def fresh_nonce(self) -> str:
        value = secrets.token_urlsafe(12)
        return f"{value}.{derived(self.secret, 'nonce:' + value)[:16]}"

    def take_nonce(self, nonce: str) -> bool:
        value, _, mac = nonce.partition(".")
        if not value or not hmac.compare_digest(mac.encode("utf-8", "replace"),
                                                derived(self.secret, "nonce:" + value)[:16].encode()):
            return False
        return self.accounts.take_nonce(self.person, nonce)

    def defer(self, page: str, text: str) -> str:
        return self.accounts.defer(self.person, self.box, page, text)

    def claim(self, pid: str) -> tuple[str, str] | None:
        return self.accounts.claim(self.person, self.box, pid)


@dataclass
class Directory:
    """This worker's view of the signed-in people: their states, taken afresh when another worker wrote."""
    accounts: Accounts
    template: State   # the app's own state: settings, hosts, the Jinja environment, the model
    admin_key: str | None = None
    cache: OrderedDict[str, State] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def state_for(self, secret: str) -> State | None:
        found = self.accounts.session(secret)
        with self.lock:
            if found is None:
                self.cache.pop(hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest(), None)
                return None
            current = self.cache.get(found.sid)
            if current is not None and current.store is not None and getattr(current.store, "changed", -1) == found.changed:
                self.cache.move_to_end(found.sid)
                return current
        fresh = self.build(found.person, secret, PostgresStore.with_key(self.accounts.url, found.person, found.data_key,
                                                                         found.changed))
        with self.lock:
            self.cache[found.sid] = fresh
            while len(self.cache) > CACHED:
                self.cache.popitem(last=False)
        return fresh

    def build(self, person: str, secret: str, store: PostgresStore) -> State:
        t = self.template
        state = State(settings=t.settings, home=t.home, token=None, idle_seconds=t.idle_seconds, profile=t.profile,
                      backend=t.backend, hosts=t.hosts, port=t.port, env=t.env, _strings=t._strings,
                      csrf=derived(secret, "csrf"))
        state.account = Signed(self.accounts, person, secret, store.box)
        state.shared_parts = t.loaded_parts
        state.open_history(store)
        return state

    def forget(self, secret: str) -> None:
        with self.lock:
            self.cache.pop(hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest(), None)


def directory_of(request: Request) -> Directory:
    return request.app.state.directory  # type: ignore[no-any-return]


def source_of(request: Request) -> str:
    return request.client.host if request.client else "-"


# -- the middleware ---------------------------------------------------------------------------------


def _visitor_csrf(request: Request) -> str:
    given = request.cookies.get("tc_csrf", "")
    return given if len(given) == 43 and given.replace("-", "").replace("_", "").isalnum() else secrets.token_urlsafe(32)


async def guard_accounts(request: Request, call_next: CallNext) -> Response:
    """The one-person guard's checks (Host, Origin, size, headers), then the person of the session
    cookie, from the database; a request without one sees the sign-in page."""
    directory = directory_of(request)
    template = directory.template
    early = refusal(template, request)
    if early is not None:
        return secured(early)
    path = request.url.path
    if path in ("/unlock", "/unlock/skip"):
        return secured(PlainTextResponse("not here: this service has accounts (/account/sign-in)", status_code=404))
    visitor = path in PUBLIC_PATHS or path.startswith("/static/") or path in VISITOR_PATHS or path == "/admin"
    state: State | None = None
    secret = request.cookies.get(ACCOUNT_COOKIE, "")
    if secret:
        try:
            state = await run_in_threadpool(directory.state_for, secret)
        except TypingcureError as exc:
            return secured(PlainTextResponse(f"the service cannot reach its database just now ({exc.message})", 503))
    if state is None and not visitor:
        if request.method in ("GET", "HEAD"):
            return secured(RedirectResponse("/account/sign-in", 303))
        return secured(PlainTextResponse("signed out: sign in again (/account/sign-in)", status_code=401))
    csrf = state.csrf if state is not None else _visitor_csrf(request)
    request.scope["typingcure.state"] = state if state is not None else template
    request.scope["typingcure.csrf"] = csrf
    response = await answered(state or template, request, call_next)
    secured(response)
    if "typingcure.signed_out" not in request.scope:
        response.set_cookie("tc_csrf", request.scope.get("typingcure.csrf", csrf), httponly=True, samesite="strict")
    return response


# -- pages ------------------------------------------------------------------------------------------


def _page(request: Request, error: str | None = None, status: int = 200, headers: dict[str, str] | None = None,
          name: str = "") -> Response:
    state = state_of(request)
    response = state.render("account.html", status, title="Sign in", error=error, who=name,
                            csrf=request.scope["typingcure.csrf"])
    response.headers.update(headers or {})
    return response


async def _form(request: Request) -> Any:
    from .security import checked

    return await checked(request)


def _signed_in(request: Request, accounts: Accounts, person: str, store: PostgresStore) -> Response:
    secret = accounts.start_session(person, store)
    response = RedirectResponse("/", 303)
    response.set_cookie(ACCOUNT_COOKIE, secret, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    request.scope["typingcure.csrf"] = derived(secret, "csrf")  # the session's form token from now on
    return response


@router.get("/account/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request) -> Response:
    if request.scope.get("typingcure.state") is not directory_of(request).template:
        return RedirectResponse("/", 303)  # already signed in
    return _page(request)


async def _enter(request: Request, new: bool) -> Response:
    form = await _form(request)
    name, password = str(form.get("name", ""))[:200], str(form.get("password", ""))[:1000]
    accounts = directory_of(request).accounts
    if new and str(form.get("again", "")) != password:
        return _page(request, "The two passwords were different.", 400, name=name)
    try:
        way = accounts.sign_up if new else accounts.sign_in
        person, store = await run_in_threadpool(way, name, password, source=source_of(request))
        return await run_in_threadpool(_signed_in, request, accounts, person, store)
    except AccountError as exc:
        headers = {"Retry-After": str(int(exc.wait) + 1)} if exc.wait else None
        return _page(request, exc.message, exc.status, headers, name=name)
    except TypingcureError as exc:
        return _page(request, exc.message, 503, name=name)


@router.post("/account/sign-in")
async def sign_in(request: Request) -> Response:
    return await _enter(request, new=False)


@router.post("/account/sign-up")
async def sign_up(request: Request) -> Response:
    return await _enter(request, new=True)


@router.get("/account", response_class=HTMLResponse)
async def account_page(request: Request) -> Response:
    state = state_of(request)
    if state.account is None:
        return RedirectResponse("/account/sign-in", 303)
    return state.render("account.html", title="Your account", signed_in=True, error=None)


def _signed_out(request: Request, response: Response) -> Response:
    response.delete_cookie(ACCOUNT_COOKIE, path="/")
    response.delete_cookie("tc_csrf")
    request.scope["typingcure.signed_out"] = True
    return response


@router.post("/account/sign-out")
async def sign_out(request: Request) -> Response:
    await _form(request)
    secret = request.cookies.get(ACCOUNT_COOKIE, "")
    directory = directory_of(request)
    await run_in_threadpool(directory.accounts.end_session, secret)
    directory.forget(secret)
    return _signed_out(request, RedirectResponse("/account/sign-in", 303))


@router.post("/account/delete")
async def delete(request: Request) -> Response:
    form = await _form(request)
    state = state_of(request)
    if state.account is None:
        return RedirectResponse("/account/sign-in", 303)
    if form.get("confirm") != "yes":
        return state.render("account.html", 400, title="Your account", signed_in=True,
                            error="Tick the box to say you want everything deleted.")
    directory = directory_of(request)
    try:
        await run_in_threadpool(directory.accounts.delete, state.account.person, str(form.get("password", ""))[:1000])
    except LockedError:
        return state.render("account.html", 401, title="Your account", signed_in=True,
                            error="That password is not this account's; nothing was deleted.")
    directory.forget(request.cookies.get(ACCOUNT_COOKIE, ""))
    if state.store is not None:
        state.store.close()
    return _signed_out(request, RedirectResponse("/account/sign-in?deleted=1", 303))


@router.get("/admin")
async def admin(request: Request) -> Response:
    """Counts only, never content, for whoever has the admin key (Authorization: Bearer KEY)."""
    directory = directory_of(request)
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not directory.admin_key or not hmac.compare_digest(given.encode("utf-8", "replace"), directory.admin_key.encode()):
        return PlainTextResponse("the admin view needs the admin key (Authorization: Bearer KEY)", status_code=401)
    counts = await run_in_threadpool(directory.accounts.usage)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(counts)
    rows = "".join(f"<tr><th>{html.escape(k.replace('_', ' '))}</th><td>{v:,}</td></tr>" for k, v in counts.items())
    return HTMLResponse(f"<!doctype html><title>typingcure · usage</title><h1>Usage</h1><table>{rows}</table>"
                        "<p>Counts only: nothing anyone wrote can be read here, or by the people running this service.</p>")
