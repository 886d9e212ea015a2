"""`typingcure assess --jsonl`: risk for each line, written as soon as it is ready.

A line that cannot be read (not UTF-8, not JSON, no "text") gets an error line with its id and
the stream goes on; the exit code is 2 when any line failed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..api import assess, default_assessor
from ..errors import InputError
from ._io import decode, parse_json, read_stdin_bytes, write_json


def _history_entry(entry: Any) -> bool:
    if isinstance(entry, str):
        return True
    return (isinstance(entry, dict) and set(entry) == {"role", "content"}
            and entry["role"] in ("user", "assistant") and isinstance(entry["content"], str))


def _record(raw: bytes, number: int) -> dict[str, Any]:
    text = decode(raw, f"line {number}")
    data = parse_json(text, f"line {number}")
    if not isinstance(data, dict):
        raise InputError(f"line {number} is not a JSON object")
    if not isinstance(data.get("text"), str):
        raise InputError(f"line {number} has no 'text' string")
    history = data.get("history") or []
    if not isinstance(history, list) or not all(_history_entry(h) for h in history):
        raise InputError(f"line {number}: 'history' must be a list of strings or "
                         '{"role": "user" | "assistant", "content": "..."} objects')
    return data


@click.command("assess")
@click.option("--jsonl", is_flag=True, help="Read JSON lines {id, text, history?} and write one result per line.")
def assess_command(jsonl: bool) -> None:
    """Assess risk: JSON lines with --jsonl, else the whole of stdin as one message."""
    if not jsonl:
        result = assess(decode(read_stdin_bytes()))
        write_json(result)
        return
    default_assessor()  # load before the first line so every line answers at the same speed
    failures = 0
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        if not raw.strip():
            continue
        ident: Any = None
        try:
            record = _record(raw, number)
            ident = record.get("id")
            result = assess(record["text"], record.get("history") or [])
            write_json({"id": ident, **result})
        except InputError as exc:
            failures += 1
            write_json({"id": ident, "error": exc.message})
    if failures:
        sys.stderr.write(f"typingcure: {failures} line(s) could not be assessed (see their error lines)\n")
        sys.exit(2)
