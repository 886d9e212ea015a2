"""Personas the person saves, pinned to what makes them sound the way they do (design/personas.md).

    persona = Persona(name="Nova", tone="warm and brief", focus="my exams", avoid="talk of therapy")
    persona = pinned(persona, backend, settings)       # stamped with the model, prompt, role and settings
    changes = drift(persona, backend, settings)        # what is different now; [] when nothing is

A persona is the person's own: a name, a tone, what to focus on and what to avoid, and the role it
speaks in. Its pin records the model (the backend's spec and, for a model file, the SHA-256 of the
file), the role's version, digest and prompt, the persona's own prompt, and the settings that shape
replies. When any of them differs from what is running, typingcure says so before the next reply
and offers the pinned version back; nothing changes behind the person's back. The persona's words
go to the model's instructions only: risk, the crisis protocol and every guard apply as always.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._kept import Kept
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .config import Settings
from .errors import InputError
from .roles import load_role, role_names

MAX_FIELD = 200
SHAPING_SETTINGS = ("temperature", "max_tokens", "capable")
_lock = threading.Lock()
_digests: dict[str, str] = {}


class Pin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str                  # the backend's spec: local:PATH, openai:NAME@URL, ollama:NAME, scripted…
    model_file: str = ""        # SHA-256 of the model file, for a model read from a file
    role: str
    role_version: int
    role_digest: str
    role_prompt: str            # the role's prompt when pinned: what "back to the pinned version" uses
    persona_prompt: str
    prompt_hash: str
    settings: dict[str, Any] = Field(default_factory=dict)
    pinned_at: float = 0.0


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    tone: str = ""
    focus: str = ""
    avoid: str = ""
    role: str = "listener"
    pin: Pin | None = None
    use_pinned: bool = False  # the person chose the pinned version back: its role prompt, model and settings

    @field_validator("name", "tone", "focus", "avoid")
    @classmethod
    def _plain(cls, value: str) -> str:
        value = " ".join(str(value).split())
        if len(value) > MAX_FIELD:
            raise ValueError(f"at most {MAX_FIELD} characters")
        if any(not ch.isprintable() for ch in value):
            raise ValueError("only printable text")
        return value

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value:
            raise ValueError("a persona needs a name")
        return value

    @field_validator("role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        if value not in role_names() or value == "rehearsal":
            raise ValueError(f"a persona speaks as one of: {', '.join(r for r in role_names() if r != 'rehearsal')}")
        return value

    def prompt(self) -> str:
        """The persona's own lines for the model's instructions."""
        parts = [f"Your name is {self.name}."]
        if self.tone:
            parts.append(f"Your tone: {self.tone}.")
        if self.focus:
            parts.append(f"Focus on: {self.focus}.")
        if self.avoid:
            parts.append(f"Avoid: {self.avoid}.")
        return " ".join(p.replace("..", ".") for p in parts)


def make_persona(**fields: Any) -> Persona:
    """A persona from what the person typed; InputError says what is wrong in plain words."""
    from pydantic import ValidationError

    try:
        return Persona(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"persona {first['loc'][0] if first['loc'] else ''}: {first['msg'].removeprefix('Value error, ')}") from None


@dataclass(frozen=True)
class Change:
    """One thing that differs from the pin: what (`kind`: model, model_file, role, prompt or setting;
    `subject`: the role's or the setting's name), as pinned, and as it is now."""

    what: str
    pinned: str
    now: str
    kind: str = ""
    subject: str = ""

    def sentence(self, words: dict[str, str] | None = None) -> str:
        """In English, or with an interface's words (`persona_what_<kind>`, `persona_was_now`)."""
        if not words or f"persona_what_{self.kind}" not in words:
            return f"{self.what}: was {self.pinned}, now {self.now}"
        what = words[f"persona_what_{self.kind}"].format(name=self.subject)
        return words["persona_was_now"].format(what=what, pinned=self.pinned, now=self.now)


def file_digest(path: Path) -> str:
    """SHA-256 of a file, kept by its path, size and modification time (in memory and in the user's
    cache folder) so a large model file is read once; "" when it cannot be read."""
    try:
        stat = path.stat()
    except OSError:
        return ""
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    with _lock:
        if key in _digests:
            return _digests[key]
        table = _read_table()
        if key in table:
            _digests[key] = table[key]
            return table[key]
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    found = digest.hexdigest()
    with _lock:
        _digests[key] = found
        _write_table({**_read_table(), key: found})
    return found


def _table_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "typingcure" / "model-digests.json"


def _read_table() -> dict[str, str]:
    try:
        raw = json.loads(_table_path().read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(raw, dict) else {}


def _write_table(table: dict[str, str]) -> None:
    target = _table_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False, encoding="utf-8") as out:
            json.dump(dict(list(table.items())[-64:]), out)
        os.replace(out.name, target)
    except OSError:
        pass  # a cache that cannot be written costs only speed


