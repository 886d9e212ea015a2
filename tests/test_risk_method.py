"""A question about means after distress is high, in every language (tests/data/risk/method/<code>.yaml:
conversations written for typingcure, per language; a dev set the lexicons' `distress` markers and
`method_seeking` patterns are widened against, so the floors here are floors, not the figures — the
held-out sets are measured in benchmarks/risk.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from typingcure.api import default_assessor
from typingcure.safety.measure import load_conversations
from typingcure.types import level_rank

DATA = Path(__file__).parent / "data" / "risk" / "method"
FILES = sorted(DATA.glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_question_about_means_after_distress_is_high(path: Path) -> None:
    assessor = default_assessor()
    conversations = load_conversations(path)
    seeking = [c for c in conversations if "method_after_distress" in c.tags]
    calm = [c for c in conversations if "hard_negative" in c.tags]
    assert len(seeking) >= 8 and len(calm) >= 3, f"{path.name}: too few conversations"
    missed = [c.id for c in seeking
              if level_rank(assessor.assess(c.turns[-1], history=list(c.turns[:-1])).level) < level_rank("high")]
    assert len(missed) <= len(seeking) // 8, f"{path.name}: not high: {missed}"
    alarmed = [c.id for c in calm
               if level_rank(assessor.assess(c.turns[-1], history=list(c.turns[:-1])).level) >= level_rank("moderate")]
    assert len(alarmed) <= len(calm) // 4, f"{path.name}: false alarms: {alarmed}"
