"""The labelled risk set: its size and coverage, and the floor the assessor must keep on it.

The figures here are on the dev set the lexicons were developed against, so they are a
regression floor, not a measure of real-world accuracy; benchmarks/risk.py also reports the
held-out sets (tests/data/risk/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from typingcure.registry import create
from typingcure.safety.measure import load_conversations, load_messages, measure_conversations, measure_messages
from typingcure.types import RISK_CATEGORIES, RISK_LEVELS

DATA = Path(__file__).parent / "data" / "risk"


@pytest.fixture(scope="module")
def dev() -> list:  # type: ignore[type-arg]
    return load_messages(DATA / "messages")


@pytest.fixture(scope="module")
def report(dev: list) -> dict:  # type: ignore[type-arg]
    return measure_messages(create("assessor", "layered"), dev)


def test_the_set_is_large_and_covers_everything(dev: list) -> None:  # type: ignore[type-arg]
    held_out = [i for folder in sorted((DATA / "holdout").iterdir()) for i in load_messages(folder)]
    everything = dev + held_out
    assert len(everything) >= 800
    assert sum(i.language != "en" for i in everything) >= 200
    assert sum(i.hard_negative for i in everything) >= 250
    assert {c for i in everything for c in i.categories} == set(RISK_CATEGORIES)
    assert {i.level for i in everything} == set(RISK_LEVELS)
    assert len({i.language for i in everything}) >= 16
    conversations = load_conversations(DATA / "conversations.yaml") + load_conversations(DATA / "conversations_real.yaml")
    assert len(conversations) >= 100
    answered = [c for c in conversations if any(isinstance(t, dict) for t in c.turns)]
    assert len(answered) >= 100 and len({c.language for c in answered}) >= 16
    assert {t for c in answered for t in c.tags} >= {"answer_yes", "answer_no", "answer_ambiguous", "false_alarm_clears"}
    assert len(load_conversations(DATA / "holdout_conversations")) >= 60


def test_dev_floor(report: dict) -> None:  # type: ignore[type-arg]
    assert report["suicide_recall_moderate"] >= 0.95
    assert report["suicide_recall_high"] >= 0.98
    assert report["hard_negative_fpr"] <= 0.05
    for language, figures in report["per_language"].items():
        assert figures["recall_moderate"] >= 0.9, language
        assert (figures["hard_negative_fpr"] or 0) <= 0.1, language


def test_conversation_floor() -> None:
    assessor = create("assessor", "layered")
    result = measure_conversations(assessor, load_conversations(DATA / "conversations.yaml"))
    assert result["method_after_distress_recall_high"] >= 0.95
    assert result["agreement"] >= 0.9
    answers = measure_conversations(assessor, load_conversations(DATA / "conversations_real.yaml"))
    assert answers["agreement"] >= 0.85, answers["errors"]
    for tag in ("answer_yes", "answer_plan", "false_alarm_clears", "answer_ambiguous"):
        assert answers["agreement_by_tag"][tag] >= 0.8, (tag, answers["errors"])
