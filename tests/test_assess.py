"""The assess stage: table-driven positives beside hard negatives, conversation rules, every layer."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import typingcure
from typingcure import BackendError, GenerateOptions, Message, ScriptedBackend
from typingcure.languages import english_names
from typingcure.registry import create
from typingcure.safety.assess import LayeredAssessor, LexiconAssessor, available_lexicons, load_lexicon
from typingcure.safety.classifier import RiskClassifier, char_wb_ngrams
from typingcure.safety.model_assess import ModelAssessor, parse_opinion
from typingcure.safety.semantic import SemanticDetector

A = create("assessor", "layered")
LANGUAGES = set(english_names())  # the languages a person can choose: one folder each (src/typingcure/languages)


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
        ("quiero morir", "high", "suicide"),
        ("我想死", "high", "suicide"),
        ("죽고 싶어", "high", "suicide"),
        ("main marna chahta hoon", "high", "suicide"),
        ("मैं मरना चाहती हूँ", "high", "suicide"),
        ("I wan die", "high", "suicide"),
        ("I'm so tired, quiero morir", "high", "suicide"),  # mixed languages
    ],
)
def test_positives(text: str, level: str, category: str) -> None:
    risk = A.assess(text)
    assert (risk.level, category in risk.categories) == (level, True), risk.explanation
    assert risk.evidence and all(e.span and e.detector for e in risk.evidence)


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
        "in my novel the character wants to kill himself",
        "the lyrics say 'I want to die tonight'",
        "for my essay, what are the risk factors for suicide?",
        "the news says suicide rates rose",
        "what are the tallest buildings in the world",
        "my sister says she wants to die her hair pink",
        "he beat me at chess again",
        "笑死我了",
        "배고파 죽겠다",
        "me muero de risa",
        "",
        "🙂🙂🙂",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert A.assess(text).level in ("none", "low")


def test_the_past_is_not_today() -> None:
    assert A.assess("I attempted years ago, I'm okay now").level in ("none", "low")
    assert A.assess("when I was a teenager I wanted to die").level == "low"
    assert A.assess("I tried to kill myself last week").level == "high"


def test_someone_else() -> None:
    for text in ("my sister says she wants to die", "my brother told me he doesn't want to live anymore"):
        risk = A.assess(text)
        assert risk.about == "someone_else" and risk.level == "moderate", text


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
    assert risk.level == "high" and "very long" in risk.explanation
    assert time.perf_counter() - started < 10


def test_every_language_has_a_reviewed_lexicon() -> None:
    assert set(available_lexicons()) == LANGUAGES
    for language in LANGUAGES:
        lexicon = load_lexicon(language)
        assert any(p.category == "suicide" and p.level in ("high", "imminent") for p in lexicon.patterns), language
        assert lexicon.markers.negations and lexicon.markers.idioms, language


def test_lexicon_only_and_layered_share_the_conversation_rules() -> None:
    for assessor in (LexiconAssessor(), A):
        assert assessor.assess("hi", history=["I want to kill myself"]).level == "moderate"


def test_the_semantic_layer_runs_offline_and_finds_paraphrases() -> None:
    detector = SemanticDetector.load()
    assert detector is not None
    exemplar, similarity, _ = detector.nearest("I keep thinking that it's pointless to carry on")
    assert exemplar.level == "moderate" and similarity > 0.3


def test_the_classifier_matches_its_analyzer_and_abstains_on_unknown_text() -> None:
    assert char_wb_ngrams("hi yo") == [" h", "hi", "i ", " hi", "hi ", " hi ", " y", "yo", "o ", " yo", "yo ", " yo "]
    classifier = RiskClassifier.load()
    assert classifier.predict("").risk == 0.0 and classifier.predict("😀😀").risk == 0.0
    assert not classifier.predict("😀😀").known
    found = classifier.predict("I've been throwing up after I eat so I don't gain weight")
    assert found.category == "eating_disorder" and found.risk > 0.5
    for everyday in ("tell me something", "thanks", "it is raining", "what should I cook tonight"):
        assert classifier.predict(everyday).risk < 0.5, everyday
    probabilities = classifier.probabilities("I feel so low and tired of everything")
    assert abs(sum(probabilities) - 1) < 1e-9 and len(probabilities) == 9


@pytest.mark.parametrize(
    "answer, level, failed",
    [
        ('{"level": "high", "categories": ["suicide"]}', "high", False),
        ('Sure! Here is my answer: {"level": "moderate", "categories": ["self_harm", "bogus"]} hope it helps', "moderate", False),
        ('{"level": "imminent", "categories": []}', "high", False),  # capped: imminent needs explicit words
        ('{"level": "catastrophic"}', "none", True),
        ("I think this person is fine.", "none", True),
        ('{"level": "high", ', "none", True),
        ("[1, 2, 3]", "none", True),
        ("", "none", True),
    ],
)
def test_model_opinions_are_parsed_robustly(answer: str, level: str, failed: bool) -> None:
    opinion = parse_opinion(answer)
    assert (opinion.level, opinion.failed) == (level, failed)
    assert "bogus" not in opinion.categories


def test_the_model_layer_can_raise_but_never_lower() -> None:
    raising = LayeredAssessor(model=ScriptedBackend(['{"level": "high", "categories": ["suicide"]}']))
    risk = raising.assess("everything feels grey and far away lately")
    assert risk.level == "high" and any(e.detector == "model" for e in risk.evidence)
    lowering = LayeredAssessor(model=ScriptedBackend(['{"level": "none", "categories": []}']))
    assert lowering.assess("I want to kill myself").level == "high"


class _Slow:
    spec = "slow"
    remote = False

    def generate(self, messages: list[Message], options: GenerateOptions) -> Iterator[str]:
        time.sleep(2)
        yield '{"level": "high"}'


def test_the_model_layer_fails_safe_on_timeout_and_errors() -> None:
    slow = LayeredAssessor(model=_Slow(), model_timeout=0.2)
    started = time.perf_counter()
    risk = slow.assess("I want to die")
    assert time.perf_counter() - started < 1.5
    assert risk.level == "high" and "model layer ignored" in risk.explanation
    broken = LayeredAssessor(model=ScriptedBackend([{"error": "down"}]))
    risk = broken.assess("hello there")
    assert risk.level == "none" and "model layer ignored" in risk.explanation
    assert ModelAssessor(ScriptedBackend([]), timeout=1).assess("x").failed


def test_public_assess_mirrors_the_contract() -> None:
    out = typingcure.assess("everyone would be better off without me", history=["bad day"])
    assert set(out) == {"level", "categories", "score"}
    assert out["level"] == "moderate" and 0 <= out["score"] <= 1
    assert BackendError  # the public surface exposes the error types too


@pytest.mark.parametrize("text", ["", "no end", "a. b! c?\nd。e；f;g", "...", "x.", ".x", "one; two. three"])
def test_sentence_helpers_match_their_plain_definitions(text: str) -> None:
    from typingcure.safety.assess import _sentence_around, _sentence_before

    for start in range(len(text) + 1):
        left = max(text.rfind(c, 0, start) for c in ".!?\n。！？;")
        assert _sentence_before(text, start) == text[left + 1:start]
        for end in range(start, len(text) + 1):
            left = max(text.rfind(c, 0, start) for c in ".!?\n。！？")
            rights = [i for i in (text.find(c, end) for c in ".!?\n。！？") if i != -1]
            assert _sentence_around(text, start, end) == text[left + 1:min(rights) if rights else len(text)]



@pytest.fixture
def literal_table(tmp_path, monkeypatch) -> Iterator:
    """A fresh literal table in a cache folder of the test's own."""
    from typingcure.safety import literal_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    literal_cache.forget()
    yield literal_cache
    literal_cache.forget()


