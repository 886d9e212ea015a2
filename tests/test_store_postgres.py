"""The PostgreSQL store, on a real PostgreSQL server (conftest.postgres_url): the same records and
encryption as SQLite, each person's data key wrapped by their own passphrase, isolation between
people, crash safety and migrations. The raw tables are read to check that nothing is plaintext."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest

from typingcure.backends.scripted import ScriptedBackend
from typingcure.pipeline import Session, build_parts, run_turn
from typingcure.store import LockedError, StoreError, open_store
from typingcure.store.postgres import PostgresStore
from typingcure.types import Profile

FAST_KDF = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
SECRET_WORDS = "my sister Amaka and the bridge on Ring Road"


def person() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def opened(url: str, who: str, passphrase: str = "correct horse", **kw: Any) -> PostgresStore:
    return PostgresStore.open(url, passphrase, person=who, kdf=FAST_KDF, **kw)


def converse(store: Any, texts: list[str]) -> str:
    cid = store.new_conversation({"country": "NG"}, "listener")
    parts = build_parts(ScriptedBackend(["I hear you, that sounds like a lot."] * len(texts)))
    session = Session(profile=Profile(country="NG"))
    for text in texts:
        store.add_turn(cid, run_turn(session, text, parts))
    return cid


def raw_dump(url: str) -> bytes:
    """Every value of every table, as the server holds it."""
    out = []
    with psycopg.connect(url) as conn:
        for table in ("people", "conversations", "turns", "singletons"):
            for row in conn.execute(f"SELECT * FROM {table}").fetchall():
                out += [bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for v in row]
    return b"\n".join(out)


def test_the_database_holds_no_plaintext(postgres_url: str) -> None:
    store = opened(postgres_url, person())
    converse(store, [f"I keep thinking about {SECRET_WORDS}", "nobody listens to me at home"])
    store.put("profile", {"country": "NG", "coping": ["prayer with my aunt"]})
    raw = raw_dump(postgres_url)
    for words in ("Amaka", "Ring Road", "nobody listens", "prayer with my aunt", "I hear you", "listener", "NG\""):
        assert words.encode() not in raw
    assert b"correct horse" not in raw


def test_it_reads_back_and_exports_like_sqlite(postgres_url: str, tmp_path: Any) -> None:
    store = opened(postgres_url, person())
    cid = converse(store, ["exams next week", "I can't sleep"])
    store.put("safety_plan", {"sections": {"warning_signs": ["not sleeping"]}})
    assert [t["user_text"] for t in store.turns(cid)] == ["exams next week", "I can't sleep"]
    assert store.conversations()[0].turns == 2 and store.meta(cid)["role"] == "listener"
    from typingcure.store import SQLiteStore

    lite = SQLiteStore.open(tmp_path / "lite", "correct horse", kdf=FAST_KDF)
    converse(lite, ["exams next week", "I can't sleep"])
    lite.put("safety_plan", {"sections": {"warning_signs": ["not sleeping"]}})
    ours, theirs = store.export(), lite.export()
    assert ours.keys() == theirs.keys() and ours["safety_plan"] == theirs["safety_plan"]
    assert [t["user_text"] for t in ours["conversations"][0]["turns"]] == \
           [t["user_text"] for t in theirs["conversations"][0]["turns"]]
    assert ours["skipped"] == []


def test_each_person_is_locked_by_their_own_passphrase_and_sees_only_their_own(postgres_url: str) -> None:
    ada, bo = person(), person()
    a = opened(postgres_url, ada, "ada's passphrase")
    b = opened(postgres_url, bo, "bo's passphrase")
    cid = converse(a, [f"only Ada wrote this: {SECRET_WORDS}"])
    with pytest.raises(LockedError):
        opened(postgres_url, ada, "bo's passphrase")
    assert b.conversations() == [] and b.export()["conversations"] == []
    with pytest.raises(StoreError, match="no conversation"):
        b.turns(cid)
    with pytest.raises(StoreError, match="no conversation"):
        b.forget(cid)
    assert len(a.turns(cid)) == 1  # untouched by Bo's attempts
    a.change_passphrase("ada's passphrase", "a new one for ada")
    with pytest.raises(LockedError):
        opened(postgres_url, ada, "ada's passphrase")
    assert opened(postgres_url, ada, "a new one for ada").turns(cid)[0]["user_text"].startswith("only Ada")


def test_forget_and_wipe_leave_nothing_of_what_they_delete(postgres_url: str) -> None:
    who = person()
    store = opened(postgres_url, who)
    gone, kept = converse(store, ["forget this one please"]), converse(store, ["keep this one"])
    before = raw_dump(postgres_url)
    key_of_gone = [r for r in (store._rows("SELECT key FROM conversations WHERE id = %s", gone))][0][0]
    store.forget(gone)
    after = raw_dump(postgres_url)
    assert bytes(key_of_gone) in before and bytes(key_of_gone) not in after
    assert [c.id for c in store.conversations()] == [kept]
    store.wipe()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM people WHERE id = %s", (who,)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM turns WHERE person = %s", (who,)).fetchone()[0] == 0
    with pytest.raises(StoreError, match="nothing is stored"):
        opened(postgres_url, who, create=False)


def test_workers_adding_turns_at_once_lose_none(postgres_url: str) -> None:
    who = person()
    first = opened(postgres_url, who)
    cid = first.new_conversation({}, "listener")
    parts = build_parts(ScriptedBackend(["Okay."], cycle=True))
    turn = run_turn(Session(), "hello there", parts)
    stores = [first] + [opened(postgres_url, who) for _ in range(3)]  # four workers, one person
    errors: list[BaseException] = []

    def write(store: PostgresStore) -> None:
        try:
            for _ in range(10):
                store.add_turn(cid, turn)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in stores for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(first.turns(cid)) == 80


def test_migrations_apply_to_an_empty_and_a_populated_database_once(postgres_url: str) -> None:
    store = opened(postgres_url, person())
    converse(store, ["populated"])
    with psycopg.connect(postgres_url) as conn:
        applied = conn.execute("SELECT name FROM migrations").fetchall()
    opened(postgres_url, person())  # a populated database: nothing applied twice
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT name FROM migrations").fetchall() == applied
        conn.execute("INSERT INTO migrations VALUES ('9999_from_the_future', 0)")
    try:
        with pytest.raises(StoreError, match="newer typingcure"):
            opened(postgres_url, person())
    finally:
        with psycopg.connect(postgres_url) as conn:
            conn.execute("DELETE FROM migrations WHERE name = '9999_from_the_future'")


WRITER = """
import sys, time
from typingcure.store.postgres import PostgresStore
from typingcure.backends.scripted import ScriptedBackend
from typingcure.pipeline import Session, build_parts, run_turn
store = PostgresStore.open(sys.argv[1], "pw", person=sys.argv[2], kdf={"time_cost": 1, "memory_cost": 8, "parallelism": 1})
cid = store.new_conversation({}, "listener")
parts = build_parts(ScriptedBackend(["Okay."], cycle=True))
session = Session()
print(cid, flush=True)
n = 0
while True:
    n += 1
    seq = store.add_turn(cid, run_turn(session, f"message {n}", parts))
    print(seq, flush=True)   # shown to the person only once it is committed
