"""Risk assessment benchmarks: real people's words per public source, our own held-out writing per
language, conversations, calibration, speed and memory.

    .venv/bin/pip install scikit-learn      # the per-source figures retrain the classifier without that source
    scripts/get_risk_data                   # the public sources (design/risk-data-card.md)
    .venv/bin/python benchmarks/risk.py [--quick] [--out benchmarks/results/risk.json]

Per public source, the assessor is never measured on a source it was trained on: for a trainable
source the classifier is retrained without it (leave one source out, the shipped cuts kept); the
measuring-only sources were never trained on. In the same run the same figures are given for a
ten-pattern keyword regex and for the assessor as it was before this round of work (BASELINE,
run from git in a separate process). Our own held-out writing (tests/data/risk/holdout/set5) was
written by someone who saw neither the lexicons nor the dev set and is measured here only.
Prints tables and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import risk_sources  # noqa: E402  (scripts/risk_sources.py)
from _report import print_table, write_json  # noqa: E402  (benchmarks/_report.py)
from typingcure.registry import create  # noqa: E402
from typingcure.safety.measure import (load_conversations, load_messages, measure_conversations,  # noqa: E402
                                       measure_messages)
from typingcure.types import level_rank  # noqa: E402

DATA = ROOT / "tests" / "data" / "risk"
BASELINE = "6eb4312"  # main before the assessor was retrained on real text
KEYWORDS = re.compile(
    r"suicid|kill (my ?self|me)|end (my|it) (life|all)|want to die|wanna die|self[- ]?harm|cut(ting)? myself"
    r"|overdos|better off (dead|without me)|no reason to live", re.IGNORECASE)
Levels = Callable[[Sequence[str]], list[str]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def at(level: str, floor: str) -> bool:
    return level_rank(level) >= level_rank(floor)  # type: ignore[arg-type]


# -- three assessors, one interface: texts in, levels out ---------------------------------------


def ours(assessor: Any) -> Levels:
    return lambda texts: [assessor.assess(t).level for t in texts]


def keyword_regex(texts: Sequence[str]) -> list[str]:
    return ["high" if KEYWORDS.search(t) else "none" for t in texts]


def baseline(texts: Sequence[str]) -> list[str] | None:
    """The assessor at BASELINE, from git, in a separate process (None when git cannot give it)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE, "src/typingcure"], capture_output=True)
        if archive.returncode != 0:
            return None
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        code = ("import sys, json\nfrom typingcure.registry import create\na = create('assessor', 'layered')\n"
                "for line in sys.stdin:\n    print(a.assess(json.loads(line)).level)\n")
        run = subprocess.run([sys.executable, "-c", code], input="\n".join(json.dumps(t) for t in texts) + "\n",
                             capture_output=True, text=True, env={"PYTHONPATH": f"{tmp}/src", "PATH": "/usr/bin:/bin"})
        levels = run.stdout.split()
        return levels if run.returncode == 0 and len(levels) == len(texts) else None


def figures(rows: Sequence[risk_sources.Row], levels: Sequence[str]) -> dict[str, Any]:
    risk = [lv for r, lv in zip(rows, levels) if r.gold == "risk"]
    none = [lv for r, lv in zip(rows, levels) if r.gold == "none"]
    distress = [lv for r, lv in zip(rows, levels) if r.gold == "distress"]
    ratio = lambda xs, floor: round(sum(at(x, floor) for x in xs) / len(xs), 4) if xs else None  # noqa: E731
    return {"risk": len(risk), "none": len(none), "distress": len(distress),
            "recall_moderate": ratio(risk, "moderate"), "recall_high": ratio(risk, "high"),
            "fpr_moderate": ratio(none, "moderate"), "distress_flagged_moderate": ratio(distress, "moderate")}


# -- per public source ---------------------------------------------------------------------------


