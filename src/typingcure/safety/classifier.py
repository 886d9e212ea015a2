"""A small trained classifier: one more opinion for phrasings no lexicon lists.

    classifier = RiskClassifier.load()
    classifier.predict("I've been throwing up after I eat")   # Prediction(category="eating_disorder", risk=0.83, ...)

TF-IDF features (character n-grams inside words, and words) with a multinomial logistic
regression, trained by scripts/train_risk_model.py on public labelled posts and the project's own
writing in 16 languages (design/risk-data-card.md), shipped as `data/risk_model.json` and scored
with numpy. Besides the risk categories it has two classes without risk: `none`, and `distress`
(a hard time, with no sign of risk at moderate or above), so a sad post is not pushed towards
"suicide" for want of anywhere else to go. Its reach and limits are measured in benchmarks/risk.py.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

SAFE_CLASSES = ("none", "distress")
RISK_CLASSES = ("suicide", "self_harm", "eating_disorder", "abuse", "harm_to_others", "psychosis_mania",
                "medical_emergency")
CLASSES = SAFE_CLASSES + RISK_CLASSES
MAX_CHARS = 4000  # a longer text is scored in windows by the assessor, not here in one piece
_WHITE = re.compile(r"\s\s+")
_TOKEN = re.compile(r"(?u)\b\w+\b")


def char_wb_ngrams(text: str, low: int = 2, high: int = 5) -> list[str]:
    """The same n-grams as scikit-learn's `char_wb` analyzer (lower-cased, words padded by spaces)."""
    grams: list[str] = []
    for word in _WHITE.sub(" ", text.lower()).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[offset:offset + n])
            while offset + n < length:
                offset += 1
                grams.append(padded[offset:offset + n])
            if offset == 0:
                break
    return grams


# Scripts written without spaces between words: a run of them is read as overlapping character pairs.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u0e00-\u0e7f]")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        if len(token) > 1 and _UNSPACED.search(token):
            tokens += [token[i:i + 2] for i in range(len(token) - 1)]
        else:
            tokens.append(token)
    return tokens


def word_ngrams(text: str) -> list[str]:
    """Words and word pairs; in Chinese, Japanese and Korean runs, character pairs and their pairs."""
    tokens = _tokens(text)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


@dataclass(frozen=True)
class Prediction:
    category: str     # the most likely risk category
    risk: float       # probability of any risk category (1 - none - distress)
    distress: float   # probability of the distress class
    known: bool       # False: the model has seen almost none of the text's features, and abstains


class _Table:
    """One vectorizer's vocabulary: feature -> row, idf per row, class weights per row (stored as
    little-endian float32, base64, so that loading takes milliseconds, not a second)."""

    def __init__(self, raw: dict[str, Any], classes: int) -> None:
        terms = raw["terms"]
        self.index = {term: i for i, term in enumerate(terms)}
        self.idf = np.array(raw["idf"], dtype=np.float64)
        weights = np.frombuffer(base64.b64decode(raw["weights_f32_base64"]), dtype="<f4")
        if weights.size != len(terms) * classes or self.idf.size != len(terms):
            raise ValueError("risk_model.json: a feature table has the wrong size")
        self.weights = weights.reshape(len(terms), classes).astype(np.float64)

    def scores(self, grams: list[str]) -> tuple[np.ndarray, int]:
        counts = Counter(g for g in grams if g in self.index)
        if not counts:
            return np.zeros(self.weights.shape[1]), 0
        rows = np.fromiter((self.index[g] for g in counts), dtype=np.int64, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        w = tf * self.idf[rows]
        w /= math.sqrt(float(w @ w)) or 1.0
        return w @ self.weights[rows], len(counts)


class RiskClassifier:
    def __init__(self, data: dict[str, Any]) -> None:
        if tuple(data["classes"]) != CLASSES:
            raise ValueError("risk_model.json has unexpected classes")
        self.intercept = np.array(data["intercept"], dtype=np.float64)
        self.tables = (_Table(data["char"], len(CLASSES)), _Table(data["word"], len(CLASSES)))
        self.meta = {k: v for k, v in data.items() if k not in ("char", "word", "intercept")}

    @classmethod
    def from_file(cls, path: Path) -> RiskClassifier:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    @lru_cache(maxsize=1)
    def load(cls) -> RiskClassifier:
        return cls(json.loads(files("typingcure.safety").joinpath("data/risk_model.json").read_text("utf-8")))

    def _logits(self, text: str) -> tuple[np.ndarray, bool]:
        chars, known_chars = self.tables[0].scores(char_wb_ngrams(text))
        words, known_words = self.tables[1].scores(word_ngrams(text))
        return self.intercept + chars + words, known_chars >= 6 or known_words >= 2

    def probabilities(self, text: str) -> list[float]:
        logits, _ = self._logits(text[:MAX_CHARS])
        exps = np.exp(logits - logits.max())
        return [float(p) for p in exps / exps.sum()]

    def predict(self, text: str) -> Prediction:
        """The most likely risk category and the probability of any risk.

        A text the model knows almost nothing of (empty, emoji, an unseen script) gets no opinion:
        the class priors alone would speak for it."""
        logits, known = self._logits(text[:MAX_CHARS])
        if not known:
            return Prediction("suicide", 0.0, 0.0, False)
        exps = np.exp(logits - logits.max())
        probs = exps / exps.sum()
        best = 2 + int(np.argmax(probs[2:]))
        return Prediction(CLASSES[best], float(probs[2:].sum()), float(probs[1]), known)
