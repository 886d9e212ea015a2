"""What every benchmark does at the end: print a table of measures and keep the figures as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def print_table(rows: Iterable[tuple[str, Any, str]], value_width: int = 20) -> None:
    rows = list(rows)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'result':>{value_width}}  target")
    for label, value, target in rows:
        print(f"{label:<{width}}  {str(value):>{value_width}}  {target}")


def write_json(out: Path, results: Any) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwritten to {out}")


def tally(results: Any, measures: tuple[str, ...], failure: Any) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """For a suite's results: per scorer [passed, scored] (a "na" is not scored), and up to eight
    failures each, described by `failure(scenario, turn, score)`."""
    counts = {name: [0, 0] for name in measures}
    failures: dict[str, list[str]] = {name: [] for name in measures}
    for scenario in results:
        for turn in scenario.turns:
            for name in measures:
                score = turn.scores.get(name)
                if not score or score["value"] == "na":
                    continue
                counts[name][1] += 1
                counts[name][0] += score["value"] == "pass"
                if score["value"] == "fail" and len(failures[name]) < 8:
                    failures[name].append(failure(scenario, turn, score))
    return counts, failures
