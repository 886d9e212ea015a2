"""Risk assessment benchmarks: quality on the labelled sets, speed, start-up and memory.

    .venv/bin/python benchmarks/risk.py [--out benchmarks/results/risk.json]

Quality: recall, precision and false positives per category and language on the dev set
(tests/data/risk/messages), the same on the held-out sets (tests/data/risk/holdout/*), and the
conversation cases. Speed: milliseconds per message with 5 turns of history, measured cold
(every history new) and warm (a conversation, where earlier turns were already assessed).
Start-up and memory are measured in a fresh process. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from typingcure.registry import create
from typingcure.safety.measure import load_conversations, load_messages, measure_conversations, measure_messages
from _report import print_table, write_json  # benchmarks/_report.py

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "risk"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def speed(assessor, texts: list[str], rounds: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    cold, warm = [], []
    for i in range(rounds):
        history = [f"{t} ({i}-{k})" for k, t in enumerate(rng.sample(texts, 5))]  # unique: nothing cached
        message = f"{rng.choice(texts)} [{i}]"
        started = time.perf_counter()
        assessor.assess(message, history=history)
        cold.append((time.perf_counter() - started) * 1000)
    conversation: list[str] = []
    for i in range(rounds):
        message = f"{rng.choice(texts)} <{i}>"
        started = time.perf_counter()
        assessor.assess(message, history=conversation[-5:])
        warm.append((time.perf_counter() - started) * 1000)
        conversation.append(message)
    return {"cold_p50_ms": round(statistics.median(cold), 3), "cold_p95_ms": round(percentile(cold, 0.95), 3),
            "warm_p50_ms": round(statistics.median(warm), 3), "warm_p95_ms": round(percentile(warm, 0.95), 3)}


def startup_and_memory() -> dict[str, float]:
    code = (
        "import resource, time; t = time.perf_counter();"
        "from typingcure.registry import create; a = create('assessor', 'layered'); a.assess('warm up');"
        "s = time.perf_counter() - t;"
        "print(s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    seconds, rss = map(float, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                             check=True).stdout.split())
    return {"startup_s": round(seconds, 3), "process_rss_mb": round(rss, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "risk.json")
    args = parser.parse_args()

    assessor = create("assessor", "layered")
    lexicon_only = create("assessor", "lexicon")
    dev = load_messages(DATA / "messages")
    results: dict[str, object] = {
        "dev": measure_messages(assessor, dev),
        "dev_lexicon_only": {k: v for k, v in measure_messages(lexicon_only, dev).items() if k != "errors"},
        "holdout": {s.name: measure_messages(assessor, load_messages(s)) for s in sorted((DATA / "holdout").iterdir())},
        "conversations": measure_conversations(assessor, load_conversations(DATA / "conversations.yaml")),
        "speed": speed(assessor, [i.text for i in dev], args.rounds),
        "startup": startup_and_memory(),
    }

    dev_r, conv, sp, st = results["dev"], results["conversations"], results["speed"], results["startup"]
    rows = [
        ("dev set: messages / non-English / hard negatives",
         f"{dev_r['messages']} / {dev_r['non_english']} / {dev_r['hard_negatives']}", ""),
        ("dev: suicide recall, moderate+", dev_r["suicide_recall_moderate"], "≥ 0.95"),
        ("dev: suicide recall, high+", dev_r["suicide_recall_high"], "≥ 0.98"),
        ("dev: false positives on hard negatives", dev_r["hard_negative_fpr"], "≤ 0.05"),
        ("conversations: method-seeking after distress → high", conv["method_after_distress_recall_high"], "≥ 0.95"),
        ("conversations: agreement with gold", conv["agreement"], ""),
    ]
    for name, h in results["holdout"].items():  # type: ignore[union-attr]
        rows.append((f"held-out {name}: suicide recall moderate+ / high+ / FPR",
                     f"{h['suicide_recall_moderate']} / {h['suicide_recall_high']} / {h['hard_negative_fpr']}", "(held out)"))
    rows += [
        ("ms per message, 5 turns history, cold p50 / p95", f"{sp['cold_p50_ms']} / {sp['cold_p95_ms']}", "p95 ≤ 5"),
        ("ms per message, in a conversation, p50 / p95", f"{sp['warm_p50_ms']} / {sp['warm_p95_ms']}", ""),
        ("start-up (import + load)", f"{st['startup_s']} s", "≤ 1 s"),
        ("memory: whole process with the assessor loaded (RSS)", f"{st['process_rss_mb']} MB", "≤ 150 MB"),
    ]
    print_table(rows, 24)
    print("\nper category (dev): recall moderate+ / precision")
    for cat, v in dev_r["per_category"].items():  # type: ignore[index]
        print(f"  {cat:<18} {v['recall_moderate']} / {v['precision_moderate']}  (n={v['support']})")
    print("per language (dev): recall moderate+ / precision / hard-negative FPR")
    for lang, v in dev_r["per_language"].items():  # type: ignore[index]
        print(f"  {lang:<4} {v['recall_moderate']} / {v['precision_moderate']} / {v['hard_negative_fpr']}  (n={v['support']})")
    print("level confusion (dev; rows gold, columns assessed):")
    levels = list(dev_r["confusion"])  # type: ignore[index]
    print("  " + " " * 9 + "".join(f"{lvl:>10}" for lvl in levels))
    for gold in levels:
        print(f"  {gold:<9}" + "".join(f"{dev_r['confusion'][gold][got]:>10}" for got in levels))  # type: ignore[index]
    write_json(args.out, results)


if __name__ == "__main__":
    main()
