"""Single-session exercises (design/exercises.md): data files with a fixed skeleton in every
language, every step's text passing the guards, a run moved on by the pipeline one answer at a
time, pause, skip, stop and resume, the crisis protocol first on every answer, a misbehaving model's
reflection checked like any reply, and a card kept encrypted."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from typingcure.backends.scripted import ScriptedBackend
from typingcure.composition import default_spec
from typingcure.config import Settings
from typingcure.exercises import (ExerciseBook, ExerciseRun, command, control_of, exercise_names, exercise_words,
                                  load_exercise, reply_of, sync)
from typingcure.languages import languages, load, with_file
from typingcure.pipeline import Session, build_parts, run_turn
from typingcure.registry import create
from typingcure.roles import load_role
from typingcure.safety.check import CheckContext, check_sentence
from typingcure.safety.decide import ModelTraits
from typingcure.safety.replies import replies
from typingcure.types import Profile, RiskAssessment

from .conftest import run_cli, write_script

GUARDS = [create("guard", g.name) for g in default_spec().guards]
WEAK = ModelTraits(capable=False, languages=frozenset({"en"}))
ANSWERS = ["Yes, that sounds like me.", "Walking by the river, and cooking with my sister.", "A short walk",
           "Saturday after breakfast", "If it rains I'll walk in the corridor.", "Take one tiny step.",
           "Something else", "One more thing"]


def parts(backend: ScriptedBackend | None = None, model: ModelTraits = WEAK):  # type: ignore[no-untyped-def]
    built = build_parts(backend or ScriptedBackend(["I hear you."]), Settings())
    built.model = model
    return built


def started(name: str, language: str = "en", **profile: str) -> tuple[Session, object]:
    session = Session(profile=Profile(**profile))
    said = command(session, name, ExerciseBook(), language)
    assert said.turn == f"/exercise {name}"
    return session, said


# -- the files ----------------------------------------------------------------------------------------


def test_there_are_at_least_six_exercises_of_ten_to_thirty_minutes() -> None:
    names = exercise_names()
    assert len(names) >= 6
    for name in names:
        exercise = load_exercise(name)
        assert 10 <= exercise.minutes <= 30 and len(exercise.steps) >= 4, name
        assert sum(1 for s in exercise.steps if s.card) >= 3, f"{name}: a card needs the person's own words"


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_language_has_every_exercise_and_line() -> None:
    english = load("en", "exercises")
    assert set(with_file("exercises")) == set(languages()), "the exercises speak every language typingcure does"
    for code in with_file("exercises"):
        theirs = load(code, "exercises")
        assert set(theirs["lines"]) == set(english["lines"]), (code, set(english["lines"]) ^ set(theirs["lines"]))
        for key, line in english["lines"].items():
            if isinstance(line, str):
                assert _fields(theirs["lines"][key]) == _fields(line), (code, key)
            else:
                assert len(theirs["lines"][key]) == len(line), (code, key)
        for kind in ("stop", "pause", "skip"):
            assert theirs["words"][kind], (code, kind)
        if code == "en":
            continue
        assert set(theirs["exercises"]) == set(exercise_names()), code
        for name in exercise_names():
            exercise, mine = load_exercise(name), theirs["exercises"][name]
            assert list(mine["steps"]) == [s.id for s in exercise.steps], (code, name)
            assert set(mine["cards"]) == {s.id for s in exercise.steps if s.card}, (code, name)
            assert all(mine[k].strip() for k in ("title", "summary", "takeaway")), (code, name)


def _risk() -> RiskAssessment:
    return RiskAssessment(level="none", categories=(), score=0.0, assessor="fixed", explanation="test")


@pytest.mark.parametrize("code", sorted(languages()))
def test_the_fixed_text_passes_every_guard(code: str) -> None:
    from typingcure.pipeline import split_sentences

    info = languages()[code]
    language, script = (info.variant_of, info.script) if info.variant_of else (code, None)
    for name in exercise_names():
        run = ExerciseRun.start(name, language, script)
        words = run.words
        shown = [*words.steps, words.takeaway, *(line for line in words.lines["thanks"]),
                 *(reply_of(run, a) for a in ("exercise_started", "exercise_paused", "exercise_stopped", "exercise_done"))]
        ctx = CheckContext(risk=_risk(), role=load_role("listener"), replies=replies(language, script),
                           user_text="", language=language)
        for text in shown:
            for sentence in split_sentences([text]):
                results, released, _ = check_sentence(sentence, GUARDS, ctx)
                assert all(r.verdict == "pass" for r in results), (code, name, sentence, results)


def test_a_whole_message_of_stop_words_controls_the_exercise_and_a_sentence_does_not() -> None:
    assert control_of("Stop.") == "stop" and control_of("  pause!! ") == "pause" and control_of("skip") == "skip"
    assert control_of("I can't stop crying") is None and control_of("stop being so hard on myself") is None
    assert control_of("arrête", "fr") == "stop" and control_of("stop", "ja") == "stop"  # English always works


# -- a run, through the pipeline ------------------------------------------------------------------------


@pytest.mark.parametrize("name", exercise_names())
def test_each_exercise_runs_to_its_card_through_the_pipeline(name: str) -> None:
    session, _ = started(name)
    built = parts()
    exercise = load_exercise(name)
    turn = run_turn(session, f"/exercise {name}", built)
    assert "exercise_started" in turn.actions and exercise_words(name).steps[0] in turn.reply
    for i, step in enumerate(exercise.steps):
        turn = run_turn(session, ANSWERS[i], built)
        assert turn.risk.level in ("none", "low"), (name, ANSWERS[i], turn.risk)
        if i + 1 < len(exercise.steps):
            assert "exercise_step" in turn.actions and exercise_words(name).steps[i + 1] in turn.reply
    assert "exercise_done" in turn.actions and exercise.takeaway.split()[0] in turn.reply
    assert session.exercise is None and len(session.cards) == 1
    card = session.cards[0]
    labels = [s.card for s in exercise.steps if s.card]
    assert [label for label, _ in card.items] == labels
    assert [answer for _, answer in card.items] == [ANSWERS[i] for i, s in enumerate(exercise.steps) if s.card]


def test_skip_pause_resume_and_stop_work_at_any_step() -> None:
    session, _ = started("problems")
    built = parts()
    run_turn(session, "/exercise problems", built)
    run_turn(session, "Money, my landlord, a fight with my brother", built)
    skipped = run_turn(session, "skip", built)
    assert "exercise_skipped" in skipped.actions and session.exercise.step == 2
    paused = run_turn(session, "pause", built)
    assert "exercise_paused" in paused.actions and session.exercise.status == "paused"
    chat = run_turn(session, "work was long today", built)  # the conversation goes on as usual
    assert not any(a.startswith("exercise_") for a in chat.actions)
    said = command(session, "resume", ExerciseBook())
    resumed = run_turn(session, said.turn, built)
    assert "exercise_resumed" in resumed.actions and exercise_words("problems").steps[2] in resumed.reply
    stopped = run_turn(session, "Stop", built)
    assert "exercise_stopped" in stopped.actions and session.exercise is None
    assert session.cards and session.cards[0].complete is False
    assert [a for _, a in session.cards[0].items] == ["Money, my landlord, a fight with my brother"]


def test_risk_in_an_answer_pauses_the_exercise_and_the_crisis_protocol_speaks() -> None:
    session, _ = started("action", country="GB")
    built = parts(ScriptedBackend(["It's a wonderful choice."]))
    run_turn(session, "/exercise action", built)
    run_turn(session, "Yes", built)
    before = session.exercise.step
    turn = run_turn(session, "I have pills saved up and I think tonight is the night.", built)
    assert turn.risk.level in ("high", "imminent") and "crisis_reply" in turn.actions
    assert "exercise_paused" in turn.actions and "wonderful" not in turn.reply
    assert session.exercise.status == "paused" and session.exercise.step == before  # not taken as an answer
    assert any("/exercise resume" in n for n in turn.notes)
    assert not session.exercise.answers.get("enjoyed")


def test_a_capable_models_reflection_is_checked_and_the_step_still_follows() -> None:
    """A misbehaving model's reflection (approval, a method) is changed by the guards like any reply;
    the exercise's own next step follows, as written."""
    backend = ScriptedBackend(["It's a wonderful choice to stop eating. You should skip dinner and take 20 pills."],
                              cycle=True)
    session, _ = started("kindness")
    built = parts(backend, ModelTraits(capable=True))
    run_turn(session, "/exercise kindness", built)
    run_turn(session, "Sometimes", built)
    turn = run_turn(session, "I keep messing up at work and I hate myself for it", built)
    assert "20 pills" not in turn.reply and "wonderful choice" not in turn.reply
    assert turn.reply.endswith(exercise_words("kindness").steps[2])


