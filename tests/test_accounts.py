"""`typingcure serve --multi-user`: accounts on PostgreSQL, each person's history theirs alone, any
worker answering any request (web/accounts.py, store/accounts.py; design/organisations.md)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from typingcure.config import Settings
from typingcure.store.accounts import Accounts, guess_delay
from typingcure.store.postgres import PostgresStore
from typingcure.web.app import create_app

from .conftest import free_port, run_cli
from .test_web import LOCAL, scripted, tokens

FAST_KDF = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
SECRET = "Ngozi and the scholarship letter"


def app_on(database: str, tmp_path: Path, home: Path, **kw: Any) -> Any:
    accounts = Accounts(database, kdf=FAST_KDF, **{k: kw.pop(k) for k in ("sign_ins", "sign_ups") if k in kw})
    return create_app(Settings(backend=scripted(tmp_path), country="GB"), home=home, accounts=accounts, **kw)


def enter(client: TestClient, name: str, password: str = "a long password", new: bool = True) -> httpx.Response:
    csrf, _ = tokens(client.get("/account/sign-in").text)
    data = {"csrf": csrf, "name": name, "password": password, **({"again": password} if new else {})}
    return client.post("/account/sign-up" if new else "/account/sign-in", data=data, follow_redirects=False)


def say(client: TestClient, text: str, stream_with: TestClient | None = None) -> str:
    """A message as the page's script sends it: the JSON post, then its stream (on another worker when given)."""
    csrf, nonce = tokens(client.get("/").text)
    sent = client.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": text}, headers={"Accept": "application/json"})
    assert sent.status_code == 200, sent.text
    reader = stream_with or client
    if stream_with is not None:
        reader.cookies = client.cookies
    return reader.get(sent.json()["stream"]).text


def raw_dump(url: str) -> bytes:
    out = []
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}").fetchall():
                out += [bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for v in row]
    return b"\n".join(out)


def test_sign_up_talk_sign_out_and_back_in(database: str, tmp_path: Path, home: Path) -> None:
    client = TestClient(app_on(database, tmp_path, home), base_url=LOCAL)
    assert client.get("/", follow_redirects=False).headers["location"] == "/account/sign-in"
    assert enter(client, "river").status_code == 303
    assert "event: done" in say(client, f"I am scared about {SECRET}")
    assert SECRET.encode() not in raw_dump(database) and b"scared" not in raw_dump(database)
    csrf, _ = tokens(client.get("/account").text)
    client.post("/account/sign-out", data={"csrf": csrf})
    assert client.get("/", follow_redirects=False).status_code == 303  # signed out
    again = TestClient(app_on(database, tmp_path, home), base_url=LOCAL)  # a restarted service
    assert enter(again, "river", new=False).status_code == 303
    assert SECRET in again.get("/").text
    assert "/account" in again.get("/").text and not list(home.glob("*.db"))


def test_nobody_reads_anothers_history_through_any_route_or_the_store(database: str, tmp_path: Path, home: Path) -> None:
    app = app_on(database, tmp_path, home)
    ada, ben = TestClient(app, base_url=LOCAL), TestClient(app, base_url=LOCAL)
    enter(ada, "ada"), enter(ben, "ben")
    say(ada, f"private: {SECRET}")
    csrf, nonce = tokens(ada.get("/").text)
    pending = ada.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": f"unread {SECRET}"},
                       headers={"Accept": "application/json"}).json()["stream"]
    for path in ("/", "/journal", "/plan", "/plan/print", "/settings", "/settings/export?format=markdown",
                 "/settings/export?format=json", "/outcomes", "/summary", "/exercises", "/account", "/about", pending):
        shown = ben.get(path)
        assert "Ngozi" not in shown.text, path
    assert ben.get(pending).status_code == 404 and "event: done" in ada.get(pending).text  # still Ada's to read
    anonymous = TestClient(app, base_url=LOCAL)
    for path in ("/", "/settings/export?format=json", pending):
        assert anonymous.get(path, follow_redirects=False).status_code in (303, 401, 404), path
    # A forged cookie, Ada's form token with Ben's cookie, or Ada's person id with Ben's key: nothing.
    forged = TestClient(app, base_url=LOCAL, cookies={"tc_account": "x" * 43})
    assert forged.get("/", follow_redirects=False).status_code == 303
    ada_csrf, ada_nonce = tokens(ada.get("/").text)
    refused = ben.post("/chat/send", data={"csrf": ada_csrf, "nonce": ada_nonce, "text": "hi"})
    assert refused.status_code == 403
    with psycopg.connect(database) as conn:
        ada_id = conn.execute("SELECT id FROM accounts WHERE name = 'ada'").fetchone()[0]
    _, ben_store = Accounts(database, kdf=FAST_KDF).sign_in("ben", "a long password")
    stolen = PostgresStore.with_key(database, ada_id, ben_store.box.key)
    with pytest.raises(Exception):
        [stolen.turns(c.id) for c in stolen.conversations()]


