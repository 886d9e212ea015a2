"""The model server behind the proxy, and the backend one checked turn speaks to it through.

    upstream = Upstream("http://127.0.0.1:8080/v1", key=None, timeout=60)
    backend = UpstreamTurn(upstream, request_body, auth=None, capable=False)
    run_turn(session, text, replace(parts, backend=backend))
    backend.tool_calls, backend.finish_reason, backend.usage

What the upstream is sent is the client's own request: its system prompt, its messages (tool
messages too) and its other fields (tools, temperature, response_format, ...), untouched, with two
additions from the pipeline: typingcure's frame for this turn (care at risk, what the person
chose, constraints) appended to the client's first system message, and, when a guard asks the model
to write a sentence again, the reply so far and the rule, at the end. It is always asked to stream,
so that each sentence can be checked as it is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from ..backends import GenerateOptions
from ..errors import BackendError, ConfigError
from ..types import Message

# Fields of the client's request the proxy reads itself and does not send on.
OWN_FIELDS = ("stream", "stream_options", "n")
# The request's metadata keys that are typingcure's (the person's profile), not sent on.
METADATA_PREFIX = "typingcure_"


class UpstreamError(BackendError):
    """The upstream answered with an error status: relayed to the client with that status."""

    def __init__(self, message: str, status: int, body: bytes) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def check_url(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url) < len("http://x"):
        raise ConfigError(f"--upstream must be the http(s) base URL of an OpenAI-compatible server, such as "
                          f"http://127.0.0.1:8080/v1, not {url!r}")
    return url


class Upstream:
    """One upstream server: a pooled client for the checked turns (each runs in a thread) and an
    async one for what is relayed as it is (pass-through, /v1/models)."""

    def __init__(self, base_url: str, *, model: str | None = None, key: str | None = None, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None, async_transport: httpx.AsyncBaseTransport | None = None,
                 connections: int = 512) -> None:
        self.base_url = check_url(base_url)
        self.model = model
        self._key = key  # never logged, never in an error message
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=min(connections, 128))
        timeouts = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        # Loopback upstreams are never reached through a proxy taken from the environment.
        self.client = httpx.Client(timeout=timeouts, limits=limits, transport=transport, trust_env=False)
        self.aclient = httpx.AsyncClient(timeout=timeouts, limits=limits, transport=async_transport, trust_env=False)

    @property
    def shown(self) -> str:
        """The base URL without any user name or password in it (for /why and errors)."""
        url = httpx.URL(self.base_url)
        return str(url.copy_with(username=None, password=None)) if url.userinfo else self.base_url

    def headers(self, client_auth: str | None) -> dict[str, str]:
        """The upstream key when the proxy holds one; else the client's own Authorization, as it came
        (a drop-in: the client's key for its upstream passes through a proxy that asks for none)."""
        if self._key:
            return {"Authorization": f"Bearer {self._key}"}
        return {"Authorization": client_auth} if client_auth else {}

    def body(self, request: dict[str, Any], *, frame: str = "", extra: Sequence[Message] = (),
             stream: bool = True) -> dict[str, Any]:
        """The client's request as the upstream gets it (see the module's docstring)."""
        out = {k: v for k, v in request.items() if k not in OWN_FIELDS}
        out["messages"] = with_frame(request["messages"], frame) + [m.as_dict() for m in extra]
        if self.model:
            out["model"] = self.model
        metadata = {k: v for k, v in (request.get("metadata") or {}).items() if not str(k).startswith(METADATA_PREFIX)} \
            if isinstance(request.get("metadata"), dict) else request.get("metadata")
        if metadata:
            out["metadata"] = metadata
        else:
            out.pop("metadata", None)
        if stream:
            out["stream"] = True
        return out

    def error(self, response: httpx.Response) -> UpstreamError:
        response.read()
        detail = response.text.strip().replace("\n", " ")
        try:
            payload = response.json()
            err = payload.get("error", payload)
            detail = err.get("message", detail) if isinstance(err, dict) else str(err)
        except (ValueError, AttributeError):
            pass
        return UpstreamError(f"the upstream at {self.shown} answered {response.status_code}: {str(detail)[:200]}",
                             response.status_code, response.content[:10_000])

    def unreachable(self, exc: Exception) -> BackendError:
        if isinstance(exc, httpx.TimeoutException):
            return BackendError(f"the upstream at {self.shown} did not answer in time")
        reason = "connection refused" if "refused" in str(exc).lower() else (str(exc) or type(exc).__name__)[:120]
        return BackendError(f"cannot reach the upstream at {self.shown} ({reason}); is it running?")

    def close(self) -> None:
        self.client.close()

    async def aclose(self) -> None:
        await self.aclient.aclose()


def with_frame(messages: list[dict[str, Any]], frame: str) -> list[dict[str, Any]]:
    """The client's messages, with typingcure's frame at the end of its first system message (or in
    one of its own, first, when the client sent none: some chat templates allow one system message)."""
    out = list(messages)
    if not frame:
        return out
    first = out[0] if out else None
    if isinstance(first, dict) and first.get("role") in ("system", "developer"):
        content = first.get("content")
        if isinstance(content, str):
            out[0] = {**first, "content": f"{content}\n\n{frame}" if content.strip() else frame}
            return out
        if isinstance(content, list):
            out[0] = {**first, "content": [*content, {"type": "text", "text": frame}]}
            return out
    return [{"role": "system", "content": frame}, *out]


class UpstreamTurn:
    """The backend for one checked turn: what the pipeline asks of the model goes to the upstream as
    the client's own request (see the module's docstring). Keeps what the upstream said besides text."""

    remote = False  # the client's messages go to its own upstream as they came (design/proxy.md)
    languages: frozenset[str] | None = None

    def __init__(self, upstream: Upstream, request: dict[str, Any], *, auth: str | None, capable: bool) -> None:
        self.spec = f"upstream {upstream.shown}"
        self.capable = capable
        self.upstream = upstream
        self.request = request
        self.auth = auth
        self.calls = 0
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None

    def prepare(self) -> None:
        """Nothing to load."""

    def generate(self, messages: Sequence[Message], options: GenerateOptions) -> Iterator[str]:
        self.calls += 1
        last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=len(messages) - 1)
        frame = messages[0].content.strip() if messages and messages[0].role == "system" else ""
        body = self.upstream.body(self.request, frame=frame, extra=messages[last_user + 1:])
        url = f"{self.upstream.base_url}/chat/completions"
        try:
            with self.upstream.client.stream("POST", url, json=body, headers=self.upstream.headers(self.auth)) as response:
                if response.status_code >= 400:
                    raise self.upstream.error(response)
                yield from self._read(response)
        except httpx.HTTPError as exc:
            raise self.upstream.unreachable(exc) from None

    def _read(self, response: httpx.Response) -> Iterator[str]:
        if "text/event-stream" not in response.headers.get("content-type", ""):
            response.read()  # a server that ignores stream=true answers with one object
            yield self._take(response.json(), "message")
            return
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                chunk = json.loads(data)
            except json.JSONDecodeError:
                raise BackendError(f"the upstream at {self.upstream.shown} sent malformed data") from None
            text = self._take(chunk, "delta")
            if text:
                yield text

    def _take(self, payload: Any, key: str) -> str:
        """The text of one chunk (or whole answer); its tool calls, finish reason and usage kept."""
        if not isinstance(payload, dict):
            raise BackendError(f"the upstream at {self.upstream.shown} answered in an unexpected shape")
        if "error" in payload:
            err = payload["error"]
            raise BackendError(f"the upstream at {self.upstream.shown} reported an error: "
                               f"{err.get('message', err) if isinstance(err, dict) else err}")
        self.model = payload.get("model") or self.model
        if isinstance(payload.get("usage"), dict):
            self.usage = payload["usage"]
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices:
            return ""
        choice = choices[0] if isinstance(choices[0], dict) else {}
        self.finish_reason = choice.get("finish_reason") or self.finish_reason
        found = choice.get(key)
        part: dict[str, Any] = found if isinstance(found, dict) else {}
        for call in part.get("tool_calls") or ():
            self._tool_call(call, whole=key == "message")
        content = part.get("content")
        return content if isinstance(content, str) else ""

    def _tool_call(self, call: Any, *, whole: bool) -> None:
        if not isinstance(call, dict):
            return
        index = call.get("index", len(self.tool_calls)) if not whole else len(self.tool_calls)
        seen = self.tool_calls.setdefault(index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
        seen["id"] = call.get("id") or seen["id"]
        seen["type"] = call.get("type") or seen["type"]
        given = call.get("function")
        function: dict[str, Any] = given if isinstance(given, dict) else {}
        seen["function"]["name"] += function.get("name") or ""
        seen["function"]["arguments"] += function.get("arguments") or ""

    def calls_made(self) -> list[dict[str, Any]]:
        """The tool calls the upstream made, whole, in order."""
        return [self.tool_calls[i] for i in sorted(self.tool_calls)]
