"""Settings and the user directory.

Precedence, highest first: a command-line flag > an environment variable `TYPINGCURE_<NAME>` >
the config file `<user_dir>/config.toml` > the default here. `user_dir()` is `TYPINGCURE_HOME`
when set, else the platform's data directory for "typingcure".

    >>> settings = load_settings({"backend": "scripted:replies.json"})
    >>> settings.backend
    'scripted:replies.json'
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError

ENV_PREFIX = "TYPINGCURE_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = "local"
    role: str = "listener"
    country: str | None = None
    language: str | None = None
    max_tokens: int = Field(default=120, ge=1, le=4096)
    temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    timeout: float = Field(default=60.0, gt=0.0, description="seconds a backend may take to answer")
    reply_seconds: float = Field(
        default=20.0, gt=0.0, le=600.0, description="after this many seconds the reply ends at the last whole sentence"
    )
    max_message_chars: int = Field(default=16_000, ge=100)
    history: Literal["on", "off"] = Field(default="on", description="keep conversations, encrypted; off keeps nothing")
    capable: bool | None = Field(
        default=None, description="trust the model's own words at moderate risk (default: as the models catalogue says)"
    )
    assessor_model: str | None = Field(
        default=None, description="a backend spec for the optional model-based risk layer (a capable model only)"
    )


def user_dir() -> Path:
    """The one folder typingcure keeps things in (models, config, later the encrypted store)."""
    home = os.environ.get("TYPINGCURE_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("typingcure", appauthor=False))


def config_path() -> Path:
    return user_dir() / "config.toml"


def _from_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the config file {path} is not valid TOML ({exc}); fix or delete it") from exc


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = raw
    return values


def load_settings(flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Merge the four sources; a flag given as None means "not given"."""
    merged: dict[str, Any] = {}
    merged.update(_from_file(config_path()))
    merged.update(_from_env(os.environ if environ is None else environ))
    merged.update({k: v for k, v in (flags or {}).items() if v is not None})
    try:
        return Settings(**merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid setting ({problems})") from exc
