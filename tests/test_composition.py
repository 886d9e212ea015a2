"""A turn's composition is data (typingcure.composition), and conversation state is typed (typingcure.state)."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from typingcure import ConfigError, Profile, ScriptedBackend, Session, build_parts, run_turn
from typingcure.composition import default_spec, turn_spec
from typingcure.config import load_settings
from typingcure.explain import explain_turn
from typingcure.registry import entries, register
from typingcure.safety.check import CheckContext
from typingcure.state import ConversationState
from typingcure.types import ACTIONS, Action, CheckResult


class NoShouting:
    """A third party's guard: a sentence in capitals is asked again."""

    spec = "no_shouting"

    def __init__(self, min_letters: int = 8) -> None:
        self.min_letters = min_letters

    def check(self, sentence: str, ctx: CheckContext) -> CheckResult:
        letters = [c for c in sentence if c.isalpha()]
        shouting = len(letters) >= self.min_letters and all(c.isupper() for c in letters)
        return CheckResult(guard=self.spec, verdict="repair" if shouting else "pass", original=sentence,
                           released=sentence.capitalize() if shouting else sentence,
                           explanation="a sentence in capitals" if shouting else "no shouting")


register("guard", "no_shouting")(NoShouting)


def parts_with(turn: dict, replies: list[str], **settings: object):  # type: ignore[no-untyped-def,type-arg]
    from typingcure.config import Settings

    return build_parts(ScriptedBackend(replies, capable=True), Settings(turn=turn, **settings))  # type: ignore[arg-type]


def test_the_default_spec_lists_every_built_in_guard_in_order() -> None:
    spec = default_spec()
    built_in = {e.name for e in entries("guard")} - {"no_shouting"}
    assert {g.name for g in spec.guards} == built_in
    assert spec.guards[0].name == "method_details" and spec.guards[-1].name == "listening_fit"
    parts = build_parts(ScriptedBackend([]))
    assert [g.spec for g in parts.guards] == [g.name for g in spec.guards]
    assert parts.composition == spec and parts.assessor.spec == "layered" and parts.policy.spec == "care"


def test_a_plugin_guard_runs_by_being_listed() -> None:
    text = "I hear how tiring today was. PLEASE REST NOW."
    plain = run_turn(Session(profile=Profile(country="GB")), "work was long", parts_with({}, [text]))
    assert "PLEASE REST NOW" in plain.reply
    parts = parts_with({"add": [{"name": "no_shouting", "after": "refusal", "on_fail": "replace"}]}, [text])
    names = [g.spec for g in parts.guards]
    assert names.index("no_shouting") == names.index("refusal") + 1
    turn = run_turn(Session(profile=Profile(country="GB")), "work was long", parts)
    assert "PLEASE REST NOW" not in turn.reply and turn.reply.startswith("I hear how tiring today was.")
    assert "guard:no_shouting:replace" in turn.actions
    assert any("the turn spec says replace" in c.explanation for c in turn.checks)


def test_on_fail_regenerate_asks_the_model_again_with_a_rule() -> None:
    parts = parts_with({"add": [{"name": "no_shouting", "on_fail": "regenerate", "args": {"min_letters": 4}}]},
                       ["THAT IS SO HARD.", "That sounds so hard."])
    turn = run_turn(Session(profile=Profile(country="GB")), "work was long", parts)
    assert turn.reply.startswith("That sounds so hard.") and "THAT" not in turn.reply
    assert len(parts.backend.calls) == 2  # type: ignore[attr-defined]
    assert "Rule:" in parts.backend.calls[1][-1].content  # type: ignore[attr-defined]


@pytest.mark.parametrize("turn, says", [
    ({"remove": ["method_details"]}, "safety floor and cannot be removed"),
    ({"on_fail": {"approval": "repair"}}, "gentler"),
    ({"guards": [{"name": "diet"}]}, "cannot be removed"),
    ({"add": [{"name": "nonesuch"}]}, "unknown guard 'nonesuch'"),
    ({"add": [{"name": "no_shouting", "args": {"loudness": 3}}]}, "cannot take"),
    ({"add": [{"name": "no_shouting", "before": "nothing_here"}]}, "no guard 'nothing_here'"),
    ({"add": [{"name": "diet"}]}, "more than once"),
    ({"policy": {"name": "kind"}}, "unknown policy 'kind'"),
    ({"guardz": []}, "guardz"),
    ({"on_fail": {"diagnosis": "shout"}}, "on_fail"),
])
def test_a_spec_that_breaks_a_rule_is_refused_before_any_turn(turn: dict, says: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as caught:
        turn_spec(turn)
    assert says in caught.value.message


def test_the_floor_may_be_made_stricter_and_the_shaping_guards_removed() -> None:
    spec = turn_spec({"on_fail": {"diagnosis": "replace"}, "remove": ["wrong_script", "listening_fit"]})
    assert {g.name: g.on_fail for g in spec.guards}["diagnosis"] == "replace"
    assert "wrong_script" not in {g.name for g in spec.guards}
    assert "diagnosis (replace)" in spec.summary()


def test_config_toml_turn_table_is_read_checked_and_named_by_why(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[turn]\nadd = [{name = "no_shouting", after = "refusal"}]\n', encoding="utf-8")
    settings = load_settings({"backend": "scripted"})
    parts = build_parts(ScriptedBackend(["It sounds like a lot."], capable=True), settings)
    turn = run_turn(Session(profile=Profile(country="GB")), "long day", parts)
    why = "\n".join(explain_turn(turn))
    assert "config.toml [turn] spec" in why and "no_shouting" in why
    (home / "config.toml").write_text('[turn]\nremove = ["method_details"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings({})
    assert "turn" in caught.value.message and "safety floor" in caught.value.message


def test_actions_are_one_declared_vocabulary() -> None:
    assert set(get_args(Action)) == set(ACTIONS)


def test_state_reads_earlier_turns_by_their_actions() -> None:
    backend = ScriptedBackend(["I'm here with you."] * 6, capable=True)
    parts = build_parts(backend)
    session = Session(profile=Profile())  # no country: the first card asks for one
    run_turn(session, "hi", parts)
    assert session.state == ConversationState(turns=1, roles=("listener",))
    run_turn(session, "sometimes I think everyone would be better off without me", parts)
    state = session.state
    assert state.turns == 2 and state.asked_within(1) and state.asked_last_turn() and state.country_asked
    run_turn(session, "i don't know", parts)
    assert not ConversationState.of_turns(session.turns[:1]).asked
    assert ConversationState.of_decisions([t.decision for t in session.turns]).asked == session.state.asked


def test_one_question_follows_the_policy_flag_not_the_text() -> None:
    backend = ScriptedBackend(["That sounds heavy. What happened next?"], capable=True)
    session = Session(profile=Profile(country="GB"))
    turn = run_turn(session, "sometimes I think everyone would be better off without me", build_parts(backend))
    assert turn.decision.follow_up and turn.decision.follow_up_asks
    assert "What happened next?" not in turn.reply  # the model's question waits: one question at a time
