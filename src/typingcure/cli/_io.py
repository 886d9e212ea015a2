"""Reading stdin kindly: size limits, strict UTF-8, JSON with a clear message."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..errors import InputError

MAX_STDIN_BYTES = 8 * 1024 * 1024


def read_stdin_bytes(limit: int = MAX_STDIN_BYTES) -> bytes:
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"input is larger than {limit // (1024 * 1024)} MB")
    return data


def decode(data: bytes, what: str = "input") -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not valid UTF-8 text (byte {exc.start})") from None


def parse_json(text: str, what: str = "input") -> Any:
    if not text.strip():
        raise InputError(f"{what} is empty: expected a JSON object")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None


def write_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
