"""Shared fixtures: a private user directory per test, no network beyond loopback, and helpers."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx

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


def serving(backend: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`typingcure serve` in its own process on a free loopback port: yields its address once /healthz answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "typingcure", "serve", "--port", str(port), "--backend", backend],
                            env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{url}/healthz", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def write_script(path: Path, replies: list[Any]) -> str:
    path.write_text(json.dumps(replies), encoding="utf-8")
    return f"scripted:{path}"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server, serving the bundled model on loopback."""
    port = free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w+b")  # a pipe would fill and block it
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model_path()), "--model_alias", "smollm2",
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
         "--interrupt_requests", "False"],  # queue concurrent requests instead of cutting earlier ones off
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llama_cpp.server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start within 90 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()




@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL server for this test run (store/pgtemp.py: Debian's postgresql package,
    which scripts/bootstrap --test installs), on a Unix socket in a temporary folder: no TCP port at all."""
    from typingcure.store.pgtemp import postgres_bin, private_postgres

    if postgres_bin("initdb") is None:
        pytest.fail("PostgreSQL is not installed (scripts/bootstrap --test installs Debian's postgresql)")
    with private_postgres() as url:
        yield url


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    """A new, empty database on the test run's PostgreSQL server, dropped afterwards."""
    import psycopg

    from typingcure.store.postgres import close_pools

    name = f"t_{os.urandom(6).hex()}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = postgres_url.replace("/postgres?", f"/{name}?")
    try:
        yield url
    finally:
        close_pools(url)
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
