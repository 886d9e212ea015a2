"""The default plugin: typingcure's own backends, registered through the same door as anyone's.

Importing this module registers the built-in assessor, policy, guards and backends. A backend's
heavy dependencies (llama_cpp, httpx) are imported only when that backend is made.
"""

from __future__ import annotations

from .registry import register
from .evals import scorers  # noqa: F401 - registers the scorers
from .safety import assess, decide, guards  # noqa: F401 - these register themselves


@register("backend", "local")
def local(target: str | None = None, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    """A GGUF model run on this machine by llama-cpp-python (default: the bundled model)."""
    from .backends.local import make_local

    return make_local(target)


@register("backend", "openai")
def openai(target: str | None = None, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    """Any OpenAI-compatible chat server: openai:MODEL@URL."""
    from .backends.openai import OpenAIBackend, parse_target

    model, url = parse_target(target)
    return OpenAIBackend(model, url, timeout=timeout)


@register("backend", "ollama")
def ollama(target: str | None = None, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    """A model an Ollama server on this machine serves: ollama:NAME."""
    from .backends.ollama import make_ollama

    return make_ollama(target, timeout=timeout)


@register("backend", "scripted")
def scripted(target: str | None = None, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    """Replies written in advance, from a JSON or YAML file: scripted:FILE."""
    from .backends.scripted import ScriptedBackend, load_script

    return load_script(target) if target else ScriptedBackend()