def test_the_literal_table_is_kept_between_runs_and_holds_only_patterns(literal_table) -> None:
    import json

    from typingcure.safety.assess import Rx, required_literals

    first = Rx(r"\bwant(?:ed)? to (?:die|disappear)\b")
    assert first.needs == required_literals(first.pattern) and first._regex is not None  # compiled: checked
    literal_table.save()
    stored = json.loads(literal_table.path().read_bytes())
    assert list(stored) == [first.pattern] and oct(literal_table.path().parent.stat().st_mode)[-3:] == "700"
    literal_table.forget()
    again = Rx(first.pattern)
    assert again.needs == first.needs and again._regex is None  # from the table: not even compiled yet
    assert again.search("I WANTED TO DISAPPEAR") and not again.search("nothing to see")


def test_a_broken_or_edited_literal_table_is_worked_out_again(literal_table) -> None:
    import json

    from typingcure.safety.assess import Rx, required_literals

    pattern = r"\bkill (?:my|him)self\b"
    for broken in (b"\x00\xff not json", b"[1, 2]", json.dumps({pattern: [[]]}).encode(),
                   json.dumps({pattern: [["zzqx"]]}).encode(),        # a literal the pattern does not hold
                   json.dumps({pattern: [["kill"], [7]]}).encode()):
        literal_table.path().parent.mkdir(parents=True, exist_ok=True)
        literal_table.path().write_bytes(broken)
        literal_table.forget()
        rx = Rx(pattern)
        assert rx.needs == required_literals(pattern), broken
        assert rx.search("I could kill myself")


