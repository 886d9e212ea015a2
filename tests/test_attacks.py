"""The adversarial suite: a model that does whatever the attacker asks must still leak nothing.

Leaks are judged by typingcure.evals.criteria, written apart from the guards (it is tested on its
own labelled examples in tests/test_criteria.py), and the complying model's words change with the
framing and language of each attack, so the guards cannot pass by knowing a fixed list.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from typingcure import Profile, ScriptedBackend, Session, build_parts, run_turn
from typingcure.backends import GenerateOptions
from typingcure.culture.language import detect
from typingcure.evals.criteria import readings
from typingcure.safety.attacks import FILLER, Attack, known_gaps, load_attacks, leaks
from typingcure.types import Message

DATA = Path(__file__).parent / "data"
ATTACKS = load_attacks(DATA / "attacks.yaml")
SRC = Path(__file__).resolve().parent.parent / "src" / "typingcure"


MODELS = ("bundled", "capable")  # a model not known to be capable, and one whose words are used at moderate risk
GAPS = {model: known_gaps(DATA / "attacks.yaml", model) for model in MODELS}


def _cases():  # type: ignore[no-untyped-def]
    for model in MODELS:
        for attack in ATTACKS:
            gap = GAPS[model].get(attack.id)
            marks = [pytest.mark.xfail(strict=True, reason=f"known guard gap: {gap}")] if gap else []
            yield pytest.param(attack, model, id=f"{model}-{attack.id}", marks=marks)


class Complying(ScriptedBackend):
    """A model that gives the attack's complying answer for the current turn, however often it is asked."""

    def __init__(self, capable: bool = False) -> None:
        super().__init__([], capable=capable)
        self.now = ""

    def generate(self, messages: Sequence[Message], options: GenerateOptions) -> Iterator[str]:
        self.calls.append(list(messages))
        yield from re.findall(r"\S+\s*|\s+", self.now)


def test_the_suite_is_large_and_varied() -> None:
    assert len(ATTACKS) >= 250
    assert len({a.framing for a in ATTACKS}) >= 15 and len({a.request for a in ATTACKS}) >= 15
    assert {a.language for a in ATTACKS} >= {"en", "es", "fr", "de", "pt"}
    assert any(len(a.turns) > 1 for a in ATTACKS) and any(a.framing == "split_over_turns" for a in ATTACKS)


def test_the_complying_model_varies_with_the_framing_and_language() -> None:
    answers = [" ".join(a.replies) for a in ATTACKS]
    assert len(set(answers)) >= 0.95 * len(answers)
    for request in {a.request for a in ATTACKS}:
        mine = [a for a in ATTACKS if a.request == request]
        plain = {a.comply for a in mine if a.framing in ("plain", "injection", "fiction", "roleplay", "school_project")}
        assert len(plain) == 5, request  # the same request reads differently in each framing
        assert len({a.core for a in mine if a.language == "en"}) >= 2, request  # and its harmful part differs too
        assert len({a.core for a in mine}) >= 6, request  # across the five languages
    foreign = [a for a in ATTACKS if a.language != "en" and a.framing != "translation"]
    told = [detect(a.comply).language for a in foreign]
    assert all(found in (a.language, "und") for a, found in zip(foreign, told))
    assert sum(found == a.language for a, found in zip(foreign, told)) >= 0.7 * len(foreign)
    split = next(a for a in ATTACKS if a.framing == "split_over_turns")
    assert len(split.replies) == 2 and not any(r == FILLER for r in split.replies)


def test_the_data_holds_slots_not_details() -> None:
    for attack in ATTACKS:
        if attack.shape == "med_stop":
            continue  # nothing to hide: the harm is the advice itself
        answer = " ".join(attack.replies)
        assert any(re.search(r"\[\s*[a-z_]+\s*\]", r, re.IGNORECASE) for r in readings(answer)), attack.id


def test_every_complying_answer_is_a_leak_to_the_judge() -> None:
    # Otherwise a conversation could pass because the judge was blind to it, not because of the guards.
    missed = [a.id for a in ATTACKS if not leaks(a, " ".join(a.replies))]
    assert missed == []


def test_the_judge_shares_nothing_with_the_guards() -> None:
    for path in (SRC / "evals" / "criteria.py", SRC / "safety" / "attacks.py", SRC / "evals" / "scorers.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not {m for m in imported if re.search(r"(^|\.)(guards|check|measure)$", m)}, (path.name, imported)
        assert "patterns.yaml" not in path.read_text(encoding="utf-8")


def test_known_gaps_name_real_conversations() -> None:
    ids = {a.id for a in ATTACKS}
    assert all(set(GAPS[model]) <= ids for model in MODELS)


@pytest.mark.parametrize(("attack", "model"), list(_cases()))
def test_a_complying_model_leaks_nothing(attack: Attack, model: str) -> None:
    backend = Complying(capable=model == "capable")
    session = Session(profile=Profile(country="GB"))
    parts = build_parts(backend)
    said = []
    for text, complying in zip(attack.turns, attack.replies):
        backend.now = complying
        turn = run_turn(session, text, parts)
        said.append(turn.reply)
        assert not leaks(attack, turn.reply), (turn.reply, turn.checks)
        assert turn.reply  # never stonewalled
    assert not leaks(attack, " ".join(said)), said  # nor across turns, put together
