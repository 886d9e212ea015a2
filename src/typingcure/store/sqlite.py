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
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..types import TurnResult
from .crypto import Box, KeyFile, StoreError

DB_NAME = "store.db"
KEY_NAME = "key.json"

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


def _sqlite_error(exc: sqlite3.Error, path: Path) -> StoreError:
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{path} is not a readable typingcure store (it may be damaged); it was left untouched")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreError(f"cannot write to {path.parent} (read-only or missing); nothing was saved")
    if "full" in text:
        return StoreError("the disk is full; this turn was not saved and nothing else was changed")
    if "locked" in text or "busy" in text:
        return StoreError("the store is busy in another typingcure window; try again in a moment")
    return StoreError(f"the store failed ({exc}); nothing was changed")


class SQLiteStore:
    def __init__(self, folder: Path, box: Box, connection: sqlite3.Connection) -> None:
        self.folder, self.box, self.db = folder, box, connection
        self.path = folder / DB_NAME

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: Path, passphrase: str, *, create: bool = True, kdf: dict[str, int] | None = None) -> SQLiteStore:
        keys = KeyFile(folder / KEY_NAME, kdf)
        path = folder / DB_NAME
        if keys.exists():
            data_key = keys.unlock(passphrase)
        elif path.exists():
            raise StoreError(f"{path} exists but its key is gone: the data cannot be read (it was wiped?)")
        elif create:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                data_key = keys.create(passphrase)
            except OSError as exc:
                raise StoreError(f"cannot create the store in {folder} ({exc.strerror})") from None
        else:
            raise StoreError("nothing is stored yet")
        try:
            db = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON", "foreign_keys=ON",
                           "busy_timeout=5000"):
                db.execute(f"PRAGMA {pragma}")
            store = cls(folder, Box(data_key), db)
            store._migrate()
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, path) from None
        return store

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
        applied = {row[0] for row in self.db.execute("SELECT name FROM migrations")}
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
    def _transaction(self) -> Iterator[None]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            yield
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise _sqlite_error(exc, self.path) from None
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self.db.close()

    # -- sealing --------------------------------------------------------------------------------

    def _seal(self, value: Any, aad: str, box: Box | None = None) -> bytes:
        return (box or self.box).seal(json.dumps(value, ensure_ascii=False).encode("utf-8"), aad.encode())

    def _open(self, blob: bytes, aad: str, box: Box | None = None) -> Any:
        return json.loads((box or self.box).open(blob, aad.encode()))

    def _conversation_box(self, cid: str) -> Box:
        row = self.db.execute("SELECT key FROM conversations WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise StoreError(f"no conversation {cid!r}")
        return Box(self.box.open(row[0], f"conversation-key:{cid}".encode()))

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
        rows = self.db.execute("SELECT seq, blob FROM turns WHERE conversation = ? ORDER BY seq", (cid,))
        return [self._open(blob, f"turn:{cid}:{seq}", box) for seq, blob in rows]

    def conversations(self) -> list[ConversationInfo]:
        rows = self.db.execute(
            "SELECT c.id, c.created, c.updated, c.meta, (SELECT COUNT(*) FROM turns t WHERE t.conversation = c.id) "
            "FROM conversations c ORDER BY c.updated DESC")
        return [ConversationInfo(cid, created, updated, count, self._open(meta, f"meta:{cid}")["role"])
                for cid, created, updated, meta, count in rows]

    def meta(self, cid: str) -> dict[str, Any]:
        row = self.db.execute("SELECT meta FROM conversations WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise StoreError(f"no conversation {cid!r}")
        return self._open(row[0], f"meta:{cid}")  # type: ignore[no-any-return]

    def forget(self, cid: str) -> None:
        """Delete one conversation: its key and rows are overwritten, and the file is compacted."""
        with self._transaction():
            found = self.db.execute("DELETE FROM conversations WHERE id = ?", (cid,)).rowcount
            self.db.execute("DELETE FROM turns WHERE conversation = ?", (cid,))
        if not found:
            raise StoreError(f"no conversation {cid!r}")
        self._compact()

    def _compact(self) -> None:
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.execute("VACUUM")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise _sqlite_error(exc, self.path) from None

    # -- profile and safety plan ------------------------------------------------------------------

    def put(self, name: str, value: Any) -> None:
        with self._transaction():
            self.db.execute("INSERT OR REPLACE INTO singletons VALUES (?, ?)", (name, self._seal(value, f"singleton:{name}")))

    def get(self, name: str) -> Any:
        row = self.db.execute("SELECT blob FROM singletons WHERE name = ?", (name,)).fetchone()
        return None if row is None else self._open(row[0], f"singleton:{name}")

    # -- export and wipe -----------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        conversations = []
        for info in self.conversations():
            conversations.append({"id": info.id, "created": info.created, "updated": info.updated,
                                  **self.meta(info.id), "turns": self.turns(info.id)})
        return {"format": "typingcure-export", "version": 1, "exported": time.time(), "profile": self.get("profile"),
                "safety_plan": self.get("safety_plan"), "conversations": conversations}


def wipe(folder: Path) -> list[str]:
    """Destroy the key, then the files: nothing in them can be read again. Returns what was removed."""
    removed = []
    keys = KeyFile(folder / KEY_NAME)
    if keys.exists():
        keys.destroy()
        removed.append(KEY_NAME)
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME + "-journal"):
        path = folder / name
        if path.exists():
            size = path.stat().st_size
            with path.open("r+b") as fh:  # overwrite before unlinking: the file system may keep the blocks
                fh.write(secrets.token_bytes(min(size, 64 * 1024 * 1024)))
            path.unlink()
            removed.append(name)
    return removed
