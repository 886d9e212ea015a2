"""Where a person's history lives: a folder (SQLite and key.json, the default) or a PostgreSQL
database (TYPINGCURE_DATABASE_URL). The web app and the commands ask this, never the files.

    where = history_at(user_dir())
    where.exists(); store = where.open(passphrase); where.check(passphrase); where.change(old, new)
    where.wipe()                     # what was removed, one name each
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .crypto import KeyFile
from .sqlite import KEY_NAME, SQLiteStore, wipe

if TYPE_CHECKING:
    from .postgres import PostgresStore


@dataclass(frozen=True)
class Folder:
    """SQLite in the person's own folder: the data key wrapped in key.json."""

    home: Path

    @property
    def shown(self) -> str:
        return str(self.home)

    def exists(self) -> bool:
        return KeyFile(self.home / KEY_NAME).exists()

    def open(self, passphrase: str, *, create: bool = True) -> SQLiteStore:
        return SQLiteStore.open(self.home, passphrase, create=create)

    def check(self, passphrase: str) -> None:
        KeyFile(self.home / KEY_NAME).unlock(passphrase)

    def change(self, old: str, new: str) -> None:
        KeyFile(self.home / KEY_NAME).change(old, new)

    def wipe(self) -> list[str]:
        return wipe(self.home)


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database: the person's data key wrapped in their `people` row."""

    url: str
    person: str = "default"

    @property
    def shown(self) -> str:
        from .postgres import shown

        return f"{shown(self.url)} (person {self.person})"

    def exists(self) -> bool:
        from .postgres import PostgresStore

        return PostgresStore.exists(self.url, self.person)

    def open(self, passphrase: str, *, create: bool = True) -> PostgresStore:
        from .postgres import PostgresStore

        return PostgresStore.open(self.url, passphrase, person=self.person, create=create)

    def check(self, passphrase: str) -> None:
        self.open(passphrase, create=False).close()

    def change(self, old: str, new: str) -> None:
        store = self.open(old, create=False)
        try:
            store.change_passphrase(old, new)
        finally:
            store.close()

    def wipe(self) -> list[str]:
        from .postgres import PostgresStore

        return PostgresStore.delete_person(self.url, self.person)


def history_at(home: Path) -> Folder | Database:
    from . import database_url

    url = database_url()
    return Database(url) if url else Folder(home)
