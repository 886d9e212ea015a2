"""Keys: a data key the person controls, and authenticated encryption for every personal field.

    keys = KeyFile(path)
    data_key = keys.create("a long passphrase")      # first run
    data_key = keys.unlock("a long passphrase")      # later; LockedError when it is wrong
    keys.change("old", "new")                         # re-wraps the data key only
    box = Box(data_key); blob = box.seal(b"...", aad=b"turns:42"); box.open(blob, aad=b"turns:42")

The data key (32 random bytes) never touches the disk in the clear: it is wrapped with AES-GCM by
a key derived from the passphrase with Argon2id (memory-hard). Each record has its own random
nonce and is bound to where it lives (the associated data), so a blob copied elsewhere does not
open. Deleting the key file is deleting the data (design/privacy.md), so every copy of it counts:
a new wrapping is written to `key.json.tmp` and renamed over, with the folder locked, and any
`key.json.*` left by a killed process is shredded at the next start and by `wipe`.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from argon2.exceptions import HashingError
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from ..errors import TypingcureError
from .files import PRIVATE_FILE, folder_lock, fsync_folder, private_folder, shred, write_all

KEY_VERSION = 1
# Argon2id: 64 MiB, 3 passes (RFC 9106's second recommended option scaled for a laptop).
KDF = {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 2}
MAX_KEY_FILE = 64 * 1024  # a key file is about 300 bytes; anything far larger is not one
_LENGTHS = {"salt": 16, "nonce": 12, "wrapped": 32 + 16}  # bytes, as _write makes them
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class LockedError(TypingcureError):
    """The passphrase did not open the key."""

    exit_code = 5


class StoreError(TypingcureError):
    exit_code = 6


def derive(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    try:
        return hash_secret_raw(passphrase.encode("utf-8"), salt, hash_len=32, type=Type.ID, **params)
    except (HashingError, MemoryError, OverflowError, ValueError) as exc:
        raise StoreError(f"the key's settings cannot be used on this computer ({exc}); your data is untouched") from None


class KdfParams(BaseModel):
    """Argon2id costs, bounded: a damaged or hostile key file must not make unlocking hang or exhaust memory."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    time_cost: int = Field(ge=1, le=16)
    memory_cost: int = Field(ge=8, le=1024 * 1024)  # KiB: up to 1 GiB
    parallelism: int = Field(ge=1, le=16)


