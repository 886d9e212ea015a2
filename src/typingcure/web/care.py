"""Care over time in the web app (design/care.md): `GET /outcomes` (the person's own outcomes, the
check-in, the chart, the reminders about time), `POST /outcomes`, `POST /outcomes/checkin`,
`POST /outcomes/time`, `GET /outcomes/chart.svg`, `GET /outcomes/checkins.csv`, `GET /summary`,
`POST /summary/keep`.

Kept encrypted with the history (the store's `usage`, `outcomes` and `summaries` records); with
history off, until the app stops. What the person writes here is read for risk like a message: words
that worry bring the local services to the top of the page. No safety logic here.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from ..care import care_line, plain_error
from ..care.outcomes import CADENCES, MAX_ITEMS, Outcomes, chart_svg, csv_text, score_of
from ..care.summary import summarise
from ..care.usage import TimeSettings, nudge
from ..pipeline import Session, assess_safely
from ..safety.resources import care_card
from ..types import TurnResult, at_least
from .security import checked
from .state import State, Tc, cards

router = APIRouter()


def worrying(state: State, texts: list[str]) -> bool:
    """Any of the person's words here read as risk at moderate or above (off the event loop)."""
    parts = state.loaded_parts()
    return any(at_least(assess_safely(parts.assessor, t, Session(profile=state.profile)).level, "moderate")
               for t in texts if t.strip())


def outcomes_view(state: State, message: str | None = None, status: int = 200, worried: bool = False) -> Response:
    o = state.outcomes
    return state.render("outcomes.html", status, title=care_line("web_title", state.ui_language()), outcomes=o,
                        slots=MAX_ITEMS, cadences=CADENCES, settings=state.usage.settings, message=message,
                        chart=chart_svg(o, state.ui_language()), worried=worried,
                        cards=cards(care_card(state.profile.country)) if worried else [],
                        summaries=list(reversed(state.summaries.items)), kept=state.kept_text())


@router.get("/outcomes", response_class=HTMLResponse)
async def outcomes_page(state: Tc) -> Response:
    return outcomes_view(state)


@router.post("/outcomes")
async def save_outcomes(request: Request, state: Tc) -> Response:
    form = await checked(request)
    fields: dict[str, Any] = {k: [str(v) for v in form.getlist(k)] for k in ("distress", "better", "goals")}
    cadence = str(form.get("cadence", "off"))
    try:
        changed = Outcomes.model_validate({**state.outcomes.model_dump(), **fields,
                                           "cadence": cadence if cadence in CADENCES else "off", "offered": ""})
    except ValueError as exc:
        return outcomes_view(state, plain_error(exc), 400)
    state.outcomes = changed
    changed.keep(state.store)
    worried = await run_in_threadpool(worrying, state, [t for v in fields.values() for t in v])
    return outcomes_view(state, state.ui_strings()["saved"], worried=worried)


@router.post("/outcomes/checkin")
async def save_checkin(request: Request, state: Tc) -> Response:
    form = await checked(request)
    now = state.now()
    if form.get("skip"):
        state.outcomes.skip(now)
        state.outcomes.keep(state.store)
        return outcomes_view(state, care_line("checkin_skipped", state.ui_language()))
    scores: dict[str, int] = {}
    for n, (_, words) in enumerate(state.outcomes.items):
        raw = str(form.get(f"score{n}", "")).strip()
        if raw:
            score = score_of(raw)
            if score is None:
                return outcomes_view(state, care_line("checkin_not_number", state.ui_language()), 400)
            scores[words] = score
    if not scores:
        return outcomes_view(state, care_line("checkin_not_number", state.ui_language()), 400)
    state.outcomes.record(scores, now)
    state.outcomes.keep(state.store)
    return outcomes_view(state, care_line("checkin_saved", state.ui_language()))