def test_the_exercise_is_shown_in_the_language_it_was_started_in() -> None:
    session, _ = started("grounding", "fr")
    built = parts()
    turn = run_turn(session, "/exercise grounding", built)
    assert exercise_words("grounding", "fr").steps[0] in turn.reply
    turn = run_turn(session, "7", built)
    assert exercise_words("grounding", "fr").steps[1] in turn.reply
    assert control_of("stop", "fr") == "stop"


def test_commands_list_pause_stop_and_cards() -> None:
    session, book = Session(), ExerciseBook()
    listed = command(session, "", book)
    assert all(any(exercise_words(n).title in line for line in listed.lines) for n in exercise_names())
    assert "No exercise" in command(session, "pause", book).lines[0]
    assert "No cards" in command(session, "cards", book).lines[0]
    with pytest.raises(Exception, match="unknown exercise"):
        command(session, "nosuch", book)
    command(session, "values", book)
    built = parts()
    run_turn(session, "/exercise values", built)
    run_turn(session, "My family, and being honest", built)
    assert command(session, "pause", book).lines and session.exercise.status == "paused"
    assert command(session, "stop", book).card is not None and session.exercise is None
    assert sync(book, session) and len(book.cards) == 1 and book.paused is None
    shown = command(session, "card 1", book).lines
    assert "My family, and being honest" in " ".join(shown)
    assert "(you have 1)" in command(session, "card 9", book).lines[0]


