"""The alignment proxy: an OpenAI-compatible server that runs every request through run_turn() in
front of any upstream model (design/proxy.md).

    proxy = Proxy(Upstream("http://127.0.0.1:8080/v1"), load_policy(None))
    app = create_proxy_app(proxy)
    uvicorn.run(app, host="127.0.0.1", port=8100)          # `typingcure proxy --upstream URL`

One request, `POST /v1/chat/completions`:
  read      the client's JSON (413 when too big, 400 when not a chat request); the person's latest
            message, the conversation before it, the profile (header or metadata)
  assess    the pipeline's assessment of that message in its conversation (the policy may make it
            more careful, never less)
  relay     at risk `none` with `pass_through`: the request and the upstream's answer, byte for byte
  turn      otherwise run_turn() with the upstream as its model: at high or imminent risk the
            upstream is not called (the crisis reply); at moderate risk and in sensitive situations
            a model not known to be capable is not called either (a composed careful reply); else
            the upstream writes in typingcure's frame and every sentence is checked before it is
            streamed. The care card, risk and actions travel with the reply (`typingcure` field,
            X-Typingcure-* headers).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from ..composition import build
from ..errors import BackendError, InputError
from ..explain import resource_lines
from ..pipeline import Parts, Session, assess_turn, intake_text, run_turn
from ..safety.assess import Assessor
from ..safety.decide import ModelTraits
from ..types import PolicyDecision, RiskAssessment, TurnResult, at_least
from .policy import ProxyPolicy
from .shapes import ChatRequest, ProxyError, chunk, completion, read_request
from .upstream import Upstream, UpstreamError, UpstreamTurn

ROLE = "proxy"  # the hidden role: the client's chatbot answers in its own voice (roles/_proxy.yaml)
# "(type /plan)" in a crisis reply names a command of typingcure's own chat, which a client's app
# does not have: the offer to make a plan together stays, the command goes (in every language).
_COMMAND = re.compile(r"\s*[(（][^()（）]*/plan[^()（）]*[)）]")


def for_the_client(text: str) -> str:
    return _COMMAND.sub("", text)


class _ThisTurn:
    """The proxy's assessor: the shared one with the policy's thresholds, and the assessment already
    made for this request's message given back instead of being made twice."""

    def __init__(self, inner: Assessor, policy: ProxyPolicy) -> None:
        self.inner, self.policy = inner, policy
        self.spec = getattr(inner, "spec", "?")
        self.known: tuple[str, RiskAssessment] | None = None

    def assess(self, text: str, history: Any = (), language: str = "en") -> RiskAssessment:
        if self.known is not None and self.known[0] == text:
            return self.known[1]
        return self.policy.careful(self.inner.assess(text, history=history, language=language))