@router.post("/outcomes/time")
async def save_time(request: Request, state: Tc) -> Response:
    form = await checked(request)

    def number(name: str) -> int:
        raw = str(form.get(name, "0")).strip() or "0"
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 5 else -1

    try:
        chosen = TimeSettings(break_after=number("break_after"), late_night=form.get("late_night") == "on",
                              many_sessions=number("many_sessions"), remind_after=number("remind_after"),
                              remind_why=str(form.get("remind_why", "")), daily_after=number("daily_after"),
                              daily_why=str(form.get("daily_why", "")))
    except ValueError as exc:
        return outcomes_view(state, plain_error(exc), 400)
    worried = await run_in_threadpool(worrying, state, [chosen.remind_why, chosen.daily_why])
    if worried:  # heard, with the services; never kept to be said back as a reminder later
        return outcomes_view(state, None, worried=True)
    state.usage.settings = chosen
    state.usage.shown.clear()
    state.usage.keep(state.store)
    return outcomes_view(state, state.ui_strings()["saved"])


@router.get("/outcomes/chart.svg")
async def chart(state: Tc) -> Response:
    return Response(chart_svg(state.outcomes, state.ui_language()), media_type="image/svg+xml",
                    headers={"Content-Disposition": "attachment; filename=typingcure-checkins.svg"})


@router.get("/outcomes/checkins.csv")
async def checkins_csv(state: Tc) -> Response:
    return Response(csv_text(state.outcomes), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=typingcure-checkins.csv"})


@router.get("/summary", response_class=HTMLResponse)
async def summary_page(state: Tc) -> Response:
    """The summary of the conversation under way (or of the one just ended), to keep if they want."""
    summary = summary_now(state)
    return state.render("summary.html", title=care_line("summary_title", state.ui_language()), summary=summary,
                        keepable=state.store is not None and bool(summary.talked or summary.takeaways),
                        kept=state.kept_text())


@router.post("/summary/keep")
async def keep_summary(request: Request, state: Tc) -> Response:
    form = await checked(request)
    summary = summary_now(state)
    language = state.ui_language()
    if form.get("keep") == "yes" and state.store is not None:
        state.summaries.add(summary)
        state.summaries.keep(state.store)
        said = care_line("summary_kept", language)
    else:
        said = care_line("summary_not_kept", language)
    state.ended = None
    return state.render("summary.html", title=care_line("summary_title", language), summary=None, said=said,
                        keepable=False, kept=state.kept_text())


def summary_now(state: State) -> Any:
    """The summary of the conversation under way, or of the one just ended when none has begun since."""
    session = state.page("chat").session
    return state.ended if state.ended is not None and not session.turns else summary_of(state, session)


def summary_of(state: State, session: Session) -> Any:
    language = session.turns[-1].intake.language if session.turns else state.ui_language()
    titles = [card.title for card in state.book.cards if card.made.startswith(state.now().date().isoformat())]
    return summarise(session, language, takeaways=[care_line("summary_card", language, title=t) for t in titles],
                     now=state.now())


# -- in the chat: a reminder under a reply, a check-in offered ----------------------------------------------


def after_turn(state: State, turn: TurnResult, store: Any) -> str:
    """HTML under a reply: a reminder about time that is due (dismissible), and a check-in if one is
    due; never in a turn about risk (each waits for a later turn)."""
    now = state.now()
    language, script = turn.intake.language, turn.intake.script
    said = nudge(state.usage, now, turn.risk.level, turn.actions, language, script)
    state.usage.keep(store)
    out = ""
    if said:
        out += (f"<p class='notice nudge' role='status'>{html.escape(said)} <button type='button' class='quiet dismiss' "
                f"data-dismiss>{html.escape(care_line('web_dismiss', language, script))}</button></p>")
    if not at_least(turn.risk.level, "moderate") and not turn.decision.resources and state.outcomes.due(now):
        state.outcomes.offer(now)
        state.outcomes.keep(store)
        out += (f"<p class='notice nudge' role='status'>{html.escape(care_line('web_checkin_due', language, script))} "
                f"<a href='/outcomes#checkin'>{html.escape(care_line('web_checkin_link', language, script))}</a> "
                f"<button type='button' class='quiet dismiss' data-dismiss>{html.escape(care_line('web_dismiss', language, script))}"
                "</button></p>")
    return out
