"""Backends: one small interface between the pipeline and a model.

A backend implements `generate(messages, options) -> Iterator[str]` and yields text as it
arrives. Retries, timing, logging and the whole safety layer live outside it (pipeline.py).

Specs, as the CLI and `typingcure.reply(backend=...)` take them:
`local`, `local:/path/model.gguf`, `openai:MODEL@URL`, `scripted:FILE`; a third party's
backend registered as NAME is `NAME` or `NAME:ARGUMENT`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from collections.abc import Iterator, Sequence

from ..errors import ConfigError
from ..registry import create
from ..types import Message


@dataclass(frozen=True)
class GenerateOptions:
    max_tokens: int = 120
    temperature: float = 0.3
    stop: tuple[str, ...] = ()


@runtime_checkable
class Backend(Protocol):
    spec: str
    # Does what is sent reach another computer? Then names and numbers are replaced before sending.
    remote: bool
    # Trusted to write its own words at moderate risk (the models catalogue or the person says so).
    capable: bool
    # Languages the model writes well; None when unknown. Used to tell the person when it is weak.
    languages: frozenset[str] | None

    def generate(self, messages: Sequence[Message], options: GenerateOptions) -> Iterator[str]: ...

    def prepare(self) -> None:
        """Load what is slow to load (a model file), before the first message; may do nothing."""


# What a backend that does not say is taken to be: remote (so nothing personal leaves unreplaced),
# not capable, its languages unknown.
DEFAULTS = {"spec": "?", "remote": True, "capable": False, "languages": None}


def conform(backend: Backend) -> Backend:
    """A backend (a third party's too) with every attribute of the protocol, so the pipeline reads
    them directly; what it does not say gets the careful default (`DEFAULTS`)."""
    if not callable(getattr(backend, "generate", None)):
        raise ConfigError(f"{type(backend).__name__} is not a backend: it has no generate(messages, options)")
    for name, value in DEFAULTS.items():
        if not hasattr(backend, name):
            setattr(backend, name, value)
    if not callable(getattr(backend, "prepare", None)):
        backend.prepare = lambda: None  # type: ignore[method-assign]
    return backend


def parse_spec(spec: str) -> tuple[str, str | None]:
    """`"openai:m@http://h/v1"` -> `("openai", "m@http://h/v1")`; `"local"` -> `("local", None)`."""
    spec = (spec or "").strip()
    if not spec:
        raise ConfigError("empty backend spec (try 'local', 'local:/path/model.gguf', 'openai:MODEL@URL' or 'scripted:FILE')")
    name, sep, target = spec.partition(":")
    return name, (target if sep else None)


def backend_from_spec(spec: str, *, timeout: float = 60.0) -> Backend:
    name, target = parse_spec(spec)
    backend: Backend = conform(create("backend", name, target=target, timeout=timeout))
    backend.spec = spec
    return backend
