"""Encrypted storage: raw bytes hold no plaintext, keys, forget, wipe, export, crashes, bad input,
no network, and personal data kept from remote models."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from typingcure import Profile, ScriptedBackend, Session, build_parts, run_turn
from typingcure.store import DB_NAME, KEY_NAME, LockedError, SQLiteStore, StoreError, StoreRecorder, to_markdown, wipe
from typingcure.store.sqlite import MIGRATIONS

from .conftest import needs_model, run_cli

FAST = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}  # a light KDF keeps the tests quick
MARKER = "PLAINTEXT-MARKER mañana 秘密"


def open_store(folder: Path, passphrase: str = "correct horse") -> SQLiteStore:
    return SQLiteStore.open(folder, passphrase, kdf=FAST)


def converse(store: SQLiteStore, texts: list[str], replies: list[str] | None = None) -> str:
    session = Session(profile=Profile(country="GB"))
    parts = build_parts(ScriptedBackend(replies or [f"I hear you, {MARKER}."], cycle=True))
    cid = store.new_conversation(session.profile.model_dump(), session.role)
    parts.recorder = StoreRecorder(store, cid)
    for text in texts:
        run_turn(session, text, parts)
    return cid


def raw_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())


def test_the_files_hold_no_plaintext(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    converse(store, [f"{MARKER} I want to kill myself", "everyone would be better off without me"])
    store.put("profile", {"country": "GB", "language": "en", "note": MARKER})
    assert (tmp_path / (DB_NAME + "-wal")).exists()  # checked while the write-ahead log is live
    for blob in (raw_bytes(tmp_path), b""):
        for secret in (MARKER, "kill myself", "better off", "imminent", "suicide", "listener", "country"):
            assert secret.encode() not in blob, secret
        if not blob:
            break
    store.close()
    everything = raw_bytes(tmp_path)
    assert MARKER.encode() not in everything and b"suicide" not in everything
    assert oct((tmp_path / KEY_NAME).stat().st_mode & 0o777) == "0o600"


def test_it_reads_back_and_exports(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    cid = converse(store, ["I had a long day", "I want to die"])
    store.put("safety_plan", {"sections": {"reasons": ["my kids"]}})
    store.close()
    store = open_store(tmp_path)
    turns = store.turns(cid)
    assert [t["user_text"] for t in turns] == ["I had a long day", "I want to die"]
    assert turns[1]["risk"]["level"] == "high" and turns[1]["stages"][-1]["stage"] == "deliver"
    data = store.export()
    markdown = to_markdown(data)
    assert data["conversations"][0]["turns"][0]["reply"].startswith("I hear you")
    assert "I want to die" in markdown and "my kids" in markdown and "Safety check: high" in markdown


def test_a_wrong_passphrase_touches_nothing(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    before = hashlib.sha256(raw_bytes(tmp_path)).hexdigest()
    with pytest.raises(LockedError, match="wrong passphrase"):
        open_store(tmp_path, "wrong")
    assert hashlib.sha256(raw_bytes(tmp_path)).hexdigest() == before


def test_changing_the_passphrase_rewraps_only_the_key(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    cid = converse(store, ["hello there"])
    store.close()
    db_before = (tmp_path / DB_NAME).read_bytes()
    from typingcure.store import KeyFile

    KeyFile(tmp_path / KEY_NAME, FAST).change("correct horse", "new one")
    assert (tmp_path / DB_NAME).read_bytes() == db_before
    with pytest.raises(LockedError):
        open_store(tmp_path, "correct horse")
    assert open_store(tmp_path, "new one").turns(cid)[0]["user_text"] == "hello there"


def test_forget_leaves_nothing_of_the_conversation_on_disk(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    keep = converse(store, ["the one to keep"])
    gone = converse(store, ["the one to forget", "more of it"])
    blobs = [row[0] for row in store.db.execute("SELECT blob FROM turns WHERE conversation = ?", (gone,))]
    key = store.db.execute("SELECT key FROM conversations WHERE id = ?", (gone,)).fetchone()[0]
    store.forget(gone)
    disk = raw_bytes(tmp_path)
    assert all(blob[12:40] not in disk for blob in blobs) and key[12:40] not in disk
    assert [c.id for c in store.conversations()] == [keep]
    with pytest.raises(StoreError):
        store.turns(gone)


def test_wipe_destroys_the_key_and_the_files(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    converse(store, ["something private"])
    store.close()
    assert set(wipe(tmp_path)) >= {KEY_NAME, DB_NAME}
    assert not any(tmp_path.iterdir())


def test_a_database_without_its_key_cannot_be_opened(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    converse(store, ["x"])
    store.close()
    (tmp_path / KEY_NAME).unlink()
    with pytest.raises(StoreError, match="key is gone"):
        open_store(tmp_path)


def test_bad_files_give_clear_errors_and_stay_untouched(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt"
    open_store(corrupt).close()
    (corrupt / DB_NAME).write_bytes(b"this is not sqlite at all" * 100)
    before = (corrupt / DB_NAME).read_bytes()
    with pytest.raises(StoreError, match="not a readable typingcure store"):
        open_store(corrupt)
    assert (corrupt / DB_NAME).read_bytes() == before

    newer = tmp_path / "newer"
    open_store(newer).close()
    db = sqlite3.connect(newer / DB_NAME)
    db.execute("INSERT INTO migrations VALUES ('9999_from_the_future', 0)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer typingcure"):
        open_store(newer)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_a_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StoreError):
            open_store(tmp_path / "inside")
    finally:
        tmp_path.chmod(0o700)


def test_a_full_disk_loses_nothing_already_kept(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    cid = converse(store, ["kept before the disk filled"])
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")
    session = Session()
    parts = build_parts(ScriptedBackend(["ok " * 4000], cycle=True))
    parts.recorder = StoreRecorder(store, cid)
    turn = run_turn(session, "x" * 15000, parts)
    assert "could not be saved" in " ".join(turn.notes)
    store.db.execute("PRAGMA max_page_count = 1073741823")
    assert [t["user_text"] for t in store.turns(cid)] == ["kept before the disk filled"]


def test_two_processes_at_once(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent.parent)!r});"
            "from tests.test_store import open_store, converse; from pathlib import Path;"
            f"s = open_store(Path({str(tmp_path)!r})); [converse(s, ['turn ' + str(i)]) for i in range(15)]; s.close()")
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    store = open_store(tmp_path)
    assert len(store.conversations()) == 30


WRITER = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.test_store import open_store, converse
store = open_store(Path({folder!r}))
cid = store.new_conversation({{"country": "GB"}}, "listener")
from typingcure import Session, ScriptedBackend, build_parts, run_turn
from typingcure.store import StoreRecorder
session = Session(); parts = build_parts(ScriptedBackend(["I hear you."], cycle=True))
parts.recorder = StoreRecorder(store, cid)
for i in range(100000):
    run_turn(session, "turn " + str(i), parts)
    print("SHOWN", cid, i, flush=True)   # only after the turn is kept does the person see it
"""