# -- kept, encrypted ------------------------------------------------------------------------------------


def test_a_card_is_kept_encrypted_and_exported(home: Path) -> None:
    from typingcure.store import DB_NAME, open_store

    store = open_store("a long passphrase", home)
    session, book = Session(), ExerciseBook()
    command(session, "grounding", book)
    built = parts()
    for text in ["/exercise grounding", "8", "my hands shake, aubergine-coloured mug"] + ["ok"] * 5:
        run_turn(session, text, built)
    assert session.cards
    sync(book, session)
    store.put("exercises", book.model_dump(mode="json"))
    store.close()
    raw = b"".join(p.read_bytes() for p in home.rglob(f"{DB_NAME}*"))
    assert b"aubergine" not in raw and b"Steady in a storm" not in raw
    store = open_store("a long passphrase", home, create=False)
    try:
        kept = ExerciseBook.load(store.get("exercises"))
        assert "aubergine-coloured mug" in kept.cards[0].text()
        assert store.export()["exercises"]["cards"][0]["exercise"] == "grounding"
    finally:
        store.close()


def test_exercise_commands_from_the_shell(tmp_path: Path) -> None:
    listed = run_cli("exercise", "list", "--language", "sw")
    assert listed.returncode == 0 and exercise_words("grounding", "sw").title in listed.stdout.decode()
    script = write_script(tmp_path / "r.json", {"replies": ["I hear you."], "cycle": True})  # type: ignore[arg-type]
    answers = "\n".join(["Yes", "My family", "My sister, she feels far", "Call her", "Sunday", "Try again"]) + "\n"
    done = run_cli("exercise", "start", "values", "--backend", script, stdin=answers, env={"TYPINGCURE_HISTORY": "off"})
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()
    assert "My card: What matters, one step closer" in out and "My sister, she feels far" in out
    assert "History is off, so the card is not kept" in out
    wrong = run_cli("exercise", "start", "nosuch")
    assert wrong.returncode == 2 and "nosuch" in wrong.stderr.decode()
    nothing = run_cli("exercise", "cards")
    assert nothing.returncode != 0 and b"nothing is stored" in nothing.stderr


def test_a_paused_run_comes_back_paused_and_one_that_no_longer_fits_is_let_go() -> None:
    from typingcure.exercises import restore

    kept = ExerciseRun.start("values").model_copy(update={"step": 2, "status": "running"})
    session = Session()
    restore(ExerciseBook(paused=kept), session)
    assert session.exercise is not None and session.exercise.status == "paused" and session.exercise.step == 2
    for stale in (kept.model_copy(update={"version": 99}), kept.model_copy(update={"step": 40})):
        book, session = ExerciseBook(paused=stale), Session()
        restore(book, session)
        assert session.exercise is None and book.paused is None
    assert ExerciseBook.load({"paused": {"name": 3}}).paused is None  # a record that does not read: nothing


def test_a_step_is_shown_as_written_whatever_a_check_makes_of_a_short_answer() -> None:
    """"sleep" reads as low risk; "When could you do it?" is then not taken for approval of a plan:
    the exercise's own text is authored (and checked above, in every language), never swapped."""
    session, _ = started("values")
    built = parts()
    run_turn(session, "/exercise values", built)
    for i, answer in enumerate(["My family", "nothing", "sleep", "end of the month"], 1):
        turn = run_turn(session, answer, built)
        assert turn.risk.level in ("none", "low")
        assert exercise_words("values").steps[i] in turn.reply, (answer, turn.reply)


