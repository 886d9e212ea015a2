"""Foundation benchmarks: the bundled model's speed, pipeline overhead per turn, and chat memory.

    .venv/bin/python benchmarks/foundation.py [--turns 2000] [--out benchmarks/results/foundation.json]

Prints a table and writes JSON. Not a test: figures vary with the machine; ratios within one run
are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from typingcure import Profile, ScriptedBackend, Session, build_parts, run_turn
from typingcure.backends.local import bundled_model_path
from _report import print_table, write_json  # benchmarks/_report.py

MESSAGES = [
    "Work was so stressful today and my manager ignored me again.",
    "I can't sleep and everything feels heavy.",
    "My mum and I argued about my exams.",
    "everyone would be better off without me",
    "this exam is killing me haha",
    "I just want someone to listen for a bit.",
]
REPLY = "That sounds really hard. It makes sense you feel worn out. What has been the heaviest part?"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_pipeline(turns: int) -> dict[str, float]:
    """Time run_turn with an instant scripted model and 5 turns of history; report ms per turn."""
    parts = build_parts(ScriptedBackend([REPLY], cycle=True))
    totals, overhead = [], []
    session = Session(profile=Profile(country="GB"))
    for i in range(turns):
        if len(session.messages) >= 10:
            session = Session(profile=Profile(country="GB"))
        started = time.perf_counter()
        turn = run_turn(session, f"{MESSAGES[i % len(MESSAGES)]} ({i})", parts)  # unique: no cache hits
        total = (time.perf_counter() - started) * 1000
        generate = next(s.ms for s in turn.stages if s.stage == "generate")
        totals.append(total)
        overhead.append(total - generate)
    return {
        "turns": turns,
        "overhead_p50_ms": round(statistics.median(overhead), 3),
        "overhead_p95_ms": round(percentile(overhead, 0.95), 3),
        "total_p95_ms": round(percentile(totals, 0.95), 3),
    }


def bench_model(prompts: int) -> dict[str, float]:
    """Load the bundled model in a fresh process, then time first token and tokens per second."""
    code = r"""
import json, sys, time
from llama_cpp import Llama
from typingcure.backends.local import bundled_model_path, CONTEXT_TOKENS, REPEAT_PENALTY
started = time.perf_counter()
model = Llama(model_path=str(bundled_model_path()), n_ctx=CONTEXT_TOKENS, verbose=False)
load = time.perf_counter() - started
first, rates = [], []
for i in range(int(sys.argv[1])):
    messages = [{"role": "system", "content": "You are a caring AI who listens. Keep it short."},
                {"role": "user", "content": f"Day {i}: work was stressful and I feel tired."}]
    t0 = time.perf_counter(); t_first = None; n = 0
    for chunk in model.create_chat_completion(messages=messages, max_tokens=64, temperature=0.3,
                                              repeat_penalty=REPEAT_PENALTY, stream=True, seed=i):
        if chunk["choices"][0]["delta"].get("content"):
            n += 1
            t_first = t_first or time.perf_counter()
    end = time.perf_counter()
    first.append(t_first - t0)
    if n > 1:
        rates.append((n - 1) / (end - t_first))
print(json.dumps({"load_s": load, "first": first, "rates": rates}))
"""
    done = subprocess.run([sys.executable, "-c", code, str(prompts)], capture_output=True, text=True, check=True)
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "load_s": round(raw["load_s"], 3),
        "first_token_p50_s": round(statistics.median(raw["first"]), 3),
        "first_token_p95_s": round(percentile(raw["first"], 0.95), 3),
        "tokens_per_s_median": round(statistics.median(raw["rates"]), 1),
    }


def bench_chat_memory() -> dict[str, float]:
    """Peak RSS of `typingcure chat` with the bundled model over a five-message conversation."""
    talk = "\n".join(MESSAGES[:5]) + "\n/end\n"
    proc = subprocess.Popen([sys.executable, "-m", "typingcure", "chat"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.perf_counter()
    assert proc.stdin
    proc.stdin.write(talk.encode())
    proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    return {"chat_peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "chat_seconds": round(time.perf_counter() - started, 2),
            "chat_exit": os.waitstatus_to_exitcode(status)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "foundation.json")
    args = parser.parse_args()

    results: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                                  "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    results["pipeline"] = bench_pipeline(args.turns)
    if bundled_model_path() is not None:
        results["model"] = bench_model(args.prompts)
        results["chat"] = bench_chat_memory()

    rows = [
        ("pipeline overhead per turn, p50", f"{results['pipeline']['overhead_p50_ms']} ms", ""),
        ("pipeline overhead per turn, p95", f"{results['pipeline']['overhead_p95_ms']} ms", "≤ 10 ms"),
    ]
    if "model" in results:
        m, c = results["model"], results["chat"]
        rows += [
            ("bundled model load", f"{m['load_s']} s", ""),
            ("time to first token, p50 / p95", f"{m['first_token_p50_s']} / {m['first_token_p95_s']} s", ""),
            ("tokens per second (median)", f"{m['tokens_per_s_median']}", ""),
            ("chat peak memory (RSS)", f"{c['chat_peak_rss_mb']} MB", "≤ 400 MB"),
        ]
    print_table(rows, 16)
    write_json(args.out, results)


if __name__ == "__main__":
    main()
