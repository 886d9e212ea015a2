"""A model whose replies are written in advance: for tests, demos and evaluations.

    backend = ScriptedBackend(["I hear you.", "Tell me more."])
    ...run a turn...
    backend.calls[-1]   # the messages the pipeline sent

`scripted:FILE` reads a JSON or YAML file: a list of replies, or
`{"replies": [...], "cycle": true}`. A reply may be `{"error": "text"}` to make that call fail
as a real server would. Replies are streamed a word at a time.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from pathlib import Path
from collections.abc import Iterator, Sequence

import yaml

from .. import _yaml
from ..errors import BackendError, ConfigError
from ..types import Message
from . import GenerateOptions

Reply = str | dict[str, str]


class ScriptedBackend:
    remote = False
    languages: frozenset[str] | None = None

    def __init__(self, replies: Sequence[Reply] = (), *, cycle: bool = False, capable: bool = False,
                 delay: float = 0.0) -> None:
        self.spec = "scripted"
        self.capable = capable  # a test can play a capable model, whose words are used at moderate risk
        self.delay = delay  # seconds before each word: a slow model, for the time limit
        self._script: list[Reply] = list(replies)
        self._queue: deque[Reply] = deque(replies)
        self.cycle = cycle
        self.calls: list[list[Message]] = []

    def enqueue(self, *replies: Reply) -> None:
        self._script.extend(replies)
        self._queue.extend(replies)

    def prepare(self) -> None:
        """Nothing to load before the first message."""

    def generate(self, messages: Sequence[Message], options: GenerateOptions) -> Iterator[str]:
        self.calls.append(list(messages))
        if not self._queue and self.cycle and self._script:
            self._queue.extend(self._script)
        if not self._queue:
            raise BackendError("the scripted backend has no replies left")
        reply = self._queue.popleft()
        if isinstance(reply, dict):
            raise BackendError(f"scripted failure: {reply.get('error', 'error')}")
        for word in re.findall(r"\S+\s*|\s+", reply):
            if self.delay:
                time.sleep(self.delay)
            yield word


MAX_SCRIPT_BYTES = 10_000_000


def load_script(path: str | Path) -> ScriptedBackend:
    path = Path(path)
    try:
        # Only a plain file of a sensible size: /dev/zero or a huge log would never finish reading.
        if path.exists() and (not path.is_file() or path.stat().st_size > MAX_SCRIPT_BYTES):
            raise ConfigError(f"scripted backend file {path} must be a plain file of at most {MAX_SCRIPT_BYTES // 1_000_000} MB")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"scripted backend file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read scripted backend file {path}: {exc}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else _yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"scripted backend file {path} is not valid JSON/YAML: {exc}") from None
    cycle, capable, delay = False, False, 0.0
    if isinstance(data, dict):
        cycle, capable = bool(data.get("cycle", False)), bool(data.get("capable", False))
        try:
            delay = max(0.0, float(data.get("delay", 0.0) or 0.0))
        except (TypeError, ValueError):
            raise ConfigError(f"scripted backend file {path}: delay must be a number of seconds") from None
        data = data.get("replies")
    if not isinstance(data, list) or not all(isinstance(r, (str, dict)) for r in data):
        raise ConfigError(f"scripted backend file {path} must hold a list of replies (strings)")
    return ScriptedBackend(data, cycle=cycle, capable=capable, delay=delay)