def test_two_workers_serve_one_person_in_turn(database: str, tmp_path: Path, home: Path) -> None:
    """Two apps on one database are two workers: a message sent to one is answered by the other,
    and what one wrote the other shows."""
    one, two = TestClient(app_on(database, tmp_path, home), base_url=LOCAL), TestClient(app_on(database, tmp_path, home), base_url=LOCAL)
    enter(one, "sam")
    two.cookies = one.cookies
    assert "That sounds hard" in say(one, "first message, to one", stream_with=two)
    assert "first message, to one" in two.get("/").text
    say(two, "second message, to two")
    page = one.get("/").text
    assert "first message, to one" in page and "second message, to two" in page
    csrf, nonce = tokens(one.get("/").text)  # a form from one, sent to two: the same session token
    two.cookies = one.cookies
    assert two.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "third"}).status_code in (200, 303)
    again = two.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": "third"}, headers={"Accept": "application/json"})
    assert again.status_code == 409  # the same form twice, even to another worker


def test_wrong_passwords_wait_then_lock_and_names_are_not_told(database: str, tmp_path: Path, home: Path) -> None:
    app = app_on(database, tmp_path, home, sign_ins=8)
    client = TestClient(app, base_url=LOCAL)
    enter(client, "kim")
    stranger = TestClient(app, base_url=LOCAL)
    assert "do not match" in enter(stranger, "nobody-here", new=False).text
    answers = [enter(stranger, "kim", "wrong password!", new=False) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [401, 401, 401] and "do not match" in answers[0].text
    assert answers[3].status_code == 429 and "Retry-After" in answers[3].headers  # the fourth waits
    assert guess_delay(10) == 900.0
    many = [enter(stranger, "kim", new=False).status_code for _ in range(4)]
    assert many[-1] == 429 and "this address" in enter(stranger, "kim", new=False).text  # the source's limit


def test_sign_up_checks_and_limits(database: str, tmp_path: Path, home: Path) -> None:
    client = TestClient(app_on(database, tmp_path, home, sign_ups=3), base_url=LOCAL)
    assert "at least 10" in enter(client, "lee", "short").text
    assert "3 to 64" in enter(client, "a b").text
    assert enter(client, "lee").status_code == 303
    other = TestClient(client.app, base_url=LOCAL)
    assert enter(other, "LEE").status_code == 409  # names are one whatever their case
    assert enter(other, "moses").status_code == 303
    assert enter(TestClient(client.app, base_url=LOCAL), "nia").status_code == 429  # a fourth try from this address this hour


def test_deleting_an_account_shreds_it(database: str, tmp_path: Path, home: Path) -> None:
    client = TestClient(app_on(database, tmp_path, home), base_url=LOCAL)
    enter(client, "zed")
    say(client, f"about {SECRET}")
    csrf, _ = tokens(client.get("/account").text)
    kept_cookies = dict(client.cookies)
    assert "nothing was deleted" in client.post("/account/delete", data={"csrf": csrf, "password": "nope", "confirm": "yes"}).text
    gone = client.post("/account/delete", data={"csrf": csrf, "password": "a long password", "confirm": "yes"},
                       follow_redirects=False)
    assert gone.headers["location"].startswith("/account/sign-in")
    with psycopg.connect(database) as conn:
        for table in ("people", "accounts", "sessions", "conversations", "turns", "singletons", "pending", "nonces"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    replay = TestClient(client.app, base_url=LOCAL, cookies=kept_cookies)
    assert replay.get("/", follow_redirects=False).status_code == 303


def test_the_admin_view_counts_and_shows_nothing_written(database: str, tmp_path: Path, home: Path) -> None:
    app = app_on(database, tmp_path, home, admin_key="k" * 24)
    client = TestClient(app, base_url=LOCAL)
    enter(client, "pat")
    say(client, f"about {SECRET}")
    assert client.get("/admin").status_code == 401
    counts = client.get("/admin", headers={"Authorization": "Bearer " + "k" * 24, "Accept": "application/json"})
    assert counts.json()["accounts"] == 1 and counts.json()["turns"] == 1 and counts.json()["signed_in_now"] == 1
    page = client.get("/admin", headers={"Authorization": "Bearer " + "k" * 24}).text
    assert "pat" not in page and "Ngozi" not in page


def test_the_service_cannot_change_its_model_or_wipe_its_home(database: str, tmp_path: Path, home: Path) -> None:
    client = TestClient(app_on(database, tmp_path, home), base_url=LOCAL)
    enter(client, "ola")
    csrf, _ = tokens(client.get("/settings").text)
    assert client.post("/settings/backend", data={"csrf": csrf, "backend": "openai:x@http://10.0.0.1:1/v1"}).status_code == 403
    assert client.post("/settings/wipe", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False).headers["location"] == "/account"
    assert client.post("/unlock", data={"csrf": csrf, "passphrase": "x"}).status_code == 404


def test_migrations_reach_a_database_of_the_first_version(database: str) -> None:
    store = PostgresStore.open(database, "old pass", person="before", kdf=FAST_KDF)
    cid = store.new_conversation({}, "listener")
    with psycopg.connect(database) as conn:  # back to what the first version left: its tables, with their rows
        conn.execute("DROP TABLE nonces, pending, attempts, sessions, accounts")
        conn.execute("ALTER TABLE people DROP COLUMN changed")
        conn.execute("DELETE FROM migrations WHERE name <> '0001_initial'")
    accounts = Accounts(database, kdf=FAST_KDF)  # applies the rest to the populated database
    assert PostgresStore.open(database, "old pass", person="before").meta(cid)["role"] == "listener"
    person, _ = accounts.sign_up("newcomer", "a long password")
    assert accounts.sign_in("newcomer", "a long password")[0] == person


def test_serve_multi_user_refusals(home: Path) -> None:
    env = {"TYPINGCURE_HOME": str(home), "TYPINGCURE_DATABASE_URL": ""}
    missing = run_cli("serve", "--multi-user", env=env)
    assert missing.returncode == 2 and b"TYPINGCURE_DATABASE_URL" in missing.stderr
    alone = run_cli("serve", "--workers", "2", env=env)
    assert alone.returncode == 2 and b"--multi-user" in alone.stderr


class Service:
    """`typingcure serve --multi-user --workers N` in its own process on a free loopback port."""

    def __init__(self, database: str, home: Path, backend: str, workers: int = 2) -> None:
        self.port = free_port()
        env = {**os.environ, "TYPINGCURE_HOME": str(home), "TYPINGCURE_DATABASE_URL": database,
               "TYPINGCURE_ADMIN_KEY": "a" * 20}
        self.proc = subprocess.Popen([sys.executable, "-m", "typingcure", "serve", "--multi-user", "--workers",
                                      str(workers), "--port", str(self.port), "--backend", backend], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)

    def workers(self) -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        return [int(p) for p in found]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def web_turn(web: httpx.Client, text: str) -> str:
    web.headers["Connection"] = "close"  # a new connection each time: either worker answers
    csrf, nonce = tokens(web.get("/").text)
    sent = web.post("/chat/send", data={"csrf": csrf, "nonce": nonce, "text": text}, headers={"Accept": "application/json"})
    assert sent.status_code == 200, sent.text
    return sent.json()["stream"]  # type: ignore[no-any-return]


def web_enter(web: httpx.Client, name: str, new: bool = True) -> None:
    csrf, _ = tokens(web.get("/account/sign-in").text)
    data = {"csrf": csrf, "name": name, "password": "a long password", **({"again": "a long password"} if new else {})}
    web.post("/account/sign-up" if new else "/account/sign-in", data=data)


def test_serve_multi_user_with_two_workers(database: str, tmp_path: Path, home: Path) -> None:
    """The command itself: two worker processes behind one port, a person signing up and talking, each
    request reaching either worker."""
    service = Service(database, home, scripted(tmp_path))
    try:
        assert len(service.workers()) >= 2  # the workers (and multiprocessing's own helper)
        with httpx.Client(base_url=service.url, trust_env=False, timeout=30) as web:
            web_enter(web, "tomi")
            for i in range(6):
                assert "event: done" in web.get(web_turn(web, f"message {i}")).text
            page = web.get("/").text
            assert all(f"message {i}" in page for i in range(6))
        counts = httpx.get(f"{service.url}/admin", headers={"Authorization": "Bearer " + "a" * 20,
                                                             "Accept": "application/json"}, trust_env=False).json()
        assert counts["turns"] == 6
    finally:
        service.stop()


def test_kill_9_of_the_workers_mid_turn_loses_no_shown_turn(database: str, tmp_path: Path, home: Path) -> None:
    script = tmp_path / "slow.json"
    script.write_text(json.dumps({"replies": ["That sounds like a heavy day. What part of it stays with you most now?"],
                                  "cycle": True, "delay": 0.15}))
    service = Service(database, home, f"scripted:{script}")
    try:
        with httpx.Client(base_url=service.url, trust_env=False, timeout=60) as web:
            web_enter(web, "ife")
            for i in range(3):
                assert "event: done" in web.get(web_turn(web, f"shown {i}")).text
            stream = web_turn(web, "cut off mid-reply")
            with web.stream("GET", stream) as reading:
                for line in reading.iter_lines():
                    if line.startswith("event: sentence"):
                        break  # a first sentence is on the screen: now every worker dies
                for pid in service.workers():
                    os.kill(pid, signal.SIGKILL)
    finally:
        service.stop()
    again = Service(database, home, scripted(tmp_path))
    try:
        with httpx.Client(base_url=again.url, trust_env=False, timeout=60) as web:
            web_enter(web, "ife", new=False)
            page = web.get("/").text
            assert all(f"shown {i}" in page for i in range(3))
            assert "event: done" in web.get(web_turn(web, "still here")).text  # nothing was left half-written
    finally:
        again.stop()
