"""Models served by Ollama on this machine: `ollama:NAME`.

    ollama_models()            # ["llama3.2:3b", ...] when a server answers, else []
    make_ollama("llama3.2:3b") # an OpenAI-compatible backend at <server>/v1

The server is TYPINGCURE_OLLAMA_URL (default http://127.0.0.1:11434). Looking for it is quick
(half a second at most) and silent when nothing answers: Ollama is optional. A server on this
machine is not remote (nothing leaves it), so personal details are not replaced before sending;
one on another host is remote like any `openai:` server.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import httpx

from ..errors import ConfigError
from .openai import OpenAIBackend

DEFAULT_URL = "http://127.0.0.1:11434"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def ollama_url() -> str:
    return (os.environ.get("TYPINGCURE_OLLAMA_URL") or DEFAULT_URL).rstrip("/")


def ollama_models(url: str | None = None, timeout: float = 0.5) -> list[str]:
    """The models an Ollama server has, or [] when none answers (or answers nonsense)."""
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.get(f"{url or ollama_url()}/api/tags")
        if response.status_code != 200:
            return []
        names = [m.get("name") for m in response.json().get("models", []) if isinstance(m, dict)]
    except (httpx.HTTPError, ValueError, AttributeError):
        return []
    return sorted(n for n in names if isinstance(n, str) and n)


def make_ollama(target: str | None, timeout: float = 60.0) -> OpenAIBackend:
    if not target:
        raise ConfigError("an Ollama backend needs a model name: ollama:NAME (typingcure models list shows them)")
    url = ollama_url()
    backend = OpenAIBackend(target, f"{url}/v1", timeout=timeout)
    backend.remote = (urlparse(url).hostname or "") not in LOOPBACK  # type: ignore[misc]
    return backend
