"""What anyone the Host check lets in may reach without a session: `/about`, `/healthz`, and our
own two static files (no third-party assets). Nothing private is shown here."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from .state import Tc

STATIC = {"app.css": "text/css", "app.js": "text/javascript"}

router = APIRouter()


@router.get("/about", response_class=HTMLResponse)
async def about(request: Request, state: Tc) -> Response:
    # Where the history lies is for the person, not for whoever asks.
    return state.render("about.html", title=state.ui_strings()["about"], home=str(state.home) if state.known(request) and state.account is None else "…")


@router.get("/healthz")
async def healthz() -> Response:
    return PlainTextResponse("ok")


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    if name not in STATIC:
        return PlainTextResponse("not found", status_code=404)
    return Response(files("typingcure.web").joinpath("static").joinpath(name).read_text("utf-8"), media_type=STATIC[name])
