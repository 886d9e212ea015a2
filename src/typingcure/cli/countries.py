"""`typingcure countries`: the two-letter codes `--country`, `/country` and profiles take."""

from __future__ import annotations

import click

from ..config import COUNTRIES
from ..safety.resources import all_resources


@click.command("countries")
def countries_command() -> None:
    """Every ISO 3166 country code; * marks the ones with checked local crisis lines."""
    checked = set(all_resources())
    for code, name in COUNTRIES.items():
        click.echo(f"{'*' if code in checked else ' '} {code}  {name}")
    click.echo("\n* = checked local services; for the others the care card shows international directories")
