"""`typingcure culture packs | show NAME`: the culture packs, to read before choosing one
(`/profile pack NAME`, or Settings); each with its sources and its review checklist."""

from __future__ import annotations

import textwrap

import click

from ..culture import packs


@click.group("culture")
def culture_group() -> None:
    """Culture packs: notes about a place that you may choose to inform suggestions."""


@culture_group.command("packs")
def packs_command() -> None:
    """The packs that ship, a line each."""
    for name in packs.names():
        p = packs.pack(name)
        click.echo(f"{name:<36} {p.title}")
    click.echo("\nRead one with `typingcure culture show NAME`; choose it with `/profile pack NAME` in the chat, "
               "or in Settings. Nothing is chosen for you.")


def _wrapped(label: str, text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent=f"{label}: ", subsequent_indent="  ")


@culture_group.command("show")
@click.argument("name")
def show_command(name: str) -> None:
    """One pack: what it covers, what it offers, its services, its sources and its review."""
    p = packs.pack(name.strip().lower())
    click.echo(f"{p.title}  ({p.id}, reviewed {p.reviewed})\n")
    click.echo(_wrapped("About", p.about))
    click.echo(_wrapped("Help-seeking", p.help_seeking))
    click.echo(_wrapped("Told to the model when chosen", p.for_the_model))
    click.echo(_wrapped("Never", "; ".join(p.avoid)))
    offers = "; ".join(x.labels.get("en") or next(iter(x.labels.values())) for x in p.practices)
    click.echo(_wrapped("Offered as choices, a few at a time, never what you avoid", offers))
    for idiom in p.idioms:
        click.echo(f"Said there: “{idiom.words}” ({idiom.language}): {idiom.means}")
    if p.services:
        click.echo("\nServices beyond the crisis lines:")
        for s in p.services:
            click.echo(f"- {s.name}: {s.what}. {s.how[0].upper() + s.how[1:]}. (source: {s.source}, {s.source_date})")
    click.echo("\nSources:")
    for source in p.sources:
        click.echo(f"- {source.title} ({source.date}): {source.where}")
    click.echo("\nReview checklist:")
    questions = packs.checklist()
    for answer in p.review:
        click.echo(f"- {questions[answer.item]} {answer.answer}: {answer.note}")
