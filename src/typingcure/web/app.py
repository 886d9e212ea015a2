"""The web app: a calm, private place to type, over the same run_turn() and store as the CLI.

    app = create_app(Settings(), home=user_dir())
    uvicorn.run(app, host="127.0.0.1", port=8000)          # `typingcure serve`

Server-rendered pages (Jinja2, autoescaped: what people type is shown as text, never run), one
small script of our own that streams checked sentences over Server-Sent Events, no CDN and no
third-party assets. The web layer holds no safety logic: every message goes through run_turn().
Security (design/web.md): CSRF token on every form, strict headers (CSP without inline script, no
referrer, no framing), an access token when bound beyond loopback, and the history locks again
after a quiet spell.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterator

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..config import Settings
from ..errors import TypingcureError
from ..pipeline import Parts, Session, build_parts, run_turn
from ..roles import load_role, role_names
from ..safety.decide import LANGUAGE_NAMES
from ..safety.plan import SECTIONS, SafetyPlan, plan_texts
from ..safety.replies import replies
from ..safety.resources import care_card
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


@dataclass
class Page:
    session: Session
    conversation: str | None = None


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


def _tel(text: str) -> str:
    return "".join(ch for ch in text.split("(")[0].split(" or ")[0].split("/")[0] if ch.isdigit() or ch == "+")


def _cards(resources: tuple[Resource, ...] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in resources:
        data = r.card() if isinstance(r, Resource) else r
        out.append({**data, "tel": _tel(data["phone"] or ""), "sms_digits": _tel(data["sms"] or "")})
    return out


def create_app(settings: Settings, *, home: Path, token: str | None = None, idle_minutes: float = 15) -> FastAPI:
    state = State(settings=settings, home=home, token=token, idle_seconds=idle_minutes * 60,
                  profile=Profile(country=settings.country, language=settings.language), backend=settings.backend)
    env = Environment(loader=FileSystemLoader(str(files("typingcure.web").joinpath("templates"))),
                      autoescape=select_autoescape(["html"]))
    app = FastAPI(title="typingcure", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.tc = state
    static = files("typingcure.web").joinpath("static")

    # -- plumbing ------------------------------------------------------------------------------

    loaded = yaml.safe_load(files("typingcure.web").joinpath("strings.yaml").read_text("utf-8"))
    strings = {lang: {**loaded["en"], **words} for lang, words in loaded.items()}  # English for any missing key

    def ui_language() -> str:
        return state.profile.language if state.profile.language in strings else "en"

    def ui_strings(language: str | None = None) -> dict[str, str]:
        """The interface strings of the chosen language, or of `language` (e.g. the one a message was written in)."""
        return strings[language if language in strings else ui_language()]

    def card_context(turn: TurnResult, words: dict[str, str]) -> dict[str, Any]:
        """What card.html shows under a reply: the care card, notes, and a link to the plan when the reply offers it."""
        return {"resources": _cards(turn.decision.resources), "notes": turn.notes,
                "plan_link": words["plan"] if "/plan" in turn.reply else None}

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("lang", ui_language())
        context.setdefault("t", ui_strings())
        context.setdefault("title", "typingcure")
        context.setdefault("csrf", state.csrf)
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    def parts() -> Parts:
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

    def lock() -> None:
        if state.store is not None:
            state.store.close()
        state.store, state.history, state.pages = None, "locked", {}

    @app.middleware("http")
    async def guard(request: Request, call_next):  # type: ignore[no-untyped-def]
        if state.token is not None:
            given = request.query_params.get("token") or request.cookies.get("tc_access")
            if not given or not secrets.compare_digest(given, state.token):
                return PlainTextResponse("an access token is needed", status_code=401, headers=HEADERS)
        path = request.url.path
        with state.lock:
            idle = time.monotonic() - state.last_seen
            if state.history == "open" and idle > state.idle_seconds:
                lock()
            if not path.startswith("/static") and not path.startswith("/chat/stream"):
                state.last_seen = time.monotonic()
        if state.history == "locked" and path not in ("/unlock", "/unlock/skip", "/about", "/healthz") \
                and not path.startswith("/static"):
            if state.settings.history == "off":
                state.history = "off"
            else:
                return unlock_page(None)
        response = await call_next(request)
        if not path.startswith("/static") and not path.startswith("/chat/stream"):
            state.last_seen = time.monotonic()  # idle time counts from the end of the last request
        for key, value in HEADERS.items():
            response.headers.setdefault(key, value)
        response.set_cookie("tc_csrf", state.csrf, httponly=True, samesite="strict")
        if state.token is not None:
            response.set_cookie("tc_access", state.token, httponly=True, samesite="strict")
        return response

    class Refused(Exception):
        pass

    @app.exception_handler(Refused)
    async def refused(_request: Request, _exc: Refused) -> Response:
        response = render("error.html", 403, heading="This form has expired",
                          message="For your safety the form was refused (a missing or old security token). Go back and try again.")
        for key, value in HEADERS.items():
            response.headers[key] = value
        return response

    async def checked(request: Request):  # type: ignore[no-untyped-def]
        """The form, once its CSRF token matches both the page and the cookie; else a 403 page."""
        form = await request.form()
        if not secrets.compare_digest(str(form.get("csrf", "")), state.csrf) or request.cookies.get("tc_csrf") != state.csrf:
            raise Refused()
        return form

    def unlock_page(error: str | None, status: int = 200) -> Response:
        response = render("unlock.html", status, title=ui_strings()["unlock"], error=error,
                          new=not KeyFile(state.home / KEY_NAME).exists())
        for key, value in HEADERS.items():
            response.headers[key] = value
        response.set_cookie("tc_csrf", state.csrf, httponly=True, samesite="strict")
        return response

    # -- unlocking --------------------------------------------------------------------------------

    @app.post("/unlock")
    async def unlock(request: Request) -> Response:
        form = await checked(request)
        secret, again = str(form.get("passphrase", "")), form.get("again")
        if again is not None and secret != again:
            return unlock_page("The two passphrases were different.", 400)
        try:
            state.store = SQLiteStore.open(state.home, secret)
        except LockedError as exc:
            return unlock_page(exc.message, 401)
        except TypingcureError as exc:
            return unlock_page(exc.message, 500)
        state.history, state.pages = "open", {}
        saved = state.store.get("profile")
        if saved:
            state.profile = Profile(**saved)
        return RedirectResponse("/", 303)

    @app.post("/unlock/skip")
    async def skip(request: Request) -> Response:
        await checked(request)
        state.history, state.pages = "off", {}
        return RedirectResponse("/", 303)

    # -- talking ------------------------------------------------------------------------------------

    def chat_view(name: str, error: str | None = None, summary: str | None = None, status: int = 200) -> Response:
        current = page(name)
        nonce = secrets.token_urlsafe(16)
        state.nonces.add(nonce)
        role, words = load_role(current.session.role), ui_strings()
        turns = [{"user_text": t.user_text, "reply": t.reply, **card_context(t, words)} for t in current.session.turns]
        return render("chat.html", status, title=words[name if name == "journal" else "talk"], page=name,
                      intro=words.get(f"intro_{role.name}", role.intro), kept=kept_text(), turns=turns, nonce=nonce, role=current.session.role,
                      roles=[load_role(r) for r in role_names()], send_url=f"/{name}/send",
                      error=error, summary=summary,
                      card_title=replies(state.profile.language or "en")["card_title"])

    @app.get("/", response_class=HTMLResponse)
    async def chat_page() -> Response:
        return chat_view("chat")

    @app.get("/journal", response_class=HTMLResponse)
    async def journal_page() -> Response:
        return chat_view("journal")

    @app.post("/chat/role")
    async def choose_role(request: Request) -> Response:
        form = await checked(request)
        role = str(form.get("role", ""))
        if role in role_names():
            page("chat").session.role = role
        return RedirectResponse("/", 303)

    def start_turn(name: str, text: str) -> tuple[str, threading.Thread]:
        current, turn_parts = page(name), parts()
        if state.store is not None and current.conversation:
            turn_parts = Parts(**{**turn_parts.__dict__, "recorder": StoreRecorder(state.store, current.conversation)})
        stream_id = uuid.uuid4().hex
        out: queue.Queue = queue.Queue()  # type: ignore[type-arg]
        state.streams[stream_id] = out

        def work() -> None:
            # Runs to the end even if the browser goes away: the turn is kept whole, once.
            try:
                turn = run_turn(current.session, text, turn_parts, on_release=lambda piece: out.put(("sentence", piece)))
                words = ui_strings(turn.intake.language)
                extra = env.get_template("card.html").render(t=words, card_title=replies(turn.intake.language, turn.intake.script)["card_title"],
                                                             **card_context(turn, words))
                if not turn.reply:
                    extra = f"<p class='muted'>{_escape(words['quiet'])}</p>" + extra
                out.put(("done", extra))
            except TypingcureError as exc:
                out.put(("done", f"<p class='notice' role='alert'>{_escape(exc.message)}</p>"))

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
        if not text.strip():
            return JSONResponse({"error": "The message is empty."}, 400) if wants_json else chat_view(name, "The message is empty.", status=400)
        if len(text) > state.settings.max_message_chars:
            message = f"That is very long ({len(text):,} characters); please send it in parts of up to {state.settings.max_message_chars:,}."
            return JSONResponse({"error": message}, 413) if wants_json else chat_view(name, message, status=413)
        stream_id, worker = start_turn(name, text)
        if wants_json:
            next_nonce = secrets.token_urlsafe(16)
            state.nonces.add(next_nonce)
            return JSONResponse({"stream": f"/chat/stream/{stream_id}", "next_nonce": next_nonce})
        worker.join()
        state.streams.pop(stream_id, None)
        return RedirectResponse("/" if name == "chat" else f"/{name}", 303)

    @app.post("/chat/send")
    async def chat_send(request: Request) -> Response:
        return await send(request, "chat")

    @app.post("/journal/send")
    async def journal_send(request: Request) -> Response:
        return await send(request, "journal")

    @app.get("/chat/stream/{stream_id}")
    async def stream(stream_id: str) -> Response:
        out = state.streams.get(stream_id)
        if out is None:
            return PlainTextResponse("no such reply", status_code=404)

        def events() -> Iterator[str]:
            try:
                while True:
                    kind, data = out.get(timeout=300)
                    yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"
                    if kind == "done":
                        return
            finally:
                state.streams.pop(stream_id, None)

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/chat/end")
    async def end(request: Request) -> Response:
        await checked(request)
        current = page("chat")
        turns = current.session.turns
        highest = max((t.risk.level for t in turns), key=["none", "low", "moderate", "high", "imminent"].index, default="none")
        words = ui_strings()
        summary = " ".join([words["end_count"].format(n=len(turns)),
                            *([words["end_worried"]] if highest in ("moderate", "high", "imminent") else []), words["end_care"]])
        state.pages.pop("chat", None)
        if state.store is not None:
            state.pages["chat"] = Page(Session(profile=state.profile), state.store.new_conversation(state.profile.model_dump(), "listener"))
        return chat_view("chat", summary=summary)

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
    async def plan_page(saved: int = 0) -> Response:
        return plan_view("plan.html", saved=saved)

    @app.post("/plan")
    async def plan_save(request: Request) -> Response:
        form = await checked(request)
        plan = SafetyPlan(sections={s: [line.strip() for line in str(form.get(s, "")).splitlines() if line.strip()][:30]
                                    for s in SECTIONS}, updated=datetime.now().isoformat(timespec="seconds"))
        page("chat").session.plan = plan
        if state.store is not None:
            state.store.put("safety_plan", plan.model_dump())
        return RedirectResponse("/plan?saved=1", 303)

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

    def settings_view(message: str | None = None, status: int = 200) -> Response:
        conversations = [{"id": c.id, "turns": c.turns, "role": c.role, "when": f"{datetime.fromtimestamp(c.updated):%Y-%m-%d %H:%M}"}
                         for c in state.store.conversations()] if state.store is not None else []
        return render("settings.html", status, title=ui_strings()["settings"], profile=state.profile, backend=state.backend,
                      languages=sorted(LANGUAGE_NAMES.items(), key=lambda kv: kv[1]), kept=kept_text(),
                      conversations=conversations, message=message, models=model_choices())

    @app.get("/settings", response_class=HTMLResponse)
    async def settings_page() -> Response:
        return settings_view()

    @app.post("/settings/profile")
    async def save_profile(request: Request) -> Response:
        form = await checked(request)
        try:
            profile = Profile(country=str(form.get("country", "")) or None, language=str(form.get("language", "")) or None,
                              helps=str(form.get("helps", ""))[:300] or None)
        except ValueError:
            return settings_view("The country must be two letters, like KE or BR.", 400)
        state.profile = profile
        for p in state.pages.values():
            p.session.profile = profile
        if state.store is not None:
            state.store.put("profile", profile.model_dump())
        return settings_view(ui_strings()["saved"])

    @app.post("/settings/backend")
    async def save_backend(request: Request) -> Response:
        form = await checked(request)
        spec = str(form.get("backend", "")).strip()
        try:
            candidate = build_parts(spec, state.settings)
        except TypingcureError as exc:
            return settings_view(exc.message, 400)
        state.backend, state.parts = spec, candidate
        return settings_view(f"Now using {spec}.")

    @app.get("/settings/export")
    async def export(format: str = "markdown") -> Response:  # noqa: A002 - the query parameter's name
        if state.store is None:
            return settings_view("Nothing is kept, so there is nothing to export.", 400)
        data = state.store.export()
        if format == "json":
            return Response(json.dumps(data, indent=2, ensure_ascii=False), media_type="application/json",
                            headers={"Content-Disposition": "attachment; filename=typingcure-export.json"})
        return Response(to_markdown(data), media_type="text/markdown",
                        headers={"Content-Disposition": "attachment; filename=typingcure-export.md"})

    @app.post("/settings/forget")
    async def forget(request: Request) -> Response:
        form = await checked(request)
        if state.store is None:
            return settings_view("Nothing is kept.", 400)
        cid = str(form.get("conversation", ""))
        try:
            state.store.forget(cid)
        except TypingcureError as exc:
            return settings_view(exc.message, 400)
        state.pages = {k: v for k, v in state.pages.items() if v.conversation != cid}
        return settings_view("That conversation is gone for good.")

    @app.post("/settings/wipe")
    async def wipe_all(request: Request) -> Response:
        form = await checked(request)
        if form.get("confirm") != "yes":
            return settings_view("Tick the box to confirm; nothing was deleted.", 400)
        if state.store is not None:
            state.store.close()
        wipe(state.home)
        state.store, state.pages, state.history = None, {}, "off"
        return settings_view("Everything was wiped. Nothing from now on is kept.")

    @app.get("/about", response_class=HTMLResponse)
    async def about() -> Response:
        return render("about.html", title=ui_strings()["about"], home=str(state.home))

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


def _escape(text: str) -> str:
    import html

    return html.escape(text)
