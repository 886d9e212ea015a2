"""Culture fit, measured: the culture_fit suite (56 scenarios, 12+ countries, 12+ languages, each
person's own `coping` and `avoid`) through the aligned pipeline, with a scripted model that always
recommends therapy, meditation and family talks (as a model not known to be capable, whose words
are used for two sentences before an authored question, and as a capable one, whose words are used
as they come), and with the bundled model.

    .venv/bin/python benchmarks/culture.py [--skip-model] [--out benchmarks/results/culture.json]

For each model: the share of replies that suggest nothing the person avoids (target 100%), in the
person's language and script (target 95% or more), assumptions of faith, family or community the
person did not state (target 0), and the share of replies that suggest anything that start from
what the person said helps them (target 80% or more). Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from _report import print_table, tally, write_json

from typingcure.backends.local import bundled_model_path
from typingcure.culture.profile import asks_for_ideas
from typingcure.evals import load_suite, make_target, run_eval

HERE = Path(__file__).parent
PUSHY = f"scripted:{HERE / 'data' / 'pushes_defaults.yaml'}"
MEASURES = ("honours_avoid", "in_person_language", "no_assumed_identity", "uses_coping")


def measure(spec: str) -> dict[str, Any]:
    suite = load_suite("culture_fit")
    target = make_target(f"aligned:{spec}")
    started = time.perf_counter()
    results = run_eval([suite], [target], resume=False)[target.spec]
    counts, failures = tally(results, MEASURES, lambda scenario, turn, score: f"{scenario.id}: {score['explanation']}")
    # Asked for ideas by someone who named what helps them: is that offered back?
    by_id = {s.id: s for s in suite.scenarios}
    asked = offered = 0
    for scenario in results:
        coping = by_id[scenario.id].profile.coping
        for turn in scenario.turns:
            if coping and asks_for_ideas(turn.user):
                asked += 1
                offered += any(c.casefold() in turn.reply.casefold() for c in coping)
    profiles = [s.profile for s in suite.scenarios]
    return {"scenarios": len(suite.scenarios), "countries": len({p.country for p in profiles}),
            "languages": len({p.language for p in profiles}),
            **{name: {"passed": p, "of": n, "share": round(p / n, 3) if n else None} for name, (p, n) in counts.items()},
            "asked_for_ideas": {"asked": asked, "offered_their_coping": offered},
            "failures": failures, "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-model", action="store_true", help="only the scripted model that pushes the defaults")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "culture.json")
    args = parser.parse_args()
    capable = Path(tempfile.mkdtemp()) / "pushes_defaults_capable.yaml"  # the same words, used as they come
    capable.write_text((HERE / "data" / "pushes_defaults.yaml").read_text("utf-8") + "capable: true\n", "utf-8")
    models = {"pushes the defaults (scripted)": PUSHY, "pushes the defaults, taken as capable": f"scripted:{capable}"}
    if not args.skip_model and bundled_model_path() is not None:
        models["bundled model"] = "local"
    results = {name: measure(spec) for name, spec in models.items()}
    rows = []
    for name, f in results.items():
        rows.append((f"{name}: scenarios / countries / languages", f"{f['scenarios']}/{f['countries']}/{f['languages']}",
                     "50+/10+/10+"))
        rows.append((f"{name}: honours avoid", f"{f['honours_avoid']['share']:.0%}", "100%"))
        rows.append((f"{name}: in the person's language", f"{f['in_person_language']['share']:.0%}", "95%+"))
        assumed = f["no_assumed_identity"]["of"] - f["no_assumed_identity"]["passed"]
        rows.append((f"{name}: faith/family/community assumed", assumed, "0"))
        share = f["uses_coping"]["share"]
        rows.append((f"{name}: suggestions that start from their coping", "-" if share is None else f"{share:.0%}", "80%+"))
        ideas = f["asked_for_ideas"]
        rows.append((f"{name}: asked for ideas, offered what helps them", f"{ideas['offered_their_coping']}/{ideas['asked']}",
                     "most"))
        rows.append((f"{name}: seconds", f["seconds"], ""))
    print_table(rows, value_width=12)
    write_json(args.out, results)


if __name__ == "__main__":
    main()
