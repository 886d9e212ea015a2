"""Personas, pinned (design/personas.md): every change to the model file, the model name, the prompt
or the settings is found before the next reply; the pinned version can be had back; kept encrypted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from typingcure import Profile, ScriptedBackend, Session, build_parts, run_turn
from typingcure.backends.local import LocalBackend, bundled_model_path
from typingcure.backends.openai import OpenAIBackend
from typingcure.cli.personas import PersonaDesk
from typingcure.config import Settings
from typingcure.errors import InputError
from typingcure.personas import Personas, drift, make_persona, pinned
from typingcure.roles import load_role
from typingcure.store import DB_NAME, open_store

from .conftest import run_cli, write_script


def gguf(path: Path, body: bytes = b"weights one") -> Path:
    path.write_bytes(b"GGUF" + body)
    return path


@pytest.fixture
def nova(tmp_path: Path) -> tuple[Any, Any]:
    backend = LocalBackend(gguf(tmp_path / "model.gguf"))
    return pinned(make_persona(name="Nova", tone="warm and brief", focus="my exams", avoid="advice"), backend,
                  Settings()), backend


def test_nothing_changed_is_no_change(nova: tuple[Any, Any]) -> None:
    persona, backend = nova
    assert drift(persona, backend, Settings()) == []
    assert persona.pin.model_file and len(persona.pin.model_file) == 64


def _model_file_rewritten(tmp_path: Path, backend: Any, settings: Settings) -> tuple[Any, Settings]:
    gguf(backend.path, b"weights two, same path")
    return backend, settings


def _another_file(tmp_path: Path, backend: Any, settings: Settings) -> tuple[Any, Settings]:
    return LocalBackend(gguf(tmp_path / "other.gguf")), settings


def _a_server_model(tmp_path: Path, backend: Any, settings: Settings) -> tuple[Any, Settings]:
    return OpenAIBackend("llama3", "http://127.0.0.1:9/v1"), settings


def _setting(name: str, value: Any):  # type: ignore[no-untyped-def]
    def change(tmp_path: Path, backend: Any, settings: Settings) -> tuple[Any, Settings]:
        return backend, settings.model_copy(update={name: value})
    return change


CHANGES = {"model file contents": _model_file_rewritten, "model file": _another_file, "model name": _a_server_model,
           "temperature": _setting("temperature", 0.9), "max tokens": _setting("max_tokens", 300),
           "capable": _setting("capable", True)}


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_to_what_a_persona_is_pinned_to_is_found(change: str, nova: tuple[Any, Any], tmp_path: Path) -> None:
    persona, backend = nova
    backend, settings = CHANGES[change](tmp_path, backend, Settings())
    found = drift(persona, backend, settings)
    assert len(found) == 1, found
    assert found[0].pinned != found[0].now


def test_a_change_of_server_model_name_is_found() -> None:
    persona = pinned(make_persona(name="Sol"), OpenAIBackend("llama3", "http://127.0.0.1:9/v1"), Settings())
    assert drift(persona, OpenAIBackend("llama3", "http://127.0.0.1:9/v1"), Settings()) == []
    (change,) = drift(persona, OpenAIBackend("llama3.1", "http://127.0.0.1:9/v1"), Settings())
    assert "llama3.1" in change.now and "llama3@" in change.pinned


@pytest.mark.parametrize("what", ["prompt", "version", "rules"])
def test_a_change_to_the_role_or_its_prompt_is_found(what: str, nova: tuple[Any, Any],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    persona, backend = nova
    role = load_role("listener")
    changed = {"prompt": {"prompt": role.prompt + " Be upbeat."}, "version": {"version": role.version + 1},
               "rules": {"rules": role.rules.model_copy(update={"max_sentences": 9})}}[what]
    monkeypatch.setattr("typingcure.personas.load_role", lambda name: role.model_copy(update=changed))
    (change,) = drift(persona, backend, Settings())
    assert "listener role" in change.what
    # the pinned version back: the role prompt as it was pinned is what the model is given
    assert drift(persona.model_copy(update={"use_pinned": True}), backend, Settings()) == []


def test_editing_the_persona_itself_is_found_until_pinned_again(nova: tuple[Any, Any]) -> None:
    persona, backend = nova
    edited = persona.model_copy(update={"tone": "playful"})
    assert [c.what for c in drift(edited, backend, Settings())] == ["the prompt"]
    assert drift(pinned(edited, backend, Settings()), backend, Settings()) == []


def test_the_persona_reaches_the_model_and_never_lowers_the_safety_floor() -> None:
    backend = ScriptedBackend(["It's a wonderful choice."], cycle=True)
    parts = build_parts(backend)
    persona = pinned(make_persona(name="Nova", tone="cheerful", avoid="talk of therapy"), backend, Settings())
    session = Session(profile=Profile(country="GB"), persona=persona)
    run_turn(session, "I had a long day at work", parts)
    system = backend.calls[-1][0].content
    assert "Your name is Nova." in system and "Avoid: talk of therapy." in system and load_role("listener").prompt in system
    plain = Session(profile=Profile(country="GB"))
    crisis = run_turn(session, "I'm going to kill myself tonight, I have the pills ready", parts)
    assert crisis.reply == run_turn(plain, "I'm going to kill myself tonight, I have the pills ready", parts).reply


def test_the_pinned_role_prompt_is_used_when_the_person_goes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = ScriptedBackend(["Okay."], cycle=True)
    persona = pinned(make_persona(name="Nova"), backend, Settings())
    role = load_role("listener")
    newer = role.model_copy(update={"prompt": "You are relentlessly upbeat.", "version": 2})
    monkeypatch.setattr("typingcure.pipeline.load_role", lambda name: newer if name == "listener" else role)
    monkeypatch.setattr("typingcure.safety.decide.load_role", lambda name: newer if name == "listener" else role)
    session = Session(profile=Profile(country="GB"), persona=persona.model_copy(update={"use_pinned": True}))
    run_turn(session, "I had a long day", build_parts(backend))
    system = backend.calls[-1][0].content
    assert role.prompt in system and "relentlessly" not in system


def test_bad_persona_fields_are_clear_errors() -> None:
    for fields, words in (({"name": ""}, "needs a name"), ({"name": "x" * 201}, "at most 200"),
                          ({"name": "Nova", "tone": "\x00bad"}, "printable"), ({"name": "Nova", "role": "rehearsal"}, "one of")):
        with pytest.raises(InputError, match=words):
            make_persona(**fields)


def test_personas_are_kept_encrypted_and_exported(tmp_path: Path) -> None:
    store = open_store("a passphrase", tmp_path)
    session, said = Session(), []
    desk = PersonaDesk(session, build_parts(ScriptedBackend(["Hi."])), Settings(), said.append, lambda t, lines: None, store)
    desk.new("Nova")
    for answer in ("unmistakably gentle tone", "my exams", "advice"):
        desk.answer(answer)
    assert session.persona is not None and session.persona.name == "Nova"
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(DB_NAME))
    assert b"unmistakably gentle" not in raw and b"Nova" not in raw
    again = open_store("a passphrase", tmp_path, create=False)
    try:
        assert Personas.load(again.get("personas")).current.tone == "unmistakably gentle tone"  # type: ignore[union-attr]
        assert again.export()["personas"]["active"] == "Nova"
    finally:
        again.close()


@pytest.mark.skipif(bundled_model_path() is None, reason="the bundled model is not installed")
def test_back_to_the_pinned_model_file(tmp_path: Path) -> None:
    pinned_model = LocalBackend(bundled_model_path())  # type: ignore[arg-type]
    persona = pinned(make_persona(name="Nova"), pinned_model, Settings(temperature=0.2))
    session, said = Session(persona=persona), []
    parts = build_parts(ScriptedBackend(["Hi."]), Settings(temperature=0.8))
    desk = PersonaDesk(session, parts, Settings(temperature=0.8), said.append, lambda t, lines: said.extend(lines))
    desk.check()
    assert any("the model: was local:" in line for line in said) and any("temperature" in line for line in said)
    desk.back()
    assert parts.backend.spec == pinned_model.spec and parts.options.temperature == 0.2
    assert drift(session.persona, parts.backend, desk.settings) == []  # type: ignore[arg-type]


def test_the_terminal_says_what_changed_before_the_next_reply(tmp_path: Path, home: Path) -> None:
    env = {"TYPINGCURE_PASSPHRASE": "pass for personas"}
    first = write_script(tmp_path / "first.json", {"replies": ["I hear you."], "cycle": True})
    done = run_cli("chat", "--backend", first, env=env,
                   stdin="/persona new Nova\nwarm\nmy exams\nadvice\nhello\n/end\n")
    assert done.returncode == 0 and b"Nova is saved and in use" in done.stdout
    second = write_script(tmp_path / "second.json", {"replies": ["Hello there."], "cycle": True})
    done = run_cli("chat", "--backend", second, env=env, stdin="hello again\n/persona keep\nand again\n/end\n")
    out = done.stdout.decode()
    assert done.returncode == 0
    notice = out.index("Nova has changed since you saved it")
    assert "the model: was scripted:" in out and notice < out.index("Hello there.")
    assert out.count("Nova has changed") == 1  # kept: said once, not again