def model_identity(backend: Any) -> tuple[str, str]:
    """(the backend's spec, the SHA-256 of its model file or "")."""
    path = getattr(backend, "path", None)
    return str(getattr(backend, "spec", type(backend).__name__)), file_digest(Path(path)) if path else ""


def _shaping(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in SHAPING_SETTINGS}


def _hash(*texts: str) -> str:
    return hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]


def pinned(persona: Persona, backend: Any, settings: Settings) -> Persona:
    """The persona pinned to what is running now (saving or editing a persona pins it again)."""
    role = load_role(persona.role)
    model, model_file = model_identity(backend)
    own = persona.prompt()
    pin = Pin(model=model, model_file=model_file, role=role.name, role_version=role.version, role_digest=role.digest,
              role_prompt=role.prompt, persona_prompt=own, prompt_hash=_hash(role.prompt, own),
              settings=_shaping(settings), pinned_at=time.time())
    return persona.model_copy(update={"pin": pin, "use_pinned": False})


def drift(persona: Persona, backend: Any, settings: Settings) -> list[Change]:
    """What differs now from the persona's pin (with `use_pinned`, what the pinned version restores
    is not counted: the role prompt and settings come from the pin)."""
    pin = persona.pin
    if pin is None:
        return []
    changes: list[Change] = []
    model, model_file = model_identity(backend)
    if model != pin.model:
        changes.append(Change("the model", _short(pin.model), _short(model), "model"))
    elif pin.model_file and model_file != pin.model_file:
        changes.append(Change("the model file's contents", pin.model_file[:12], model_file[:12] or "?", "model_file"))
    role = load_role(persona.role)
    if not persona.use_pinned:
        if role.version != pin.role_version or role.digest != pin.role_digest:
            changes.append(Change(f"the {role.name} role's instructions", f"v{pin.role_version} ({pin.role_digest[:8]})",
                                  f"v{role.version} ({role.digest[:8]})", "role", role.name))
        elif _hash(role.prompt, persona.prompt()) != pin.prompt_hash:
            changes.append(Change("the prompt", pin.prompt_hash[:8], _hash(role.prompt, persona.prompt())[:8], "prompt"))
        now = _shaping(settings)
        changes += [Change(f"the {name.replace('_', ' ')} setting", str(pin.settings.get(name)), str(now[name]), "setting", name)
                    for name in SHAPING_SETTINGS if pin.settings.get(name) != now[name]]
    return changes


def model_drifted(persona: Persona, backend: Any) -> bool:
    """Is the model running not the one the persona was pinned to (another spec, or the same file
    path with other contents)?"""
    return any(c.kind in ("model", "model_file") for c in drift(persona, backend, Settings()))


def _short(spec: str) -> str:
    kind, _, rest = spec.partition(":")
    return f"{kind}:{Path(rest).name}" if kind == "local" else spec


def system_prompt(persona: Persona, prompt: str, role_prompt: str) -> str:
    """The model's instructions with the persona: its lines after the role's, and with `use_pinned`
    the role's prompt as it was pinned in place of today's."""
    if persona.use_pinned and persona.pin is not None and prompt.startswith(role_prompt):
        prompt = persona.pin.role_prompt + prompt[len(role_prompt):]
    return f"{prompt} {persona.prompt()}"


def pinned_settings(persona: Persona, settings: Settings) -> Settings:
    """The settings the persona was pinned with (for "back to the pinned version")."""
    if persona.pin is None:
        return settings
    return settings.model_copy(update={k: v for k, v in persona.pin.settings.items() if k in SHAPING_SETTINGS})


def pinned_backend(persona: Persona) -> str | None:
    """The pinned model's spec, when it can be had back as it was: a model file still at its path
    with the same contents, or a server model by name. None when it cannot."""
    if persona.pin is None:
        return None
    kind, _, rest = persona.pin.model.partition(":")
    if kind == "local":
        return persona.pin.model if file_digest(Path(rest)) == persona.pin.model_file else None
    return persona.pin.model if kind in ("openai", "ollama") else None


class Personas(Kept):
    """What is kept: the saved personas and the one in use (stored encrypted, exported)."""

    model_config = ConfigDict(extra="forbid")
    items: list[Persona] = Field(default_factory=list)
    active: str | None = None

    def find(self, name: str) -> Persona | None:
        return next((p for p in self.items if p.name.lower() == name.lower()), None)

    def put(self, persona: Persona) -> None:
        self.items = [p for p in self.items if p.name.lower() != persona.name.lower()] + [persona]

    def remove(self, name: str) -> bool:
        before = len(self.items)
        self.items = [p for p in self.items if p.name.lower() != name.lower()]
        if self.active and self.active.lower() == name.lower():
            self.active = None
        return len(self.items) != before

    @property
    def current(self) -> Persona | None:
        return self.find(self.active) if self.active else None
