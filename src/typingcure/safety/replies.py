"""Fixed reply templates, one file per language in `data/replies/`; English fills any gap."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import yaml

from ..errors import ConfigError

REQUIRED = (
    "crisis_imminent", "medical_imminent", "crisis_high", "ask_directly", "someone_else", "line",
    "line_directory", "line_directory_country", "emergency_unknown", "journal_speaks", "fallback", "backend_failed",
    "number_removed", "not_human", "not_refusing",
)


@lru_cache(maxsize=None)
def _load(language: str) -> dict[str, str]:
    resource = files("typingcure.safety").joinpath(f"data/replies/{language}.yaml")
    if not resource.is_file():
        return {}
    raw = yaml.safe_load(resource.read_text("utf-8"))
    if not isinstance(raw, dict):
        raise ConfigError(f"replies/{language}.yaml must be a mapping")
    return {k: " ".join(str(v).split()) for k, v in raw.items() if k != "language"}


def replies(language: str) -> dict[str, str]:
    """All templates for `language`, English where a template is missing."""
    english = _load("en")
    missing = [k for k in REQUIRED if k not in english]
    if missing:
        raise ConfigError(f"replies/en.yaml lacks {', '.join(missing)}")
    return {**english, **_load(language.split("-")[0])}
