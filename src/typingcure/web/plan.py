"""The safety plan: `GET /plan`, `POST /plan`, `GET /plan/print`.

The steps and their words come from the plan texts (languages/<code>/plan.yaml) in the chosen language. What
is written in the plan is read for risk like a message (assess_safely), and the services come
first on the page when it worries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..pipeline import assess_safely
from ..safety.plan import SECTIONS, SafetyPlan, plan_texts
from ..safety.replies import replies
from ..safety.resources import care_card
from ..types import at_least
from .security import checked
from .state import State, Tc, cards

router = APIRouter()


def current_plan(state: State) -> SafetyPlan:
    for p in state.pages.values():
        if p.session.plan is not None:
            return p.session.plan
    stored = state.store.get("safety_plan") if state.store is not None else None
    return SafetyPlan(**stored) if stored else SafetyPlan()


def plan_view(state: State, template: str, **context: Any) -> HTMLResponse:
    """The plan in the chosen language: its steps and words come from the plan texts (languages/<code>/plan.yaml)."""
    texts, plan = plan_texts(state.ui_language()), current_plan(state)
    steps = texts["sections"]
    sections = [{"key": s, "title": steps[s]["title"], "prompt": " ".join(steps[s]["prompt"].split()),
                 "entries": plan.sections.get(s, []), "text": "\n".join(plan.sections.get(s, []))} for s in SECTIONS]
    return state.render(template, title=state.ui_strings()["plan"], plan_title=texts["title"], not_filled=texts["not_filled"],
                        sections=sections, cards=cards(care_card(state.profile.country)), **context)


@router.get("/plan", response_class=HTMLResponse)
async def plan_page(state: Tc, saved: int = 0, worried: int = 0) -> Response:
    return plan_view(state, "plan.html", saved=saved, worried=worried)


@router.post("/plan")
async def plan_save(request: Request, state: Tc) -> Response:
    form = await checked(request)
    plan = SafetyPlan(sections={s: [line.strip() for line in str(form.get(s, "")).splitlines() if line.strip()][:30]
                                for s in SECTIONS}, updated=datetime.now().isoformat(timespec="seconds"))
    session = state.page("chat").session
    session.plan = plan
    if state.store is not None:
        await run_in_threadpool(state.store.put, "safety_plan", plan.model_dump())
    # What is written in the plan is read like a message: a plan that says "I'll take them all"
    # is a reason to be worried, and the services come first on the page.
    written = "\n".join(line for lines in plan.sections.values() for line in lines)
    risk = await run_in_threadpool(lambda: assess_safely(state.loaded_parts().assessor, written, session)) if written else None
    worried = risk is not None and at_least(risk.level, "high")
    return RedirectResponse("/plan?saved=1" + ("&worried=1" if worried else ""), 303)


@router.get("/plan/print", response_class=HTMLResponse)
async def plan_print(state: Tc) -> Response:
    return plan_view(state, "plan_print.html", card_title=replies(state.ui_language())["card_title"])
