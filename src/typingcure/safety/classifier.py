"""A small trained classifier: one more opinion for phrasings no lexicon lists.

    classifier = RiskClassifier.load()
    classifier.predict("I've been throwing up after I eat")   # ("eating_disorder", 0.83)

TF-IDF features (character n-grams inside words, and words) with a multinomial logistic
regression, trained by scripts/train_risk_model.py on the project's own dev set and shipped as
`data/risk_model.json`. Scoring is plain Python and matches scikit-learn's to 1e-3 (the training
script checks). Its reach and its limits are measured in benchmarks/risk.py.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

CLASSES = ("none", "suicide", "self_harm", "eating_disorder", "abuse", "harm_to_others", "psychosis_mania",
           "medical_emergency")
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


def word_ngrams(text: str) -> list[str]:
    tokens = _TOKEN.findall(text.lower())
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


class RiskClassifier:
    def __init__(self, data: dict) -> None:  # type: ignore[type-arg]
        if tuple(data["classes"]) != CLASSES:
            raise ValueError("risk_model.json has unexpected classes")
        self.intercept = data["intercept"]
        self.tables = (data["char"], data["word"])

    @classmethod
    def from_file(cls, path: Path) -> RiskClassifier:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    @lru_cache(maxsize=1)
    def load(cls) -> RiskClassifier:
        return cls(json.loads(files("typingcure.safety").joinpath("data/risk_model.json").read_text("utf-8")))

    def _scores(self, grams: list[str], table: dict[str, list[float]]) -> list[float]:
        counts = Counter(g for g in grams if g in table)
        weights = {g: (1 + math.log(c)) * table[g][0] for g, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        scores = [0.0] * len(CLASSES)
        for g, w in weights.items():
            row = table[g]
            for k in range(len(CLASSES)):
                scores[k] += w / norm * row[k + 1]
        return scores

    def probabilities(self, text: str) -> list[float]:
        chars = self._scores(char_wb_ngrams(text), self.tables[0])
        words = self._scores(word_ngrams(text), self.tables[1])
        logits = [b + c + w for b, c, w in zip(self.intercept, chars, words)]
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        return [e / total for e in exps]

    def known_features(self, text: str) -> tuple[int, int]:
        """How many of the text's character n-grams and words the model has seen."""
        chars = sum(1 for g in char_wb_ngrams(text) if g in self.tables[0])
        return chars, sum(1 for w in word_ngrams(text) if w in self.tables[1])

    def predict(self, text: str) -> tuple[str, float]:
        """The most likely risk category and the probability of any risk (1 - p(none)).

        A text the model knows almost nothing of (empty, emoji, an unseen script) gets no opinion:
        the class priors alone would speak for it."""
        text = text[:4000]
        chars, words = self.known_features(text)
        if chars < 6 and words < 2:
            return "suicide", 0.0
        probs = self.probabilities(text)
        best = max(range(1, len(CLASSES)), key=lambda k: probs[k])
        return CLASSES[best], 1.0 - probs[0]
