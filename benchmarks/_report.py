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
