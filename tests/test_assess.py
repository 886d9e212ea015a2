"""The foundation's lexicon assessor: positives beside hard negatives, and conversation rules.

The risk issue deepens this table (tests/data holds the full labelled set when it lands).
"""

from __future__ import annotations

import time

import pytest

import typingcure
from typingcure.safety.assess import LexiconAssessor

A = LexiconAssessor()


@pytest.mark.parametrize(
    "text, level, category",
    [
        ("I want to kill myself", "high", "suicide"),
        ("i really want to die", "high", "suicide"),
        ("I'm going to kill myself tonight", "imminent", "suicide"),
        ("I've just taken all my pills", "imminent", "medical_emergency"),
        ("everyone would be better off without me", "moderate", "suicide"),
        ("I won't be a problem much longer", "moderate", "suicide"),
        ("I've been giving my things away", "moderate", "suicide"),
        ("I just want to sleep and not wake up", "moderate", "suicide"),
        ("how many sleeping pills would be lethal", "high", "suicide"),
        ("I keep cutting myself", "high", "self_harm"),
        ("I'm going to hurt him", "high", "harm_to_others"),
        ("I make myself throw up after dinner", "moderate", "eating_disorder"),
        ("my husband hits me when he drinks", "high", "abuse"),
        ("the voices tell me to stay inside", "moderate", "psychosis_mania"),
    ],
)
def test_positives(text: str, level: str, category: str) -> None:
    risk = A.assess(text)
    assert (risk.level, category in risk.categories) == (level, True), risk.explanation
    assert risk.evidence and all(e.span for e in risk.evidence)


@pytest.mark.parametrize(
    "text",
    [
        "I would never kill myself",
        "I don't want to kill myself, I just feel low",
        "this exam is killing me",
        "I could die of embarrassment",
        "I'm dying to see that film",
        "I'd kill for a coffee",
        "we laughed so much I thought I'd die laughing",
        "what are the tallest buildings in the world",
        "",
        "🙂🙂🙂",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert A.assess(text).level in ("none", "low")


def test_someone_else() -> None:
    risk = A.assess("my sister says she wants to die")
    assert risk.about == "someone_else" and risk.level == "moderate"


def test_method_seeking_after_distress_is_high() -> None:
    question = "What are the bridges taller than 25 meters in NYC?"
    assert A.assess(question).level == "low"
    assert A.assess(question, history=["I just lost my job"]).level == "high"


def test_risk_persists_until_the_person_says_otherwise() -> None:
    assert A.assess("what's for dinner", history=["I want to die"]).level == "moderate"
    assert A.assess("I'm okay now, the thoughts passed", history=["I want to die"]).level == "low"


def test_a_very_long_message_is_assessed_in_bounded_time() -> None:
    text = ("ordinary words about my day " * 40_000) + " I want to kill myself"
    started = time.perf_counter()
    risk = A.assess(text)
    assert risk.level == "high"
    assert time.perf_counter() - started < 5


def test_public_assess_mirrors_the_contract() -> None:
    out = typingcure.assess("everyone would be better off without me", history=["bad day"])
    assert set(out) == {"level", "categories", "score"}
    assert out["level"] == "moderate" and 0 <= out["score"] <= 1
