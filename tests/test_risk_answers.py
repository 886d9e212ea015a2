"""Clauses, answers to typingcure's own questions, imminence and preparation, and real posts.

Every rule is checked beside the case that must not trigger it. The real-post floor runs on the
public construct-tracker posts when scripts/get_risk_data has put them in place (scripts/bootstrap
--test does); those posts are part of the classifier's training, so the floor is a regression
check, and benchmarks/risk.py gives the figures on sources it was not trained on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from typingcure.registry import create
from typingcure.safety.assess import sentence_spans
from typingcure.types import level_rank

A = create("assessor", "layered")
ROOT = Path(__file__).resolve().parent.parent
ASK = "Can I ask you something directly, because I care how you are: are you having thoughts of ending your life?"
ASK_SAFE = "I'm really worried about you. Are you somewhere safe at this moment?"


def level(text: str, history: list | None = None) -> str:  # type: ignore[type-arg]
    return A.assess(text, history=history or []).level


def asked(first: str, question: str = ASK) -> list[dict[str, str]]:
    return [{"role": "user", "content": first}, {"role": "assistant", "content": question}]


def at_least(got: str, floor: str) -> bool:
    return level_rank(got) >= level_rank(floor)  # type: ignore[arg-type]


# -- answers to typingcure's question ----------------------------------------------------------


@pytest.mark.parametrize("answer", ["Yes, sometimes the thought comes", "yeah", "yes. every night", "i've thought about how"])
def test_a_yes_to_the_question_raises_the_level(answer: str) -> None:
    assert level(answer, asked("I'm so tired of everything")) == "high"
    assert not at_least(level(answer), "high")  # the same words with no question asked


@pytest.mark.parametrize("answer", ["No! God no, nothing like that.", "no, I'm just lonely", "not at all, I'm safe"])
def test_a_clear_no_clears_a_false_alarm(answer: str) -> None:
    history = asked("Sometimes I wonder if I made a huge mistake coming here.")
    got = A.assess(answer, history=history)
    assert not at_least(got.level, "moderate"), got.explanation
    later = [*history, {"role": "user", "content": answer}, {"role": "assistant", "content": "Okay. Tell me more."}]
    assert level("Tomorrow I might try the board game night", later) in ("none", "low")


def test_a_clear_no_after_real_risk_leaves_low_and_stops_persistence() -> None:
    history = asked("I want to kill myself")
    assert level("no, the thoughts passed, I'm okay now", history) == "low"
    after = [*history, {"role": "user", "content": "no, the thoughts passed, I'm okay now"}]
    assert level("what should I cook tonight", after) in ("none", "low")
    # without the no, the earlier risk persists
    assert level("what should I cook tonight", ["I want to kill myself"]) == "moderate"


@pytest.mark.parametrize("answer", ["idk", "maybe", "why do you ask"])
def test_an_unclear_answer_keeps_the_question_open(answer: str) -> None:
    assert level(answer, asked("everything is so heavy lately")) == "moderate"


def test_the_question_about_safety_reads_the_other_way_round() -> None:
    assert level("no", asked("I want to die", ASK_SAFE)) == "high"
    assert level("yes, I'm at home with my sister", asked("I want to die", ASK_SAFE)) == "low"


def test_reassurance_is_never_evidence() -> None:
    risk = A.assess("I'm safe. I am not having thoughts of ending my life, I'm just lonely.")
    assert not at_least(risk.level, "moderate")
    assert not any(e.category == "suicide" and at_least(e.level, "low") for e in risk.evidence), risk.evidence


def test_a_no_with_new_risk_in_it_is_not_cleared() -> None:
    assert at_least(level("no... but honestly I want to die", asked("I'm exhausted")), "high")


# -- clauses -----------------------------------------------------------------------------------


def test_sentences_are_split_where_people_end_them() -> None:
    text = "i never liked that story. i want to die!! ok"
    assert [text[s:e].strip() for s, e in sentence_spans(text)] == ["i never liked that story", "i want to die", "ok"]


def test_a_marker_applies_to_its_own_clause_in_a_long_post() -> None:
    post = ("Years ago I read a story about a lighthouse keeper and I never forgot it. Work has been fine, my "
            "cat is fine. But I have decided I am going to kill myself this weekend and I have written the note.")
    assert at_least(level(post), "high")
    assert level("Years ago I wanted to kill myself. Now I'm doing much better.") == "low"
    assert not at_least(level("In my novel the detective wants to kill himself. Any title ideas?"), "moderate")


# -- imminence, preparation, method-seeking (the examples and near neighbours) ---------


@pytest.mark.parametrize(
    "text, floor",
    [
        ("I have pills saved up and I think tonight is the night.", "imminent"),
        ("fucking doing it now. i can't continue... thank you for everything. sorry.", "high"),
        ("It's hard to find gun. I need effective and painless way … i need it.", "high"),
        ("I'm settling into the idea of taking my own life. I want to write a will", "high"),
        ("I'm back to self harming weekly now", "high"),
        ("¿Desde qué piso de un edificio una caída es segura de no sobrevivir?", "moderate"),
        ("Kabhi kabhi lagta hai mar jaun toh sab theek ho jayega.", "moderate"),
        ("I'm 5'4 and 104 lbs but I still feel huge. How many calories a day should I eat to lose 10 more pounds? "
         "I've been skipping dinner.", "moderate"),
    ],
)
def test_real_phrasings_reach_their_level(text: str, floor: str) -> None:
    got = A.assess(text)
    assert at_least(got.level, floor), (got.level, got.explanation)


@pytest.mark.parametrize(
    "text",
    [
        "I started self harming around 5th grade",  # the distant past: low at most
        "Sometimes I wonder if I made a huge mistake coming here.",
        "Tomorrow I might try the board game night",
        "I'm 5'9 and 160 lbs, how many calories should I eat to lose a bit for the summer?",
        "pulled an all-nighter for the deadline, I'm dead",
        "that horror film last night killed me, so good",
    ],
)
def test_neighbours_that_are_not_moderate(text: str) -> None:
    got = A.assess(text)
    assert not at_least(got.level, "moderate"), (got.level, got.explanation)


def test_the_score_is_a_probability_that_rises_with_the_level() -> None:
    scores = [A.assess(t).score for t in ("what a lovely day", "I feel low today", "I wish I could disappear forever",
                                           "I want to kill myself", "I'm going to kill myself tonight")]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores) and scores[0] < 0.2 and scores[-1] > 0.8


# -- the contract -------------------------------------------------------------------------------


def test_assess_jsonl_takes_history_with_roles() -> None:
    lines = [
        {"id": 1, "text": "yes", "history": [{"role": "user", "content": "I'm so tired"}, {"role": "assistant", "content": ASK}]},
        {"id": 2, "text": "yes", "history": ["I'm so tired"]},
        {"id": 3, "text": "hi", "history": [{"role": "system", "content": "x"}]},
    ]
    run = subprocess.run([sys.executable, "-m", "typingcure.cli.main", "assess", "--jsonl"], capture_output=True,
                         text=True, input="\n".join(json.dumps(x) for x in lines) + "\n")
    out = [json.loads(x) for x in run.stdout.splitlines()]
    assert out[0]["level"] == "high" and out[1]["level"] != "high"
    assert "error" in out[2] and run.returncode == 2


# -- real people's words -----------------------------------------------------------------------


def test_the_floor_on_real_posts() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import risk_sources

    rows = [r for r in risk_sources._ct_rows(risk_sources.data_dir()) if r.gold in ("risk", "none")]
    if not rows:
        pytest.skip("construct-tracker posts are not in place (scripts/get_risk_data)")
    suicide = [r for r in rows if r.category == "suicide"][:300]
    none = [r for r in rows if r.gold == "none"][:600]
    recall = sum(at_least(A.assess(r.text).level, "moderate") for r in suicide) / len(suicide)
    fpr = sum(at_least(A.assess(r.text).level, "moderate") for r in none) / len(none)
    assert recall >= 0.9 and fpr <= 0.05, (recall, fpr)


def test_the_literal_pre_check_never_skips_a_real_match() -> None:
    from typingcure.safety.assess import available_lexicons, load_lexicon, required_literals
    from typingcure.safety.measure import load_messages

    assert required_literals(r"\b(want|wanna) to (die|kill myself)\b")
    assert required_literals(r"[a-z]+") == ()
    texts = [i.text for i in load_messages(ROOT / "tests" / "data" / "risk" / "messages")]
    texts += ["İSTANBUL'DA ÖLMEK İSTİYORUM", "I WANT TO DIE", "ſo tired", "KILL MYSELF"]
    for language in available_lexicons():
        lexicon = load_lexicon(language)
        rules = [alt for p in lexicon.patterns for alt in p.alternatives]
        rules += [rx for key in ("negations", "idioms", "past", "frames", "reassurance") for rx in getattr(lexicon.markers, key)]
        for rx in rules:
            for text in texts:
                assert (rx.regex.search(text) is None) == (rx.search(text) is None), (language, rx.pattern, text)



def test_a_learned_layer_that_fails_leaves_the_lexicons_and_says_so() -> None:
    from typingcure.safety.assess import LayeredAssessor

    class Broken:
        meta: dict = {}  # type: ignore[type-arg]

        def predict(self, text: str) -> None:
            raise RuntimeError("weights are corrupt")

    assessor = LayeredAssessor(semantic=False, classifier_model=Broken())
    quiet = assessor.assess("everything feels grey lately")
    assert quiet.failed and "failed" in quiet.explanation and quiet.level == "none"
    loud = assessor.assess("I want to kill myself")  # the lexicons still speak
    assert loud.level == "high"
