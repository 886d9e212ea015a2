"""One door for every pluggable part: backends, assessors, policies and guards.

Built-ins come through the same door as a third party's: `typingcure.plugins` registers them,
then every module named under the `typingcure.plugins` entry-point group is imported and may
call `register` too.

    from typingcure.registry import register

    @register("guard", "no_shouting")
    def no_shouting() -> Guard: ...

`create(kind, name, **args)` calls the factory and stamps the result with `spec`, the name and
arguments it was made with, so every recorded decision says which component decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, Literal, TypeVar
from collections.abc import Callable

from .errors import ConfigError

Kind = Literal["backend", "assessor", "policy", "guard", "scorer"]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry:
    kind: Kind
    name: str
    factory: Callable[..., Any]
    summary: str


_entries: dict[tuple[Kind, str], Entry] = {}
_loaded = False


def register(kind: Kind, name: str) -> Callable[[F], F]:
    def decorate(factory: F) -> F:
        summary = (factory.__doc__ or "").strip().splitlines()[0] if factory.__doc__ else ""
        _entries[(kind, name)] = Entry(kind, name, factory, summary)
        return factory

    return decorate


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import_module("typingcure.plugins")
    for ep in entry_points(group="typingcure.plugins"):
        ep.load()


def entries(kind: Kind) -> list[Entry]:
    _load()
    return sorted((e for (k, _), e in _entries.items() if k == kind), key=lambda e: e.name)


def create(kind: Kind, name: str, /, **args: Any) -> Any:
    _load()
    entry = _entries.get((kind, name))
    if entry is None:
        known = ", ".join(e.name for e in entries(kind)) or "none"
        raise ConfigError(f"unknown {kind} {name!r} (known: {known})")
    component = entry.factory(**args)
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items() if v is not None)
    try:
        component.spec = f"{name}({shown})" if shown else name
    except AttributeError:  # frozen or slotted components keep their own spec
        pass
    return component
