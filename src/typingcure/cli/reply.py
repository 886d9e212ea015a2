"""`typingcure reply --json`: one aligned reply, as the public contract promises (DESIGN.md).

Bad input (not JSON, the wrong shape, a lone surrogate, a message of only invisible characters,
an unknown country) is one line on stderr and exit 2, before any model is made.
"""

from __future__ import annotations

import sys

import click

from ..api import ReplyRequest, parse_reply_request, reply_to
from ..config import country_code, load_settings
from ..errors import InputError
from ..pipeline import build_parts
from ._io import decode, is_blank, parse_json, read_stdin_bytes, reject_surrogates, write_json


@click.command("reply")
@click.option("--json", "as_json", is_flag=True, help="Read a JSON request on stdin and write a JSON reply.")
@click.option("--backend", help="local | local:/path/model.gguf | openai:MODEL@URL | scripted:FILE")
@click.option("--role", help="listener | journal | coach | rehearsal | meaning | info (plain-text mode only; JSON requests carry their own role).")
@click.option("--country", help="Two-letter country code for local services (plain-text mode only).")
def reply_command(as_json: bool, backend: str | None, role: str | None, country: str | None) -> None:
    """Reply to one message read from stdin (plain text, or the JSON contract with --json)."""
    try:
        country_code(country)
    except InputError as exc:
        raise InputError(f"--country: {exc.message}") from None
    text = decode(read_stdin_bytes())
    if as_json:
        data = parse_json(text)
        reject_surrogates(data, "the request")
        request = checked(parse_reply_request(data))
    else:
        request = checked(parse_reply_request({"messages": [{"role": "user", "content": text}], "role": role,
                                               "profile": {"country": country}}))
    settings = load_settings({"backend": backend, "role": role})
    result = reply_to(request, build_parts(settings.backend, settings), settings)
    if as_json:
        write_json(result)
    else:
        sys.stdout.write(result["reply"] + "\n")


def checked(request: ReplyRequest) -> ReplyRequest:
    """What the request model lets through but a reply cannot use: an invisible message, an unknown country."""
    if is_blank(request.messages[-1].content):
        raise InputError("the message is empty: type something, even a single word")
    try:
        country_code(request.profile.country)
    except InputError as exc:
        raise InputError(f"invalid request at profile.country: {exc.message}") from None
    return request
