"""Train the risk classifier layer from the project's own labelled messages.

    .venv/bin/pip install scikit-learn   # only for training; typingcure itself does not need it
    .venv/bin/python scripts/train_risk_model.py

Reads tests/data/risk/messages (the dev set; never the held-out sets), the everyday messages
(tests/data/risk/everyday.yaml, training negatives) and the semantic exemplars, fits TF-IDF features (character n-grams within words, and words) with a multinomial
logistic regression, and writes src/typingcure/safety/data/risk_model.json: every feature's idf
and class weights, so typingcure scores messages with plain Python (safety/classifier.py).
The script checks that its exported scorer matches scikit-learn's on every training message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, make_pipeline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from typingcure.safety.classifier import CLASSES, RiskClassifier  # noqa: E402
from typingcure.safety.measure import load_messages  # noqa: E402
from typingcure.types import level_rank  # noqa: E402

OUT = ROOT / "src" / "typingcure" / "safety" / "data" / "risk_model.json"


def label(level: str, categories: tuple[str, ...]) -> str:
    if level_rank(level) < level_rank("moderate") or not categories:  # type: ignore[arg-type]
        return "none"
    return categories[0]


def main() -> None:
    items = load_messages(ROOT / "tests" / "data" / "risk" / "messages")
    exemplars = yaml.safe_load((ROOT / "src" / "typingcure" / "safety" / "data" / "exemplars.yaml").read_text("utf-8"))
    everyday = [str(t) for lines in yaml.safe_load((ROOT / "tests" / "data" / "risk" / "everyday.yaml")
                                                   .read_text("utf-8")).values() for t in lines]
    texts = [i.text for i in items] + [e["text"] for e in exemplars["risk"]] + list(exemplars["safe"]) + everyday
    labels = [label(i.level, i.categories) for i in items]
    labels += [label(e["level"], (e["category"],)) for e in exemplars["risk"]] + ["none"] * len(exemplars["safe"])
    labels += ["none"] * len(everyday)

    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, max_features=5000, sublinear_tf=True)
    word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, max_features=3000, sublinear_tf=True,
                           token_pattern=r"(?u)\b\w+\b")
    model = make_pipeline(FeatureUnion([("char", char), ("word", word)]),
                          LogisticRegression(C=4.0, max_iter=3000))
    model.fit(texts, labels)
    clf = model[-1]
    order = [list(clf.classes_).index(c) for c in CLASSES]
    coef, intercept = clf.coef_[order], clf.intercept_[order]
    n_char = len(char.vocabulary_)

    def table(vectorizer: TfidfVectorizer, offset: int) -> dict[str, list[float]]:
        return {term: [round(float(vectorizer.idf_[i]), 4), *[round(float(w), 4) for w in coef[:, offset + i]]]
                for term, i in vectorizer.vocabulary_.items()}

    data = {
        "about": "Risk classifier for typingcure, trained by scripts/train_risk_model.py on the project's own dev set.",
        "classes": list(CLASSES),
        "intercept": [round(float(b), 6) for b in intercept],
        "char": table(char, 0),
        "word": table(word, n_char),
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    exported = RiskClassifier.from_file(OUT)
    reference = model.predict_proba(texts)[:, order]
    ours = np.array([exported.probabilities(t) for t in texts])
    worst = float(np.abs(reference - ours).max())
    print(f"wrote {OUT.relative_to(ROOT)}: {len(data['char'])} char and {len(data['word'])} word features; "
          f"largest difference from scikit-learn {worst:.2e}")
    if worst > 1e-3:
        raise SystemExit("the exported scorer does not match scikit-learn")


if __name__ == "__main__":
    main()
