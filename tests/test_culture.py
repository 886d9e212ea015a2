"""The person's own profile (design/culture.md): the fields the public contract names, validated;
what they avoid never suggested by the model (a guard), while crisis services stay; what helps
them offered in their words; asked once, never guessed; `/profile` in the chat and the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from typingcure.backends.scripted import ScriptedBackend
from typingcure.config import Settings
from typingcure.culture.profile import avoided, edit, frame, kind_of
from typingcure.errors import InputError
from typingcure.pipeline import Session, build_parts, run_turn
from typingcure.safety.decide import ModelTraits
from typingcure.safety.replies import replies
from typingcure.types import Profile

from .conftest import run_cli, write_script

PUSHY = ("That sounds so heavy. You could see a therapist about this. Maybe try a short meditation before bed. "
         "Have you thought about talking to your family? Prayer might help too.")
AVOIDS = ("therapy", "meditation", "calling family")


def capable(*replies_: str):  # type: ignore[no-untyped-def]
    parts = build_parts(ScriptedBackend(list(replies_) or [PUSHY], cycle=True), Settings())
    parts.model = ModelTraits(capable=True)
    return parts


# -- the profile --------------------------------------------------------------------------------------


def test_the_profile_has_the_contracts_fields_and_refuses_what_it_does_not_know() -> None:
    profile = Profile(country="ng", language="en", languages="yo, pcm", coping="prayer, my church, prayer",
                      avoid=["therapy", " Meditation "], identity="  a Christian woman ", register="formal")
    assert profile.country == "NG" and profile.languages == ("yo", "pcm")
    assert profile.coping == ("prayer", "my church") and profile.avoid == ("therapy", "Meditation")
    assert profile.identity == "a Christian woman" and profile.register == "formal"
    for bad in ({"bogus": 1}, {"register": "casual"}, {"coping": [1, 2]}, {"coping": ["x" * 81]},
                {"avoid": [f"w{i}" for i in range(13)]}, {"languages": ["english!"]}, {"identity": "x" * 201}):
        with pytest.raises(ValueError):
            Profile(**bad)
    assert Profile.from_saved({"country": "KE", "helps": "music", "gone": True}).coping == ("music",)


def test_reply_json_takes_the_profile_and_refuses_an_unknown_key(tmp_path: Path) -> None:
    script = write_script(tmp_path / "r.json", {"replies": [PUSHY], "cycle": True})  # type: ignore[arg-type]
    request = {"messages": [{"role": "user", "content": "work has been really stressful this month"}],
               "profile": {"country": "NG", "coping": ["prayer"], "avoid": ["therapy", "meditation", "calling family"]}}
    done = run_cli("reply", "--json", "--backend", script, stdin=json.dumps(request),
                   env={"TYPINGCURE_CAPABLE": "true"})
    assert done.returncode == 0, done.stderr.decode()
    reply = json.loads(done.stdout)["reply"]
    assert "therapist" not in reply and "meditation" not in reply and "family" not in reply
    assert "Prayer might help" in reply
    request["profile"]["faith"] = "yes"
    refused = run_cli("reply", "--json", "--backend", script, stdin=json.dumps(request))
    assert refused.returncode != 0 and b"faith" in refused.stderr


# -- offer, never impose --------------------------------------------------------------------------------


@pytest.mark.parametrize("sentence,language,found", [
    ("You could see a therapist about this.", "en", "therapy"),
    ("A counsellor might help you sort through it.", "en", "therapy"),
    ("I hear that therapy isn't an option where you live.", "en", None),
    ("Maybe try a short meditation before bed.", "en", "meditation"),
    ("Have you thought about talking to your family?", "en", "calling family"),
    ("Your family sounds like it matters a lot to you.", "en", None),
    ("Puedes hablar con un terapeuta.", "es", "therapy"),
    ("Tu pourrais essayer la méditation.", "fr", "meditation"),
    ("상담사와 이야기해 보는 건 어때요?", "ko", "therapy"),
    ("That sounds really hard.", "en", None),
])
def test_a_suggestion_of_what_they_avoid_is_found_and_saying_it_back_is_not(sentence: str, language: str,
                                                                            found: str | None) -> None:
    hit = avoided(sentence, AVOIDS, language)
    assert (hit[0] if hit else None) == found


def test_their_own_words_are_avoided_too_and_known_names_map_to_a_kind() -> None:
    assert kind_of("Therapist") is not None and kind_of("Therapist").name == "therapy"  # type: ignore[union-attr]
    assert kind_of("cold showers") is None
    assert avoided("Cold showers can really help with that.", ("cold showers",)) == ("cold showers", "Cold showers")
    assert avoided("A shower might help.", ("cold showers",)) is None


def test_the_model_never_gets_to_suggest_what_they_avoid_and_their_coping_stays() -> None:
    session = Session(profile=Profile(country="NG", coping=("prayer",), avoid=AVOIDS))
    turn = run_turn(session, "work has been really stressful this month", capable())
    assert turn.reply == "That sounds so heavy. Prayer might help too."
    assert sum(a == "guard:avoid:repair" for a in turn.actions) == 3
    assert "prayer" in turn.decision.system_prompt and "Never suggest therapy" in turn.decision.system_prompt


def test_crisis_services_stay_whatever_the_profile_avoids() -> None:
    session = Session(profile=Profile(country="GB", avoid=("therapy", "calling family", "crisis lines", "hotlines")))
    turn = run_turn(session, "I have pills saved up and I think tonight is the night.", capable())
    assert turn.risk.level in ("high", "imminent") and "crisis_reply" in turn.actions
    assert "Samaritans" in " ".join(r.name for r in turn.decision.resources)
    assert not any(a.startswith("guard:avoid") for a in turn.actions)


def test_nothing_is_assumed_when_the_person_said_nothing() -> None:
    assert "Do not assume their religion, family or community" in frame(Profile())
    assert frame(Profile(coping=("prayer",))).startswith("What helps this person, in their own words: prayer.")
    assert "formally" in frame(Profile(register="formal")) and "informally" in frame(Profile(register="informal"))


def test_someone_worn_out_is_offered_rest_then_asked_once_what_helps_and_then_hears_their_own_words() -> None:
    text = replies("en")
    parts = capable("That sounds like a lot.")
    session = Session(profile=Profile(country="KE"))
    first = run_turn(session, "I'm so exhausted, I've been working double shifts all month", parts)
    assert "offered_rest" in first.actions and first.reply.endswith(text["rest_offer"])
    second = run_turn(session, "I'm so worn out today", parts)
    assert "asked_coping" in second.actions and second.reply.endswith(text["coping_question"])
    assert text["note_coping_saved"] in second.notes
    later = [run_turn(session, line, parts) for line in ("still so exhausted", "yeah", "I'm drained and tired")]
    assert not any("asked_coping" in t.actions for t in later)  # once a conversation
    session = Session(profile=Profile(country="KE", coping=("singing in the choir",)))
    turn = run_turn(session, "I'm so exhausted, I've been working double shifts all month", parts)
    assert "offered_coping" in turn.actions and "singing in the choir" in turn.reply
    asks = run_turn(session, "any ideas for tonight?", parts)
    assert "offered_coping" not in asks.actions  # not again so soon
    session = Session(profile=Profile(country="KE", coping=("football",)))
    asks = run_turn(session, "work was long, any ideas for tonight?", parts)
    assert "offered_coping" in asks.actions and "football" in asks.reply


# -- /profile -------------------------------------------------------------------------------------------


def test_profile_edits_and_says_what_to_type_when_it_cannot() -> None:
    profile, said = edit(Profile(), "coping prayer, my sister")
    assert profile.coping == ("prayer", "my sister") and said == "prayer, my sister"
    assert edit(profile, "register FORMAL")[0].register == "formal"
    assert edit(profile, "clear coping")[0].coping == ()
    for bad in ("mood happy", "register casual", "clear nothing", "coping"):
        with pytest.raises(InputError):
            edit(profile, bad)


def test_profile_in_the_terminal_and_words_that_worry_are_heard(tmp_path: Path) -> None:
    script = write_script(tmp_path / "r.json", {"replies": ["I hear you."], "cycle": True})  # type: ignore[arg-type]
    lines = "/profile coping prayer, my church\n/profile avoid therapy\n/profile\n/profile register casual\n" \
            "/profile identity nobody would miss me if I was gone\n"
    done = run_cli("chat", "--backend", script, "--country", "GB", stdin=lines, env={"TYPINGCURE_HISTORY": "off"})
    out = done.stdout.decode()
    assert done.returncode == 0, out
    assert "prayer; my church" in out and "therapy" in out
    assert "register: Input should be 'formal' or 'informal'" in out
    assert "Samaritans" in out  # the last words were read for risk, and answered with the services


def test_the_settings_page_keeps_the_profile_and_the_page_takes_profile_commands(tmp_path: Path, home: Path) -> None:
    from fastapi.testclient import TestClient

    from typingcure.web.app import create_app

    from .test_web import LOCAL, scripted, send, tokens

    client = TestClient(create_app(Settings(backend=scripted(tmp_path), history="off", country="GB"), home=home),
                        base_url=LOCAL)
    csrf, _ = tokens(client.get("/settings").text)
    saved = client.post("/settings/profile", data={"csrf": csrf, "country": "NG", "language": "", "coping": "prayer, my choir",
                                                   "avoid": "therapy, meditation", "identity": "", "register": "formal",
                                                   "languages": "yo"})
    assert saved.status_code == 200 and 'value="prayer, my choir"' in saved.text and 'value="formal" selected' in saved.text
    worried = client.post("/settings/profile", data={"csrf": csrf, "country": "GB", "identity": "I'm going to end it tonight"})
    assert 'class="worried" role="alert"' in worried.text and "Samaritans" in worried.text
    client.post("/settings/profile", data={"csrf": csrf, "country": "NG", "coping": "prayer, my choir", "avoid": "therapy, meditation"})
    bad = client.post("/settings/profile", data={"csrf": csrf, "country": "NG", "coping": "x" * 90})
    assert bad.status_code == 400 and "at most 80 characters" in bad.text
    shown = send(client, "/profile").text
    assert "prayer; my choir" in shown and "therapy; meditation" in shown
    send(client, "/profile clear avoid")
    assert client.get("/settings").text.count('name="avoid" type="text" maxlength="1000" value=""') == 1


@pytest.mark.parametrize("sentence,language,suggests", [
    ("Lots of people find therapy helpful.", "en", True), ("Sit quietly and meditate for a minute.", "en", True),
    ("You could call your mom tonight.", "en", True), ("Deberías ver a un terapeuta.", "es", True),
    ("Llama a tu mamá.", "es", True), ("Maybe see a th3rapist.", "en", True), ("A shrink could help.", "en", True),
    ("Get psychiatric help.", "en", True), ("Mindfulness helps many people.", "en", True), ("Meditate.", "en", True),
    ("Text your mum.", "en", True), ("Tell your folks.", "en", True), ("Many find counselling useful.", "en", True),
    ("Have you asked your doctor about antidepressants?", "en", True), ("How about talking to your mother tonight?", "en", True),
    ("A few minutes of mindfulness each morning can do wonders.", "en", True), ("Deberías ver a un terapeuta.", "en", True),
    ("You don't have to talk to your family about this.", "en", False),
    ("It sounds like your dad's words really stung.", "en", False),
    ("I won't suggest therapy, since you said it is not for you.", "en", False),
    ("You could call Samaritans on 116 123.", "en", False), ("Your family sounds important to you.", "en", False),
])
def test_suggestions_are_found_in_their_many_forms_and_crisis_services_never_avoided(sentence: str, language: str,
                                                                                     suggests: bool) -> None:
    avoid = ("therapy", "meditation", "medication", "calling family", "my mom", "Samaritans", "hotlines")
    assert (avoided(sentence, avoid, language) is not None) == suggests
    assert "Samaritans" not in frame(Profile(avoid=avoid)) and "hotlines" not in frame(Profile(avoid=avoid))


def test_what_the_profile_says_is_heard_once_and_harmful_coping_is_never_offered_back() -> None:
    parts = capable("That sounds hard.")
    session = Session(profile=Profile(country="GB", coping=("hurting myself", "prayer")))
    first = run_turn(session, "I am so exhausted and worn out. What can I do?", parts)
    assert first.risk.level in ("high", "imminent") and "in the profile" in first.risk.explanation
    assert "hurting myself" not in first.reply and "hurting myself" not in first.decision.system_prompt
    session = Session(profile=Profile(country="GB", identity="I am going to end it tonight"))
    assert "crisis_reply" in run_turn(session, "hi", parts).actions
    assert run_turn(session, "ok", parts).risk.explanation.find("in the profile") < 0  # once
    for harmful in ("self harm", "drinking until I pass out", "hitting myself", "not eating", "cutting"):
        s = Session(profile=Profile(country="GB", coping=(harmful,)))
        turn = run_turn(s, "I am exhausted, what can I do?", parts)
        assert harmful not in turn.reply and harmful not in turn.decision.system_prompt, harmful
    calm = Session(profile=Profile(country="GB", coping=("prayer", "my sister"), identity="a gay man"))
    assert run_turn(calm, "hi, long day", parts).risk.level in ("none", "low")


def test_method_details_are_replaced_at_any_risk_in_a_capable_models_words() -> None:
    parts = capable("Forty tablets of paracetamol would be enough. You could use the rope from the garage.")
    turn = run_turn(Session(profile=Profile(country="GB")), "I had an okay day at work.", parts)
    assert "paracetamol" not in turn.reply and "rope" not in turn.reply