def per_source(quick: bool) -> dict[str, Any]:
    rows = risk_sources.load_all()
    if not rows:
        return {"note": f"no public sources in {risk_sources.data_dir()} (scripts/get_risk_data)"}
    by_source: dict[str, list[risk_sources.Row]] = defaultdict(list)
    for r in rows:
        by_source[r.source].append(r)
    rng = random.Random(11)
    shipped = create("assessor", "layered")
    out: dict[str, Any] = {}
    for source, items in sorted(by_source.items()):
        if quick and len(items) > 600:
            items = rng.sample(items, 600)
        texts = [r.text for r in items]
        started = time.perf_counter()
        if source in risk_sources.TRAINABLE:
            assessor, how = _without(source), f"classifier retrained without {source}"
        else:
            assessor, how = shipped, "measuring only: never trained on"
        result = {"how": how, "ours": figures(items, ours(assessor)(texts)),
                  "keyword_regex": figures(items, keyword_regex(texts))}
        old = baseline(texts)
        result["baseline"] = figures(items, old) if old else None
        result["seconds"] = round(time.perf_counter() - started, 1)
        out[source] = result
        print(f"  {source}: {result['ours']}", file=sys.stderr)
    return out


def _without(source: str) -> Any:
    import train_risk_model as train  # scripts/train_risk_model.py (needs scikit-learn)
    from typingcure.safety.classifier import RiskClassifier

    model = train.fit(train.gather(frozenset({source})))
    shipped = RiskClassifier.load()
    data = train.export(model, {k: v for k, v in shipped.meta.items() if k in ("cuts", "calibration", "lexicon_priors")})
    return create("assessor", "layered", classifier_model=RiskClassifier(data))


def safe_flagged(assessor: Any, items: Sequence[Any]) -> dict[str, Any]:
    """Of the messages whose gold level is none or low (everyday distress and hard negatives): the share flagged moderate+."""
    safe = [i for i in items if level_rank(i.level) < level_rank("moderate")]
    flagged = [i for i in safe if at(assessor.assess(i.text).level, "moderate")]
    return {"n": len(safe), "flagged_moderate": round(len(flagged) / max(1, len(safe)), 3)}


def everyday_flagged(assessor: Any) -> dict[str, Any]:
    """Every person's turn of the everyday listening suite (no risk in any of them), with its history:
    the share assessed moderate or above, per language. Each such turn gets a question about suicide."""
    import yaml

    suite = yaml.safe_load((Path(__file__).resolve().parent.parent / "src" / "typingcure" / "evals" / "suites" /
                            "listening.yaml").read_text("utf-8"))
    by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for scenario in suite["scenarios"]:
        language = next(t[5:] for t in scenario["tags"] if t.startswith("lang:"))
        history: list[str] = []
        for turn in scenario["turns"]:
            level = assessor.assess(turn["user"], history, language=scenario.get("profile", {}).get("language", "en")).level
            by[language][0] += at(level, "moderate")
            by[language][1] += 1
            history.append(turn["user"])
    flagged, total = sum(v[0] for v in by.values()), sum(v[1] for v in by.values())
    return {"turns": total, "flagged_moderate": round(flagged / total, 3),
            "per_language": {k: round(f / n, 3) for k, (f, n) in sorted(by.items())}}


def cross_lingual(assessor: Any) -> dict[str, Any]:
    """XSafety: the same prompts in nine languages; how often each language's level agrees with English
    (the classifier is trained on these prompts as distress, so this is a consistency check, not an estimate)."""
    sets = risk_sources.load_xsafety(risk_sources.data_dir())
    if "en" not in sets:
        return {}
    english = ours(assessor)(sets["en"])
    out = {}
    for language, texts in sets.items():
        levels = ours(assessor)(texts[:len(english)])
        same = sum(at(a, "moderate") == at(b, "moderate") for a, b in zip(levels, english))
        out[language] = {"agreement_with_en": round(same / len(levels), 3),
                         "flagged_moderate": round(sum(at(x, "moderate") for x in levels) / len(levels), 3)}
    return out


def reliability(assessor: Any) -> list[dict[str, Any]]:
    """Calibration on data the classifier never saw: the measuring-only sources and the held-out writing."""
    rows = [r for r in risk_sources.load_all() if r.source in risk_sources.MEASURE_ONLY and r.gold != "distress"]
    pairs = [(assessor.assess(r.text).score, r.gold == "risk") for r in rows]
    pairs += [(assessor.assess(i.text).score, at(i.level, "moderate")) for i in load_messages(DATA / "holdout" / "set5")]
    table = []
    for low, high in ((0, .1), (.1, .3), (.3, .5), (.5, .7), (.7, .9), (.9, 1.01)):
        inside = [(s, y) for s, y in pairs if low <= s < high]
        if inside:
            table.append({"score": f"{low:.1f}–{min(high, 1):.1f}", "n": len(inside),
                          "mean_score": round(statistics.mean(s for s, _ in inside), 3),
                          "observed_risk": round(sum(y for _, y in inside) / len(inside), 3)})
    return table


