"""Shared fixtures: a private user directory per test, no network beyond loopback, and helpers."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from typingcure.backends.local import bundled_model_path

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    else:
        return True  # unix sockets
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to an address other than loopback fails the test."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise AssertionError(f"a test tried to reach {address!r}: tests stay on 127.0.0.1")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise AssertionError(f"a test tried to reach {address!r}: tests stay on 127.0.0.1")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own user directory and a clean TYPINGCURE_* environment."""
    for name in list(os.environ):
        if name.startswith("TYPINGCURE_"):
            monkeypatch.delenv(name)
    path = tmp_path / "home"
    monkeypatch.setenv("TYPINGCURE_HOME", str(path))
    return path


needs_model = pytest.mark.skipif(bundled_model_path() is None, reason="bundled model not installed (scripts/bootstrap)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, stdin: bytes | str = b"", env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m typingcure ARGS` with the test's environment (its own TYPINGCURE_HOME)."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "typingcure", *args], input=data, capture_output=True,
                          env=full_env, timeout=timeout, check=False)


def write_script(path: Path, replies: list[Any]) -> str:
    path.write_text(json.dumps(replies), encoding="utf-8")
    return f"scripted:{path}"
