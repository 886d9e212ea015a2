"""The encrypted store: conversations, turns with every stage's decision, profile, safety plan.

    store = SQLiteStore.open(user_dir(), passphrase)          # creates on first use
    cid = store.new_conversation(profile, role)
    store.add_turn(cid, turn)
    store.conversations(); store.turns(cid); store.export(); store.forget(cid); store.close()

This module owns the schema: named, append-only migrations in MIGRATIONS; nothing else writes SQL.
SQLite sees only ciphertext: each conversation has its own key, sealed by the person's data key;
every turn, profile and plan is sealed with AES-GCM and bound to its row. Timestamps and row
counts are the only plain metadata. WAL with synchronous=FULL keeps a committed turn through a
crash; secure_delete overwrites what `forget` removes, and forgetting also destroys that
conversation's key (design/privacy.md).

One connection serves every thread, one at a time (`_lock`): a sqlite3 connection shared without
a lock interleaves transactions and loses turns (issue 14). Files are 0600 in a 0700 folder from
the start, and checked at every open (`store.notes` says when they were wider).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Iterator

from ..types import TurnResult
from .crypto import Box, KeyFile, LockedError, StoreError
from .files import PRIVATE_FILE, fsync_folder, private_folder, shred, tighten

DB_NAME = "store.db"
KEY_NAME = "key.json"
DB_FILES = (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME + "-journal")
PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON", "foreign_keys=ON", "busy_timeout=5000",
           "temp_store=MEMORY")  # VACUUM and sorts would otherwise spill to a file in the system's temp folder

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("0001_initial", """
        CREATE TABLE conversations (id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL,
                                    key BLOB NOT NULL, meta BLOB NOT NULL);
        CREATE TABLE turns (conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                            seq INTEGER NOT NULL, created REAL NOT NULL, blob BLOB NOT NULL,
                            PRIMARY KEY (conversation, seq));
        CREATE TABLE singletons (name TEXT PRIMARY KEY, blob BLOB NOT NULL);
    """),
)


@dataclass(frozen=True)
class ConversationInfo:
    id: str
    created: float
    updated: float
    turns: int
    role: str


def _sqlite_error(exc: sqlite3.Error, path: Path, *, starting: bool = False) -> StoreError:
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{path} is not a readable typingcure store (it may be damaged); it was left untouched")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreError(f"cannot write to {path.parent} (read-only or missing); nothing was saved")
    if "full" in text:
        unsaved = "nothing was changed" if starting else "this turn was not saved and nothing else was changed"
        return StoreError(f"the disk is full: free some space, then try again; {unsaved}")
    if "disk i/o" in text:
        return StoreError(f"the disk holding {path.parent} could not be read or written (disk I/O error): "
                          "free some space or check the disk, then try again; nothing was changed")
    if "locked" in text or "busy" in text:
        return StoreError("the store is busy in another typingcure window; try again in a moment")
    return StoreError(f"the store failed ({exc}); nothing was changed")


def _os_error(exc: OSError, folder: Path) -> StoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(f"the disk is full: free some space, then try again; nothing was set up in {folder}")
    if exc.errno in (errno.EIO, errno.EFBIG):
        return StoreError(f"cannot write in {folder} ({exc.strerror}): free some space or check the disk, then try again")
    return StoreError(f"cannot use the store in {folder} ({exc.strerror})")


def secure_home(folder: Path) -> list[str]:
    """At every start: shred a half-written key that a killed passphrase change left, and take group
    and other access off the folder and the store's files. One line for the person per fix."""
    if not folder.is_dir():
        return []
    try:
        return KeyFile(folder / KEY_NAME).recover() + tighten(folder, (KEY_NAME, *DB_FILES))
    except OSError as exc:
        raise _os_error(exc, folder) from None


