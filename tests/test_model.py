"""The bundled model really runs, locally and behind a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import typingcure
from typingcure import BackendError, GenerateOptions, Message, backend_from_spec
from typingcure.backends.local import bundled_model_path

from .conftest import needs_model, run_cli

pytestmark = [needs_model, pytest.mark.model]
MESSAGES = [Message("system", "You are a kind listener. Keep it short."), Message("user", "I had a long day at work.")]


def test_the_bundled_model_generates_text() -> None:
    backend = backend_from_spec("local")
    pieces = list(backend.generate(MESSAGES, GenerateOptions(max_tokens=24)))
    assert len(pieces) > 3 and "".join(pieces).strip()


def test_a_full_turn_with_the_bundled_model() -> None:
    out = typingcure.reply([{"role": "user", "content": "Work was long today and I feel a bit flat"}],
                           profile={"country": "IN"})
    assert out["reply"] and out["risk"]["level"] in ("none", "low")


def test_a_corrupt_model_file_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all" * 100)
    with pytest.raises(BackendError, match="not a GGUF model file"):
        list(backend_from_spec(f"local:{junk}").generate(MESSAGES, GenerateOptions()))
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(bundled_model_path().read_bytes()[:4096])  # type: ignore[union-attr]
    with pytest.raises(BackendError, match="cannot load model"):
        list(backend_from_spec(f"local:{truncated}").generate(MESSAGES, GenerateOptions()))


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="model file not found"):
        list(backend_from_spec(f"local:{tmp_path / 'nope.gguf'}").generate(MESSAGES, GenerateOptions()))


def test_real_server_lists_the_model(server: str) -> None:
    models = httpx.get(f"{server}/models", trust_env=False).json()
    assert "smollm2" in [m["id"] for m in models["data"]]


def test_openai_backend_streams_from_a_real_server(server: str) -> None:
    backend = backend_from_spec(f"openai:smollm2@{server}")
    pieces = list(backend.generate(MESSAGES, GenerateOptions(max_tokens=24)))
    assert len(pieces) > 3 and "".join(pieces).strip()


def test_the_pipeline_over_a_real_server(server: str) -> None:
    calm = typingcure.reply([{"role": "user", "content": "Work was hard today."}], backend=f"openai:smollm2@{server}")
    assert calm["reply"] and calm["risk"]["level"] == "none"
    crisis = typingcure.reply([{"role": "user", "content": "I want to kill myself"}], profile={"country": "BR"},
                              backend=f"openai:smollm2@{server}")
    assert crisis["risk"]["level"] == "high" and "188" in crisis["reply"]


def test_cli_reply_json_against_a_real_server(server: str) -> None:
    request = {"messages": [{"role": "user", "content": "I can't sleep lately"}], "profile": {"country": "DE"}}
    done = run_cli("reply", "--json", "--backend", f"openai:smollm2@{server}", stdin=json.dumps(request))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"reply", "risk", "actions", "resources", "notes"} and out["reply"]
