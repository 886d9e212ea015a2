"""`models list` and `models pull`: offline failure, checksums, and never a partial file."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path
from typing import Iterator

import pytest

from typingcure.backends.catalogue import catalogue, installed_models, models_dir, pull
from typingcure.errors import ConfigError, DownloadError

from .conftest import free_port, run_cli

FAKE = b"GGUF" + b"\x00" * 4096


@pytest.fixture
def hub() -> Iterator[tuple[str, dict]]:
    """A tiny stand-in hub on 127.0.0.1 that serves every file as FAKE with a chosen checksum header."""
    state = {"etag": hashlib.sha256(FAKE).hexdigest(), "status": 200, "cut": False}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(state["status"])
            self.send_header("X-Linked-Etag", f'"{state["etag"]}"')
            self.send_header("Content-Length", str(len(FAKE)))
            self.end_headers()
            self.wfile.write(FAKE[: len(FAKE) // 2] if state["cut"] else FAKE)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()


def leftovers() -> list[Path]:
    return list(models_dir().glob("*")) if models_dir().exists() else []


def test_pull_offline_fails_clearly_and_leaves_nothing() -> None:
    with pytest.raises(DownloadError, match="works offline with the bundled model"):
        pull("qwen2.5-1.5b-instruct", endpoint=f"http://127.0.0.1:{free_port()}")
    assert leftovers() == []


def test_pull_verifies_and_saves(hub: tuple[str, dict]) -> None:
    url, _ = hub
    path = pull("qwen2.5-1.5b-instruct", endpoint=url)
    assert path.read_bytes() == FAKE and [p.name for p in leftovers()] == [path.name]
    assert any(m.spec == "local:qwen2.5-1.5b-instruct" for m in installed_models())  # used by name


@pytest.mark.parametrize("change", [{"etag": "0" * 64}, {"etag": "not-a-sha"}, {"status": 404}, {"cut": True}])
def test_pull_refuses_bad_downloads_and_leaves_nothing(hub: tuple[str, dict], change: dict) -> None:
    url, state = hub
    state.update(change)
    with pytest.raises(DownloadError):
        pull("llama-3.2-3b-instruct", endpoint=url)
    assert leftovers() == []


def test_pull_unknown_name() -> None:
    with pytest.raises(ConfigError, match="unknown model"):
        pull("gpt-17")


def test_cli_models_list_and_offline_pull() -> None:
    listed = run_cli("models", "list")
    assert listed.returncode == 0
    text = listed.stdout.decode()
    assert "smollm2-135m-instruct" in text and all(e.name in text for e in catalogue())
    pulled = run_cli("models", "pull", "qwen2.5-1.5b-instruct", env={"TYPINGCURE_HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"})
    assert pulled.returncode == 4 and b"cannot download" in pulled.stderr and b"Traceback" not in pulled.stderr
    assert leftovers() == []
