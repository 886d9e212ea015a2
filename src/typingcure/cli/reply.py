"""`typingcure reply --json`: one aligned reply, as the public contract promises (DESIGN.md)."""

from __future__ import annotations

import sys

import click

from ..api import parse_reply_request, reply_to
from ..config import load_settings
from ..pipeline import build_parts
from ._io import decode, parse_json, read_stdin_bytes, write_json


@click.command("reply")
@click.option("--json", "as_json", is_flag=True, help="Read a JSON request on stdin and write a JSON reply.")
@click.option("--backend", help="local | local:/path/model.gguf | openai:MODEL@URL | scripted:FILE")
@click.option("--role", help="listener | journal (plain-text mode only; JSON requests carry their own role).")
@click.option("--country", help="Two-letter country code for local services (plain-text mode only).")
def reply_command(as_json: bool, backend: str | None, role: str | None, country: str | None) -> None:
    """Reply to one message read from stdin (plain text, or the JSON contract with --json)."""
    text = decode(read_stdin_bytes())
    if as_json:
        request = parse_reply_request(parse_json(text))
    else:
        request = parse_reply_request({"messages": [{"role": "user", "content": text}], "role": role,
                                       "profile": {"country": country}})
    settings = load_settings({"backend": backend, "role": role})
    result = reply_to(request, build_parts(settings.backend, settings), settings)
    if as_json:
        write_json(result)
    else:
        sys.stdout.write(result["reply"] + "\n")
