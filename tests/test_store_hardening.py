"""Store hardening (issue 14): a wipe is a wipe whatever is interrupted, threads share the store
safely, only the person can read the files, and a damaged file or disk gives one clear line."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from typingcure import Profile, ScriptedBackend, Session, build_parts, run_turn
from typingcure.store import (DB_NAME, KEY_NAME, KeyFile, LockedError, SQLiteStore, StoreError, StoreRecorder, secure_home,
                              to_markdown, wipe)
from typingcure.types import TurnResult

from .conftest import run_cli

FAST = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}
ROOT = str(Path(__file__).resolve().parent.parent)
STORE_FILES = {KEY_NAME, DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"}


def a_turn(text: str = "a private thought") -> TurnResult:
    parts = build_parts(ScriptedBackend(["I hear you."], cycle=True))
    return run_turn(Session(profile=Profile(country="GB")), text, parts)


def make_store(folder: Path, passphrase: str = "old", turns: int = 3) -> str:
    store = SQLiteStore.open(folder, passphrase, kdf=FAST)
    cid = store.new_conversation({"country": "GB"}, "listener")
    turn = a_turn()
    for i in range(turns):
        store.add_turn(cid, turn.model_copy(update={"user_text": f"private turn {i}"}))
    store.close()
    return cid


def opens(folder: Path, passphrase: str) -> bool:
    try:
        SQLiteStore.open(folder, passphrase, create=False).close()
    except (LockedError, StoreError):
        return False
    return True


def resurrects(db_copy: Path, leftovers: Path, tmp: Path) -> list[str]:
    """The files left in `leftovers` that, put beside a stolen copy of the database, open the history."""
    found = []
    for candidate in sorted(p for p in leftovers.iterdir() if p.is_file()):
        trial = tmp / f"trial-{candidate.name}-{time.monotonic_ns()}"
        shutil.copytree(db_copy, trial)
        shutil.copyfile(candidate, trial / KEY_NAME)
        if any(opens(trial, secret) for secret in ("old", "new")):
            found.append(candidate.name)
        shutil.rmtree(trial)
    return found


def steal_db(folder: Path, to: Path) -> Path:
    to.mkdir()
    for name in (DB_NAME, DB_NAME + "-wal"):
        if (folder / name).exists():
            shutil.copyfile(folder / name, to / name)
    return to


# -- 1. crypto-shred: SIGKILL at every file-system step --------------------------------------------

# Runs one key operation in a subprocess and SIGKILLs it just before its Nth file-system step
# (every open, rename, remove, chmod, link of a path in the folder, every os.write and os.fsync):
# no hook in the library, the steps are whatever the code really does. "torn" writes half of the
# bytes of that write first. N = 0 runs to the end and prints the steps.
KILL_AT_STEP = r"""
import json, os, signal, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from typingcure.store import KeyFile, KEY_NAME, wipe
FAST = {{"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}}
folder, target, torn, action = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "torn", sys.argv[4]
steps, armed = [], False

def step(name, before_kill=None):
    steps.append(name)
    if len(steps) == target:
        if before_kill:
            before_kill()
        os.kill(os.getpid(), signal.SIGKILL)

def ours(path):
    try:
        return os.fsdecode(os.fspath(path)).startswith(str(folder))
    except TypeError:
        return False

EVENTS = ("open", "os.rename", "os.remove", "os.link", "os.chmod", "os.truncate", "os.mkdir", "os.rmdir")
def audit(event, args):
    if armed and event in EVENTS and args and ours(args[0]):
        step(event + " " + os.path.basename(os.fsdecode(os.fspath(args[0]))))
sys.addaudithook(audit)

real_write, real_fsync = os.write, os.fsync
def write(fd, data):
    if armed:
        step("write", (lambda: real_write(fd, bytes(data)[:len(data) // 2])) if torn else None)
    return real_write(fd, data)
def fsync(fd):
    if armed:
        step("fsync")
    return real_fsync(fd)
os.write, os.fsync = write, fsync

armed = True
if action == "change":
    KeyFile(folder / KEY_NAME, FAST).change("old", "new")
else:
    wipe(folder)
armed = False
print(json.dumps(steps))
"""


def run_killed(folder: Path, target: int, action: str, torn: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", KILL_AT_STEP.format(root=ROOT), str(folder), str(target),
                           "torn" if torn else "whole", action], capture_output=True, text=True, timeout=60, check=False)


def kill_points(template: Path, action: str, tmp: Path) -> list[tuple[int, bool, str]]:
    dry = tmp / f"dry-{action}"
    shutil.copytree(template, dry)
    done = run_killed(dry, 0, action)
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)
    assert steps, "the operation touched no file"
    points = [(k, False, name) for k, name in enumerate(steps, 1)]
    points += [(k, True, name + " (torn)") for k, name in enumerate(steps, 1) if name == "write"]
    return points


def test_a_passphrase_change_killed_at_any_step_leaves_no_key_material(tmp_path: Path) -> None:
    template = tmp_path / "template"
    make_store(template)
    points = kill_points(template, "change", tmp_path)
    failures = []
    for k, torn, name in points:
        killed = tmp_path / f"killed-{k}-{torn}"
        shutil.copytree(template, killed)
        done = run_killed(killed, k, "change", torn)
        assert done.returncode == -signal.SIGKILL, (name, done.stderr)
        # the next start: exactly one passphrase opens it, every turn is there, no temp file is left
        started = tmp_path / f"started-{k}-{torn}"
        shutil.copytree(killed, started)
        working = [secret for secret in ("old", "new") if opens(started, secret)]
        left = sorted(set(os.listdir(started)) - STORE_FILES)
        if len(working) != 1 or left:
            failures.append(f"killed before {name}: opens with {working}, left {left}")
            continue
        store = SQLiteStore.open(started, working[0])
        assert len(store.turns(store.conversations()[0].id)) == 3
        store.close()
        # a wipe straight after the kill (no start in between): nothing, and a stolen copy stays shut
        wiped = tmp_path / f"wiped-{k}-{torn}"
        shutil.copytree(killed, wiped)
        stolen = steal_db(killed, tmp_path / f"stolen-{k}-{torn}")
        wipe(wiped)
        if any(wiped.iterdir()) or resurrects(stolen, wiped, tmp_path):
            failures.append(f"killed before {name}: wipe left {sorted(os.listdir(wiped))}")
    assert not failures, failures
    assert len(points) >= 5  # the lock, the temp file, the write, fsync, the rename at least


def test_a_wipe_killed_at_any_step_never_leaves_a_copy_of_the_key_once_the_key_is_gone(tmp_path: Path) -> None:
    """Killed part-way, either the key still opens (the wipe visibly did not finish) or nothing left
    opens a stolen copy of the database; the next wipe always finishes the job."""
    template = tmp_path / "template"
    make_store(template)
    changed = tmp_path / "changed"
    shutil.copytree(template, changed)
    KeyFile(changed / KEY_NAME, FAST).change("old", "new")
    shutil.copyfile(changed / KEY_NAME, template / (KEY_NAME + ".tmp"))  # as an interrupted change leaves it
    stolen = steal_db(template, tmp_path / "stolen")
    failures = []
    for k, torn, name in kill_points(template, "wipe", tmp_path):
        killed = tmp_path / f"killed-{k}-{torn}"
        shutil.copytree(template, killed)
        done = run_killed(killed, k, "wipe", torn)
        assert done.returncode == -signal.SIGKILL, (name, done.stderr)
        key_intact = resurrects(stolen, killed, tmp_path)
        if key_intact and KEY_NAME not in key_intact:
            failures.append(f"killed before {name}: the key is gone but {key_intact} still open the history")
        wipe(killed)
        if any(killed.iterdir()):
            failures.append(f"killed before {name}: a second wipe left {sorted(os.listdir(killed))}")
    assert not failures, failures


CHANGE_FOREVER = r"""
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from typingcure.store import KeyFile, KEY_NAME, LockedError
FAST = {{"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}}
keys = KeyFile(Path(sys.argv[1]) / KEY_NAME, FAST)
try:
    keys.unlock("old"); a, b = "old", "new"
except LockedError:
    a, b = "new", "old"
print("ready", flush=True)
while True:
    keys.change(a, b)
    a, b = b, a
"""


def test_random_kills_during_passphrase_changes_leave_no_key_material(tmp_path: Path) -> None:
    folder = tmp_path / "home"
    make_store(folder)
    rng = random.Random(14)
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", CHANGE_FOREVER.format(root=ROOT), str(folder)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stolen = steal_db(folder, tmp_path / f"stolen-{time.monotonic_ns()}")
        working = [secret for secret in ("old", "new") if opens(folder, secret)]
        assert len(working) == 1 and set(os.listdir(folder)) <= STORE_FILES, (working, os.listdir(folder))
        assert resurrects(stolen, folder, tmp_path) == [KEY_NAME]
    wipe(folder)
    assert not any(folder.iterdir())


def test_wipe_shreds_every_key_bearing_file_and_a_stolen_copy_stays_shut(tmp_path: Path) -> None:
    folder = tmp_path / "home"
    make_store(folder)
    for name in (KEY_NAME + ".tmp", KEY_NAME + ".bak", KEY_NAME + ".tmp.4711"):
        shutil.copyfile(folder / KEY_NAME, folder / name)
    stolen = steal_db(folder, tmp_path / "stolen")
    assert resurrects(stolen, folder, tmp_path)  # the copy and its keys do open, before the wipe
    removed = wipe(folder)
    assert {KEY_NAME, KEY_NAME + ".tmp", KEY_NAME + ".bak", KEY_NAME + ".tmp.4711", DB_NAME} <= set(removed)
    assert not any(folder.iterdir())
    assert resurrects(stolen, folder, tmp_path) == []


def test_wipe_never_follows_a_link_out_of_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "home"
    make_store(folder)
    outside = tmp_path / "precious.txt"
    outside.write_text("not typingcure's to shred")
    (folder / (KEY_NAME + ".tmp")).symlink_to(outside)
    wipe(folder)
    assert outside.read_text() == "not typingcure's to shred" and not any(folder.iterdir())


def test_the_next_start_shreds_a_leftover_key_temp_and_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "home"
    make_store(folder)
    shutil.copyfile(folder / KEY_NAME, folder / (KEY_NAME + ".tmp"))
    store = SQLiteStore.open(folder, "old")
    assert not (folder / (KEY_NAME + ".tmp")).exists()
    assert any("interrupted" in note for note in store.notes), store.notes
    store.close()


def test_sqlite_keeps_its_temporary_files_in_memory(tmp_path: Path) -> None:
    """VACUUM (after forget) would otherwise copy the database to a file in the system's temp folder."""
    make_store(tmp_path / "home")
    store = SQLiteStore.open(tmp_path / "home", "old")
    assert store.db.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    store.close()


# -- 2. threads -------------------------------------------------------------------------------------


def test_eight_threads_store_all_400_turns_while_others_read(tmp_path: Path) -> None:
    store = SQLiteStore.open(tmp_path / "home", "pass", kdf=FAST)
    turn = a_turn()
    shared = store.new_conversation({"country": "GB"}, "listener")
    own = [store.new_conversation({"country": "GB"}, "journal") for _ in range(4)]
    errors: list[str] = []
    writing = threading.Event()
    writing.set()

    def writer(n: int) -> None:
        cid = shared if n % 2 else own[n // 2]
        for i in range(50):
            try:
                store.add_turn(cid, turn.model_copy(update={"user_text": f"thread {n} turn {i}"}))
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                errors.append(f"write: {exc!r}")

    def reader() -> None:
        while writing.is_set():
            try:
                store.conversations()
                store.turns(shared)
                store.export()
            except Exception as exc:  # noqa: BLE001
                errors.append(f"read: {exc!r}")

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    writing.clear()
    for t in readers:
        t.join(timeout=60)
    assert errors == [], errors[:5]
    kept = {t["user_text"] for c in store.conversations() for t in store.turns(c.id)}
    assert kept == {f"thread {n} turn {i}" for n in range(8) for i in range(50)}
    seqs = [row[0] for row in store.db.execute("SELECT seq FROM turns WHERE conversation = ? ORDER BY seq", (shared,))]
    assert seqs == list(range(1, 201))
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    reopened = SQLiteStore.open(tmp_path / "home", "pass")
    assert sum(c.turns for c in reopened.conversations()) == 400
    assert reopened.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened.close()


def test_concurrent_turns_through_run_turn_are_all_kept(tmp_path: Path) -> None:
    store = SQLiteStore.open(tmp_path / "home", "pass", kdf=FAST)
    notes: list[str] = []

    def tab(n: int) -> None:
        session = Session(profile=Profile(country="GB"))
        parts = build_parts(ScriptedBackend(["I hear you."], cycle=True))
        parts.recorder = StoreRecorder(store, store.new_conversation(session.profile.model_dump(), session.role))
        for i in range(10):
            notes.extend(run_turn(session, f"tab {n} says {i}", parts).notes)

    tabs = [threading.Thread(target=tab, args=(n,)) for n in range(4)]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join(timeout=120)
    assert "This turn could not be saved." not in notes
    assert sorted(c.turns for c in store.conversations()) == [10, 10, 10, 10]
    store.close()


def test_a_store_closed_by_another_thread_refuses_cleanly(tmp_path: Path) -> None:
    store = SQLiteStore.open(tmp_path / "home", "pass", kdf=FAST)
    cid = store.new_conversation({}, "listener")
    closer = threading.Thread(target=store.close)
    closer.start()
    closer.join()
    with pytest.raises(LockedError, match="locked"):
        store.add_turn(cid, a_turn())
    with pytest.raises(LockedError):
        store.conversations()
    store.close()  # twice is fine


# -- 3. file modes ----------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_home_and_every_store_file_are_private(tmp_path: Path) -> None:
    old = os.umask(0)  # even with a careless umask
    try:
        home = tmp_path / "new" / "home"
        store = SQLiteStore.open(home, "pass", kdf=FAST)
        store.add_turn(store.new_conversation({}, "listener"), a_turn())
        assert (home / (DB_NAME + "-wal")).exists() and (home / (DB_NAME + "-shm")).exists()
        assert mode(home) == 0o700
        assert {name: oct(mode(home / name)) for name in sorted(STORE_FILES)} == \
            {name: "0o600" for name in sorted(STORE_FILES)}
        store.close()
    finally:
        os.umask(old)


def test_wider_modes_are_fixed_at_start_with_one_note(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_store(home)
    home.chmod(0o755)
    (home / DB_NAME).chmod(0o644)
    (home / KEY_NAME).chmod(0o664)
    store = SQLiteStore.open(home, "old")
    assert mode(home) == 0o700 and mode(home / DB_NAME) == 0o600 and mode(home / KEY_NAME) == 0o600
    assert mode(home / (DB_NAME + "-wal")) == 0o600
    assert len(store.notes) == 1 and "\n" not in store.notes[0] and "0644" in store.notes[0], store.notes
    store.close()
    again = SQLiteStore.open(home, "old")
    assert again.notes == ()  # nothing to say once they are private
    again.close()


def test_secure_home_checks_at_start_without_a_passphrase(tmp_path: Path) -> None:
    """What `serve` or `chat` can call before anyone unlocks anything."""
    home = tmp_path / "home"
    make_store(home)
    (home / KEY_NAME).chmod(0o644)
    shutil.copyfile(home / KEY_NAME, home / (KEY_NAME + ".tmp"))
    notes = secure_home(home)
    assert len(notes) == 2 and mode(home / KEY_NAME) == 0o600 and not (home / (KEY_NAME + ".tmp")).exists()
    assert secure_home(home) == [] and secure_home(tmp_path / "not there") == []


def test_the_cli_says_in_one_line_that_it_fixed_the_modes(home: Path) -> None:
    make_store(home)
    (home / DB_NAME).chmod(0o644)
    done = run_cli("history", env={"TYPINGCURE_PASSPHRASE": "old"})
    assert done.returncode == 0, done.stderr
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("typingcure: ") and "0600" in lines[0], lines
    assert mode(home / DB_NAME) == 0o600


def test_export_out_is_written_private(tmp_path: Path, home: Path) -> None:
    make_store(home)
    out = tmp_path / "export.md"
    out.write_text("an older export")
    out.chmod(0o644)
    done = subprocess.run([sys.executable, "-m", "typingcure", "export", "--out", str(out)], capture_output=True,
                          env={**os.environ, "TYPINGCURE_PASSPHRASE": "old"}, preexec_fn=lambda: os.umask(0),
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "private turn 2" in out.read_text() and mode(out) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("export")] == ["export.md"]  # no .part left


# -- 4. damaged records, damaged keys, damaged disks ------------------------------------------------


def flip(blob: bytes) -> bytes:
    return blob[:20] + bytes([blob[20] ^ 0xFF]) + blob[21:]


def tamper(folder: Path, table: str, column: str, where: str, *args: Any) -> None:
    db = sqlite3.connect(folder / DB_NAME)
    (blob,) = db.execute(f"SELECT {column} FROM {table} WHERE {where}", args).fetchone()
    db.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (flip(blob), *args))
    db.commit()
    db.close()


def test_export_skips_a_damaged_turn_and_counts_it(tmp_path: Path) -> None:
    cid = make_store(tmp_path)
    tamper(tmp_path, "turns", "blob", "conversation = ? AND seq = 2", cid)
    store = SQLiteStore.open(tmp_path, "old")
    data = store.export()
    store.close()
    assert [t["user_text"] for t in data["conversations"][0]["turns"]] == ["private turn 0", "private turn 2"]
    assert len(data["skipped"]) == 1 and "turn 2" in data["skipped"][0]
    assert "1 damaged record" in to_markdown(data)


def test_export_skips_a_conversation_whose_key_is_damaged(tmp_path: Path) -> None:
    store = SQLiteStore.open(tmp_path, "old", kdf=FAST)
    good, bad = (store.new_conversation({}, "listener") for _ in range(2))
    for cid in (good, bad):
        store.add_turn(cid, a_turn(f"in {cid}"))
    store.put("profile", {"country": "GB"})
    store.close()
    tamper(tmp_path, "conversations", "key", "id = ?", bad)
    tamper(tmp_path, "singletons", "blob", "name = 'profile'")
    store = SQLiteStore.open(tmp_path, "old")
    data = store.export()
    assert [c["id"] for c in data["conversations"]] == [good]
    assert len(data["skipped"]) == 2 and data["profile"] is None
    assert {c.id for c in store.conversations()} == {good, bad}  # `history` still lists both
    store.close()


def test_export_skips_damaged_conversation_meta_but_keeps_its_turns(tmp_path: Path) -> None:
    cid = make_store(tmp_path)
    tamper(tmp_path, "conversations", "meta", "id = ?", cid)
    store = SQLiteStore.open(tmp_path, "old")
    data = store.export()
    store.close()
    assert len(data["conversations"][0]["turns"]) == 3 and len(data["skipped"]) == 1


def test_cli_export_of_a_damaged_store_exports_the_rest_and_says_so_in_one_line(home: Path) -> None:
    cid = make_store(home)
    tamper(home, "turns", "blob", "conversation = ? AND seq = 1", cid)
    done = run_cli("export", "--format", "json", env={"TYPINGCURE_PASSPHRASE": "old"})
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [t["user_text"] for t in data["conversations"][0]["turns"]] == ["private turn 1", "private turn 2"]
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and "1 damaged record" in lines[0], lines


def _valid_key(home: Path) -> dict[str, Any]:
    return json.loads((home / KEY_NAME).read_text())


def _with(record: dict[str, Any], **changes: Any) -> bytes:
    return json.dumps({**record, **changes}).encode()


CORRUPT_KEYS: dict[str, Any] = {
    "empty": lambda r: b"",
    "truncated": lambda r: json.dumps(r).encode()[:40],
    "not json": lambda r: b"this is not a key file",
    "json list": lambda r: b"[1, 2, 3]",
    "json string": lambda r: b'"key"',
    "json null": lambda r: b"null",
    "missing wrapped": lambda r: json.dumps({k: v for k, v in r.items() if k != "wrapped"}).encode(),
    "missing params": lambda r: json.dumps({k: v for k, v in r.items() if k != "params"}).encode(),
    "salt is a number": lambda r: _with(r, salt=12345),
    "params is a string": lambda r: _with(r, params="fast"),
    "time_cost is true": lambda r: _with(r, params={**r["params"], "time_cost": True}),
    "time_cost is a string": lambda r: _with(r, params={**r["params"], "time_cost": "3"}),
    "bad hex": lambda r: _with(r, salt="zz" * 16),
    "odd hex": lambda r: _with(r, nonce=r["nonce"][:-1]),
    "short nonce": lambda r: _with(r, nonce=r["nonce"][:8]),
    "short wrapped": lambda r: _with(r, wrapped=r["wrapped"][:20]),
    "empty salt": lambda r: _with(r, salt=""),
    "huge time_cost": lambda r: _with(r, params={**r["params"], "time_cost": 10**40}),
    "huge memory_cost": lambda r: _with(r, params={**r["params"], "memory_cost": 2**62}),
    "slow time_cost": lambda r: _with(r, params={**r["params"], "time_cost": 10**6}),
    "negative parallelism": lambda r: _with(r, params={**r["params"], "parallelism": -1}),
    "NaN": lambda r: json.dumps(r).encode().replace(b'"time_cost": 1', b'"time_cost": NaN'),
    "non-ascii hex": lambda r: _with(r, salt="sälz" * 8),
    "non-ascii keys": lambda r: json.dumps({f"{k}é": v for k, v in r.items()}).encode(),
    "unknown kdf": lambda r: _with(r, kdf="rot13"),
    "binary": lambda r: bytes(range(256)) * 4,
    "not utf-8": lambda r: json.dumps(r).encode().replace(b'"salt"', b'"s\xffalt"'),
    "deeply nested": lambda r: b"[" * 50_000,  # under the size limit: the parser itself must cope
    "huge file": lambda r: b" " * (3 * 1024 * 1024) + json.dumps(r).encode(),
}


@pytest.mark.parametrize("variant", sorted(CORRUPT_KEYS))
def test_a_corrupt_key_file_gives_one_line_and_exit_6(variant: str, home: Path) -> None:
    make_store(home)
    broken = CORRUPT_KEYS[variant](_valid_key(home))
    (home / KEY_NAME).write_bytes(broken)
    with pytest.raises(StoreError, match="key file"):
        SQLiteStore.open(home, "old")
    commands = [("history",), ("export",)] if variant in ("empty", "binary", "huge time_cost") else [("history",)]
    for command in commands:
        started = time.monotonic()
        done = run_cli(*command, env={"TYPINGCURE_PASSPHRASE": "old"}, timeout=60)
        lines = done.stderr.decode(errors="replace").splitlines()
        assert done.returncode == 6, (variant, command, lines[-3:])
        assert len(lines) == 1 and lines[0].startswith("typingcure: ") and "key file" in lines[0], lines[-3:]
        assert time.monotonic() - started < 20  # a corrupt cost never makes it hang
    assert (home / KEY_NAME).read_bytes() == broken  # left as it was, for the person to restore


def test_a_newer_key_file_asks_to_update(home: Path) -> None:
    make_store(home)
    (home / KEY_NAME).write_bytes(_with(_valid_key(home), version=2))
    done = run_cli("history", env={"TYPINGCURE_PASSPHRASE": "old"})
    assert done.returncode == 6 and b"newer typingcure" in done.stderr


def test_a_key_file_that_is_a_folder_is_one_line(home: Path) -> None:
    home.mkdir(parents=True)
    (home / KEY_NAME).mkdir()
    done = run_cli("history", env={"TYPINGCURE_PASSPHRASE": "old"})
    assert done.returncode == 6 and len(done.stderr.splitlines()) == 1 and b"Traceback" not in done.stderr


def test_a_wrong_passphrase_is_still_exit_5(home: Path) -> None:
    make_store(home)
    done = run_cli("history", env={"TYPINGCURE_PASSPHRASE": "not it"})
    assert done.returncode == 5 and b"wrong passphrase" in done.stderr


@pytest.mark.parametrize("error, advice", [("disk I/O error", "check the disk"), ("database or disk is full", "free some space")])
def test_a_disk_error_at_start_says_what_to_do(error: str, advice: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    make_store(tmp_path)

    def failing(*_args: Any, **_kwargs: Any) -> sqlite3.Connection:
        raise sqlite3.OperationalError(error)

    monkeypatch.setattr(sqlite3, "connect", failing)
    with pytest.raises(StoreError) as caught:
        SQLiteStore.open(tmp_path, "old")
    assert advice in caught.value.message and "\n" not in caught.value.message
    assert "this turn" not in caught.value.message  # nothing was being saved yet


def test_a_write_limit_at_start_is_one_clear_line(home: Path) -> None:
    """A real disk error: the process may not grow any file, so the write-ahead log cannot start."""
    make_store(home)

    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))

    done = subprocess.run([sys.executable, "-m", "typingcure", "history"], capture_output=True, preexec_fn=limit,
                          env={**os.environ, "TYPINGCURE_PASSPHRASE": "old"}, timeout=60, check=False)
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 6 and len(lines) == 1 and "check the disk" in lines[0], lines


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Any:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a real full disk needs root to mount a small tmpfs")
    point = tmp_path / "disk"
    point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(point)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_really_full_disk_at_start_is_one_line_that_says_what_to_do(tiny_disk: Path) -> None:
    home = tiny_disk / "home"
    make_store(home)
    fd = os.open(tiny_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    done = run_cli("history", env={"TYPINGCURE_HOME": str(home), "TYPINGCURE_PASSPHRASE": "old"})
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 6 and len(lines) == 1, lines
    assert "free some space" in lines[0] or "check the disk" in lines[0], lines
    (tiny_disk / "filler").unlink()
    assert opens(home, "old")  # nothing was lost
