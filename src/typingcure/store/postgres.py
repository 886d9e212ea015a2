"""The encrypted store on PostgreSQL: the same interface, records and encryption as SQLiteStore,
for a service that hosts typingcure for many people (design/organisations.md).

    store = PostgresStore.open("postgresql://typingcure@/typingcure?host=/run/postgresql", passphrase,
                               person="default")
    cid = store.new_conversation(profile, role); store.add_turn(cid, turn); store.export(); store.close()

Each person is a row of `people` holding their data key wrapped by their own passphrase (Argon2id,
then AES-GCM: `crypto.wrap`), so the server sees only ciphertext and the wrapped key; every
conversation has its own key sealed by the data key, every record is sealed with AES-GCM and bound to
where it lives, as in SQLite. Deleting a person's row is deleting their data (`wipe`), and `forget`
deletes a conversation's key with its rows; both are followed by VACUUM, so the dead rows do not
wait for autovacuum. Migrations are named and append-only (MIGRATIONS), applied under an advisory
lock, so several workers starting at once apply each once. Connections come from one pool per
URL (psycopg 3, psycopg_pool), shared by every store opened on that URL.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..types import TurnResult
from .crypto import KDF, Box, KeyRecord, LockedError, StoreError, unwrap, wrap
from .sqlite import ConversationInfo

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("0001_initial", """
        CREATE TABLE people (id TEXT PRIMARY KEY, created DOUBLE PRECISION NOT NULL, key TEXT NOT NULL);
        CREATE TABLE conversations (person TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE, id TEXT NOT NULL,
                                    created DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL,
                                    key BYTEA NOT NULL, meta BYTEA NOT NULL, PRIMARY KEY (person, id));
        CREATE TABLE turns (person TEXT NOT NULL, conversation TEXT NOT NULL, seq INTEGER NOT NULL,
                            created DOUBLE PRECISION NOT NULL, blob BYTEA NOT NULL,
                            PRIMARY KEY (person, conversation, seq),
                            FOREIGN KEY (person, conversation) REFERENCES conversations(person, id) ON DELETE CASCADE);
        CREATE TABLE singletons (person TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE, name TEXT NOT NULL,
                                 blob BYTEA NOT NULL, PRIMARY KEY (person, name));
    """),
    # Accounts of `serve --multi-user` (web/accounts.py): an account is a person; its sessions hold the
    # data key sealed by a secret only the browser has; `changed` counts a person's writes, so a worker
    # knows when another one wrote. Deleting the person's row deletes all of it (ON DELETE CASCADE).
    ("0002_accounts", """
        ALTER TABLE people ADD COLUMN changed BIGINT NOT NULL DEFAULT 0;
        CREATE TABLE accounts (id TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE, name TEXT NOT NULL UNIQUE,
                               created DOUBLE PRECISION NOT NULL, seen DOUBLE PRECISION NOT NULL,
                               failures INTEGER NOT NULL DEFAULT 0, next_guess DOUBLE PRECISION NOT NULL DEFAULT 0);
        CREATE TABLE sessions (id TEXT PRIMARY KEY, account TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                               key BYTEA NOT NULL, created DOUBLE PRECISION NOT NULL, seen DOUBLE PRECISION NOT NULL);
        CREATE INDEX sessions_account ON sessions (account);
        CREATE TABLE attempts (source TEXT NOT NULL, kind TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);
        CREATE INDEX attempts_source ON attempts (source, kind, at);
        CREATE TABLE pending (id TEXT PRIMARY KEY, account TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                              page TEXT NOT NULL, blob BYTEA NOT NULL, created DOUBLE PRECISION NOT NULL);
        CREATE TABLE nonces (account TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE, id TEXT NOT NULL,
                             at DOUBLE PRECISION NOT NULL, PRIMARY KEY (account, id));
    """),
)
MIGRATION_LOCK = 0x7479_7069  # pg_advisory_xact_lock key: "typi"
_pools: dict[str, Any] = {}
_pools_lock = threading.Lock()


def shown(url: str) -> str:
    """The URL without its password (for errors: a password in a message ends up in logs)."""
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        parts = {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
        if "password" in parts:
            parts["password"] = "***"
        return make_conninfo("", **parts)
    except Exception:
        return "the configured PostgreSQL database"


def pool_for(url: str, size: int = 10) -> Any:
    """One connection pool per URL for this process, opened on first use."""
    try:
        from psycopg_pool import ConnectionPool
    except ImportError:
        raise StoreError("PostgreSQL storage needs psycopg: pip install 'typingcure[postgres]'") from None
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None or pool.closed:
            pool = ConnectionPool(url, min_size=1, max_size=size, open=False, kwargs={"autocommit": False})
            try:
                pool.open(wait=True, timeout=10)
            except Exception as exc:
                pool.close()
                raise StoreError(f"cannot reach PostgreSQL at {shown(url)} ({_reason(exc)}); is it running?") from None
            _pools[url] = pool
        return pool


def close_pools(url: str | None = None) -> None:
    """Close the pool for `url` (every pool when None): at shutdown, or before a database is dropped."""
    with _pools_lock:
        for key in [k for k in _pools if url is None or k == url]:
            _pools.pop(key).close()


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__


class PostgresStore:
    def __init__(self, url: str, person: str, box: Box | None, pool: Any) -> None:
        self.url, self.person, self._box, self.pool = url, person, box, pool
        self.notes: tuple[str, ...] = ()
        self._closed = False
        self.changed = 0  # the person's write count as this store last saw it (its own writes included)

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, passphrase: str, *, person: str = "default", create: bool = True,
             kdf: dict[str, int] | None = None) -> PostgresStore:
        if not passphrase:
            raise LockedError("a passphrase is needed to protect your history")
        pool = pool_for(url)
        store = cls(url, person, None, pool)
        store._migrate()
        rows = store._rows("SELECT key, changed FROM people WHERE id = %s", person)
        if rows:
            store._box, store.changed = Box(unwrap(_record(rows[0][0]), passphrase)), int(rows[0][1])
        elif create:
            data_key = secrets.token_bytes(32)
            with store._transaction() as cur:
                cur.execute("INSERT INTO people (id, created, key) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING",
                            (person, time.time(), json.dumps(wrap(data_key, passphrase, dict(kdf or KDF)))))
                if cur.rowcount == 0:
                    raise StoreError("another worker set up this person's store at the same moment; start again to unlock it")
            store._box = Box(data_key)
        else:
            raise StoreError("nothing is stored yet")
        return store

    @classmethod
    def with_key(cls, url: str, person: str, data_key: bytes, changed: int = 0) -> PostgresStore:
        """A person's store opened with their data key itself (a signed-in session of `serve --multi-user`
        holds it sealed; web/accounts.py), no passphrase and no Argon2."""
        store = cls(url, person, Box(data_key), pool_for(url))
        store.changed = changed
        return store

    @classmethod
    def exists(cls, url: str, person: str = "default") -> bool:
        store = cls(url, person, None, pool_for(url))
        store._migrate()
        return bool(store._rows("SELECT 1 FROM people WHERE id = %s", person))

    @classmethod
    def delete_person(cls, url: str, person: str = "default") -> list[str]:
        """Delete a person's wrapped key and every row of theirs, no passphrase needed (as `wipe`
        needs none for a folder): without the key nothing of theirs can be read again."""
        store = cls(url, person, None, pool_for(url))
        store._migrate()
        with store._transaction() as cur:
            cur.execute("DELETE FROM people WHERE id = %s", (person,))
            found = cur.rowcount
        store._vacuum("people", "conversations", "turns", "singletons")
        return [f"the key and history of {person}"] if found else []

    @property
    def box(self) -> Box:
        if self._box is None or self._closed:
            raise LockedError("the history is locked (the store was closed); unlock it again")
        return self._box

    def _migrate(self) -> None:
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            cur.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied DOUBLE PRECISION NOT NULL)")
            cur.execute("SELECT name FROM migrations")
            applied = {row[0] for row in cur.fetchall()}
            known = {name for name, _ in MIGRATIONS}
            if applied - known:
                raise StoreError(f"this database was written by a newer typingcure ({sorted(applied - known)[-1]}); "
                                 "update typingcure")
            for name, sql in MIGRATIONS:
                if name not in applied:
                    for statement in filter(str.strip, sql.split(";")):
                        cur.execute(statement)
                    cur.execute("INSERT INTO migrations VALUES (%s, %s)", (name, time.time()))

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        if self._closed:
            raise LockedError("the history is locked (the store was closed); unlock it again")
        try:
            with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield cur
        except (StoreError, LockedError):
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("psycopg", "psycopg_pool")):
                raise StoreError(f"PostgreSQL failed ({_reason(exc)}); nothing of this step was kept") from None
            raise

    def _wrote(self, cur: Any) -> None:
        """Count a write of this person's (in its transaction), so other workers see their copy is old."""
        cur.execute("UPDATE people SET changed = changed + 1 WHERE id = %s RETURNING changed", (self.person,))
        row = cur.fetchone()
        if row is not None:
            self.changed = int(row[0])

    def _rows(self, sql: str, *args: Any) -> list[Any]:
        with self._transaction() as cur:
            cur.execute(sql, args)
            return cur.fetchall()  # type: ignore[no-any-return]

    def _vacuum(self, *tables: str) -> None:
        """Dead rows (a forgotten conversation, a deleted person) cleaned now, not by autovacuum later."""
        try:
            with self.pool.connection() as conn:
                conn.autocommit = True
                try:
                    conn.execute(f"VACUUM {', '.join(tables)}")
                finally:
                    conn.autocommit = False
        except Exception as exc:
            raise StoreError(f"PostgreSQL could not clean up after deleting ({_reason(exc)}); run it again") from None

    def close(self) -> None:
        """Drop the data key; the pool stays for other stores on the same URL."""
        self._closed, self._box = True, None

    # -- sealing --------------------------------------------------------------------------------

    def _seal(self, value: Any, aad: str, box: Box | None = None) -> bytes:
        return (box or self.box).seal(json.dumps(value, ensure_ascii=False).encode("utf-8"), aad.encode())

    def _open(self, blob: bytes, aad: str, box: Box | None = None) -> Any:
        return json.loads((box or self.box).open(bytes(blob), aad.encode()))

    def _conversation_box(self, cid: str) -> Box:
        rows = self._rows("SELECT key FROM conversations WHERE person = %s AND id = %s", self.person, cid)
        if not rows:
            raise StoreError(f"no conversation {cid!r}")
        return Box(self.box.open(bytes(rows[0][0]), f"conversation-key:{cid}".encode()))

    # -- conversations and turns ------------------------------------------------------------------

    def new_conversation(self, profile: dict[str, Any], role: str) -> str:
        cid = uuid.uuid4().hex[:12]
        now = time.time()
        key = self.box.seal(secrets.token_bytes(32), f"conversation-key:{cid}".encode())
        with self._transaction() as cur:
            cur.execute("INSERT INTO conversations VALUES (%s, %s, %s, %s, %s, %s)",
                        (self.person, cid, now, now, key, self._seal({"profile": profile, "role": role}, f"meta:{cid}")))
            self._wrote(cur)
        return cid

    def add_turn(self, cid: str, turn: TurnResult) -> int:
        box = self._conversation_box(cid)
        now = time.time()
        with self._transaction() as cur:
            # the conversation's row, locked: two workers adding a turn at once get seq n and n+1
            cur.execute("SELECT 1 FROM conversations WHERE person = %s AND id = %s FOR UPDATE", (self.person, cid))
            if cur.fetchone() is None:
                raise StoreError(f"no conversation {cid!r}")
            cur.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE person = %s AND conversation = %s",
                        (self.person, cid))
            seq = int(cur.fetchone()[0])
            cur.execute("INSERT INTO turns VALUES (%s, %s, %s, %s, %s)",
                        (self.person, cid, seq, now, self._seal(turn.model_dump(mode="json"), f"turn:{cid}:{seq}", box)))
            cur.execute("UPDATE conversations SET updated = %s WHERE person = %s AND id = %s", (now, self.person, cid))
            self._wrote(cur)
        return seq

    def turns(self, cid: str) -> list[dict[str, Any]]:
        box = self._conversation_box(cid)
        rows = self._rows("SELECT seq, blob FROM turns WHERE person = %s AND conversation = %s ORDER BY seq",
                          self.person, cid)
        return [self._open(blob, f"turn:{cid}:{seq}", box) for seq, blob in rows]

    def conversations(self) -> list[ConversationInfo]:
        rows = self._rows(
            "SELECT c.id, c.created, c.updated, c.meta, (SELECT COUNT(*) FROM turns t WHERE t.person = c.person "
            "AND t.conversation = c.id) FROM conversations c WHERE c.person = %s ORDER BY c.updated DESC", self.person)
        return [ConversationInfo(cid, created, updated, int(count),
                                 (self._readable(meta, f"meta:{cid}", []) or {}).get("role", "unknown"))
                for cid, created, updated, meta, count in rows]

    def meta(self, cid: str) -> dict[str, Any]:
        rows = self._rows("SELECT meta FROM conversations WHERE person = %s AND id = %s", self.person, cid)
        if not rows:
            raise StoreError(f"no conversation {cid!r}")
        return self._open(rows[0][0], f"meta:{cid}")  # type: ignore[no-any-return]

    def forget(self, cid: str) -> None:
        with self._transaction() as cur:
            cur.execute("DELETE FROM conversations WHERE person = %s AND id = %s", (self.person, cid))
            found = cur.rowcount
            self._wrote(cur)
        if not found:
            raise StoreError(f"no conversation {cid!r}")
        self._vacuum("conversations", "turns")

    # -- profile and safety plan ------------------------------------------------------------------

    def put(self, name: str, value: Any) -> None:
        with self._transaction() as cur:
            cur.execute("INSERT INTO singletons VALUES (%s, %s, %s) ON CONFLICT (person, name) DO UPDATE SET blob = "
                        "EXCLUDED.blob", (self.person, name, self._seal(value, f"singleton:{name}")))
            self._wrote(cur)

    def get(self, name: str) -> Any:
        rows = self._rows("SELECT blob FROM singletons WHERE person = %s AND name = %s", self.person, name)
        return None if not rows else self._open(rows[0][0], f"singleton:{name}")

    # -- the passphrase, export and wipe ---------------------------------------------------------------

    def change_passphrase(self, old: str, new: str) -> None:
        """Re-wrap the data key under `new` (the records are not touched)."""
        if not new:
            raise LockedError("the new passphrase is empty")
        with self._transaction() as cur:
            cur.execute("SELECT key FROM people WHERE id = %s FOR UPDATE", (self.person,))
            row = cur.fetchone()
            if row is None:
                raise StoreError("nothing is stored yet")
            record = _record(row[0])
            data_key = unwrap(record, old)
            cur.execute("UPDATE people SET key = %s WHERE id = %s",
                        (json.dumps(wrap(data_key, new, record.params.model_dump())), self.person))

    def export(self) -> dict[str, Any]:
        skipped: list[str] = []
        conversations = []
        for cid, created, updated, key, meta in self._rows(
                "SELECT id, created, updated, key, meta FROM conversations WHERE person = %s ORDER BY updated DESC",
                self.person):
            rows = self._rows("SELECT seq, blob FROM turns WHERE person = %s AND conversation = %s ORDER BY seq",
                              self.person, cid)
            try:
                box = Box(self.box.open(bytes(key), f"conversation-key:{cid}".encode()))
            except StoreError:
                skipped.append(f"conversation {cid} (its key, so its {len(rows)} turns)")
                continue
            about = self._readable(meta, f"meta:{cid}", skipped, f"conversation {cid} (its role and profile)")
            turns = [self._readable(blob, f"turn:{cid}:{seq}", skipped, f"conversation {cid} turn {seq}", box)
                     for seq, blob in rows]
            conversations.append({"id": cid, "created": created, "updated": updated, "profile": {}, "role": "unknown",
                                  **(about or {}), "turns": [t for t in turns if t is not None]})
        singletons = {name: self._readable(blob, f"singleton:{name}", skipped, f"the {name.replace('_', ' ')}")
                      for name, blob in self._rows("SELECT name, blob FROM singletons WHERE person = %s", self.person)}
        return {"format": "typingcure-export", "version": 1, "exported": time.time(), "profile": singletons.get("profile"),
                "safety_plan": singletons.get("safety_plan"), "personas": singletons.get("personas"),
                "exercises": singletons.get("exercises"), "usage": singletons.get("usage"),
                "outcomes": singletons.get("outcomes"), "summaries": singletons.get("summaries"),
                "conversations": conversations, "skipped": skipped}

    def _readable(self, blob: bytes, aad: str, skipped: list[str], what: str = "", box: Box | None = None) -> Any:
        try:
            return self._open(blob, aad, box)
        except (StoreError, ValueError):
            skipped.append(what or aad)
            return None

    def wipe(self) -> None:
        """Delete the person: their wrapped key (crypto-shredding), with every row of theirs."""
        PostgresStore.delete_person(self.url, self.person)
        self.close()


def _record(text: str) -> KeyRecord:
    try:
        return KeyRecord.model_validate(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise StoreError(f"this person's key in the database is damaged ({' '.join(str(exc).split())[:120]}); "
                         "the data is untouched but cannot be opened without it") from None
