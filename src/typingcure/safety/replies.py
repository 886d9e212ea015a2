"""Fixed reply templates, one file per language (`languages/<code>/replies.yaml`); English fills any gap."""

from __future__ import annotations

from .. import languages
from ..errors import ConfigError


@languages.cached
def _load(language: str) -> dict[str, str]:
    raw = languages.load(language, "replies") or {}
    return {k: " ".join(str(v).split()) for k, v in raw.items() if k != "language"}


def replies(language: str, script: str | None = None) -> dict[str, str]:
    """All templates for `language` (a variant for the script, such as romanised Hindi, has its own file);
    English fills any gap (tests keep every language complete)."""
    english = _load("en")
    if not english:
        raise ConfigError("languages/en/replies.yaml is missing")
    base, variant = language.split("-")[0], languages.variant_for(language, script)
    return {**english, **_load(base), **(_load(variant) if variant != base else {})}


def available_languages() -> list[str]:
    """The language folders with replies (romanised Hindi, `hi_latn`, included)."""
    return languages.with_file("replies")