@dataclass
class Proxy:
    """What every request shares: the upstream, the policy, the pipeline's parts, the client keys."""

    upstream: Upstream
    policy: ProxyPolicy
    keys: frozenset[str] = frozenset()  # client API keys; empty: none asked (loopback only)
    log: Callable[[str], None] | None = None  # where metadata lines go (policy log: metadata)
    parts: Parts = field(init=False)
    pool: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        spec = self.policy.spec()
        assessor, care, guards = build(spec)
        placeholder = UpstreamTurn(self.upstream, {"messages": []}, auth=None, capable=self.policy.capable)
        self.parts = Parts(backend=placeholder, assessor=assessor, policy=care, guards=guards, composition=spec,
                           max_message_chars=self.policy.max_message_chars, reply_seconds=self.policy.reply_seconds,
                           model=ModelTraits(capable=self.policy.capable), keep_layout=True)
        self.pool = ThreadPoolExecutor(max_workers=self.policy.workers, thread_name_prefix="typingcure-proxy")
        if self.log is None and self.policy.log == "metadata":
            self.log = lambda line: print(line, file=sys.stderr, flush=True)

    def warm(self) -> None:
        """Load the assessor's models now, so the first request is as fast as the rest."""
        self.parts.assessor.assess("hello there", history=[], language="en")

    def authorised(self, headers: Mapping[str, str]) -> bool:
        if not self.keys:
            return True
        given = headers.get("authorization", "")
        token = given[7:].strip() if given[:7].lower() == "bearer " else ""
        return any(hmac.compare_digest(token.encode(), key.encode()) for key in self.keys)

    def client_auth(self, headers: Mapping[str, str]) -> str | None:
        """The client's Authorization, sent on only when it is not this proxy's own key."""
        return None if self.keys else headers.get("authorization")

    # -- one request ---------------------------------------------------------------------------

    def prepare(self, chat: ChatRequest) -> tuple[Session, str, _ThisTurn]:
        """The person's message read as a turn reads it (ProxyError 400 when it cannot be), and the
        conversation before it."""
        try:
            intake = intake_text(chat.text, chat.profile, self.policy.max_message_chars)
        except InputError as exc:
            raise ProxyError(400, exc.message) from None
        session = Session(profile=chat.profile, role=ROLE, messages=list(chat.history))
        return session, intake.text, _ThisTurn(self.parts.assessor, self.policy)

    def assess(self, chat: ChatRequest, session: Session, text: str, assessor: _ThisTurn) -> RiskAssessment:
        """The turn's assessment, made before the turn (to relay a message at no risk untouched) and
        given back to it rather than made again."""
        intake = intake_text(text, chat.profile, self.policy.max_message_chars)
        risk, _ = assess_turn(assessor, intake, session)
        assessor.known = (intake.text, risk)
        return risk

    def turn(self, chat: ChatRequest, session: Session, text: str, assessor: _ThisTurn, auth: str | None,
             release: Callable[[str], None], decided: Callable[[RiskAssessment, PolicyDecision], None],
             ) -> tuple[TurnResult, UpstreamTurn]:
        backend = UpstreamTurn(self.upstream, chat.body, auth=auth, capable=self.policy.capable)
        parts = replace(self.parts, backend=backend, assessor=assessor, answered=lambda: bool(backend.tool_calls))
        turn = run_turn(session, text, parts, on_release=lambda piece: release(for_the_client(piece)), on_decided=decided)
        return turn.model_copy(update={"reply": for_the_client(turn.reply)}), backend

    def card_text(self, turn: TurnResult) -> str:
        if self.policy.care_card != "text" or not turn.decision.resources:
            return ""
        return "\n\n" + "\n".join(resource_lines(turn))

    def tool_calls(self, turn: TurnResult, backend: UpstreamTurn) -> list[dict[str, Any]]:
        """The upstream's tool calls, passed on below moderate risk when the reply is the upstream's."""
        if (self.policy.tools == "never" or at_least(turn.risk.level, "moderate") or turn.decision.verdict != "generate"
                or any(c.verdict == "replace" for c in turn.checks)):
            return []
        return [{"index": i, **call} for i, call in enumerate(backend.calls_made())]

    def record(self, started: float, status: int, risk: RiskAssessment | None, actions: list[str], upstream: str,
               stream: bool) -> None:
        if self.log is None:
            return
        self.log(json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), "status": status,
                             "risk": risk.level if risk else None, "categories": list(risk.categories) if risk else [],
                             "actions": actions, "upstream": upstream, "stream": stream,
                             "ms": round((time.perf_counter() - started) * 1000, 1)}))


def typingcure_field(turn: TurnResult, upstream: str) -> dict[str, Any]:
    out: dict[str, Any] = dict(turn.contract())
    out.pop("reply")
    out["upstream"] = upstream
    return out


def risk_headers(risk: RiskAssessment, actions: list[str] | tuple[str, ...]) -> dict[str, str]:
    return {"X-Typingcure-Risk": risk.level, "X-Typingcure-Categories": ",".join(risk.categories),
            "X-Typingcure-Actions": ",".join(actions)}


def error(exc: ProxyError, headers: Mapping[str, str] | None = None) -> Response:
    if exc.body is not None:  # the upstream's own error, as it said it
        return Response(exc.body, status_code=exc.status, media_type="application/json", headers=dict(headers or {}))
    return JSONResponse(exc.payload(), status_code=exc.status, headers=dict(headers or {}))


def from_backend(exc: BackendError) -> ProxyError:
    if isinstance(exc, UpstreamError) and 400 <= exc.status < 600:
        body = exc.body if exc.body.strip().startswith(b"{") else None
        return ProxyError(exc.status, exc.message, "upstream_error", body)
    return ProxyError(502, exc.message, "upstream_error")


