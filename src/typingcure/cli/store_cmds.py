"""`typingcure history | export | forget | wipe | passphrase`: the person's data, in their hands.

Also where a passphrase is asked for: `open_history()` for the chat, `_store()` for these commands.
A passphrase from TYPINGCURE_PASSPHRASE gets one try (a wrong one is exit 5); one typed in a
terminal gets three (design/terminal.md).
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Literal

import click

from ..config import user_dir
from ..errors import InputError
from ..store import (LockedError, Store, history_at, open_store, passphrase_from_env, skipped_note,
                     to_markdown, write_private)

FIRST_TIME = """Keep your history? It is kept on this computer, encrypted with a passphrase you choose.
If you lose the passphrase, nobody can recover the history, not even you.
To keep nothing and not be asked again, set history = "off" (TYPINGCURE_HISTORY=off)."""

TRIES = 3
SKIP = "or press Enter to continue without keeping anything"

NotKept = Literal["no terminal", "skipped", "wrong three times", "different three times"]
"""Why the chat keeps nothing this time: no passphrase could be asked for, the person pressed Enter
alone, the passphrase did not open the history three times, or the new one was typed differently three times."""


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _typed(prompt: str) -> str:
    """A passphrase typed on the terminal, not echoed; Ctrl-D is the same as Enter alone."""
    try:
        return getpass.getpass(prompt)
    except EOFError:
        click.echo("", err=True)
        return ""


def choose_passphrase() -> str | None:
    """A new passphrase, typed twice; None for Enter alone. Two different entries get another try,
    three times; then InputError."""
    click.echo(FIRST_TIME, err=True)
    for left in reversed(range(TRIES)):
        first = _typed(f"Choose a passphrase, {SKIP}: ")
        if not first:
            return None
        if first == _typed("Type it again: "):
            return first
        if left:
            click.echo(f"The two were different; try again ({_plural(left, 'try', 'tries')} left).", err=True)
    raise InputError(f"the two passphrases were different {TRIES} times; nothing was set up")


def unlock(prompt: str) -> Store | None:
    """Open the existing store with a passphrase typed on the terminal: three tries, None for Enter
    alone, LockedError after the third wrong one."""
    for left in reversed(range(TRIES)):
        secret = _typed(prompt)
        if not secret:
            return None
        try:
            return open_store(secret, create=False)
        except LockedError:
            if not left:
                raise
            click.echo(f"That passphrase did not open your history ({_plural(left, 'try', 'tries')} left).", err=True)
    return None  # not reached: the last wrong try raised


def open_history() -> tuple[Store | None, NotKept | None]:
    """The chat's store, or why there is none. From TYPINGCURE_PASSPHRASE when it is set (one try:
    a wrong one is LockedError, exit 5); else asked in a terminal, where Enter alone keeps nothing and
    three wrong tries keep nothing too, so the conversation can still go on."""
    secret = passphrase_from_env()
    if secret:
        return open_store(secret), None
    if not sys.stdin.isatty():
        return None, "no terminal"
    if not history_at(user_dir()).exists():
        try:
            secret = choose_passphrase()
        except InputError:
            return None, "different three times"
        return (open_store(secret), None) if secret else (None, "skipped")
    try:
        store = unlock(f"Passphrase, {SKIP}: ")
    except LockedError:
        return None, "wrong three times"
    return (store, None) if store is not None else (None, "skipped")


def _store() -> Store:
    where = history_at(user_dir())
    if not where.exists():
        raise InputError(f"nothing is stored in {where.shown}")
    secret = passphrase_from_env()
    if secret:
        store: Store | None = open_store(secret, create=False)  # one try: a wrong one is exit 5, for scripts
    else:
        store = unlock("Passphrase: ") if sys.stdin.isatty() else None
    if store is None:
        raise LockedError("a passphrase is needed (type it in a terminal, or set TYPINGCURE_PASSPHRASE)")
    for note in store.notes:  # what opening fixed (files others could read, a half-written key)
        click.echo(f"typingcure: {note}", err=True)
    return store


@click.command("history")
def history_command() -> None:
    """List the kept conversations (their ids are what `forget` takes)."""
    store = _store()
    try:
        for c in store.conversations():
            turns = _plural(c.turns, "turn", "turns")
            click.echo(f"{c.id}  {datetime.fromtimestamp(c.updated):%Y-%m-%d %H:%M}  {turns:>10}  {c.role}")
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
        click.confirm(f"Delete everything typingcure kept in {history_at(user_dir()).shown}, for good?", abort=True)
    removed = history_at(user_dir()).wipe()
    click.echo("wiped: " + (", ".join(removed) if removed else "nothing was stored"))


@click.command("passphrase")
def passphrase_command() -> None:
    """Change the passphrase (the data key is re-wrapped; nothing is re-encrypted)."""
    keys = history_at(user_dir())
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
