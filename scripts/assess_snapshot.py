"""Every result of the layered assessor over every text in tests/data/risk, as JSON, so that two
versions of the assessor can be shown to give identical results (level, categories, score,
evidence, about, explanation).

    .venv/bin/python scripts/assess_snapshot.py /tmp/before.json
    ... change the assessor ...
    .venv/bin/python scripts/assess_snapshot.py /tmp/after.json --compare /tmp/before.json

Each message is assessed alone; each person's turn of a conversation with the turns before it;
long posts made by joining the texts (200 to 60,000 characters) alone. Texts are never printed:
a difference is reported by its key (file and position) only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

import yaml

from typingcure.registry import create

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "risk"


def _texts(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    if isinstance(node, dict):
        if "x" in node:
            return [str(node["x"])]
        return [t for value in node.values() for t in _texts(value)]
    return []


def _turn(raw: Any) -> Any:
    if isinstance(raw, dict) and set(raw) == {"a"}:
        return {"role": "assistant", "content": str(raw["a"])}
    return str(raw)


def cases() -> list[tuple[str, str, list[Any]]]:
    """(key, text, history) for everything to assess."""
    out: list[tuple[str, str, list[Any]]] = []
    singles: list[str] = []
    for path in sorted(DATA.rglob("*.yaml")):
        name = str(path.relative_to(DATA))
        raw = yaml.safe_load(path.read_text("utf-8"))
        if isinstance(raw, list) and raw and isinstance(raw[0], dict) and "turns" in raw[0]:
            for c in raw:
                turns = [_turn(t) for t in c["turns"]]
                for k, turn in enumerate(turns):
                    if isinstance(turn, str):
                        out.append((f"{name}:{c['id']}:{k}", turn, turns[:k]))
            continue
        for k, text in enumerate(_texts(raw)):
            out.append((f"{name}:{k}", text, []))
            singles.append(text)
    rng = random.Random(5)
    for size in (200, 600, 2_000, 5_000, 20_000, 60_000):
        for n in range(8):
            post = " ".join(rng.sample(singles, min(len(singles), 1 + size // 40)))[:size]
            out.append((f"long:{size}:{n}", post, []))
    return out


def result(assessor: Any, text: str, history: list[Any]) -> dict[str, Any]:
    r = assessor.assess(text, history=history)
    return {"level": r.level, "categories": list(r.categories), "score": r.score, "about": r.about,
            "failed": r.failed, "explanation": r.explanation,
            "evidence": [[e.detector, e.category, e.level, e.span, e.explanation] for e in r.evidence]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()
    assessor = create("assessor", "layered")
    results = {key: result(assessor, text, history) for key, text, history in cases()}
    args.out.write_text(json.dumps(results, ensure_ascii=False), "utf-8")
    print(f"{len(results)} assessments written to {args.out}")
    if args.compare:
        before = json.loads(args.compare.read_text("utf-8"))
        keys = set(before) | set(results)
        differ = sorted(k for k in keys if before.get(k) != results.get(k))
        fields = ("level", "categories", "score", "evidence", "about", "explanation")
        by_field = {f: sum(1 for k in differ if (before.get(k) or {}).get(f) != (results.get(k) or {}).get(f)) for f in fields}
        print(f"compared {len(keys)}: {len(keys) - len(differ)} identical, {len(differ)} differ {by_field}")
        for key in differ[:20]:
            print("  differs:", key)
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
