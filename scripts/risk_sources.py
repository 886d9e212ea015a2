"""The public labelled sources the risk assessor is trained and measured on, read where they lie.

    rows = load_all(data_dir())              # every source that is present
    [r for r in rows if r.source == "ct_reddit" and r.gold == "risk"]

Nothing here is committed data: the rows are read from `TYPINGCURE_RISK_DATA` (default
`~/.cache/typingcure/risk-data`), where `scripts/get_risk_data` puts them. Which sources may be
trained on and which only measured is fixed here (TRAINABLE, MEASURE_ONLY) and written down in
design/risk-data-card.md.

Every row has a coarse gold label for "risk at moderate or above":
  risk      the text shows risk (suicide, self-harm, eating disorder, ...): the assessor should say moderate+
  distress  a mental-health post without a clear risk label (depression, anxiety, loneliness):
            neither counted for recall nor as a false positive; reported as a flag rate
  none      no risk: a false positive if assessed moderate+
The labels of public sets are weak (a subreddit, a topic, annotators' majority): the benchmark
reports them per source so that no single noisy source decides.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

csv.field_size_limit(10**8)

TRAINABLE = ("ct_reddit", "ct_rallypoint", "diasafety", "counsel_chat", "xstest")
MEASURE_ONLY = ("tsid", "spanish_tweets", "arabic_tweets", "japanese_loneliness")
CROSS_LINGUAL = ("xsafety",)  # the same prompts in ten languages: an agreement check

CT_WHEEL = "construct_tracker-1.0.16-py3-none-any.whl"
CT_BASE = "construct_tracker/data/datasets/"
NON_CLINICAL = {"guns", "legaladvice", "personalfinance", "UKPersonalFinance", "teaching", "conspiracy",
                "ukpolitics", "unitedkingdom", "mindfulness"}
RISK_SUBREDDITS = {"suicidewatch": "suicide", "EDAnonymous": "eating_disorder"}


@dataclass(frozen=True)
class Row:
    text: str
    source: str
    gold: str            # risk | distress | none
    category: str = "-"  # for risk rows: suicide, self_harm, eating_disorder, abuse, ...
    language: str = "en"
    group: str = ""      # subreddit, topic or annotators' agreement: for per-group figures


def data_dir() -> Path:
    return Path(os.environ.get("TYPINGCURE_RISK_DATA", Path.home() / ".cache" / "typingcure" / "risk-data"))


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _ct_rows(folder: Path) -> list[Row]:
    wheel = folder / CT_WHEEL
    if not wheel.is_file():
        return []
    rows: list[Row] = []
    with zipfile.ZipFile(wheel) as z:
        with z.open(CT_BASE + "reddit_27_subreddits/rmhd_27subreddits_260posts_test.csv") as f:
            for r in csv.DictReader(io.TextIOWrapper(f, "utf-8")):
                sub, text = r["subreddit"], _clean(r["post"])
                if not text:
                    continue
                if sub in RISK_SUBREDDITS:
                    rows.append(Row(text, "ct_reddit", "risk", RISK_SUBREDDITS[sub], group=sub))
                elif sub in NON_CLINICAL:
                    rows.append(Row(text, "ct_reddit", "none", group=sub))
                else:
                    rows.append(Row(text, "ct_reddit", "distress", group=sub))
        for name in ("rallypoint_reddit_mentalhealth_train_3632.csv", "rallypoint_reddit_mentalhealth_test_908.csv"):
            with z.open(CT_BASE + "rally_point_reddit_mental_health/" + name) as f:
                for r in csv.DictReader(io.TextIOWrapper(f, "utf-8")):
                    text, source = _clean(r["doc"]), r["source"]
                    if not text:
                        continue
                    positive = float(r["label"] or 0) >= 0.5
                    # On the forum and TalkLife rows, 1 marks suicidal thoughts or behaviour (a read of
                    # the rows agrees); on the Reddit rows it marks a mental-health subreddit.
                    if positive and source.startswith("rallypoint"):
                        rows.append(Row(text, "ct_rallypoint", "risk", "suicide", group=source))
                    else:
                        rows.append(Row(text, "ct_rallypoint", "distress" if positive else "none", group=source))
    return rows


def _diasafety(folder: Path) -> list[Row]:
    rows: list[Row] = []
    for part in ("train", "val", "test"):
        path = folder / f"diasafety_{part}.json"
        if path.is_file():
            for r in json.loads(path.read_text("utf-8")):
                text = _clean(r["context"])
                if text:
                    gold = "distress" if r["category"] == "Risk Ignorance" else "none"
                    rows.append(Row(text, "diasafety", gold, group=r["category"]))
    return rows


def _counsel_chat(folder: Path) -> list[Row]:
    path = folder / "counsel_chat.csv"
    if not path.is_file():
        return []
    seen: dict[str, Row] = {}
    with path.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            text = _clean(f"{r['questionTitle']}. {r['questionText']}")
            topic = r["topic"]
            if topic == "self-harm":
                row = Row(text, "counsel_chat", "risk", "self_harm", group=topic)
            elif topic in ("depression", "anxiety", "trauma", "grief-and-loss", "eating-disorders",
                           "domestic-violence", "substance-abuse", "self-esteem", "stress", "addiction"):
                row = Row(text, "counsel_chat", "distress", group=topic)
            else:
                row = Row(text, "counsel_chat", "none", group=topic)
            if text not in seen or row.gold == "risk":
                seen[text] = row
    return list(seen.values())


def _xstest(folder: Path) -> list[Row]:
    path = folder / "xstest_prompts.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as f:
        return [Row(_clean(r["prompt"]), "xstest", "none", group=r["type"])
                for r in csv.DictReader(f) if r["label"] == "safe"]


def _tsid(folder: Path) -> list[Row]:
    path = folder / "tsid.csv"
    if not path.is_file():
        return []
    rows: list[Row] = []
    with path.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            m = re.match(r"Post:\s*(.*?)\s*Question:", r["query"], re.S)
            if not m:
                continue
            text = _clean(re.sub(r"pic\.twitter\.com/\S+|https?://\S+", "", m.group(1)))
            label = r["gpt-3.5-turbo"].strip().lower()
            if label.startswith("suicide"):
                rows.append(Row(text, "tsid", "risk", "suicide", group="suicide"))
            elif label.startswith("no mental"):
                rows.append(Row(text, "tsid", "none", group="none"))
            else:
                rows.append(Row(text, "tsid", "distress", group=label.split(".")[0]))
    return rows


def _spanish(folder: Path) -> list[Row]:
    path = folder / "spanish.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as f:
        return [Row(_clean(r["tweet_clean"]), "spanish_tweets", "risk" if r["suicidio"] == "1" else "none",
                    "suicide" if r["suicidio"] == "1" else "-", "es")
                for r in csv.DictReader(f) if r["frase"] != "data de similaridad" and _clean(r["tweet_clean"])]


def _arabic(folder: Path) -> list[Row]:
    path = folder / "arabic.csv"
    if not path.is_file():
        return []
    rows: list[Row] = []
    with path.open(encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            votes = sum(r[f"Annotator {k}"].strip() == "1" for k in range(1, 6))
            text = _clean(r["tweet"])
            if text:
                gold = "risk" if votes >= 3 else "none"
                rows.append(Row(text, "arabic_tweets", gold, "suicide" if gold == "risk" else "-", "ar",
                                group=f"{votes}/5"))
    return rows


def _japanese(folder: Path) -> list[Row]:
    path = folder / "japanese.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as f:
        # Sad-event narratives, some lonely: none of them should be moderate+ (a figurative check).
        return [Row(_clean(r["text"]), "japanese_loneliness", "none", language="ja",
                    group=r["Intensity"] or ("lonely" if r["Loneliness"] == "True" else "not lonely"))
                for r in csv.DictReader(f) if _clean(r["text"])]


XSAFETY_LANGUAGES = {"en": "en", "zh": "zh", "sp": "es", "fr": "fr", "ru": "ru", "ja": "ja", "de": "de",
                     "ar": "ar", "hi": "hi"}


def load_xsafety(folder: Path) -> dict[str, list[str]]:
    """The same mental-health prompts in each language, in the same order (for agreement)."""
    out: dict[str, list[str]] = {}
    for code, language in XSAFETY_LANGUAGES.items():
        path = folder / f"xsafety_{code}.csv"
        if path.is_file():
            with path.open(encoding="utf-8-sig") as f:
                out[language] = [_clean(r[0]) for r in csv.reader(f) if r and _clean(r[0])]
    return out


LOADERS = {"ct": _ct_rows, "diasafety": _diasafety, "counsel_chat": _counsel_chat, "xstest": _xstest,
           "tsid": _tsid, "spanish_tweets": _spanish, "arabic_tweets": _arabic, "japanese_loneliness": _japanese}


def load_all(folder: Path | None = None) -> list[Row]:
    """Every present source's rows, each text once (the first source that has it keeps it)."""
    folder = folder or data_dir()
    seen: set[str] = set()
    rows: list[Row] = []
    for loader in LOADERS.values():
        for row in loader(folder):
            key = row.text.lower()
            if key not in seen:
                seen.add(key)
                rows.append(row)
    return rows


def card(rows: list[Row]) -> dict[str, dict[str, int]]:
    """Row counts per source and gold label (for the data card)."""
    counts: dict[str, Counter[str]] = {}
    for r in rows:
        counts.setdefault(r.source, Counter())[r.gold] += 1
    return {s: dict(c) for s, c in sorted(counts.items())}


if __name__ == "__main__":
    print(json.dumps(card(load_all()), indent=2))
