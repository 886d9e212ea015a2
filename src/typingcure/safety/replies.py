"""Fixed reply templates, one file per language in `data/replies/`; English fills any gap."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import yaml

from ..errors import ConfigError

@cache
def _load(language: str) -> dict[str, str]:
    resource = files("typingcure.safety").joinpath(f"data/replies/{language}.yaml")
    if not resource.is_file():
        return {}
    raw = yaml.safe_load(resource.read_text("utf-8"))
    if not isinstance(raw, dict):
        raise ConfigError(f"replies/{language}.yaml must be a mapping")
    return {k: " ".join(str(v).split()) for k, v in raw.items() if k != "language"}


def replies(language: str, script: str | None = None) -> dict[str, str]:
    """All templates for `language` (romanised Hindi, `hi` in Latin script, has its own file);
    English fills any gap (tests keep every language complete)."""
    english = _load("en")
    if not english:
        raise ConfigError("replies/en.yaml is missing")
    base = language.split("-")[0]
    latin = _load("hi_latn") if base == "hi" and script == "latin" else {}
    return {**english, **_load(base), **latin}


def available_languages() -> list[str]:
    folder = files("typingcure.safety").joinpath("data/replies")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))