async def read_limited(request: Request, limit: int) -> bytes:
    size, parts = 0, []
    async for piece in request.stream():
        size += len(piece)
        if size > limit:
            raise ProxyError(413, f"the request is over {limit:,} bytes, the most this proxy takes")
        parts.append(piece)
    return b"".join(parts)


def create_proxy_app(proxy: Proxy) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await proxy.upstream.aclose()
        proxy.upstream.close()
        proxy.pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="typingcure proxy", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.proxy = proxy

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        if not proxy.authorised(request.headers):
            return error(ProxyError(401, "a valid API key for this proxy is needed (Authorization: Bearer KEY)",
                                    "invalid_api_key"))
        up = proxy.upstream
        try:
            answer = await up.aclient.get(f"{up.base_url}/models", headers=up.headers(proxy.client_auth(request.headers)))
            if answer.status_code < 400:
                return Response(answer.content, status_code=answer.status_code, media_type="application/json")
        except httpx.HTTPError:
            answer = None
        if up.model:
            return JSONResponse({"object": "list", "data": [{"id": up.model, "object": "model", "created": 0,
                                                             "owned_by": "upstream"}]})
        status = answer.status_code if answer is not None else 502
        return error(ProxyError(status if status >= 400 else 502, f"the upstream at {up.shown} did not list its models",
                                "upstream_error"))

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        started = time.perf_counter()
        if not proxy.authorised(request.headers):
            return error(ProxyError(401, "a valid API key for this proxy is needed (Authorization: Bearer KEY)",
                                    "invalid_api_key"))
        loop = asyncio.get_running_loop()
        try:
            chat = read_request(await read_limited(request, proxy.policy.max_body_bytes), request.headers,
                                proxy.policy.max_body_bytes)
            session, text, assessor = proxy.prepare(chat)
        except ProxyError as exc:
            proxy.record(started, exc.status, None, [], "not_called", False)
            return error(exc)
        auth = proxy.client_auth(request.headers)
        if proxy.policy.pass_through:  # assessed first: a message at no risk is relayed untouched
            risk = await loop.run_in_executor(proxy.pool, proxy.assess, chat, session, text, assessor)
            if risk.level == "none":
                return await _relay(proxy, chat, risk, auth, started)
        if chat.stream:
            return await _streamed(proxy, chat, session, text, assessor, auth, started)
        return await _whole(proxy, chat, session, text, assessor, auth, started)

    return app


def _upstream_use(turn: TurnResult, backend: UpstreamTurn) -> str:
    return "called" if backend.calls else "not_called"


def _finish(turn: TurnResult, backend: UpstreamTurn, calls: list[dict[str, Any]]) -> str:
    if calls:
        return "tool_calls"
    if backend.finish_reason == "length" and turn.decision.verdict == "generate" and not turn.decision.follow_up:
        return "length"
    return "stop"


async def _whole(proxy: Proxy, chat: ChatRequest, session: Session, text: str, assessor: _ThisTurn,
                 auth: str | None, started: float) -> Response:
    loop = asyncio.get_running_loop()
    decided: list[RiskAssessment] = []
    try:
        turn, backend = await loop.run_in_executor(
            proxy.pool, lambda: proxy.turn(chat, session, text, assessor, auth, lambda _p: None,
                                           lambda r, _d: decided.append(r)))
    except BackendError as exc:
        failure = from_backend(exc)
        proxy.record(started, failure.status, decided[0] if decided else None, [], "failed", False)
        return error(failure, risk_headers(decided[0], ()) if decided else None)
    calls = proxy.tool_calls(turn, backend)
    content = turn.reply + proxy.card_text(turn)
    body = completion(_id(), backend.model or str(chat.body.get("model") or "typingcure"), content,
                      tool_calls=[{k: v for k, v in c.items() if k != "index"} for c in calls] or None,
                      finish_reason=_finish(turn, backend, calls), usage=backend.usage,
                      typingcure=typingcure_field(turn, _upstream_use(turn, backend)))
    proxy.record(started, 200, turn.risk, list(turn.actions), _upstream_use(turn, backend), False)
    return JSONResponse(body, headers=risk_headers(turn.risk, turn.actions))


