"""Accounts of `typingcure serve --multi-user`, on the PostgreSQL store (design/organisations.md).

    accounts = Accounts(url)
    person, store = accounts.sign_up("river", "a long password", source="203.0.113.9")
    person, store = accounts.sign_in("river", "a long password", source="203.0.113.9")
    secret = accounts.start_session(person, store)          # the browser's cookie; the server keeps only its hash
    found = accounts.session(secret)                         # (person, data key, write count) or None
    accounts.end_session(secret); accounts.delete(person, "a long password")

An account is a person of the store: their data key is wrapped by their password (Argon2id, then
AES-GCM: the password's only verifier is that it unwraps the key, so no separate hash is kept to be
cracked). A session is a random secret the browser holds; the server keeps its SHA-256 and the data
key sealed by a key derived from it, so any worker can open the person's store for a request that
carries the cookie, and nobody can with the database alone. Sign-in guesses are slowed per account
(`guess_delay`, then a lockout) and counted per source address; sign-ups per source are limited.
The sign-in name is the one thing kept in the clear (it is how an account is found), so the page
says a name need not be a real one. Deleting an account deletes the wrapped key (crypto-shredding)
with every row of the person's, sessions included.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import TypingcureError
from .crypto import KDF, Box, LockedError, StoreError, unwrap, wrap
from .postgres import PostgresStore, _record, pool_for

NAME = re.compile(r"[\w.@+-]{3,64}")       # a sign-in name: letters of any script, digits and . @ + - _
MIN_PASSWORD = 10
FREE_GUESSES = 3         # wrong passwords before each further guess must wait
LOCKOUT_AFTER = 10       # wrong passwords in a row before a long lockout
LOCKOUT_SECONDS = 900.0
SOURCE_WINDOW = 600.0    # seconds over which a source's attempts are counted
SOURCE_SIGN_INS = 60     # sign-in attempts from one source address in the window (a campus behind one address)
SOURCE_SIGN_UPS = 20     # new accounts from one source address in an hour
SEEN_EVERY = 30.0        # a session's last-seen time is written at most this often
PENDING_SECONDS = 600.0  # a message sent and never streamed is dropped after this long
KDF_AT_ONCE = 2          # passwords hashed at once in a process (each Argon2 takes 64 MiB): a rush of sign-ins waits
_kdf_slots = threading.BoundedSemaphore(KDF_AT_ONCE)


class AccountError(TypingcureError):
    """A sign-in or sign-up refused; `status` is the HTTP status, `wait` the seconds before trying again."""

    def __init__(self, message: str, status: int = 400, wait: float = 0.0) -> None:
        super().__init__(message)
        self.status, self.wait = status, wait


def guess_delay(failures: int) -> float:
    """Seconds before the next sign-in to an account is heard, after `failures` wrong passwords in a
    row: none for the first few (a typo), then doubling to five minutes, and a lockout after ten."""
    if failures >= LOCKOUT_AFTER:
        return LOCKOUT_SECONDS
    return 0.0 if failures < FREE_GUESSES else min(2.0 ** (failures - FREE_GUESSES), 300.0)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def _session_box(secret: str, sid: str) -> Box:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"typingcure-session:" + sid.encode()).derive(
        secret.encode("utf-8", "replace"))
    return Box(key)


def derived(secret: str, purpose: str) -> str:
    """A value every worker derives from the session's secret alone (the form token of the session)."""
    return hmac.new(secret.encode("utf-8", "replace"), purpose.encode(), hashlib.sha256).hexdigest()[:43]


@dataclass(frozen=True)
class Found:
    person: str
    data_key: bytes
    changed: int       # the person's write count now (PostgresStore.changed)
    sid: str           # the session's id (the secret's SHA-256)