"""


def test_kill_9_of_a_worker_mid_turn_loses_no_shown_turn(postgres_url: str) -> None:
    who = person()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, postgres_url, who], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    cid = proc.stdout.readline().strip()
    shown: list[int] = []
    deadline = time.monotonic() + 60
    while len(shown) < 25 and time.monotonic() < deadline:
        shown.append(int(proc.stdout.readline()))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    kept = [t["user_text"] for t in PostgresStore.open(postgres_url, "pw", person=who, kdf=FAST_KDF).turns(cid)]
    assert len(kept) >= len(shown) and kept[: len(shown)] == [f"message {n}" for n in shown]


def test_open_store_chooses_postgresql_from_the_setting(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TYPINGCURE_DATABASE_URL", postgres_url)
    store = open_store("a passphrase here")
    assert isinstance(store, PostgresStore) and store.person == "default"
    monkeypatch.setenv("TYPINGCURE_DATABASE_URL", "postgresql://nobody@/nowhere?host=/nonexistent-socket-dir")
    with pytest.raises(StoreError, match="cannot reach PostgreSQL") as found:
        open_store("a passphrase here")
    assert "password" not in json.dumps(str(found.value))


def test_the_web_app_keeps_its_history_in_postgresql(database: str, tmp_path: Any, home: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The same flow as SQLite's (tests/test_web.py): set up, talk, restart, unlock, forget, wipe."""
    import re

    from fastapi.testclient import TestClient

    from typingcure.config import Settings
    from typingcure.web.app import create_app

    from .test_web import LOCAL, scripted, send, tokens

    monkeypatch.setenv("TYPINGCURE_DATABASE_URL", database)
    client = TestClient(create_app(Settings(backend=scripted(tmp_path), country="GB"), home=home), base_url=LOCAL)
    page = client.get("/").text
    assert "Protect your history" in page
    csrf, _ = tokens(page)
    client.post("/unlock", data={"csrf": csrf, "passphrase": "open sesame", "again": "open sesame"})
    send(client, "a secret worry about Amaka")
    assert b"Amaka" not in raw_dump(database) and not list(home.glob("*.db"))  # in PostgreSQL, not in a file
    fresh = TestClient(create_app(Settings(backend=scripted(tmp_path), country="GB"), home=home), base_url=LOCAL)
    csrf, _ = tokens(fresh.get("/").text)
    assert "did not open your history" in fresh.post("/unlock", data={"csrf": csrf, "passphrase": "nope"}).text
    fresh.post("/unlock", data={"csrf": csrf, "passphrase": "open sesame"})
    assert "a secret worry about Amaka" in fresh.get("/").text
    cid = re.search(r'<option value="([0-9a-f]{12})"', fresh.get("/settings").text).group(1)  # type: ignore[union-attr]
    fresh.post("/settings/forget", data={"csrf": csrf, "conversation": cid})
    assert "Amaka" not in fresh.get("/settings/export?format=markdown").text
    fresh.post("/settings/wipe", data={"csrf": csrf, "confirm": "yes"})
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM people").fetchone()[0] == 0


def test_the_commands_use_postgresql_too(database: str, home: Any) -> None:
    from .conftest import run_cli

    env = {"TYPINGCURE_DATABASE_URL": database, "TYPINGCURE_PASSPHRASE": "pass phrase", "TYPINGCURE_HOME": str(home)}
    out = run_cli("chat", "--backend", "scripted:" + str(_script(home)), stdin="hello there\n/quit\n", env=env)
    assert out.returncode == 0, out.stderr
    history = run_cli("history", env=env)
    assert history.returncode == 0 and b"listener" in history.stdout
    assert b"hello there" in run_cli("export", env=env).stdout
    wiped = run_cli("wipe", "--yes", env=env)
    assert wiped.returncode == 0 and b"the key and history of default" in wiped.stdout
    assert run_cli("history", env=env).returncode == 2  # nothing is stored now


def _script(home: Any) -> Any:
    home.mkdir(parents=True, exist_ok=True)
    path = home.parent / "replies.json"
    path.write_text(json.dumps({"replies": ["I hear you."], "cycle": True}))
    return path
