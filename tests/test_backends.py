"""Backends: the scripted one, the OpenAI-compatible one against httpx.MockTransport, the spec parser."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from typingcure import BackendError, ConfigError, GenerateOptions, Message, backend_from_spec
from typingcure.backends import parse_spec
from typingcure.backends.openai import OpenAIBackend, parse_target
from typingcure.backends.scripted import load_script

MESSAGES = [Message("system", "be kind"), Message("user", "hello")]
OPTIONS = GenerateOptions(max_tokens=20)


def sse(*pieces: str) -> bytes:
    lines = [f"data: {json.dumps({'choices': [{'delta': {'content': p}}]})}\n\n" for p in pieces]
    return ("".join(lines) + "data: [DONE]\n\n").encode()


def backend_with(handler, **kwargs) -> OpenAIBackend:  # type: ignore[no-untyped-def]
    return OpenAIBackend("m", "http://127.0.0.1:9/v1", transport=httpx.MockTransport(handler), backoff=0, **kwargs)


def test_openai_streams_server_sent_events() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["body"] = json.loads(request.content)
        seen["auth"] = request.headers.get("authorization")
        return httpx.Response(200, content=sse("Hel", "lo", " there."), headers={"content-type": "text/event-stream"})

    out = "".join(backend_with(handler, api_key="k").generate(MESSAGES, OPTIONS))
    assert out == "Hello there."
    assert seen["url"] == "http://127.0.0.1:9/v1/chat/completions"
    assert seen["body"]["stream"] is True and seen["body"]["messages"][1] == {"role": "user", "content": "hello"}
    assert seen["auth"] == "Bearer k"


def test_openai_accepts_a_plain_json_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"message": {"content": "Whole reply."}}]})

    assert "".join(backend_with(handler).generate(MESSAGES, OPTIONS)) == "Whole reply."


def test_openai_retries_a_busy_server_then_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(503, json={"error": {"message": "busy"}})
        return httpx.Response(200, content=sse("ok"), headers={"content-type": "text/event-stream"})

    assert "".join(backend_with(handler).generate(MESSAGES, OPTIONS)) == "ok"
    assert len(calls) == 3


def test_openai_gives_up_after_bounded_retries() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, json={"error": {"message": "overloaded"}})

    with pytest.raises(BackendError, match="503: overloaded"):
        list(backend_with(handler, retries=2).generate(MESSAGES, OPTIONS))
    assert len(calls) == 3


def test_openai_reports_an_error_answer_clearly() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": {"message": "model 'm' not found"}})

    with pytest.raises(BackendError, match="answered 404: model 'm' not found"):
        list(backend_with(handler).generate(MESSAGES, OPTIONS))


@pytest.mark.parametrize("body", [b"data: {not json}\n\n", b'data: {"choices": 3}\n\n', b'data: {"error": {"message": "oom"}}\n\n'])
def test_openai_malformed_streams_are_errors(body: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    with pytest.raises(BackendError):
        list(backend_with(handler).generate(MESSAGES, OPTIONS))


def test_openai_unreachable_server_is_a_clear_error() -> None:
    from tests.conftest import free_port

    backend = OpenAIBackend("m", f"http://127.0.0.1:{free_port()}/v1", backoff=0, retries=1)
    with pytest.raises(BackendError, match=r"cannot reach the model server .* \(connection refused\)"):
        list(backend.generate(MESSAGES, OPTIONS))


def test_openai_timeout_is_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(BackendError, match="did not answer in time"):
        list(backend_with(handler).generate(MESSAGES, OPTIONS))


@pytest.mark.parametrize(
    "spec, expected",
    [("local", ("local", None)), ("local:/m.gguf", ("local", "/m.gguf")),
     ("openai:llama3:8b@http://127.0.0.1:11434/v1", ("openai", "llama3:8b@http://127.0.0.1:11434/v1"))],
)
def test_specs(spec: str, expected: tuple) -> None:
    assert parse_spec(spec) == expected


def test_model_names_may_hold_colons_and_at_signs() -> None:
    assert parse_target("org/m@v2@http://127.0.0.1:1/v1") == ("org/m@v2", "http://127.0.0.1:1/v1")


@pytest.mark.parametrize("spec", ["", "nonsense", "openai:", "openai:model", "openai:m@ftp://x"])
def test_bad_specs_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        backend_from_spec(spec)


def test_scripted_file_cycles_and_records(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("replies: [one, two]\ncycle: true\n")
    backend = load_script(path)
    outs = ["".join(backend.generate(MESSAGES, OPTIONS)) for _ in range(3)]
    assert outs == ["one", "two", "one"] and len(backend.calls) == 3


@pytest.mark.parametrize("content", ["{not json", '{"replies": 3}', "[1, 2]"])
def test_scripted_bad_files_are_config_errors(tmp_path: Path, content: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(ConfigError):
        load_script(path)


def test_scripted_runs_out_loudly() -> None:
    backend = backend_from_spec("scripted")
    with pytest.raises(BackendError, match="no replies left"):
        list(backend.generate(MESSAGES, OPTIONS))
