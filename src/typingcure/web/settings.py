"""Settings and privacy: the profile, the model, export, forgetting a conversation, wiping all.

    GET /settings; POST /settings/profile, /settings/backend, /settings/forget, /settings/wipe
    GET /settings/export?format=markdown|json

A model that sends the conversation elsewhere, or reads a file, needs a tick first; a visit that
keeps nothing cannot change the model or wipe a kept history (design/web.md, "Hardening").
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from ..culture.packs import names as pack_names, pack
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..culture.language import OWN_NAMES
from ..culture.profile import screen
from ..roles import role_names, role_words
from ..errors import TypingcureError
from ..pipeline import Session, assess_safely, build_parts
from ..safety.resources import care_card
from ..safety.decide import LANGUAGE_NAMES
from ..store import history_at, to_markdown
from ..types import Profile
from .personas import persona_context
from .security import checked
from .state import State, Tc, cards

router = APIRouter()


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


def model_choices() -> list[tuple[str, str]]:
    """Installed and pulled models, and what an Ollama server on this machine serves (if any)."""
    from ..backends.catalogue import installed_models
    from ..backends.ollama import ollama_models

    found = [(m.spec, f"{m.name} ({m.note})") for m in installed_models()]
    return found + [(f"ollama:{name}", f"{name} (Ollama, not marked capable)") for name in ollama_models()]


def with_code(text: str, **codes: str) -> Any:
    """An interface string with {placeholders} filled by <code> spans; everything else escaped."""
    from markupsafe import Markup, escape

    return Markup(escape(text)).format(**{k: Markup("<code>{}</code>").format(v) for k, v in codes.items()})


def language_choices() -> list[tuple[str, str]]:
    """Each language by its own name, so someone who reads no English finds theirs (the English name after it)."""
    return [(code, OWN_NAMES.get(code, name) if OWN_NAMES.get(code, name) == name else f"{OWN_NAMES[code]} · {name}")
            for code, name in sorted(LANGUAGE_NAMES.items(), key=lambda kv: kv[1])]


def settings_view(state: State, message: str | None = None, status: int = 200, confirm: str | None = None,
                  worried: bool = False) -> Response:
    conversations = [{"id": c.id, "turns": c.turns, "role": _role_title(c.role, state.ui_language()), "when": f"{datetime.fromtimestamp(c.updated):%Y-%m-%d %H:%M}"}
                     for c in state.store.conversations()] if state.store is not None else []
    words = state.ui_strings()
    return state.render("settings.html", status, title=words["settings"], profile=state.profile, backend=state.backend,
                        languages=language_choices(), kept=state.kept_text(), conversations=conversations, message=message,
                        packs=[(name, pack(name).title) for name in pack_names()],
                        models=model_choices(), confirm=confirm, **persona_context(state), worried=worried,
                        cards=cards(care_card(state.profile.country)) if worried else [],
                        model_help=with_code(words["model_help"], local="local", named="local:NAME",
                                             pull="typingcure models pull NAME", file="local:/path/model.gguf",
                                             ollama="ollama:NAME", openai="openai:MODEL@URL"))


def may_change_kept(state: State) -> bool:
    """Only someone who unlocked the history may change its model or destroy it (not a visit that keeps nothing)."""
    return state.history == "open" or not history_at(state.home).exists()


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(state: Tc) -> Response:
    return await run_in_threadpool(settings_view, state)


@router.post("/settings/profile")
async def save_profile(request: Request, state: Tc) -> Response:
    form = await checked(request)
    given: dict[str, Any] = {k: str(form.get(k, ""))[:1000] or None for k in ("country", "language", "coping", "avoid", "identity",
                                                              "register", "languages", "pack")}
    given["coping"] = given["coping"] or (str(form.get("helps", ""))[:1000] or None)  # the field's earlier name
    try:
        profile = Profile(**given)
    except ValueError as exc:
        field = str(exc.errors()[0]["loc"][0]) if getattr(exc, "errors", None) else "country"  # type: ignore[attr-defined]
        words = state.ui_strings()
        return settings_view(state, words["country_two_letters"] if field == "country" else words["profile_invalid"], 400)
    state.profile = profile
    for p in state.pages.values():
        p.session.profile = profile
    if state.store is not None:
        await run_in_threadpool(state.store.put, "profile", profile.model_dump())
    # What is written in the profile is read like a message: words that worry bring the services
    # first on the page (and are heard in the chat's next turn, with the crisis protocol).
    screened = await run_in_threadpool(
        lambda: screen(profile, lambda text: assess_safely(state.loaded_parts().assessor, text, Session(profile=profile))))
    return settings_view(state, state.ui_strings()["saved"], worried=bool(screened.risky))


@router.post("/settings/backend")
async def save_backend(request: Request, state: Tc) -> Response:
    form = await checked(request)
    spec = str(form.get("backend", "")).strip()[:500]
    if state.account is not None:  # a service for many people: its model is the one it was started with
        return settings_view(state, "This service chooses the model; it cannot be changed here.", 403)
    reach, words = backend_reach(spec), state.ui_strings()
    if not may_change_kept(state):
        return settings_view(state, words["model_locked"], 403)  # before anything is loaded for a visit that may not change it
    if reach and form.get("confirm_backend") != "yes":
        # A page (or a person in a hurry) must not send the conversation elsewhere unseen.
        rest = spec.partition(":")[2]
        said = (words["model_confirm_net"].format(spec=spec, where=rest.partition("@")[2] or "?") if reach == "network"
                else words["model_confirm_file"].format(spec=spec, path=rest))
        return settings_view(state, said, 400, confirm=spec)
    try:
        candidate = await run_in_threadpool(build_parts, spec, state.settings)
    except TypingcureError as exc:
        # Never the error's own words for a file: they can quote a line of whatever file was named.
        return settings_view(state, words["model_unusable"].format(spec=spec) if reach == "file"
                             else exc.message.splitlines()[0][:300], 400)
    state.backend, state.parts = spec, candidate
    if state.store is not None:
        state.store.put("backend", spec)
    return settings_view(state, words["model_now"].format(spec=spec))


@router.get("/settings/export")
async def export(state: Tc, format: str = "markdown") -> Response:
    if state.store is None:
        return settings_view(state, state.ui_strings()["nothing_kept_export"], 400)
    data = await run_in_threadpool(state.store.export)
    if format == "json":
        return Response(json.dumps(data, indent=2, ensure_ascii=False), media_type="application/json",
                        headers={"Content-Disposition": "attachment; filename=typingcure-export.json"})
    return Response(to_markdown(data), media_type="text/markdown",
                    headers={"Content-Disposition": "attachment; filename=typingcure-export.md"})


@router.post("/settings/forget")
async def forget(request: Request, state: Tc) -> Response:
    form = await checked(request)
    if state.store is None:
        return settings_view(state, state.ui_strings()["nothing_kept"], 400)
    cid = str(form.get("conversation", ""))
    try:
        await run_in_threadpool(state.store.forget, cid)  # forgetting compacts the file: seconds on a big one
    except TypingcureError as exc:
        return settings_view(state, exc.message, 400)
    state.pages = {k: v for k, v in state.pages.items() if v.conversation != cid}
    return settings_view(state, state.ui_strings()["forgotten"])


@router.post("/settings/wipe")
async def wipe_all(request: Request, state: Tc) -> Response:
    form = await checked(request)
    if state.account is not None:  # the account, with its password: /account
        return RedirectResponse("/account", 303)
    if form.get("confirm") != "yes":
        return settings_view(state, state.ui_strings()["wipe_tick"], 400)
    if not may_change_kept(state):
        return settings_view(state, state.ui_strings()["wipe_locked"], 403)
    with state.lock:  # never held across an await: the idle-lock thread and the middleware take it too
        if state.store is not None:
            state.store.close()
        state.store, state.pages, state.history = None, {}, "off"
    await run_in_threadpool(history_at(state.home).wipe)
    return settings_view(state, state.ui_strings()["wiped"])


def _role_title(name: str, language: str) -> str:
    """A kept conversation's role, by its title in the person's language (a role no longer shipped: its name)."""
    return role_words(name, language).title if name in role_names() else name
