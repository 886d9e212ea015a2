"""The deployment examples (deploy/): their typingcure commands are ones the command accepts, so an
option renamed in the code cannot leave a compose file or a unit that no longer starts."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import yaml

from typingcure.cli.serve import serve_command

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def accepted(args: list[str]) -> click.Context:
    """The options of `typingcure serve …` as the command parses them (it raises on an unknown one)."""
    assert args[0].endswith("typingcure") and args[1] == "serve", args
    return serve_command.make_context("serve", [a.replace("${PUBLIC_NAME:-localhost}", "localhost") for a in args[2:]])


def test_the_compose_file_starts_the_service_with_accounts() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    service = compose["services"]["typingcure"]
    ctx = accepted(service["command"])
    assert ctx.params["multi_user"] and ctx.params["workers"] == 4 and ctx.params["backend"].startswith("openai:")
    assert "TYPINGCURE_DATABASE_URL" in service["environment"]
    assert "POSTGRES_PASSWORD:?" in (DEPLOY / "compose.yaml").read_text()  # no password written in the file
    assert all(p.startswith("127.0.0.1:") for p in service["ports"])  # HTTPS goes in front


def test_the_systemd_unit_starts_the_service_with_accounts() -> None:
    unit = (DEPLOY / "typingcure.service").read_text()
    command = next(line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("ExecStart="))
    ctx = accepted(shlex.split(command))
    assert ctx.params["multi_user"] and "EnvironmentFile=" in unit and "PASSWORD" not in unit.upper().replace("# ", "")
