"""Outcomes the person defines: in their own words, what distress looks like for them and what
better would look like (up to three each, and up to three goals), check-ins on a 0–10 scale at the
cadence they choose, a chart and a CSV. No diagnostic labels, no scores of ours.

    outcomes = Outcomes.kept_in(store)            # the store's "outcomes" record (encrypted), or a new one
    outcomes.due(now)                            # a check-in is due (offered once in its period)
    outcomes.record({"I can't get up": 7}, now)  # a check-in; outcomes.skip(now) skips this period
    chart_svg(outcomes, "en")                    # an SVG drawn here (no script, no CDN)
    csv_text(outcomes)

Design and choices: design/care.md.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, ClassVar, Literal
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .._kept import Kept
from .._text import their_words
from . import care_line

__all__ = ["CADENCES", "RECORD", "CheckIn", "Outcomes", "chart_svg", "csv_text", "score_of"]

RECORD = "outcomes"
Cadence = Literal["daily", "weekly", "off"]
CADENCES: tuple[Cadence, ...] = ("daily", "weekly", "off")
MAX_ITEMS = 3
MAX_CHARS = 120
MAX_CHECKINS = 2000
# Colours a person with the commonest colour-vision differences can still tell apart (Okabe–Ito).
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933", "#882255")


def _clean(items: list[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError("each entry must be text")
        said = their_words(item)
        if len(said) > MAX_CHARS:
            raise ValueError(f"each entry at most {MAX_CHARS} characters")
        if said and said.casefold() not in {o.casefold() for o in out}:
            out.append(said)
    if len(out) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} entries")
    return out


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime
    scores: dict[str, int] = Field(default_factory=dict)   # the person's words -> 0..10
    skipped: bool = False

    @field_validator("scores")
    @classmethod
    def _range(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 0 <= v <= 10 for v in value.values()):
            raise ValueError("scores are from 0 to 10")
        return value


class Outcomes(Kept):
    """Kept encrypted (the store's "outcomes" record, exported, removed by `wipe`)."""

    store_name: ClassVar[str] = RECORD

    model_config = ConfigDict(extra="forbid")
    distress: list[str] = Field(default_factory=list)   # what distress looks like for them
    better: list[str] = Field(default_factory=list)     # what better would look like
    goals: list[str] = Field(default_factory=list)
    cadence: Cadence = "off"
    checkins: list[CheckIn] = Field(default_factory=list)
    offered: str = ""                                   # the period a check-in was last offered in

    @field_validator("distress", "better", "goals", mode="before")
    @classmethod
    def _items(cls, value: Any) -> list[str]:
        return _clean([value] if isinstance(value, str) else list(value or ()))


    @property
    def items(self) -> list[tuple[str, str]]:
        """What a check-in asks about: (kind, the person's words)."""
        return [*(("distress", i) for i in self.distress), *(("better", i) for i in self.better),
                *(("goal", i) for i in self.goals)]

    def kind_of(self, item: str) -> str:
        return next((kind for kind, words in self.items if words == item), "")

    def period(self, now: datetime) -> str:
        if self.cadence == "weekly":
            year, week, _ = now.isocalendar()
            return f"{year}-W{week:02d}"
        return now.date().isoformat()

    def due(self, now: datetime) -> bool:
        """A check-in is due: a cadence chosen, something to ask about, none done, skipped or offered
        in this period. Asking marks it offered, so it is never asked twice in one period."""
        if self.cadence == "off" or not self.items:
            return False
        period = self.period(now)
        return self.offered != period and not any(self.period(c.at) == period for c in self.checkins)

    def offer(self, now: datetime) -> None:
        self.offered = self.period(now)

    def record(self, scores: dict[str, int], now: datetime) -> CheckIn:
        known = {words for _, words in self.items}
        checkin = CheckIn(at=now, scores={k: v for k, v in scores.items() if k in known})
        self.checkins = [*self.checkins, checkin][-MAX_CHECKINS:]
        return checkin

    def skip(self, now: datetime) -> None:
        self.checkins = [*self.checkins, CheckIn(at=now, skipped=True)][-MAX_CHECKINS:]

    def edit(self, field: str, words: str) -> Outcomes:
        """`/outcomes distress WORDS` (better, goal, cadence, clear [FIELD]): a new Outcomes (ValueError)."""
        field = {"goal": "goals", "goals": "goals", "distress": "distress", "better": "better"}.get(field, field)
        if field == "cadence":
            if words.lower() not in CADENCES:
                raise ValueError(f"cadence is one of {', '.join(CADENCES)}")
            return self.model_copy(update={"cadence": words.lower(), "offered": ""})
        if field == "clear":
            which = {"goal": "goals"}.get(words.lower(), words.lower())
            if which and which not in ("distress", "better", "goals"):
                raise ValueError("clear distress, better or goals (or clear for all three)")
            return self.model_copy(update={k: [] for k in (("distress", "better", "goals") if not which else (which,))})
        if field not in ("distress", "better", "goals"):
            raise ValueError("distress, better, goal, cadence or clear")
        return Outcomes.model_validate({**self.model_dump(), field: [*getattr(self, field), words]})


def score_of(text: str) -> int | None:
    """A check-in answer: a whole number from 0 to 10 (digits of any script: ٧, ７), else None."""
    said = text.strip().rstrip(".!")
    try:
        number = int(said)
    except ValueError:
        return None
    return number if 0 <= number <= 10 else None


# -- the chart and the CSV ----------------------------------------------------------------------------


def _short(text: str, most: int = 56) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def chart_svg(outcomes: Outcomes, language: str = "en", script: str | None = None, width: int = 560) -> str:
    """One line per item over the check-ins (skipped ones left out), 0 to 10, with the person's words
    in the legend. Drawn here as plain SVG: no script, nothing fetched."""
    done = [c for c in outcomes.checkins if not c.skipped and c.scores]
    words = [w for _, w in outcomes.items] or sorted({k for c in done for k in c.scores})
    words = [w for w in words if any(w in c.scores for c in done)][: len(COLOURS)]
    left, right, top, plot_h = 48, 16, 40, 220
    legend_h = 22 * max(1, len(words))
    height = top + plot_h + 40 + legend_h
    title = escape(care_line("chart_title", language, script))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-labelledby="chart-title" font-family="sans-serif" font-size="14">',
           f'<title id="chart-title">{title}</title>',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="{left}" y="24" font-size="16" fill="#222222">{title}</text>']
    plot_w = width - left - right

    def y_of(score: float) -> float:
        return round(top + plot_h - score / 10 * plot_h, 1)

    for score in range(0, 11, 2):
        y = y_of(score)
        out.append(f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" stroke="#dddddd" stroke-width="1"/>')
        out.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" fill="#555555">{score}</text>')
    if not done or not words:
        out.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#555555">'
                   f'{escape(care_line("chart_empty", language, script))}</text>')
    else:
        def x_of(i: int) -> float:
            return round(left + (plot_w / 2 if len(done) == 1 else i * plot_w / (len(done) - 1)), 1)

        for i in sorted({0, len(done) - 1}):
            anchor = "start" if i == 0 and len(done) > 1 else "end" if i else "middle"
            out.append(f'<text x="{x_of(i)}" y="{top + plot_h + 20}" text-anchor="{anchor}" fill="#555555">'
                       f'{done[i].at.date().isoformat()}</text>')
        for n, item in enumerate(words):
            colour = COLOURS[n]
            points = [(x_of(i), y_of(c.scores[item])) for i, c in enumerate(done) if item in c.scores]
            if len(points) > 1:
                path = " ".join(f"{x},{y}" for x, y in points)
                out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
            out += [f'<circle cx="{x}" cy="{y}" r="4" fill="{colour}"/>' for x, y in points]
    for n, item in enumerate(words):
        y = top + plot_h + 44 + 22 * n
        out.append(f'<rect x="{left}" y="{y - 10}" width="14" height="4" fill="{COLOURS[n]}"/>')
        out.append(f'<text x="{left + 22}" y="{y - 4}" fill="#222222">{escape(_short(item))}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _cell(value: str) -> str:
    """A spreadsheet never runs what the person wrote: a cell that starts like a formula is quoted."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_text(outcomes: Outcomes) -> str:
    """date, kind (distress | better | goal), the person's words, score — one row per answer; a
    skipped check-in is a row with `skipped`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "kind", "item", "score"])
    for c in outcomes.checkins:
        if c.skipped:
            writer.writerow([c.at.isoformat(timespec="minutes"), "", "", "skipped"])
        for item, score in c.scores.items():
            writer.writerow([c.at.isoformat(timespec="minutes"), outcomes.kind_of(item), _cell(item), score])
    return out.getvalue()
