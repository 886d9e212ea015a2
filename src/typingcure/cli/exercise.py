"""`typingcure exercise list | start NAME | cards`: the single-session exercises from the command line
(design/exercises.md). `start` is a chat that begins with the exercise and ends with it: the same
pipeline, so risk and the crisis protocol come first on every answer."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import load_settings
from ..errors import InputError
from ..exercises import ExerciseBook, exercise_names, listing, load_exercise
from ..pipeline import Session, build_parts
from ..roles import load_role
from ..types import Profile
from .chat import ChatUI, _keep_history
from .store_cmds import _store, write_private


@click.group("exercise")
def exercise_group() -> None:
    """Short self-guided exercises, one sitting each, ending with a card to keep."""


@exercise_group.command("list")
@click.option("--language", help="The language to show them in (e.g. fr, sw).")
def list_command(language: str | None) -> None:
    """The exercises, with how long each takes."""
    for line in listing(load_settings({"language": language}).language or "en"):
        click.echo(line)


@exercise_group.command("start")
@click.argument("name", type=click.Choice(exercise_names()))
@click.option("--backend", help="local | local:/path/model.gguf | openai:MODEL@URL | scripted:FILE")
@click.option("--country", help="Two-letter country code, for the right local services.")
@click.option("--language", help="Your language code (e.g. en, es, sw); the exercise is shown in it.")
def start_command(name: str, backend: str | None, country: str | None, language: str | None) -> None:
    """Do one exercise now: type pause, skip or stop at any step."""
    settings = load_settings({"backend": backend, "country": country, "language": language})
    session = Session(profile=Profile(country=settings.country, language=settings.language),
                      role=load_role(settings.role).name)
    parts = build_parts(settings.backend, settings)
    parts.backend.prepare()
    ui = ChatUI(session, parts, interactive=sys.stdin.isatty(), settings=settings)
    if ui.interactive and settings.history != "off":
        ui.first_screen(kept=None)
    ui.store, ui.kept = _keep_history(settings.history, session, parts)
    ui.open_exercises()
    ui.open_care()
    ui.exercise_only = True
    if ui.kept:
        ui.say(ui.kept)
    try:
        ui.command(f"/exercise {load_exercise(name).name}")
        code = ui.run(greet=False) if not ui.exercise_over() else 0
    finally:
        if ui.store is not None:
            ui.store.close()
    sys.exit(code)


@exercise_group.command("cards")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="a file to write (to print); default: stdout")
def cards_command(out: Path | None) -> None:
    """The cards your exercises made, kept with your history (asks for the passphrase)."""
    store = _store()
    try:
        book = ExerciseBook.kept_in(store)
    finally:
        store.close()
    if not book.cards:
        raise InputError("no exercise cards are kept yet (each exercise ends with one, kept when history is on)")
    text = "\n".join(card.text() for card in book.cards)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        write_private(out, text)
    except OSError as exc:
        raise InputError(f"cannot write {out} ({exc.strerror}); nothing was written") from None
    click.echo(f"written to {out}", err=True)
