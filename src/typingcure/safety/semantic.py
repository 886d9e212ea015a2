"""Semantic similarity to authored exemplars: a second opinion for words no lexicon lists.

    detector = SemanticDetector.load()          # None when wordllama is not installed
    detector.hits("nobody would even notice if I vanished")

Embeddings come from wordllama's static 256-dimension model, which ships inside its wheel; its
loader is pointed at the wheel's own folder with downloads disabled, so nothing is fetched. A message counts when its nearest risk exemplar is close (>= `threshold`) and clearly
closer than its nearest safe exemplar (by `margin`). It is capped at moderate: high and imminent
need explicit words (design/risk-levels.md).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from .. import _yaml
from ..errors import ConfigError
from ..types import RiskCategory, RiskLevel, level_rank

@dataclass(frozen=True)
class Exemplar:
    text: str
    category: RiskCategory
    level: RiskLevel


@dataclass(frozen=True)
class SemanticHit:
    exemplar: Exemplar
    similarity: float
    safe_similarity: float


@lru_cache(maxsize=1)
def load_exemplars() -> tuple[tuple[Exemplar, ...], tuple[str, ...]]:
    raw = _yaml.safe_load(files("typingcure.safety").joinpath("data/exemplars.yaml").read_text("utf-8"))
    try:
        risk = tuple(Exemplar(e["text"], e["category"], e["level"]) for e in raw["risk"])
        safe = tuple(str(t) for t in raw["safe"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"exemplars.yaml is malformed ({exc})") from exc
    if any(level_rank(e.level) > level_rank("moderate") for e in risk):
        raise ConfigError("exemplars.yaml: semantic exemplars stop at moderate")
    return risk, safe


def _package_dir() -> Path:
    """wordllama's own folder: its loader finds the tokenizer at `<cache_dir>/tokenizers/`, which is
    where the wheel keeps it, so pointing the cache there needs no copy and no download."""
    spec = importlib.util.find_spec("wordllama")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


class SemanticDetector:
    def __init__(self, model: Any, threshold: float = 0.5, margin: float = 0.08) -> None:
        import numpy as np

        self._np = np
        self.model = model
        self.threshold = threshold
        self.margin = margin
        self.risk, self.safe = load_exemplars()
        self._risk_vectors = model.embed([e.text for e in self.risk], norm=True)
        self._safe_vectors = model.embed(list(self.safe), norm=True)

    @classmethod
    def load(cls, threshold: float = 0.5, margin: float = 0.08) -> SemanticDetector | None:
        """Loaded once per process and setting (it only reads after loading): every assessor and
        every `typingcure.reply()` call share it."""
        return _load_detector(threshold, margin)

    @classmethod
    def _load(cls, threshold: float, margin: float) -> SemanticDetector | None:
        if importlib.util.find_spec("wordllama") is None:
            return None
        import logging

        root = logging.getLogger()
        level, handlers = root.level, list(root.handlers)
        from wordllama import WordLlama

        # wordllama sets up INFO logging of the whole process when imported: put it back as it was.
        root.setLevel(level)
        root.handlers[:] = handlers

        model = WordLlama.load(cache_dir=_package_dir(), disable_download=True)
        return cls(model, threshold, margin)

    def hits(self, text: str) -> list[SemanticHit]:
        if not any(ch.isalpha() for ch in text):
            return []
        vector = self.model.embed([text[:2000]], norm=True)[0]
        risk = self._risk_vectors @ vector
        best = int(risk.argmax())
        safe = float((self._safe_vectors @ vector).max())
        similarity = float(risk[best])
        if similarity >= self.threshold and similarity - safe >= self.margin:
            return [SemanticHit(self.risk[best], round(similarity, 3), round(safe, 3))]
        return []

    def nearest(self, text: str) -> tuple[Exemplar, float, float]:
        """For tuning and /why: the nearest risk exemplar, its similarity, and the nearest safe similarity."""
        vector = self.model.embed([text[:2000]], norm=True)[0]
        risk = self._risk_vectors @ vector
        best = int(risk.argmax())
        return self.risk[best], float(risk[best]), float((self._safe_vectors @ vector).max())


@lru_cache(maxsize=4)
def _load_detector(threshold: float, margin: float) -> SemanticDetector | None:
    return SemanticDetector._load(threshold, margin)