class Accounts:
    def __init__(self, url: str, *, idle_seconds: float = 900.0, kdf: dict[str, int] | None = None,
                 sign_ins: int = SOURCE_SIGN_INS, sign_ups: int = SOURCE_SIGN_UPS) -> None:
        self.url, self.idle_seconds, self.kdf = url, idle_seconds, dict(kdf or KDF)
        self.sign_ins, self.sign_ups = sign_ins, sign_ups
        self.pool = pool_for(url)
        PostgresStore(url, "-", None, self.pool)._migrate()
        self._dummy = json.dumps(wrap(secrets.token_bytes(32), secrets.token_urlsafe(16), self.kdf))

    # -- the database ----------------------------------------------------------------------------

    def _run(self, sql: str, *args: Any, fetch: bool = True) -> list[Any]:
        try:
            with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall() if fetch and cur.description else []
        except Exception as exc:
            if type(exc).__module__.startswith(("psycopg", "psycopg_pool")):
                raise StoreError(f"PostgreSQL failed ({' '.join(str(exc).split())[:160]})") from None
            raise

    def _count_attempt(self, source: str, kind: str, limit: int, window: float, message: str) -> None:
        now = time.time()
        rows = self._run("WITH gone AS (DELETE FROM attempts WHERE at < %s), added AS "
                         "(INSERT INTO attempts VALUES (%s, %s, %s)) "
                         "SELECT COUNT(*) FROM attempts WHERE source = %s AND kind = %s AND at >= %s",
                         now - 3600.0, source, kind, now, source, kind, now - window)
        if int(rows[0][0]) >= limit:  # the count is of the attempts before this one
            raise AccountError(message, 429, window)

    # -- signing up and in -----------------------------------------------------------------------

    def sign_up(self, name: str, password: str, *, source: str = "") -> tuple[str, PostgresStore]:
        name = name.strip().lower()
        if not NAME.fullmatch(name):
            raise AccountError("A sign-in name is 3 to 64 letters or digits (. @ + - _ allowed, no spaces); "
                               "it need not be your real name.")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"Use a password of at least {MIN_PASSWORD} characters; a few words you will remember work well.")
        self._count_attempt(source, "sign_up", self.sign_ups, 3600.0,
                            "Too many new accounts from this address in the last hour; try again later.")
        if self._run("SELECT 1 FROM accounts WHERE name = %s", name):
            raise AccountError("That name is taken; choose another (it need not be your real name).", 409)
        person, data_key = uuid.uuid4().hex, secrets.token_bytes(32)
        with _kdf_slots:
            wrapped = json.dumps(wrap(data_key, password, self.kdf))  # Argon2id, before the transaction
        now = time.time()
        try:
            with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                cur.execute("INSERT INTO people (id, created, key) VALUES (%s, %s, %s)", (person, now, wrapped))
                cur.execute("INSERT INTO accounts (id, name, created, seen) VALUES (%s, %s, %s, %s) "
                            "ON CONFLICT (name) DO NOTHING", (person, name, now, now))
                if cur.rowcount == 0:
                    raise AccountError("That name is taken; choose another (it need not be your real name).", 409)
        except TypingcureError:
            raise
        except Exception as exc:
            raise StoreError(f"PostgreSQL failed ({' '.join(str(exc).split())[:160]})") from None
        return person, PostgresStore.with_key(self.url, person, data_key)

    def sign_in(self, name: str, password: str, *, source: str = "") -> tuple[str, PostgresStore]:
        wrong = AccountError("That name and password do not match.", 401)
        self._count_attempt(source, "sign_in", self.sign_ins, SOURCE_WINDOW,
                            "Too many sign-in attempts from this address; wait a few minutes and try again.")
        rows = self._run("SELECT a.id, a.failures, a.next_guess, p.key, p.changed FROM accounts a "
                         "JOIN people p ON p.id = a.id WHERE a.name = %s", name.strip().lower())
        if not rows:
            try:  # as long as a wrong password takes: whether a name exists is not told by the time
                with _kdf_slots:
                    unwrap(_record(self._dummy), password or "-")
            except LockedError:
                pass
            raise wrong
        person, failures, next_guess, key, changed = rows[0]
        wait = float(next_guess) - time.time()
        if wait > 0:
            raise AccountError(f"Too many wrong passwords for this account; try again in {int(wait) + 1} seconds.", 429, wait)
        try:
            with _kdf_slots:
                data_key = unwrap(_record(key), password or "-")
        except LockedError:
            failures = int(failures) + 1
            self._run("UPDATE accounts SET failures = %s, next_guess = %s WHERE id = %s",
                      failures, time.time() + guess_delay(failures), person, fetch=False)
            raise wrong from None
        self._run("UPDATE accounts SET failures = 0, next_guess = 0, seen = %s WHERE id = %s", time.time(), person,
                  fetch=False)
        return person, PostgresStore.with_key(self.url, person, data_key, int(changed))

    # -- sessions --------------------------------------------------------------------------------

    def start_session(self, person: str, store: PostgresStore) -> str:
        secret = secrets.token_urlsafe(32)
        sid = _digest(secret)
        sealed = _session_box(secret, sid).seal(store.box.key, sid.encode())
        now = time.time()
        self._run("INSERT INTO sessions VALUES (%s, %s, %s, %s, %s)", sid, person, sealed, now, now, fetch=False)
        return secret

    def session(self, secret: str) -> Found | None:
        """The signed-in person of a cookie, or None (unknown, ended, or idle too long: then ended)."""
        if not secret or len(secret) > 100:
            return None
        sid, now = _digest(secret), time.time()
        rows = self._run("SELECT s.account, s.key, s.seen, p.changed FROM sessions s JOIN people p ON p.id = s.account "
                         "WHERE s.id = %s", sid)
        if not rows:
            return None
        person, sealed, seen, changed = rows[0]
        if now - float(seen) > self.idle_seconds:
            self._run("DELETE FROM sessions WHERE id = %s", sid, fetch=False)
            return None
        try:
            data_key = _session_box(secret, sid).open(bytes(sealed), sid.encode())
        except StoreError:
            return None
        if now - float(seen) > SEEN_EVERY:
            self._run("UPDATE sessions SET seen = %s WHERE id = %s", now, sid, fetch=False)
            self._run("UPDATE accounts SET seen = %s WHERE id = %s", now, person, fetch=False)
        return Found(person, data_key, int(changed), sid)

    def end_session(self, secret: str) -> None:
        self._run("DELETE FROM sessions WHERE id = %s", _digest(secret), fetch=False)

    def delete(self, person: str, password: str) -> list[str]:
        """The account and everything of it, once the password unwraps its key (crypto-shredding)."""
        rows = self._run("SELECT key FROM people WHERE id = %s", person)
        if not rows:
            return []
        with _kdf_slots:
            unwrap(_record(rows[0][0]), password or "-")  # LockedError when wrong
        return PostgresStore.delete_person(self.url, person)

    # -- what the pages need across workers ------------------------------------------------------

    def take_nonce(self, person: str, nonce: str) -> bool:
        """True the first time a form's one-use value is sent, by any worker."""
        now = time.time()
        rows = self._run("WITH gone AS (DELETE FROM nonces WHERE at < %s) INSERT INTO nonces VALUES (%s, %s, %s) "
                         "ON CONFLICT DO NOTHING RETURNING 1", now - 86400.0, person, nonce[:100], now)
        return bool(rows)

    def defer(self, person: str, box: Box, page: str, text: str) -> str:
        """A message to answer when its stream is opened (by whichever worker that reaches), sealed."""
        pid, now = uuid.uuid4().hex, time.time()
        blob = box.seal(json.dumps({"page": page, "text": text}).encode("utf-8"), f"pending:{pid}".encode())
        self._run("WITH gone AS (DELETE FROM pending WHERE created < %s) INSERT INTO pending VALUES (%s, %s, %s, %s, %s)",
                  now - PENDING_SECONDS, pid, person, page, blob, now, fetch=False)
        return pid

    def claim(self, person: str, box: Box, pid: str) -> tuple[str, str] | None:
        """The deferred message, once (the first stream to ask for it takes it), or None."""
        rows = self._run("DELETE FROM pending WHERE id = %s AND account = %s AND created >= %s RETURNING blob",
                         pid[:64], person, time.time() - PENDING_SECONDS)
        if not rows:
            return None
        data = json.loads(box.open(bytes(rows[0][0]), f"pending:{pid}".encode()))
        return str(data["page"]), str(data["text"])

    # -- the admin view: counts only -------------------------------------------------------------

    def usage(self) -> dict[str, int]:
        now = time.time()
        rows = self._run(
            "SELECT (SELECT COUNT(*) FROM accounts), "
            "(SELECT COUNT(*) FROM accounts WHERE seen >= %s), (SELECT COUNT(*) FROM accounts WHERE seen >= %s), "
            "(SELECT COUNT(DISTINCT account) FROM sessions WHERE seen >= %s), "
            "(SELECT COUNT(*) FROM accounts WHERE next_guess > %s), "
            "(SELECT COUNT(*) FROM turns t JOIN accounts a ON a.id = t.person), "
            "(SELECT COUNT(*) FROM turns t JOIN accounts a ON a.id = t.person WHERE t.created >= %s)",
            now - 86400.0, now - 7 * 86400.0, now - self.idle_seconds, now, now - 86400.0)
        keys = ("accounts", "active_today", "active_this_week", "signed_in_now", "accounts_waiting_after_wrong_passwords",
                "turns", "turns_today")
        return {k: int(v) for k, v in zip(keys, rows[0])}
