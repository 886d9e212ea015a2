"""The OpenAI chat-completions shapes the proxy reads and writes.

    request = read_request(body_bytes, headers, max_bytes)   # ProxyError(400/413) when unusable
    request.text, request.history, request.profile, request.stream
    completion(turn_id, model, content, ...)                 # a `chat.completion` object
    chunk(turn_id, model, delta, ...)                        # one `chat.completion.chunk`
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..types import Message, Profile
from .upstream import METADATA_PREFIX

PROFILE_HEADER = "x-typingcure-profile"
PROFILE_FIELDS = ("country", "language", "languages", "coping", "avoid", "identity", "register")
# What the pipeline reads of the conversation before the person's message (the assessor reads its
# last few turns; the upstream is sent the client's whole conversation as it came): a request of
# thousands of messages costs no more to check than one of a few dozen.
HISTORY_MESSAGES = 64


class ProxyError(Exception):
    """A request the proxy answers with an OpenAI-shaped error: a status, a type and one line."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", body: bytes | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.body = status, message, kind, body

    def payload(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": None, "code": None}}


@dataclass(frozen=True)
class ChatRequest:
    body: dict[str, Any]  # the client's request, as it came
    text: str  # the person's latest message
    history: tuple[Message, ...]  # the conversation before it (their messages and the chatbot's)
    profile: Profile
    stream: bool
    include_usage: bool


def text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of parts (images are not read)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def read_request(raw: bytes, headers: Mapping[str, str], max_bytes: int) -> ChatRequest:
    if len(raw) > max_bytes:
        raise ProxyError(413, f"the request is {len(raw):,} bytes; this proxy takes at most {max_bytes:,}")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProxyError(400, "the request body is not JSON: send one JSON object with a 'messages' list") from None
    if not isinstance(body, dict):
        raise ProxyError(400, "the request body must be one JSON object with a 'messages' list")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ProxyError(400, "'messages' must be a non-empty list of {role, content} objects")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise ProxyError(400, f"messages[{i}] must be an object with a 'role'")
        content = m.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise ProxyError(400, f"messages[{i}].content must be text or a list of parts")
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        raise ProxyError(400, "there is no message with role 'user' to answer")
    last = users[-1]
    history = tuple(Message(m["role"], text_of(m.get("content"))) for m in messages[:last]
                    if m["role"] in ("user", "assistant") and text_of(m.get("content")).strip())[-HISTORY_MESSAGES:]
    options = body.get("stream_options")
    return ChatRequest(body=body, text=text_of(messages[last].get("content")), history=history,
                       profile=profile_of(body, headers), stream=bool(body.get("stream")),
                       include_usage=isinstance(options, dict) and bool(options.get("include_usage")))


def profile_of(body: Mapping[str, Any], headers: Mapping[str, str]) -> Profile:
    """The person's profile for this request: the `X-Typingcure-Profile` header (a JSON object), then
    the request's `metadata` (`typingcure_profile`, a JSON object or its text, or one key per field,
    `typingcure_country`, `typingcure_coping`, ..., lists as comma-separated text, as OpenAI's metadata
    holds strings). Unknown profile keys are refused; the client's own metadata is not read."""
    found: dict[str, Any] = {}
    header = headers.get(PROFILE_HEADER)
    if header:
        found.update(_object(header, "the X-Typingcure-Profile header"))
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ProxyError(400, "'metadata' must be an object")
    metadata = metadata or {}
    if "typingcure_profile" in metadata:
        given = metadata["typingcure_profile"]
        found.update(given if isinstance(given, dict) else _object(given, "metadata.typingcure_profile"))
    for key in metadata:
        name = str(key)
        if name.startswith(METADATA_PREFIX) and name != "typingcure_profile":
            if name.removeprefix(METADATA_PREFIX) not in PROFILE_FIELDS:
                raise ProxyError(400, f"metadata.{name} is not a profile field (typingcure_ then one of: "
                                      f"{', '.join(PROFILE_FIELDS)})")
            found[name.removeprefix(METADATA_PREFIX)] = metadata[key]
    try:
        return Profile(**found)
    except (TypeError, ValidationError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "profile"
            raise ProxyError(400, f"invalid profile at {where}: {first['msg']}") from None
        raise ProxyError(400, f"invalid profile: {exc}") from None


def _object(text: Any, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ProxyError(400, f"{where} must be a JSON object, such as {{\"country\": \"NG\", \"coping\": [\"prayer\"]}}")
    return value


def completion(turn_id: str, model: str, content: str, *, tool_calls: list[dict[str, Any]] | None = None,
               finish_reason: str = "stop", usage: dict[str, Any] | None = None,
               typingcure: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content if content or not tool_calls else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    out: dict[str, Any] = {"id": turn_id, "object": "chat.completion", "created": int(time.time()), "model": model,
                           "choices": [{"index": 0, "message": message, "finish_reason": finish_reason,
                                        "logprobs": None}]}
    if usage:
        out["usage"] = usage
    if typingcure is not None:
        out["typingcure"] = typingcure
    return out


def chunk(turn_id: str, model: str, delta: dict[str, Any], *, finish_reason: str | None = None,
          typingcure: dict[str, Any] | None = None, usage: dict[str, Any] | None = None,
          choices: bool = True) -> str:
    """One server-sent event of a streamed reply."""
    out: dict[str, Any] = {"id": turn_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                           "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]
                           if choices else []}
    if usage is not None:
        out["usage"] = usage
    if typingcure is not None:
        out["typingcure"] = typingcure
    return f"data: {json.dumps(out, ensure_ascii=False)}\n\n"