async def _streamed(proxy: Proxy, chat: ChatRequest, session: Session, text: str, assessor: _ThisTurn,
                    auth: str | None, started: float) -> Response:
    """The turn runs in a worker thread; each checked piece is one chunk. The response starts (status
    and headers) at the first piece, so an upstream that fails before writing anything is answered
    with its own status, as without the proxy."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    decision: list[tuple[RiskAssessment, PolicyDecision]] = []

    def put(kind: str, value: Any) -> None:
        loop.call_soon_threadsafe(events.put_nowait, (kind, value))

    def work() -> None:
        try:
            put("done", proxy.turn(chat, session, text, assessor, auth, lambda piece: put("text", piece),
                                   lambda r, d: decision.append((r, d))))
        except BaseException as exc:  # any failure reaches the client as an error, never a hang
            put("error", exc)

    proxy.pool.submit(work)
    first = await events.get()
    if first[0] == "error":
        exc = first[1]
        failure = from_backend(exc) if isinstance(exc, BackendError) else ProxyError(500, "the proxy failed on this request",
                                                                                      "server_error")
        proxy.record(started, failure.status, decision[0][0] if decision else None, [], "failed", True)
        return error(failure, risk_headers(decision[0][0], ()) if decision else None)
    risk, made = decision[0] if decision else (None, None)
    model = str(chat.body.get("model") or "typingcure")
    turn_id = _id()

    async def stream() -> AsyncIterator[str]:
        yield chunk(turn_id, model, {"role": "assistant", "content": ""})
        event = first
        while True:
            kind, value = event
            if kind == "text":
                yield chunk(turn_id, model, {"content": value})
            elif kind == "error":
                failure = from_backend(value) if isinstance(value, BackendError) else ProxyError(
                    500, "the proxy failed on this request", "server_error")
                yield f"data: {json.dumps(failure.payload())}\n\n"
                yield "data: [DONE]\n\n"
                proxy.record(started, 200, risk, [], "failed", True)
                return
            else:
                turn, backend = value
                card = proxy.card_text(turn)
                if card:
                    yield chunk(turn_id, model, {"content": card})
                calls = proxy.tool_calls(turn, backend)
                if calls:
                    yield chunk(turn_id, model, {"tool_calls": calls})
                yield chunk(turn_id, model, {}, finish_reason=_finish(turn, backend, calls),
                            typingcure=typingcure_field(turn, _upstream_use(turn, backend)))
                if chat.include_usage:
                    yield chunk(turn_id, model, {}, usage=backend.usage or None, choices=False)
                yield "data: [DONE]\n\n"
                proxy.record(started, 200, turn.risk, list(turn.actions), _upstream_use(turn, backend), True)
                return
            event = await events.get()

    headers = risk_headers(risk, made.actions if made else ()) if risk else {}
    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _relay(proxy: Proxy, chat: ChatRequest, risk: RiskAssessment, auth: str | None, started: float) -> Response:
    """At risk `none`, with `pass_through`: the request as it came (typingcure's metadata keys taken
    out) and the upstream's answer as it comes, byte for byte."""
    up = proxy.upstream
    body = up.body(chat.body, stream=False)
    body.update({k: chat.body[k] for k in ("stream", "stream_options", "n") if k in chat.body})
    try:
        sent = up.aclient.build_request("POST", f"{up.base_url}/chat/completions", json=body, headers=up.headers(auth))
        answer = await up.aclient.send(sent, stream=True)
    except httpx.HTTPError as exc:
        failure = from_backend(up.unreachable(exc))
        proxy.record(started, failure.status, risk, ["pass_through"], "failed", chat.stream)
        return error(failure, risk_headers(risk, ("pass_through",)))
    proxy.record(started, answer.status_code, risk, ["pass_through"], "passed_through", chat.stream)
    kept = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "openai-processing-ms", "x-request-id")}
    return StreamingResponse(answer.aiter_raw(), status_code=answer.status_code,
                             headers={**kept, **risk_headers(risk, ("pass_through",))}, background=BackgroundTask(answer.aclose))


def _id() -> str:
    return f"chatcmpl-tc{uuid.uuid4().hex[:24]}"
