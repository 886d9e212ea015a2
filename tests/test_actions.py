"""Actions are declared in one place: a policy that records an undeclared one fails at once, and
every action name the code looks for is declared (a renamed action cannot silently drop a rule)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from typingcure.state import ASKED
from typingcure.types import ACTIONS, PolicyDecision

SRC = Path(__file__).resolve().parent.parent / "src" / "typingcure"


def test_an_undeclared_action_is_refused() -> None:
    with pytest.raises(ValidationError, match="not declared"):
        PolicyDecision(verdict="silent", role="journal", system_prompt="", policy="care", explanation="t",
                       actions=("journal_silence",))
    PolicyDecision(verdict="silent", role="journal", system_prompt="", policy="care", explanation="t",
                   actions=("journal_silent", "sensitive:mania"))


def test_every_action_the_code_looks_for_is_declared() -> None:
    looked_for = set(ASKED)
    for path in SRC.rglob("*.py"):
        code = path.read_text("utf-8")
        looked_for |= set(re.findall(r'"([a-z_]+)" in [\w.\[\]-]*actions\b', code))
        if path.name == "state.py":  # typingcure.state reads actions by name, through where(...)
            for call in re.findall(r"\bwhere\(([^)]*)\)", code):
                looked_for |= set(re.findall(r'"([a-z_]+)"', call))
    assert looked_for, "the search found nothing: the pattern no longer matches the code"
    assert looked_for <= set(ACTIONS), looked_for - set(ACTIONS)


def test_a_misspelt_profile_field_and_an_unknown_service_type_are_refused() -> None:
    from typingcure.types import Profile, Resource

    with pytest.raises(ValidationError):
        Profile(contry="GB")
    good = dict(name="x", phone="1", hours="24/7", source="s", source_date="d", checked="2026-12-02",
                confidence="verified")
    Resource(type="crisis_line", **good)
    with pytest.raises(ValidationError):
        Resource(type="crisis", **good)  # the care card would drop it silently