class KeyRecord(BaseModel):
    """What key.json holds: the data key wrapped under the passphrase, and how to derive that wrapping."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    version: Literal[1]
    kdf: Literal["argon2id"]
    params: KdfParams
    salt: str
    nonce: str
    wrapped: str

    @field_validator("salt", "nonce", "wrapped")
    @classmethod
    def _hex_of_its_length(cls, value: str, info: ValidationInfo) -> str:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise ValueError("not hexadecimal") from None
        wanted = _LENGTHS[str(info.field_name)]
        if len(raw) != wanted:
            raise ValueError(f"{len(raw)} bytes, not {wanted}")
        return value


@dataclass(frozen=True)
class Box:
    """AES-GCM with a fresh nonce per record: blob = nonce (12 bytes) + ciphertext with tag."""

    key: bytes

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self.key).encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        try:
            return AESGCM(self.key).decrypt(blob[:12], blob[12:], aad)
        except (InvalidTag, ValueError):
            raise StoreError("a stored record failed its integrity check (wrong key, or the file was altered)") from None


def wrap(data_key: bytes, passphrase: str, kdf: dict[str, int]) -> dict[str, object]:
    """The data key wrapped under the passphrase (Argon2id, then AES-GCM): the record key.json holds,
    and a PostgreSQL store keeps in its `people` row."""
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    return {"version": KEY_VERSION, "kdf": "argon2id", "params": dict(kdf), "salt": salt.hex(), "nonce": nonce.hex(),
            "wrapped": AESGCM(derive(passphrase, salt, kdf)).encrypt(nonce, data_key, b"typingcure data key").hex()}


def unwrap(record: KeyRecord, passphrase: str) -> bytes:
    """The data key, or LockedError when the passphrase is wrong."""
    wrapping = derive(passphrase, bytes.fromhex(record.salt), record.params.model_dump())
    try:
        return AESGCM(wrapping).decrypt(bytes.fromhex(record.nonce), bytes.fromhex(record.wrapped), b"typingcure data key")
    except InvalidTag:
        raise LockedError("wrong passphrase; nothing was changed") from None


class KeyFile:
    def __init__(self, path: Path, kdf: dict[str, int] | None = None) -> None:
        self.path = path
        self.kdf = dict(kdf or KDF)

    @property
    def temp_path(self) -> Path:
        return self.path.with_name(self.path.name + ".tmp")

    def exists(self) -> bool:
        return self.path.exists()

    def temps(self) -> list[Path]:
        """Every other `key.json*` in the folder: temp files of a killed change, old backups.
        Each may hold the data key wrapped under some passphrase, so each is key material."""
        if not self.path.parent.is_dir():
            return []
        return sorted(p for p in self.path.parent.glob(self.path.name + "*")
                      if p.name != self.path.name and (p.is_symlink() or not p.is_dir()))

    def recover(self) -> list[str]:
        """Shred what an interrupted passphrase change left (the change did not happen; the key that
        is in place still opens). Taken under the lock, so a change in progress is never touched."""
        if not self.temps():
            return []
        with folder_lock(self.path.parent):
            shredded = self._shred_temps()
        return [f"a passphrase change was interrupted earlier; its half-written key ({', '.join(shredded)}) was "
                "shredded and the passphrase in place still opens your history"] if shredded else []

    def _shred_temps(self) -> list[str]:
        shredded = []
        for path in self.temps():
            if shred(path):
                shredded.append(path.name)
        if shredded:
            fsync_folder(self.path.parent)
        return shredded

    def _write(self, data_key: bytes, passphrase: str) -> None:
        """Write the new wrapping to the temp file and rename it over the key: a crash leaves the old
        key or the new one, never half of one. Called with the folder locked."""
        record = wrap(data_key, passphrase, self.kdf)
        tmp = self.temp_path
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, PRIVATE_FILE)
            try:
                write_all(fd, json.dumps(record).encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            fsync_folder(self.path.parent)
        finally:
            shred(tmp)  # only there when something failed before the rename

    def create(self, passphrase: str) -> bytes:
        if not passphrase:
            raise LockedError("a passphrase is needed to protect your history")
        private_folder(self.path.parent)
        data_key = secrets.token_bytes(32)
        with folder_lock(self.path.parent):
            if self.exists():
                raise StoreError("another typingcure window set up the store at the same moment; start again to unlock it")
            self._shred_temps()
            self._write(data_key, passphrase)
        return data_key

    def _record(self) -> KeyRecord:
        try:
            with self.path.open("rb") as fh:
                raw = fh.read(MAX_KEY_FILE + 1)
        except FileNotFoundError:
            raise LockedError("there is no key yet: nothing has been stored") from None
        except OSError as exc:
            raise StoreError(f"the key file {self.path} cannot be read ({exc.strerror}); your data is untouched") from None
        if len(raw) > MAX_KEY_FILE:
            raise self._damaged("far larger than a key file")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise self._damaged(f"not UTF-8 text at byte {exc.start}") from None
        except RecursionError:
            raise self._damaged("nested too deeply to be a key file") from None
        except json.JSONDecodeError as exc:
            raise self._damaged(f"not JSON: {exc.msg}") from None
        version = data.get("version") if isinstance(data, dict) else None
        if isinstance(version, int) and not isinstance(version, bool) and version > KEY_VERSION:
            raise StoreError(f"the key file was written by a newer typingcure (version {version}); update typingcure")
        try:
            return KeyRecord.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the whole file"
            raise self._damaged(f"{where}: {first['msg']}") from None

    def _damaged(self, why: str) -> StoreError:
        why = " ".join(why.split())[:120]  # one line, whatever the file held
        return StoreError(f"the key file {self.path} is damaged ({why}); your data is untouched but cannot be "
                          "opened without it: put back a copy of key.json if you have one")

    def unlock(self, passphrase: str) -> bytes:
        return unwrap(self._record(), passphrase)

    def change(self, old: str, new: str) -> None:
        if not new:
            raise LockedError("the new passphrase is empty")
        with folder_lock(self.path.parent):
            self._shred_temps()
            data_key = self.unlock(old)
            self._write(data_key, new)

    def destroy(self) -> None:
        """Shred the key and every leftover copy of it: without them, every stored record is unreadable."""
        if not self.path.parent.is_dir():
            return
        with folder_lock(self.path.parent):  # a passphrase change finishes first, or finds no key
            self._shred_temps()
            shred(self.path)
            fsync_folder(self.path.parent)
