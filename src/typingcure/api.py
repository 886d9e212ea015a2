"""The Python mirror of the command-line contract (DESIGN.md, "Public contract").

    import typingcure
    out = typingcure.reply([{"role": "user", "content": "I feel so alone"}], profile={"country": "NG"})
    out["reply"], out["risk"], out["resources"]
    typingcure.assess("everyone would be better off without me")  # {"level": "moderate", ...}
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .backends import Backend
from .config import Settings, load_settings
from .errors import InputError
from .pipeline import Parts, Session, build_parts, run_turn
from .registry import create
from .safety.assess import Assessor
from .types import Message, Profile, ReplyJSON


class _MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant"]
    content: str


class ReplyRequest(BaseModel):
    """The JSON object `typingcure reply --json` reads."""

    model_config = ConfigDict(extra="ignore")
    messages: list[_MessageIn] = Field(min_length=1)
    profile: Profile = Field(default_factory=Profile)
    role: str | None = None


def parse_reply_request(data: object) -> ReplyRequest:
    if not isinstance(data, dict):
        raise InputError("expected one JSON object with a 'messages' list")
    try:
        request = ReplyRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        raise InputError(f"invalid request at {where}: {first['msg']}") from None
    if request.messages[-1].role != "user":
        raise InputError("the last message must be the person's (role 'user')")
    return request


def reply_to(request: ReplyRequest, parts: Parts, settings: Settings) -> ReplyJSON:
    session = Session(profile=request.profile, role=request.role or settings.role)
    session.messages = [Message(m.role, m.content) for m in request.messages[:-1]]
    return run_turn(session, request.messages[-1].content, parts).contract()


def reply(
    messages: Sequence[Mapping[str, str]],
    *,
    profile: Mapping[str, Any] | None = None,
    role: str | None = None,
    backend: str | Backend | None = None,
) -> ReplyJSON:
    """One aligned reply to the last user message; the same shape as `typingcure reply --json`."""
    request = parse_reply_request({"messages": list(messages), "profile": dict(profile or {}), "role": role})
    settings = load_settings({"backend": backend if isinstance(backend, str) else None})
    parts = build_parts(backend if backend is not None and not isinstance(backend, str) else settings.backend, settings)
    return reply_to(request, parts, settings)


@lru_cache(maxsize=1)
def default_assessor() -> Assessor:
    return create("assessor", "layered")  # type: ignore[no-any-return]


def assess(text: str, history: Sequence[str | dict[str, str]] | None = None) -> dict[str, Any]:
    """Risk of one message in its conversation: `{"level", "categories", "score"}`.

    `history` holds the earlier messages, oldest first: strings are the person's, and
    `{"role": "user" | "assistant", "content": ...}` objects say who wrote them, so that a reply
    to typingcure's own question ("are you having thoughts of ending your life?") is read as an answer."""
    risk = default_assessor().assess(text or "", history=list(history or []))
    return {"level": risk.level, "categories": list(risk.categories), "score": risk.score}
