"""Reading stdin kindly: size limits, strict UTF-8, JSON with a clear message.

Whatever arrives, the answer is an `InputError` with one line that says what is wrong, never a
traceback: JSON nested past Python's recursion limit, `NaN`, numbers too large to hold, a lone
surrogate (`"\\ud800"`, valid JSON syntax but not a character) and text made only of invisible
characters are all bad input here.
"""

from __future__ import annotations

import json
import math
import sys
from typing import IO, Any
from collections.abc import Iterator

from ..errors import InputError
from .._text import is_blank  # noqa: F401 - re-exported for the CLI

MAX_STDIN_BYTES = 8 * 1024 * 1024
MAX_NUMBER_DIGITS = 4300  # Python's own limit for turning digits into an int

def read_stdin_bytes(limit: int = MAX_STDIN_BYTES) -> bytes:
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"input is larger than {limit // (1024 * 1024)} MB")
    return data


def read_lines(stream: IO[bytes], limit: int = MAX_STDIN_BYTES) -> Iterator[bytes | None]:
    """Each line as it arrives; None for a line longer than `limit` (the rest of it is skipped)."""
    while line := stream.readline(limit + 1):
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
            pass
        yield None


def decode(data: bytes, what: str = "input") -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not valid UTF-8 text (byte {exc.start})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:20]} is too large")
    return number


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number with {len(text):,} digits is too long")
    return int(text)


def load_json(text: str) -> Any:
    """`json.loads`, strict: no NaN or Infinity, no number too large to hold. Raises ValueError or RecursionError."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite, parse_int=_integer)


def parse_json(text: str, what: str = "input") -> Any:
    if not text.strip():
        raise InputError(f"{what} is empty: expected a JSON object")
    try:
        return load_json(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:
        raise InputError(f"{what} is not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply to read (arrays or objects inside each other "
                         f"about {sys.getrecursionlimit():,} levels down)") from None


def reject_surrogates(data: Any, what: str = "input") -> None:
    """Raise InputError when any string in `data` (keys too) holds a lone surrogate. Iterative: any depth."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            bad = next((ch for ch in value if "\ud800" <= ch <= "\udfff"), None)
            if bad is not None:
                place = f" at {where}" if where else ""
                raise InputError(f"{what} holds a lone surrogate (\\u{ord(bad):04x}){place}, which is not a character: "
                                 "send the text as UTF-8")
        elif isinstance(value, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
            stack.extend((f"{where} (a key)" if where else "a key", k) for k in value)
        elif isinstance(value, list):
            stack.extend((f"{where}.{i}" if where else str(i), v) for i, v in enumerate(value))


def write_json(obj: object) -> None:
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in an id: written as the \u escape it came as
        text = json.dumps(obj)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