def holdout_figures(assessor: Any, folder: Path) -> dict[str, Any]:
    """Figures only, never a text: per-category recall at moderate+, and the shares of none/low messages
    (everyday distress and hard negatives) and of hard negatives flagged moderate+, overall and per language."""
    items = load_messages(folder)
    levels = [assessor.assess(i.text).level for i in items]
    pairs = list(zip(items, levels))
    share = lambda xs: round(sum(at(lv, "moderate") for _, lv in xs) / len(xs), 3) if xs else None  # noqa: E731

    def block(chosen: Sequence[tuple[Any, str]]) -> dict[str, Any]:
        risky = [(i, lv) for i, lv in chosen if at(i.level, "moderate") and "other" not in i.tags]
        safe = [(i, lv) for i, lv in chosen if not at(i.level, "moderate")]
        severe = [(i, lv) for i, lv in risky if at(i.level, "high")]
        return {"n": len(chosen), "recall_moderate": share(risky),
                "recall_high_of_high": round(sum(at(lv, "high") for _, lv in severe) / len(severe), 3) if severe else None,
                "safe_flagged_moderate": share(safe),
                "n_safe": len(safe), "hard_negatives_flagged_moderate": share([(i, lv) for i, lv in chosen if i.hard_negative]),
                "n_hard_negatives": sum(i.hard_negative for i, _ in chosen)}

    categories = sorted({c for i in items for c in i.categories})
    return {**block(pairs),
            "per_category_recall_moderate": {c: share([(i, lv) for i, lv in pairs if c in i.categories
                                                       and at(i.level, "moderate") and "other" not in i.tags])
                                              for c in categories},
            "per_language": {lang: block([(i, lv) for i, lv in pairs if i.language == lang])
                             for lang in sorted({i.language for i in items})}}


