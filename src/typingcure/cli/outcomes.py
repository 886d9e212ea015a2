"""`typingcure outcomes`: the person's own outcomes and check-ins, kept with their history
(design/care.md). In their words only: no labels, no scores of ours.

    typingcure outcomes                                   # what they wrote, and the last check-ins
    typingcure outcomes set --distress "I stay in bed" --better "I see a friend" --cadence weekly
    typingcure outcomes checkin 7 3                       # one number (0-10) per entry, in order; or --skip
    typingcure outcomes --plot out.svg --csv out.csv      # the chart (SVG, drawn here) and the CSV
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from ..care import plain_error
from ..care.outcomes import CADENCES, Outcomes, chart_svg, csv_text, score_of
from ..errors import InputError
from ..api import default_assessor
from ..pipeline import Session, assess_safely
from ..config import load_settings
from ..types import at_least
from .store_cmds import _store, write_private


def _write(path: Path, text: str) -> None:
    try:
        write_private(path, text)
    except OSError as exc:
        raise InputError(f"cannot write {path} ({exc.strerror}); nothing was written") from None
    click.echo(f"written to {path}", err=True)


@click.group("outcomes", invoke_without_command=True)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="write the chart of your check-ins (SVG)")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), help="write your check-ins (CSV)")
@click.pass_context
def outcomes_group(ctx: click.Context, plot: Path | None, csv_out: Path | None) -> None:
    """What distress and better look like for you, in your words, and your check-ins (asks for the passphrase)."""
    if ctx.invoked_subcommand is not None:
        return
    store = _store()
    try:
        outcomes = Outcomes.kept_in(store)
    finally:
        store.close()
    if plot is not None:
        _write(plot, chart_svg(outcomes, load_settings({}).language or "en"))
    if csv_out is not None:
        _write(csv_out, csv_text(outcomes))
    if plot is None and csv_out is None:
        for label, items in (("What distress looks like for me", outcomes.distress),
                             ("What better would look like", outcomes.better), ("My goals", outcomes.goals)):
            click.echo(f"{label}: {'; '.join(items) or '-'}")
        click.echo(f"Check in: {outcomes.cadence}")
        for c in outcomes.checkins[-10:]:
            click.echo(f"{c.at:%Y-%m-%d %H:%M}  " + ("skipped" if c.skipped else ", ".join(f"{k}: {v}" for k, v in c.scores.items())))


@outcomes_group.command("set")
@click.option("--distress", multiple=True, help="what distress looks like for you (up to 3)")
@click.option("--better", multiple=True, help="what better would look like (up to 3)")
@click.option("--goal", multiple=True, help="a goal of yours (up to 3)")
@click.option("--cadence", type=click.Choice(CADENCES), help="how often to offer a check-in")
def set_command(distress: tuple[str, ...], better: tuple[str, ...], goal: tuple[str, ...], cadence: str | None) -> None:
    """Write (or replace) what you measure yourself by. What you write is read for risk like a message."""
    store = _store()
    try:
        kept = Outcomes.kept_in(store)
        fields = {k: list(v) for k, v in (("distress", distress), ("better", better), ("goals", goal)) if v}
        try:
            changed = Outcomes.model_validate({**kept.model_dump(), **fields, **({"cadence": cadence} if cadence else {})})
        except ValueError as exc:
            raise InputError(plain_error(exc)) from None
        changed.keep(store)
    finally:
        store.close()
    click.echo("Saved.")
    words = [w for v in fields.values() for w in v]
    if words and any(at_least(assess_safely(default_assessor(), w, Session()).level, "moderate") for w in words):
        click.echo("What you wrote sounds very hard. If you might be in danger, please reach someone now: "
                   "`typingcure chat` shows the services for your country (/resources), or call your local emergency number.")


@outcomes_group.command("checkin")
@click.argument("scores", nargs=-1)
@click.option("--skip", is_flag=True, help="skip this check-in")
def checkin_command(scores: tuple[str, ...], skip: bool) -> None:
    """One number from 0 to 10 per entry, in the order `typingcure outcomes` lists them."""
    store = _store()
    try:
        outcomes = Outcomes.kept_in(store)
        if not outcomes.items:
            raise InputError("nothing to check in on yet: `typingcure outcomes set --distress ... --better ...` first")
        if skip:
            outcomes.skip(datetime.now())
        else:
            numbers = [score_of(s) for s in scores]
            if len(numbers) != len(outcomes.items) or any(n is None for n in numbers):
                raise InputError(f"give {len(outcomes.items)} numbers from 0 to 10, one for each of: "
                                 + "; ".join(w for _, w in outcomes.items))
            outcomes.record({w: n for (_, w), n in zip(outcomes.items, numbers) if n is not None}, datetime.now())
        outcomes.keep(store)
    finally:
        store.close()
    click.echo("Skipped." if skip else "Thank you. Your check-in is kept with your own words.")
