"""Personas in the web app: saved in Settings, shown with what changed on the chat page, kept with
the encrypted history (design/personas.md). Only someone who unlocked the history may save one, or
take back a pinned model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import InputError
from ..personas import drift, make_persona, model_drifted, pinned, pinned_backend, pinned_settings
from .security import checked
from .state import State, Tc

router = APIRouter()


def persona_context(state: State) -> dict[str, Any]:
    """What the settings page shows of personas."""
    current = state.personas.current
    return {"personas": state.personas.items, "persona_current": current.name if current else None,
            "personas_open": state.store is not None}


def persona_notice(state: State) -> dict[str, Any] | None:
    """On the chat page: what changed since the persona in use was pinned (never a silent change)."""
    persona = state.page("chat").session.persona
    if persona is None:
        return None
    changes = drift(persona, state.loaded_parts().backend, state.settings)
    if not changes:
        return None
    words = state.ui_strings()
    return {"title": words["persona_changed"].format(name=persona.name), "changes": [c.sentence(words) for c in changes]}


def _wear(state: State, name: str | None) -> None:
    state.personas.active = name
    persona = state.personas.current
    session = state.page("chat").session
    session.persona = persona
    if persona is not None:
        session.role = persona.role
    if state.store is not None:
        state.store.put("personas", state.personas.model_dump(mode="json"))


def _act(state: State, action: str, form: Any) -> str:
    """Do what the form asks; the sentence to show."""
    words, name = state.ui_strings(), str(form.get("name", "")).strip()[:200]
    parts = state.loaded_parts()
    if action == "new":
        role = state.page("chat").session.role
        persona = pinned(make_persona(name=name, tone=str(form.get("tone", ""))[:400], focus=str(form.get("focus", ""))[:400],
                                      avoid=str(form.get("avoid", ""))[:400], role=role if role != "rehearsal" else "listener"),
                         parts.backend, state.settings)
        state.personas.put(persona)
        _wear(state, persona.name)
        return words["persona_saved"].format(name=persona.name)
    if action == "use" and state.personas.find(name):
        _wear(state, state.personas.find(name).name)  # type: ignore[union-attr]
        return words["persona_in_use"].format(name=state.personas.active)
    if action == "off":
        _wear(state, None)
        return words["saved"]
    if action == "delete":
        state.personas.remove(name)
        _wear(state, state.personas.active)
        return words["saved"]
    current = state.personas.current
    if current is None:
        return words["persona_none"]
    if action == "keep":
        state.personas.put(pinned(current, parts.backend, state.settings))
        _wear(state, current.name)
        return words["persona_kept"].format(name=current.name)
    if action == "back":
        said = words["persona_back_done"].format(name=current.name)
        spec = pinned_backend(current)
        if model_drifted(current, parts.backend):
            if spec is None:
                said = words["persona_back_model_gone"].format(name=current.name)
            else:
                state.backend = spec
        state.settings = pinned_settings(current, state.settings)
        state.parts = None  # built again with the pinned model and settings
        state.personas.put(current.model_copy(update={"use_pinned": True}))
        _wear(state, current.name)
        return said
    return words["persona_none"]


@router.post("/settings/persona")
async def persona_action(request: Request, state: Tc) -> Response:
    from .settings import settings_view

    form = await checked(request)
    words = state.ui_strings()
    if state.store is None:
        return settings_view(state, words["persona_locked"], 403)
    try:
        said = await run_in_threadpool(_act, state, str(form.get("action", "")), form)
    except InputError:
        return settings_view(state, words["persona_bad"], 400)
    if form.get("next") == "chat":
        return RedirectResponse("/", 303)
    return settings_view(state, said)