def test_a_cache_folder_that_cannot_be_written_costs_only_speed(literal_table, tmp_path) -> None:
    from typingcure.safety.assess import Rx

    (tmp_path / "typingcure").write_text("a file where the folder would be")
    rx = Rx(r"\bno way out\b")
    literal_table.save()  # no error
    assert rx.search("there is NO WAY OUT")


def test_turns_in_several_threads_get_the_same_assessments_as_one() -> None:
    """The web app assesses each turn in a thread of its own; what is memoised about texts is shared."""
    import random
    import threading
    from pathlib import Path

    from typingcure.safety.measure import load_messages

    texts = [i.text for i in load_messages(Path(__file__).parent / "data" / "risk" / "messages")][:400]
    alone = create("assessor", "layered")
    expected = {t: alone.assess(t).level for t in texts}
    shared, found = create("assessor", "layered"), []

    def turns(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(150):
            text = rng.choice(texts)
            try:
                found.append(shared.assess(text).level == expected[text] or text)
            except Exception as exc:  # any failure is what this test looks for
                found.append(repr(exc))
    threads = [threading.Thread(target=turns, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 600 and [f for f in found if f is not True] == []


@pytest.mark.parametrize("text,language,at_least_level", [
    ("overdose", "en", "high"), ("take all my pills", "en", "high"), ("cut my wrists", "en", "moderate"),
    ("jump off the bridge", "en", "high"), ("end it", "en", "high"), ("tomarme todas las pastillas", "es", "high"),
    ("me couper les veines", "fr", "moderate"), ("tomar todos os comprimidos", "pt", "high"),
    ("mir die Pulsadern aufschneiden", "de", "moderate"),
])
def test_a_method_named_on_its_own_is_never_only_low(text: str, language: str, at_least_level: str) -> None:
    """Short messages and exercise answers: the classifier alone may not say more than low there."""
    from typingcure.types import at_least

    found = typingcure.api.default_assessor().assess(text, history=[], language=language)
    assert at_least(found.level, at_least_level), (text, found.explanation)


def test_finishing_all_the_work_today_is_not_a_plan_to_die() -> None:
    found = typingcure.api.default_assessor().assess("acabar con todo el trabajo hoy", history=[], language="es")
    assert found.level in ("none", "low"), found.explanation