def test_kill_9_during_writes_never_corrupts_or_loses_a_shown_turn(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parent.parent)
    shown: dict[str, int] = {}
    for round_ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER.format(root=root, folder=str(tmp_path))],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        deadline = time.monotonic() + 0.6 + 0.25 * round_
        last = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("SHOWN"):
                _, cid, i = line.split()
                last = (cid, int(i))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if last:
            shown[last[0]] = last[1]
    assert shown, "the writer never got going"
    store = open_store(tmp_path)
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for cid, i in shown.items():
        assert len(store.turns(cid)) >= i + 1


def test_history_off_keeps_nothing(tmp_path: Path, home: Path) -> None:
    done = run_cli("chat", "--backend", "scripted", stdin="hello\n",
                   env={"TYPINGCURE_HISTORY": "off", "TYPINGCURE_PASSPHRASE": "x"})
    assert b"History is off" in done.stdout
    assert not (home / DB_NAME).exists() and not (home / KEY_NAME).exists()


def test_cli_export_forget_wipe(tmp_path: Path, home: Path) -> None:
    env = {"TYPINGCURE_PASSPHRASE": "pass phrase"}
    script = tmp_path / "r.json"
    script.write_text('{"replies": ["I hear you."], "cycle": true}')
    assert run_cli("chat", "--backend", f"scripted:{script}", stdin="a private thought\n", env=env).returncode == 0
    listed = run_cli("history", env=env).stdout.decode().split()
    cid = listed[0]
    assert b"a private thought" in run_cli("export", "--format", "json", env=env).stdout
    assert run_cli("history", env={"TYPINGCURE_PASSPHRASE": "nope"}).returncode == 5
    assert run_cli("forget", cid, env=env).returncode == 0
    assert b"a private thought" not in run_cli("export", env=env).stdout
    assert run_cli("wipe", env=env).returncode == 2  # no --yes without a terminal
    assert run_cli("wipe", "--yes", env=env).returncode == 0 and not (home / DB_NAME).exists()


def test_personal_data_is_replaced_before_a_remote_model_and_restored_after(tmp_path: Path) -> None:
    backend = ScriptedBackend(["It sounds like [NAME_1] matters to you.", "How is [NAME_1] now?"], capable=True)
    backend.remote = True  # type: ignore[misc]
    session = Session()
    parts = build_parts(backend)
    turn = run_turn(session, "My sister Maya emailed me at maya.k@example.org and I cried", parts)
    sent = " ".join(m.content for m in backend.calls[0])
    assert "Maya" not in sent and "example.org" not in sent and "[NAME_1]" in sent and "[EMAIL_1]" in sent
    assert turn.reply == "It sounds like Maya matters to you."
    assert "replaced before sending" in turn.intake.explanation
    run_turn(session, "she hasn't replied", parts)
    assert "Maya" not in " ".join(m.content for m in backend.calls[1])  # the history leaves redacted too


@needs_model
def test_a_whole_conversation_with_the_bundled_model_opens_no_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    real = socket.socket.connect

    def watch(self: socket.socket, address: object) -> object:
        opened.append(address)
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", watch)
    store = open_store(tmp_path)
    session = Session(profile=Profile(country="IN"))
    parts = build_parts("local")
    parts.recorder = StoreRecorder(store, store.new_conversation({"country": "IN"}, "listener"))
    for text in ("I had a hard day at work", "my manager shouted at me", "I want to die"):
        run_turn(session, text, parts)
    store.close()
    assert opened == []
