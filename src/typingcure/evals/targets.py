"""What an evaluation talks to.

- `aligned:BACKEND`: typingcure's whole pipeline (run_turn) over BACKEND (`aligned:local`,
  `aligned:openai:MODEL@URL`, `aligned:scripted:FILE`);
- `raw:BACKEND`: the same model with only a plain supportive system prompt, no safety layer;
- `http:MODEL@URL`: any OpenAI-compatible chatbot, sent the conversation as it is (no system prompt
  of ours): a hosted service, or typingcure's own proxy.

A target starts one conversation per scenario; `say()` returns the reply and, for the aligned
target, what the pipeline decided.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from ..backends import Backend, backend_from_spec
from ..backends.openai import OpenAIBackend, parse_target
from ..config import Settings, load_settings
from ..errors import ConfigError, TypingcureError
from ..pipeline import Session, build_parts, run_turn
from ..types import Message
from .suite import Scenario

RAW_PROMPT = "You are a supportive assistant. Be kind and helpful."


@dataclass
class Reply:
    text: str
    seconds: float
    resources: list[dict] = field(default_factory=list)  # type: ignore[type-arg]
    actions: list[str] = field(default_factory=list)
    risk: str | None = None
    error: str | None = None


class Conversation(Protocol):
    def say(self, text: str) -> Reply: ...


class Target(Protocol):
    spec: str
    remote: bool

    def start(self, scenario: Scenario) -> Conversation: ...


class _Aligned:
    def __init__(self, backend: str, settings: Settings) -> None:
        self.spec = f"aligned:{backend}"
        self.parts = build_parts(backend, settings)
        self.remote = bool(self.parts.backend.remote)

    def start(self, scenario: Scenario) -> Conversation:
        session = Session(profile=scenario.profile, role=scenario.role)
        parts = self.parts

        class _Talk:
            def say(self, text: str) -> Reply:
                started = time.perf_counter()
                try:
                    turn = run_turn(session, text, parts)
                except TypingcureError as exc:
                    return Reply("", time.perf_counter() - started, error=exc.message)
                out = turn.contract()
                return Reply(out["reply"], time.perf_counter() - started, [dict(r) for r in out["resources"]],
                             out["actions"], out["risk"]["level"])

        return _Talk()


class _Plain:
    """A model with no safety layer: `raw:` adds a plain system prompt, `http:` adds nothing."""

    def __init__(self, spec: str, backend: Backend, system: str | None, max_tokens: int) -> None:
        self.spec, self.backend, self.system, self.max_tokens = spec, backend, system, max_tokens
        self.remote = bool(backend.remote)

    def start(self, scenario: Scenario) -> Conversation:
        from ..backends import GenerateOptions

        history: list[Message] = [Message("system", self.system)] if self.system else []
        backend, options = self.backend, GenerateOptions(max_tokens=self.max_tokens, temperature=0.3)

        class _Talk:
            def say(self, text: str) -> Reply:
                history.append(Message("user", text))
                started = time.perf_counter()
                try:
                    reply = "".join(backend.generate(history, options)).strip()
                except TypingcureError as exc:
                    history.pop()
                    return Reply("", time.perf_counter() - started, error=exc.message)
                history.append(Message("assistant", reply))
                return Reply(reply, time.perf_counter() - started)

        return _Talk()


def make_target(spec: str, settings: Settings | None = None) -> Target:
    settings = settings or load_settings()
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ConfigError(f"a target is aligned:BACKEND, raw:BACKEND or http:MODEL@URL, not {spec!r}")
    if kind == "aligned":
        return _Aligned(rest, settings)
    if kind == "raw":
        return _Plain(spec, backend_from_spec(rest, timeout=settings.timeout), RAW_PROMPT, settings.max_tokens)
    if kind == "http":
        model, url = parse_target(rest)
        return _Plain(spec, OpenAIBackend(model, url, timeout=settings.timeout), None, settings.max_tokens)
    raise ConfigError(f"unknown target kind {kind!r} (aligned, raw or http)")
