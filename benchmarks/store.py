"""Storage benchmarks: turn write and read, opening a store with 10,000 turns, exporting them,
and the key derivation on its own.

    .venv/bin/python benchmarks/store.py [--turns 10000] [--out benchmarks/results/store.json]

Uses the real Argon2id settings for the key-derivation figure and the real store (AES-GCM,
SQLite in WAL mode with synchronous=FULL) in a temporary folder. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from typingcure import Profile, ScriptedBackend, Session, build_parts, run_turn
from typingcure.store import SQLiteStore, to_markdown
from typingcure.store.crypto import KDF, derive
from _report import print_table, write_json  # benchmarks/_report.py

FAST = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


CHANGER = """
import sys
from pathlib import Path
from typingcure.store.crypto import KeyFile
key = KeyFile(Path(sys.argv[1]) / "key.json", kdf={"time_cost": 1, "memory_cost": 8192, "parallelism": 1})
old, new = "first", "second"
while True:
    key.change(old, new)
    old, new = new, old
"""


def kills_during_passphrase_changes(tmp: Path, kills: int = 20) -> dict[str, int]:
    """A process changes the passphrase back and forth; it is SIGKILLed at random moments. After each
    kill: the next start must shred any half-written key, and one of the two passphrases must open."""
    folder = tmp / "kills"
    store = SQLiteStore.open(folder, "first", kdf=FAST)
    store.close()
    rng, left, unopenable = random.Random(14), 0, 0
    from typingcure.store.crypto import KeyFile, LockedError
    from typingcure.store.sqlite import secure_home

    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", CHANGER, str(folder)], env=os.environ)
        time.sleep(0.3 + rng.random() * 0.4)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        secure_home(folder)
        left += sum(1 for p in folder.iterdir() if p.name.startswith("key.json") and p.name != "key.json")
        opened = False
        for secret in ("first", "second"):
            try:
                KeyFile(folder / "key.json").unlock(secret)
                opened = True
            except LockedError:
                pass
        unopenable += not opened
    return {"kills": kills, "key_material_left": left, "key_unopenable": unopenable}


def concurrent_turns(tmp: Path, threads: int = 8, each: int = 50) -> dict[str, int]:
    store = SQLiteStore.open(tmp / "threads", "pass", kdf=FAST)
    session = Session(profile=Profile(country="GB"))
    turn = run_turn(session, "a long day", build_parts(ScriptedBackend(["That sounds like a lot."])))
    cids = [store.new_conversation({"country": "GB"}, "listener") for _ in range(threads)]
    errors: list[str] = []

    def writer(n: int) -> None:
        for _ in range(each):
            try:
                store.add_turn(cids[n], turn)
            except Exception as exc:  # noqa: BLE001 - counted
                errors.append(type(exc).__name__)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stored = sum(len(store.turns(c)) for c in cids)
    store.close()
    return {"turns_sent": threads * each, "turns_stored": stored, "errors": len(errors)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "store.json")
    args = parser.parse_args()

    started = time.perf_counter()
    derive("a passphrase", b"0123456789abcdef", KDF)
    kdf_s = time.perf_counter() - started

    session = Session(profile=Profile(country="GB"))
    turn = run_turn(session, "I had a long day and my manager shouted at me again",
                    build_parts(ScriptedBackend(["That sounds exhausting. What was the hardest part?"])))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = SQLiteStore.open(folder, "pass", kdf=FAST)
        cid = store.new_conversation({"country": "GB"}, "listener")
        write_read = []
        for i in range(500):
            t0 = time.perf_counter()
            seq = store.add_turn(cid, turn)
            store.db.execute("SELECT blob FROM turns WHERE conversation = ? AND seq = ?", (cid, seq)).fetchone()
            store.turns(cid)[-1:] if i % 100 == 0 else None
            write_read.append((time.perf_counter() - t0) * 1000)
        # fill up to --turns in bulk, across 100 conversations
        per = args.turns // 100
        for c in range(100):
            conv = store.new_conversation({"country": "GB"}, "listener")
            box = store._conversation_box(conv)
            with store._transaction():
                for seq in range(1, per + 1):
                    store.db.execute("INSERT INTO turns VALUES (?, ?, ?, ?)",
                                     (conv, seq, time.time(), store._seal(turn.model_dump(mode="json"), f"turn:{conv}:{seq}", box)))
        store.close()
        t0 = time.perf_counter()
        store = SQLiteStore.open(folder, "pass", kdf=FAST)
        listing = store.conversations()
        open_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        data = store.export()
        markdown = to_markdown(data)
        export_s = time.perf_counter() - t0
        total = sum(len(c["turns"]) for c in data["conversations"])
        size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        store.close()

    results = {"kdf_s": round(kdf_s, 3), "write_read_p50_ms": round(statistics.median(write_read), 3),
               "write_read_p95_ms": round(percentile(write_read, 0.95), 3), "turns": total,
               "conversations": len(listing), "open_s": round(open_s, 3), "export_s": round(export_s, 3),
               "store_mb": round(size_mb, 1), "markdown_chars": len(markdown)}
    with tempfile.TemporaryDirectory() as tmp:
        results["kills"] = kills_during_passphrase_changes(Path(tmp))
        results["threads"] = concurrent_turns(Path(tmp))
    k, th = results["kills"], results["threads"]
    rows = [("SIGKILLs during passphrase changes: key material left / key unopenable",
             f"{k['kills']}: {k['key_material_left']} / {k['key_unopenable']}", "0 / 0"),
            ("8 threads × 50 turns: stored / errors", f"{th['turns_stored']} of {th['turns_sent']} / {th['errors']}", "all / 0"),
            ("key derivation, Argon2id 64 MiB × 3 (once per unlock)", f"{results['kdf_s']} s", ""),
            ("turn write + read, p50 / p95", f"{results['write_read_p50_ms']} / {results['write_read_p95_ms']} ms", "p95 ≤ 5 ms"),
            (f"open a store with {total:,} turns (KDF excluded)", f"{results['open_s'] * 1000:.0f} ms", "≤ 300 ms"),
            (f"export {total:,} turns (JSON + Markdown)", f"{results['export_s']:.2f} s", "≤ 5 s"),
            ("store size", f"{results['store_mb']} MB", "")]
    print_table(rows, 20)
    write_json(args.out, results)


if __name__ == "__main__":
    main()
