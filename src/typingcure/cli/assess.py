"""`typingcure assess --jsonl`: risk for each line, written as soon as it is ready.

A line that cannot be read (not UTF-8, not JSON, no "text", a lone surrogate, longer than 8 MB)
gets an error line, with its id whenever the id can be read, and the stream goes on; the exit
code is 2 when any line failed. No input at all is bad input too (exit 2). A text of only
invisible characters is read as empty.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..api import assess, default_assessor
from ..errors import InputError
from ._io import (MAX_NUMBER_DIGITS, MAX_STDIN_BYTES, decode, is_blank, parse_json, read_lines, read_stdin_bytes,
                  reject_surrogates, write_json)

EXAMPLE = '{"id": 1, "text": "..."}'


def _history_entry(entry: Any) -> bool:
    if isinstance(entry, str):
        return True
    return (isinstance(entry, dict) and set(entry) == {"role", "content"}
            and entry["role"] in ("user", "assistant") and isinstance(entry["content"], str))


def _parse(raw: bytes | None, number: int) -> Any:
    if raw is None:
        raise InputError(f"line {number} is longer than {MAX_STDIN_BYTES // (1024 * 1024)} MB")
    return parse_json(decode(raw, f"line {number}"), f"line {number}")


def _record(data: Any, number: int) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InputError(f"line {number} is not a JSON object like {EXAMPLE}")
    if not isinstance(data.get("text"), str):
        raise InputError(f"line {number} has no 'text' string")
    history = data.get("history") or []
    if not isinstance(history, list) or not all(_history_entry(h) for h in history):
        raise InputError(f"line {number}: 'history' must be a list of strings or "
                         '{"role": "user" | "assistant", "content": "..."} objects')
    reject_surrogates({"text": data["text"], "history": history}, f"line {number}")
    return data


def _readable_id(raw: bytes | None) -> Any:
    """The line's id when it can be read despite the line's fault (bad bytes elsewhere in it), else None."""
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8", "surrogateescape"), parse_constant=lambda _name: None,
                          parse_int=lambda digits: int(digits) if len(digits) <= MAX_NUMBER_DIGITS else None)
        ident = data.get("id") if isinstance(data, dict) else None
        reject_surrogates(ident)  # a byte that was not UTF-8 inside the id itself: not the input's id
        return ident
    except (ValueError, RecursionError, InputError):
        return None


@click.command("assess")
@click.option("--jsonl", is_flag=True, help="Read JSON lines {id, text, history?} and write one result per line.")
def assess_command(jsonl: bool) -> None:
    """Assess risk: JSON lines with --jsonl, else the whole of stdin as one message."""
    if not jsonl:
        text = decode(read_stdin_bytes())
        if is_blank(text):
            raise InputError("input is empty: expected the text to assess on stdin")
        write_json(assess(text))
        return
    default_assessor()  # load before the first line so every line answers at the same speed
    lines = failures = 0
    for number, raw in enumerate(read_lines(sys.stdin.buffer), start=1):
        if raw is not None and not raw.strip():
            continue
        lines += 1
        ident: Any = None
        try:
            data = _parse(raw, number)
            ident = data.get("id") if isinstance(data, dict) else None
            record = _record(data, number)
            text = "" if is_blank(record["text"]) else record["text"]
            write_json({"id": ident, **assess(text, record.get("history") or [])})
        except InputError as exc:
            failures += 1
            write_json({"id": ident if ident is not None else _readable_id(raw), "error": exc.message})
    if not lines:
        raise InputError(f"no input: expected JSON lines such as {EXAMPLE} on stdin")
    if failures:
        sys.stderr.write(f"typingcure: {failures} line{'' if failures == 1 else 's'} could not be assessed (see their error lines)\n")
        sys.exit(2)
