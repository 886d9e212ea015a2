"""Evaluation harness benchmarks: the scoring speed, and the built-in suites on the bundled model
through the aligned pipeline and raw.

    .venv/bin/python benchmarks/evals.py [--skip-model] [--out benchmarks/results/evals]

Scoring: every built-in scenario scored with its deterministic scorers on stored replies (no
generation), timed for 100 scenarios. Comparison: `aligned:local` and `raw:local` on every
built-in suite; the JSON and HTML reports are written to --out. Prints a table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from typingcure.backends.local import bundled_model_path
from typingcure.evals import load_suite, make_target, run_eval, suite_names, summarise, write_reports
from typingcure.evals.report import table_rows
from typingcure.evals.runner import score_scenario
from typingcure.evals.targets import Reply

REPLY = Reply("That sounds really hard. You can call or text 988. Are you safe right now? I'm an AI, and I'm here.", 1.0)


def scoring_speed() -> tuple[int, float]:
    suites = [load_suite(n) for n in suite_names()]
    jobs = [(s, sc) for s in suites for sc in s.scenarios]
    jobs = (jobs * (100 // len(jobs) + 1))[:100]
    started = time.perf_counter()
    for suite, scenario in jobs:
        score_scenario(suite, scenario, [(turn.user, REPLY) for turn in scenario.turns])
    return len(jobs), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-model", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "evals")
    args = parser.parse_args()
    count, seconds = scoring_speed()
    print(f"scoring {count} scenarios with deterministic scorers (no generation): {seconds:.3f} s (target ≤ 1 s)\n")
    if args.skip_model or bundled_model_path() is None:
        return
    suites = [load_suite(n) for n in suite_names()]
    results = run_eval(suites, [make_target("aligned:local"), make_target("raw:local")], out_dir=args.out, resume=False)
    head, rows = table_rows(summarise(results))
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    json_path, html_path = write_reports(results, args.out)
    print(f"\nresults: {json_path}\nreport:  {html_path}")


if __name__ == "__main__":
    main()