def synthetic_posts(size: int, n: int, seed: int = 3) -> list[str]:
    """Long posts made by joining dev messages and everyday texts, for the speed figures without public data."""
    import yaml

    texts = [i.text for i in load_messages(DATA / "messages")]
    everyday = yaml.safe_load((DATA / "everyday.yaml").read_text("utf-8"))
    texts += [t for v in everyday.values() for t in v]
    rng = random.Random(seed)
    return [" ".join(rng.sample(texts, 1 + size // 30))[:size] for _ in range(n)]


def speed_by_length(assessor: Any) -> dict[str, dict[str, float]]:
    """p50 and p95 ms for posts of 200, 2,000 and 20,000 characters (new texts each, no history)."""
    out = {}
    for size, n in ((200, 60), (2_000, 30), (20_000, 12)):
        ms = []
        for post in synthetic_posts(size, n):
            started = time.perf_counter()
            assessor.assess(post)
            ms.append((time.perf_counter() - started) * 1000)
        out[str(size)] = {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(percentile(ms, 0.95), 1)}
    return out


# -- speed, start-up, memory ---------------------------------------------------------------------


def speed(assessor: Any, texts: list[str], rounds: int) -> dict[str, float]:
    rng = random.Random(7)
    sized = [t for t in texts if 200 <= len(t) <= 1000] or texts
    cold, warm = [], []
    for i in range(rounds):
        history = [f"{t} ({i}-{k})" for k, t in enumerate(rng.sample(texts, 5))]
        message = f"{rng.choice(sized)[:990]} [{i}]"
        started = time.perf_counter()
        assessor.assess(message, history=history)
        cold.append((time.perf_counter() - started) * 1000)
    conversation: list[str] = []
    for i in range(rounds):
        message = f"{rng.choice(sized)[:990]} <{i}>"
        started = time.perf_counter()
        assessor.assess(message, history=conversation[-5:])
        warm.append((time.perf_counter() - started) * 1000)
        conversation.append(message)
    long_post = " ".join(rng.sample(texts, min(len(texts), 200)))[:20_000]
    started = time.perf_counter()
    assessor.assess(long_post + " .")
    long_ms = (time.perf_counter() - started) * 1000
    return {"cold_p50_ms": round(statistics.median(cold), 2), "cold_p95_ms": round(percentile(cold, 0.95), 2),
            "warm_p50_ms": round(statistics.median(warm), 2), "warm_p95_ms": round(percentile(warm, 0.95), 2),
            "post_20000_chars_ms": round(long_ms, 1)}


def startup_and_memory() -> dict[str, float]:
    code = (
        "import resource, time; t = time.perf_counter();"
        "from typingcure.registry import create; a = create('assessor', 'layered'); a.assess('warm up');"
        "s = time.perf_counter() - t;"
        "print(s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    seconds, rss = map(float, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                             check=True, env=env).stdout.split())
    return {"startup_s": round(seconds, 3), "process_rss_mb": round(rss, 1)}


def jsonl_throughput(texts: list[str], n: int = 5000) -> dict[str, float]:
    lines = "".join(json.dumps({"id": i, "text": texts[i % len(texts)][:4000]}) + "\n" for i in range(n))
    started = time.perf_counter()
    run = subprocess.run([str(Path(sys.executable).parent / "typingcure"), "assess", "--jsonl"], input=lines,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - started
    return {"posts": n, "seconds": round(seconds, 1), "items_per_second": round(n / seconds, 1),
            "ok": run.returncode == 0 and len(run.stdout.splitlines()) == n}


# -- the run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="at most 600 rows per source")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "risk.json")
    parser.add_argument("--holdout", choices=sorted(p.name for p in (DATA / "holdout").iterdir() if p.is_dir()),
                        help="only this blind held-out set's figures (no texts), its conversations, and the everyday turns")
    parser.add_argument("--speed", action="store_true", help="only the speed by post length")
    args = parser.parse_args()

    assessor = create("assessor", "layered")
    if args.holdout or args.speed:
        assessor.assess("warm up")
        only = {"speed_by_length": speed_by_length(assessor)} if args.speed else {}
        if args.holdout:
            only[f"held_out_{args.holdout}"] = holdout_figures(assessor, DATA / "holdout" / args.holdout)
            talks = [c for f in sorted((DATA / "holdout_conversations").glob(f"{args.holdout}*.yaml")) for c in load_conversations(f)]
            if talks:
                only[f"conversations_held_out_{args.holdout}"] = {
                    k: v for k, v in measure_conversations(assessor, talks).items() if k != "errors"}
            only["everyday_listening"] = everyday_flagged(assessor)
        print(json.dumps(only, indent=1))
        return
    dev = load_messages(DATA / "messages")
    held_out = load_messages(DATA / "holdout" / "set5")
    held_out6 = load_messages(DATA / "holdout" / "set6")
    conversations = load_conversations(DATA / "conversations.yaml") + load_conversations(DATA / "conversations_real.yaml")
    results: dict[str, Any] = {
        "held_out_set5": measure_messages(assessor, held_out),
        "dev": {k: v for k, v in measure_messages(assessor, dev).items() if k != "errors"},
        "conversations_dev": measure_conversations(assessor, conversations),
        "conversations_held_out": measure_conversations(assessor, load_conversations(DATA / "holdout_conversations" / "set5.yaml")),
        "held_out_set6": measure_messages(assessor, held_out6),
        "held_out_set6_safe_flagged": safe_flagged(assessor, held_out6),
        "conversations_held_out_set6": measure_conversations(assessor, load_conversations(DATA / "holdout_conversations" / "set6.yaml")),
        "everyday_listening": everyday_flagged(assessor),
        "cross_lingual_xsafety": cross_lingual(assessor),
        "reliability": reliability(assessor),
    }
    public_texts = [r.text for r in risk_sources.load_all()] or [i.text for i in dev]
    results["speed"] = speed(assessor, public_texts, args.rounds)
    results["startup"] = startup_and_memory()
    results["jsonl"] = jsonl_throughput(public_texts)
    write_json(args.out, results)  # the quick parts first, in case the per-source part is stopped
    results["sources"] = per_source(args.quick)
    report(results)
    write_json(args.out, results)


def report(results: dict[str, Any]) -> None:
    print("\nper public source (never measured on a source it was trained on): recall mod+ / high+ / FPR mod+")
    print(f"  {'source':<20} {'n risk/none':>12}  {'ours':>20}  {'keyword regex':>20}  {'before':>20}  how")
    fmt = lambda f: f"{f['recall_moderate']} / {f['recall_high']} / {f['fpr_moderate']}" if f else "-"  # noqa: E731
    for source, r in results["sources"].items():
        if isinstance(r, dict) and "ours" in r:
            o = r["ours"]
            print(f"  {source:<20} {o['risk']:>5}/{o['none']:<6}  {fmt(o):>20}  {fmt(r['keyword_regex']):>20}  "
                  f"{fmt(r['baseline']):>20}  {r['how']}")
    h, sp, st = results["held_out_set5"], results["speed"], results["startup"]
    print("\nheld-out writing (set 6, blind) per language: recall mod+ / FPR on hard negatives (n)")
    for language, v in results["held_out_set6"]["per_language"].items():
        print(f"  {language:<4} {v['recall_moderate']} / {v['hard_negative_fpr']}  (n={v['support']})")
    print("everyday listening, flagged moderate+ per language:", results["everyday_listening"]["per_language"])
    print("\nheld-out writing (set 5, no longer blind) per language: recall mod+ / FPR on hard negatives (n)")
    for language, v in h["per_language"].items():
        print(f"  {language:<4} {v['recall_moderate']} / {v['hard_negative_fpr']}  (n={v['support']})")
    cd, ch = results["conversations_dev"], results["conversations_held_out"]
    h6, s6, c6, ev = (results["held_out_set6"], results["held_out_set6_safe_flagged"],
                      results["conversations_held_out_set6"], results["everyday_listening"])
    rows = [
        ("held-out set 6 (blind): messages / suicide recall mod+ / high+ / hard-negative FPR",
         f"{h6['messages']} / {h6['suicide_recall_moderate']} / {h6['suicide_recall_high']} / {h6['hard_negative_fpr']}",
         "≥ 0.90 / - / ≤ 0.05"),
        ("held-out set 6: none/low messages flagged moderate+", f"{s6['flagged_moderate']} (n={s6['n']})", "≤ 0.03"),
        ("held-out conversations set 6: n / agreement / method after distress → high",
         f"{c6['conversations']} / {c6['agreement']} / {c6['method_after_distress_recall_high']}", ""),
        ("everyday listening turns flagged moderate+ (no risk in any)", f"{ev['flagged_moderate']} (n={ev['turns']})", "≤ 0.03"),
        ("held-out set 5 (seen): messages / suicide recall mod+ / high+ / FPR",
         f"{h['messages']} / {h['suicide_recall_moderate']} / {h['suicide_recall_high']} / {h['hard_negative_fpr']}",
         "≥ 0.90 / - / ≤ 0.05"),
        ("conversations (dev): n / agreement / method after distress → high",
         f"{cd['conversations']} / {cd['agreement']} / {cd['method_after_distress_recall_high']}", "≥ 100"),
        ("conversations (held out): n / agreement", f"{ch['conversations']} / {ch['agreement']}", ""),
        ("ms per message ≤ 1,000 chars, 5 turns history: in a conversation p95 / all new p95",
         f"{sp['warm_p95_ms']} / {sp['cold_p95_ms']}", "≤ 25"),
        ("ms for a 20,000-character post", sp["post_20000_chars_ms"], "≤ 300"),
        ("start-up / memory with the assessor loaded", f"{st['startup_s']} s / {st['process_rss_mb']} MB", "≤ 2 s / ≤ 300 MB"),
        ("assess --jsonl, 5,000 posts: items per second", results["jsonl"]["items_per_second"], ""),
    ]
    print()
    print_table(rows, 28)
    print("\nanswers and false alarms (held-out conversations, agreement by tag):")
    for tag, v in ch["agreement_by_tag"].items():
        print(f"  {tag:<22} {v}")
    print("\nreliability (score bins on data the classifier never saw):")
    for row in results["reliability"]:
        print(f"  {row['score']:<8} n={row['n']:<5} mean score {row['mean_score']:<6} observed {row['observed_risk']}")
    if results["cross_lingual_xsafety"]:
        print("\nXSafety (same prompts, nine languages): agreement with English / flagged moderate+")
        for language, v in results["cross_lingual_xsafety"].items():
            print(f"  {language:<4} {v['agreement_with_en']} / {v['flagged_moderate']}")


if __name__ == "__main__":
    main()