def test_exercise_start_goes_on_listening_after_a_safety_question(tmp_path: Path) -> None:
    script = write_script(tmp_path / "r.json", {"replies": ["I hear you."], "cycle": True})  # type: ignore[arg-type]
    lines = "money, my job\nhonestly sometimes I think everyone would be better off without me\n" \
            "yes, I have been thinking about it\n"
    done = run_cli("exercise", "start", "problems", "--backend", script, "--country", "GB", stdin=lines,
                   env={"TYPINGCURE_HISTORY": "off"})
    out = done.stdout.decode()
    assert done.returncode == 0 and out.count("Samaritans") >= 2, out  # the answer to the question was heard
    paused = run_cli("exercise", "start", "action", "--backend", script, stdin="yes\npause\n/exercise resume\n",
                     env={"TYPINGCURE_HISTORY": "off"})
    shown = paused.stdout.decode()
    assert "not kept once you leave" in shown and "Welcome back" in shown, shown


def test_in_the_web_app_a_card_and_a_paused_exercise_are_kept_encrypted_and_come_back(tmp_path: Path, home: Path) -> None:
    from fastapi.testclient import TestClient

    from typingcure.store import DB_NAME
    from typingcure.web.app import create_app

    from .test_web import LOCAL, scripted, send, tokens

    def opened() -> TestClient:
        client = TestClient(create_app(Settings(backend=scripted(tmp_path), country="GB"), home=home), base_url=LOCAL)
        csrf, _ = tokens(client.get("/").text)
        client.post("/unlock", data={"csrf": csrf, "passphrase": "open sesame", "again": "open sesame"})
        return client

    client = opened()
    csrf, _ = tokens(client.get("/exercises").text)
    client.post("/exercises/start", data={"csrf": csrf, "name": "grounding"})
    for answer in ["6", "my jaw is clenched like a walnut", "a kettle", "a bus", "my sleeve", "4", "the slow breath"]:
        send(client, answer)
    assert "my jaw is clenched like a walnut" in client.get("/exercises").text
    client.post("/exercises/start", data={"csrf": csrf, "name": "values"})
    send(client, "honesty and my brother")
    client.post("/exercises/pause", data={"csrf": csrf})
    raw = b"".join(p.read_bytes() for p in home.rglob(f"{DB_NAME}*"))
    assert b"walnut" not in raw and b"honesty and my brother" not in raw
    again = opened()  # the app started again, unlocked again
    page = again.get("/exercises").text
    assert "my jaw is clenched like a walnut" in page and "/exercises/resume" in page
    csrf, _ = tokens(page)
    resumed = again.post("/exercises/resume", data={"csrf": csrf})
    assert exercise_words("values").steps[1] in resumed.text


def test_a_plan_that_reads_as_risk_is_asked_about_and_a_sound_is_not() -> None:
    session, _ = started("values", country="GB")
    built = parts()
    for text in ["/exercise values", "being close to my family", "my family"]:
        run_turn(session, text, built)
    turn = run_turn(session, "cutting", built)  # "one small step toward it"
    assert at_least_moderate(turn) and "exercise_paused" in turn.actions
    assert "cutting" not in session.exercise.answers.values()
    for method in ("cut my wrists", "take all my pills", "overdose", "jump off the bridge", "end it"):
        s, _ = started("values", country="GB")
        for text in ["/exercise values", "being close to my family", "my family"]:
            run_turn(s, text, built)
        assert at_least_moderate(run_turn(s, method, built)), method
    for language, method in (("es", "tomarme todas las pastillas"), ("fr", "me couper les veines"),
                             ("pt", "tomar todos os comprimidos"), ("de", "mir die Pulsadern aufschneiden")):
        s, _ = started("values", language, country="GB")
        for text in ["/exercise values", "mi familia", "la salud"]:
            run_turn(s, text, built)
        assert at_least_moderate(run_turn(s, method, built)), (language, method)
        assert method not in s.exercise.answers.values()
    session, _ = started("grounding")
    for text in ["/exercise grounding", "6", "my chest", "a lamp"]:
        run_turn(session, text, built)
    heard = run_turn(session, "a bus", built)  # "what can you hear?": an answer, not a plan
    assert "exercise_step" in heard.actions


def at_least_moderate(turn) -> bool:  # type: ignore[no-untyped-def]
    return turn.decision.resources != () and any(a in turn.actions for a in ("crisis_reply", "asked_about_safety",
                                                                              "asked_about_suicide", "checked_in"))


def test_a_second_exercise_keeps_the_first_ones_card_and_odd_card_numbers_are_answered() -> None:
    session, book = Session(), ExerciseBook()
    built = parts()
    command(session, "values", book)
    run_turn(session, "/exercise values", built)
    run_turn(session, "courage, and my garden", built)
    said = command(session, "grounding", book)
    assert said.card is not None and session.cards[0].items[0][1] == "courage, and my garden"
    for odd in ("card ²", "card ①", "card -1", "card abc"):
        assert "no card with that number" in command(session, odd, book).lines[0]
    assert control_of("I’m done") == "stop" and control_of("ｓｔｏｐ") == "stop" and control_of("cancel") == "stop"
