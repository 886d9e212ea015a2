"""`typingcure history | export | forget | wipe | passphrase`: the person's data, in their hands."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path

import click

from ..config import user_dir
from ..errors import InputError
from ..store import (KEY_NAME, KeyFile, LockedError, open_store, passphrase_from_env, skipped_note, to_markdown, wipe,
                     write_private)

FIRST_TIME = """Your conversations will be kept on this computer, encrypted with a passphrase only you know.
If you lose the passphrase, the history cannot be recovered by anyone, including you.
To keep nothing at all, set history = "off" (TYPINGCURE_HISTORY=off)."""


def ask_passphrase(*, new: bool = False) -> str | None:
    """The passphrase from TYPINGCURE_PASSPHRASE, else asked on the terminal; None when neither is possible."""
    secret = passphrase_from_env()
    if secret:
        return secret
    if not sys.stdin.isatty():
        return None
    if new:
        click.echo(FIRST_TIME, err=True)
        first = getpass.getpass("Choose a passphrase: ")
        if first != getpass.getpass("Type it again: "):
            raise InputError("the two passphrases were different; nothing was set up")
        return first
    return getpass.getpass("Passphrase: ")


def _store():  # type: ignore[no-untyped-def]
    if not KeyFile(user_dir() / KEY_NAME).exists():
        raise InputError(f"nothing is stored in {user_dir()}")
    secret = ask_passphrase()
    if not secret:
        raise LockedError("a passphrase is needed (type it in a terminal, or set TYPINGCURE_PASSPHRASE)")
    store = open_store(secret, create=False)
    for note in store.notes:  # what opening fixed (files others could read, a half-written key)
        click.echo(f"typingcure: {note}", err=True)
    return store


@click.command("history")
def history_command() -> None:
    """List the kept conversations (their ids are what `forget` takes)."""
    store = _store()
    try:
        for c in store.conversations():
            click.echo(f"{c.id}  {datetime.fromtimestamp(c.updated):%Y-%m-%d %H:%M}  {c.turns:>4} turns  {c.role}")
    finally:
        store.close()


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "markdown"]), default="markdown", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="a file to write; default: stdout")
def export_command(fmt: str, out: Path | None) -> None:
    """Everything kept, readable: conversations, safety plan, profile."""
    store = _store()
    try:
        data = store.export()
    finally:
        store.close()
    text = json.dumps(data, indent=2, ensure_ascii=False) if fmt == "json" else to_markdown(data)
    note = skipped_note(data)
    if note:
        click.echo(f"typingcure: {note}", err=True)
    if out is None:
        click.echo(text)
        return
    try:
        write_private(out, text)  # plaintext: 0600, like the store it came from
    except OSError as exc:
        raise InputError(f"cannot write {out} ({exc.strerror}); nothing was written") from None
    click.echo(f"written to {out}", err=True)


@click.command("forget")
@click.argument("conversation")
def forget_command(conversation: str) -> None:
    """Delete one conversation for good (its key too)."""
    store = _store()
    try:
        store.forget(conversation)
    finally:
        store.close()
    click.echo(f"forgot {conversation}")


@click.command("wipe")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def wipe_command(yes: bool) -> None:
    """Destroy the key and every stored file: nothing can be recovered afterwards."""
    if not yes:
        if not sys.stdin.isatty():
            raise InputError("wipe deletes everything for good; add --yes to confirm")
        click.confirm(f"Delete everything typingcure kept in {user_dir()}, for good?", abort=True)
    removed = wipe(user_dir())
    click.echo("wiped: " + (", ".join(removed) if removed else "nothing was stored"))


@click.command("passphrase")
def passphrase_command() -> None:
    """Change the passphrase (the data key is re-wrapped; nothing is re-encrypted)."""
    keys = KeyFile(user_dir() / KEY_NAME)
    if not keys.exists():
        raise InputError("nothing is stored yet")
    if not sys.stdin.isatty():
        raise InputError("changing the passphrase needs a terminal")
    old = getpass.getpass("Current passphrase: ")
    new = getpass.getpass("New passphrase: ")
    if new != getpass.getpass("Type the new one again: "):
        raise InputError("the two new passphrases were different; nothing was changed")
    keys.change(old, new)
    click.echo("passphrase changed")