class SQLiteStore:
    def __init__(self, folder: Path, box: Box | None, connection: sqlite3.Connection, notes: tuple[str, ...] = ()) -> None:
        self.folder, self._box, self.db = folder, box, connection
        self.path = folder / DB_NAME
        self.notes = notes  # one line each, for the person: what was fixed on opening
        self._lock = threading.RLock()
        self._closed = False

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: Path, passphrase: str, *, create: bool = True, kdf: dict[str, int] | None = None) -> SQLiteStore:
        keys = KeyFile(folder / KEY_NAME, kdf)
        path = folder / DB_NAME
        notes = secure_home(folder)
        if keys.exists():
            data_key = keys.unlock(passphrase)
        elif path.exists():
            raise StoreError(f"{path} exists but its key is gone: the data cannot be read (it was wiped?)")
        elif create:
            try:
                private_folder(folder)
                data_key = keys.create(passphrase)
            except OSError as exc:
                raise _os_error(exc, folder) from None
        else:
            raise StoreError("nothing is stored yet")
        try:
            # made 0600 before SQLite opens it: SQLite gives the -wal and -shm files the same mode
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT, PRIVATE_FILE))
        except OSError as exc:
            raise _os_error(exc, folder) from None
        try:
            db = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, path, starting=True) from None
        try:
            for pragma in PRAGMAS:
                db.execute(f"PRAGMA {pragma}")
            store = cls(folder, Box(data_key), db, tuple(notes))
            store._migrate()
        except BaseException as exc:
            db.close()
            if isinstance(exc, sqlite3.Error):
                raise _sqlite_error(exc, path, starting=True) from None
            raise
        return store

    @property
    def box(self) -> Box:
        if self._box is None:
            raise LockedError("the history is locked (the store was closed); unlock it again")
        return self._box

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
        applied = {row[0] for row in self._rows("SELECT name FROM migrations")}
        known = {name for name, _ in MIGRATIONS}
        if applied - known:
            raise StoreError(f"this store was written by a newer typingcure ({sorted(applied - known)[-1]}); update typingcure")
        for name, sql in MIGRATIONS:
            if name in applied:
                continue
            with self._transaction():
                for statement in filter(str.strip, sql.split(";")):
                    self.db.execute(statement)
                self.db.execute("INSERT INTO migrations VALUES (?, ?)", (name, time.time()))

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, for this thread alone until the block ends."""
        with self._lock:
            if self._closed:
                raise LockedError("the history is locked (the store was closed); unlock it again")
            yield self.db

    def _rows(self, sql: str, *args: Any) -> list[Any]:
        """A whole query's rows, read under the lock (a cursor read later would race other threads)."""
        with self._connection() as db:
            try:
                return db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.path) from None

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._connection() as db:
            try:
                db.execute("BEGIN IMMEDIATE")
                yield
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise _sqlite_error(exc, self.path) from None
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Checkpoint and close, once; a turn being written in another thread finishes first. The data
        key is dropped, so nothing here can open a record again (Python cannot promise that the
        bytes themselves are overwritten in memory)."""
        with self._lock:
            if self._closed:
                return
            try:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self.db.close()
            self._closed, self._box = True, None

    # -- sealing --------------------------------------------------------------------------------

    def _seal(self, value: Any, aad: str, box: Box | None = None) -> bytes:
        return (box or self.box).seal(json.dumps(value, ensure_ascii=False).encode("utf-8"), aad.encode())

    def _open(self, blob: bytes, aad: str, box: Box | None = None) -> Any:
        return json.loads((box or self.box).open(blob, aad.encode()))

    def _conversation_box(self, cid: str) -> Box:
        rows = self._rows("SELECT key FROM conversations WHERE id = ?", cid)
        if not rows:
            raise StoreError(f"no conversation {cid!r}")
        return Box(self.box.open(rows[0][0], f"conversation-key:{cid}".encode()))

    # -- conversations and turns ------------------------------------------------------------------

    def new_conversation(self, profile: dict[str, Any], role: str) -> str:
        cid = uuid.uuid4().hex[:12]
        now = time.time()
        key = self.box.seal(secrets.token_bytes(32), f"conversation-key:{cid}".encode())
        with self._transaction():
            self.db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                            (cid, now, now, key, self._seal({"profile": profile, "role": role}, f"meta:{cid}")))
        return cid

    def add_turn(self, cid: str, turn: TurnResult) -> int:
        box = self._conversation_box(cid)
        now = time.time()
        with self._transaction():
            seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation = ?", (cid,)).fetchone()[0]
            self.db.execute("INSERT INTO turns VALUES (?, ?, ?, ?)",
                            (cid, seq, now, self._seal(turn.model_dump(mode="json"), f"turn:{cid}:{seq}", box)))
            self.db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, cid))
        return int(seq)

    def turns(self, cid: str) -> list[dict[str, Any]]:
        box = self._conversation_box(cid)
        rows = self._rows("SELECT seq, blob FROM turns WHERE conversation = ? ORDER BY seq", cid)
        return [self._open(blob, f"turn:{cid}:{seq}", box) for seq, blob in rows]

    def conversations(self) -> list[ConversationInfo]:
        """Every conversation, newest first; one whose role cannot be read is listed as "unknown"."""
        rows = self._rows(
            "SELECT c.id, c.created, c.updated, c.meta, (SELECT COUNT(*) FROM turns t WHERE t.conversation = c.id) "
            "FROM conversations c ORDER BY c.updated DESC")
        return [ConversationInfo(cid, created, updated, count, (self._readable(meta, f"meta:{cid}", []) or {}).get("role", "unknown"))
                for cid, created, updated, meta, count in rows]

    def meta(self, cid: str) -> dict[str, Any]:
        rows = self._rows("SELECT meta FROM conversations WHERE id = ?", cid)
        if not rows:
            raise StoreError(f"no conversation {cid!r}")
        return self._open(rows[0][0], f"meta:{cid}")  # type: ignore[no-any-return]

    def forget(self, cid: str) -> None:
        """Delete one conversation: its key and rows are overwritten, and the file is compacted."""
        with self._transaction():
            found = self.db.execute("DELETE FROM conversations WHERE id = ?", (cid,)).rowcount
            self.db.execute("DELETE FROM turns WHERE conversation = ?", (cid,))
        if not found:
            raise StoreError(f"no conversation {cid!r}")
        self._compact()

    def _compact(self) -> None:
        with self._connection() as db:
            try:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                db.execute("VACUUM")
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise _sqlite_error(exc, self.path) from None

    # -- profile and safety plan ------------------------------------------------------------------

    def put(self, name: str, value: Any) -> None:
        with self._transaction():
            self.db.execute("INSERT OR REPLACE INTO singletons VALUES (?, ?)", (name, self._seal(value, f"singleton:{name}")))

    def get(self, name: str) -> Any:
        rows = self._rows("SELECT blob FROM singletons WHERE name = ?", name)
        return None if not rows else self._open(rows[0][0], f"singleton:{name}")

    # -- export and wipe -----------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Everything that can be read. A record that fails its integrity check is left out and named
        in "skipped", so one damaged block does not cost the person the rest of their history."""
        skipped: list[str] = []
        conversations = []
        for cid, created, updated, key, meta in self._rows(
                "SELECT id, created, updated, key, meta FROM conversations ORDER BY updated DESC"):
            rows = self._rows("SELECT seq, blob FROM turns WHERE conversation = ? ORDER BY seq", cid)
            try:
                box = Box(self.box.open(key, f"conversation-key:{cid}".encode()))
            except StoreError:
                skipped.append(f"conversation {cid} (its key, so its {len(rows)} turns)")
                continue
            about = self._readable(meta, f"meta:{cid}", skipped, f"conversation {cid} (its role and profile)")
            turns = [self._readable(blob, f"turn:{cid}:{seq}", skipped, f"conversation {cid} turn {seq}", box)
                     for seq, blob in rows]
            conversations.append({"id": cid, "created": created, "updated": updated, "profile": {}, "role": "unknown",
                                  **(about or {}), "turns": [t for t in turns if t is not None]})
        singletons = {name: self._readable(blob, f"singleton:{name}", skipped, f"the {name.replace('_', ' ')}")
                      for name, blob in self._rows("SELECT name, blob FROM singletons")}
        return {"format": "typingcure-export", "version": 1, "exported": time.time(), "profile": singletons.get("profile"),
                "safety_plan": singletons.get("safety_plan"), "personas": singletons.get("personas"),
                "exercises": singletons.get("exercises"), "usage": singletons.get("usage"),
                "outcomes": singletons.get("outcomes"), "summaries": singletons.get("summaries"),
                "conversations": conversations, "skipped": skipped}

    def _readable(self, blob: bytes, aad: str, skipped: list[str], what: str = "", box: Box | None = None) -> Any:
        """The record, or None (named in `skipped`) when it fails its integrity check."""
        try:
            return self._open(blob, aad, box)
        except (StoreError, ValueError):
            skipped.append(what or aad)
            return None


def wipe(folder: Path) -> list[str]:
    """Shred every copy of the key first (leftover temp files, then key.json), then the database
    files: from the first step on, nothing in them, or in any copy of them, can be read again.
    Returns what was removed."""
    if not folder.is_dir():
        return []
    keys = KeyFile(folder / KEY_NAME)
    removed = [p.name for p in (*keys.temps(), keys.path) if os.path.lexists(p)]
    try:
        keys.destroy()
        for path in sorted(folder.glob(DB_NAME + "*")):  # the WAL, its index, a rollback journal, copies
            if shred(path):
                removed.append(path.name)
        fsync_folder(folder)
    except OSError as exc:
        raise StoreError(f"the wipe could not finish in {folder} ({exc.strerror}); run it again") from None
    return removed
