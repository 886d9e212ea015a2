"""Support roles as data: what the person chose the bot to be today.

    role = load_role("listener")
    role.prompt, role.speaks, role.intro

A role file (`<name>.yaml` here) holds a short prompt (the bundled model is tiny), the rules its
replies are checked against, and whether it speaks always or only when risk is found.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ConfigError


class RoleRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    no_lists: bool = False
    max_sentences: int = 8


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    title: str
    summary: str
    speaks: Literal["always", "on_risk"]
    intro: str
    prompt: str
    rules: RoleRules = RoleRules()


def role_names() -> list[str]:
    folder = files("typingcure.roles")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def load_role(name: str) -> Role:
    if name not in role_names():
        raise ConfigError(f"unknown role {name!r} (choose from: {', '.join(role_names())})")
    raw = yaml.safe_load(files("typingcure.roles").joinpath(f"{name}.yaml").read_text("utf-8"))
    try:
        return Role(**raw)
    except (TypeError, ValidationError) as exc:
        raise ConfigError(f"role file {name}.yaml is invalid: {exc}") from exc
