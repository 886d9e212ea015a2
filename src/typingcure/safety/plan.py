"""The guided safety plan: seven short steps in the person's own words.

    flow = PlanFlow(plan=session.plan)
    flow.start()                 # the introduction and the first step's question
    flow.answer("I stop sleeping; I go quiet")   # the next question, or None when done
    render_plan(session.plan)    # lines to show it again

The plan is the project's own generic plan (design/crisis-protocol.md). Answers are kept as the
person wrote them. While a plan is being made, the chat still assesses every answer and leaves
the plan for the crisis protocol when risk is high (cli/chat.py).
"""

from __future__ import annotations

from datetime import datetime, UTC
from pydantic import BaseModel, Field

from .. import languages
from ..errors import ConfigError

SECTIONS = ("warning_signs", "coping", "distractions", "people", "professionals", "environment", "reasons")


class SafetyPlan(BaseModel):
    sections: dict[str, list[str]] = Field(default_factory=dict)
    updated: str | None = None

    def filled(self) -> bool:
        return any(self.sections.get(s) for s in SECTIONS)


@languages.cached
def plan_texts(language: str = "en") -> dict:  # type: ignore[type-arg]
    """The plan's words in `language` (languages/<code>/plan.yaml), else in English."""
    code = language if languages.language_file(language, "plan") is not None else "en"
    data = languages.load(code, "plan")
    if data is None:
        raise ConfigError("languages/en/plan.yaml is missing")
    if set(data.get("sections") or ()) != set(SECTIONS):
        raise ConfigError(f"{languages.where(code, 'plan')}: sections must name every step ({', '.join(SECTIONS)})")
    data["skip_words"] = [w.lower() for w in data["skip_words"]]
    data["stop_words"] = [w.lower() for w in data["stop_words"]]
    return data  # type: ignore[no-any-return]


def _items(answer: str) -> list[str]:
    return [part.strip() for part in answer.replace("\n", ";").split(";") if part.strip()]


class PlanFlow:
    """Walks the steps one at a time; `only` limits it to one section (editing)."""

    def __init__(self, plan: SafetyPlan | None = None, *, language: str = "en", only: str | None = None) -> None:
        self.plan = plan or SafetyPlan()
        self.texts = plan_texts(language)
        self.steps = [only] if only else list(SECTIONS)
        self.index = 0
        self.finished = False

    @property
    def section(self) -> str:
        return self.steps[self.index]

    def question(self) -> str:
        info = self.texts["sections"][self.section]
        return f"({self.index + 1}/{len(self.steps)}) {info['title']}: {' '.join(info['prompt'].split())}"

    def start(self) -> str:
        return " ".join(self.texts["intro"].split()) + "\n" + self.question()

    def wants_to_stop(self, text: str) -> bool:
        return text.strip().lower() in self.texts["stop_words"]

    def answer(self, text: str) -> str | None:
        """Record an answer (or a skip) and return the next question, or None when the plan is done."""
        if text.strip().lower() not in self.texts["skip_words"]:
            self.plan.sections[self.section] = _items(text)
            self.plan.updated = datetime.now(UTC).isoformat(timespec="seconds")
        self.index += 1
        if self.index >= len(self.steps):
            self.finished = True
            return None
        return self.question()

    def done(self) -> str:
        return " ".join(self.texts["done"].split())


def render_plan(plan: SafetyPlan | None, language: str = "en") -> list[str]:
    texts = plan_texts(language)
    if plan is None or not plan.filled():
        return [" ".join(texts["empty"].split())]
    lines: list[str] = []
    for section in SECTIONS:
        items = plan.sections.get(section) or []
        lines.append(f"{texts['sections'][section]['title']}:")
        lines += [f"  - {item}" for item in items] or [f"  {texts['not_filled']}"]
    return lines
