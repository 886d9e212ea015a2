"""Settings precedence (flag > env > config file > default), the user directory, and the public surface."""

from __future__ import annotations

from pathlib import Path

import pytest

import typingcure
from typingcure.config import config_path, load_settings, user_dir
from typingcure.culture.language import detect
from typingcure.errors import ConfigError
from typingcure.registry import create, entries, register


def test_precedence(home: Path) -> None:
    assert load_settings().backend == "local"
    home.mkdir(parents=True)
    config_path().write_text('backend = "scripted:file.json"\nrole = "journal"\n')
    assert load_settings().backend == "scripted:file.json"
    env = {"TYPINGCURE_BACKEND": "openai:m@http://127.0.0.1:1/v1"}
    assert load_settings(environ=env).backend.startswith("openai:")
    assert load_settings({"backend": "local:/x.gguf"}, environ=env).backend == "local:/x.gguf"
    assert load_settings({"backend": None}, environ=env).role == "journal"


def test_bad_settings_are_clear(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="max_tokens"):
        load_settings(environ={"TYPINGCURE_MAX_TOKENS": "lots"})
    home.mkdir(parents=True)
    config_path().write_text("backend = [unclosed")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_user_dir_follows_the_variable(home: Path) -> None:
    assert user_dir() == home


def test_public_surface_is_curated() -> None:
    assert sorted(typingcure.__all__) == sorted(set(typingcure.__all__))
    for name in typingcure.__all__:
        assert hasattr(typingcure, name), name
    public = {n for n in dir(typingcure) if not n.startswith("_")}
    modules = {"api", "backends", "care", "commands", "composition", "config", "culture", "errors", "evals", "exercises", "explain", "languages", "personas", "pipeline", "plugins", "proxy", "redact", "registry", "roles", "store",
               "safety", "state", "types", "cli", "web"}
    assert public - modules == set(typingcure.__all__) - {"__version__"}


def test_a_third_party_component_registers_through_the_same_door() -> None:
    @register("guard", "test_no_shouting")
    def no_shouting() -> object:
        """Flags shouting."""

        class Guard:
            spec = ""

        return Guard()

    guard = create("guard", "test_no_shouting")
    assert guard.spec == "test_no_shouting"
    assert "test_no_shouting" in [e.name for e in entries("guard")]
    assert {"local", "openai", "scripted"} <= {e.name for e in entries("backend")}
    with pytest.raises(ConfigError, match="unknown guard"):
        create("guard", "nope")


@pytest.mark.parametrize(
    "text, language",
    [("I feel so alone tonight", "en"), ("me siento muy solo y no quiero vivir", "es"), ("eu não quero mais viver", "pt"),
     ("je ne veux plus vivre", "fr"), ("Ich will nicht mehr leben", "de"), ("я хочу умереть", "ru"), ("죽고 싶어요", "ko"),
     ("我想死", "zh"), ("死にたい", "ja"), ("मैं मरना चाहता हूँ", "hi"), ("main marna chahta hoon", "hi"),
     ("أريد أن أموت", "ar"), ("من میخواهم بمیرم", "fa"), ("ölmek istiyorum ben", "tr"), ("saya ingin mati", "id"),
     ("nataka kufa sana", "sw"), ("abeg I no fit again, I wan die", "pcm"), ("😢😢", "und"), ("", "und")],
)
def test_language_detection(text: str, language: str) -> None:
    assert detect(text).language == language
