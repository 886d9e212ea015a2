"""`typingcure models list` and `typingcure models pull NAME`."""

from __future__ import annotations

import click

from ..backends.catalogue import catalogue, installed_models, pull
from ..backends.ollama import ollama_models, ollama_url
from ..config import load_settings


@click.group("models")
def models_group() -> None:
    """The bundled model and larger ones you can download."""


@models_group.command("list")
def list_command() -> None:
    """What is installed, which is the default, and what can be pulled."""
    default = load_settings().backend
    for model in installed_models():
        mark = "*" if model.spec == default else " "
        click.echo(f"{mark} {model.name:<28} {model.spec}  ({model.note})")
    served = ollama_models()
    if served:
        click.echo(f"\nServed by Ollama at {ollama_url()}:")
        for name in served:
            spec = f"ollama:{name}"
            click.echo(f"{'*' if spec == default else ' '} {name:<28} {spec}  (not marked capable; set capable = true to trust it)")
    click.echo("\nAvailable to pull (typingcure models pull NAME, then --backend local:NAME):")
    for entry in catalogue():
        mark = "capable" if entry.capable else "not capable"
        click.echo(f"  {entry.name:<28} {entry.size_mb:>6,} MB  {mark:<12} {entry.summary}")
    click.echo("\n* = default backend (set with --backend or TYPINGCURE_BACKEND)")


@models_group.command("pull")
@click.argument("name")
def pull_command(name: str) -> None:
    """Download a recommended GGUF model into the user directory, with a checksum."""
    path = pull(name)
    click.echo(f"saved {path}\nuse it with: --backend local:{name}")
