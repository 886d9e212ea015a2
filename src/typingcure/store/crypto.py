"""Keys: a data key the person controls, and authenticated encryption for every personal field.

    keys = KeyFile(path)
    data_key = keys.create("a long passphrase")      # first run
    data_key = keys.unlock("a long passphrase")      # later; LockedError when it is wrong
    keys.change("old", "new")                         # re-wraps the data key only
    box = Box(data_key); blob = box.seal(b"...", aad=b"turns:42"); box.open(blob, aad=b"turns:42")

The data key (32 random bytes) never touches the disk in the clear: it is wrapped with AES-GCM by
a key derived from the passphrase with Argon2id (memory-hard). Each record has its own random
nonce and is bound to where it lives (the associated data), so a blob copied elsewhere does not
open. Deleting the key file is deleting the data (design/privacy.md).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import TypingcureError

KEY_VERSION = 1
# Argon2id: 64 MiB, 3 passes (RFC 9106's second recommended option scaled for a laptop).
KDF = {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 2}


class LockedError(TypingcureError):
    """The passphrase did not open the key."""

    exit_code = 5


class StoreError(TypingcureError):
    exit_code = 6


def derive(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hash_secret_raw(passphrase.encode("utf-8"), salt, hash_len=32, type=Type.ID, **params)


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


class KeyFile:
    def __init__(self, path: Path, kdf: dict[str, int] | None = None) -> None:
        self.path = path
        self.kdf = dict(kdf or KDF)

    def exists(self) -> bool:
        return self.path.exists()

    def _write(self, data_key: bytes, passphrase: str) -> None:
        salt = secrets.token_bytes(16)
        wrapping = derive(passphrase, salt, self.kdf)
        nonce = secrets.token_bytes(12)
        record = {
            "version": KEY_VERSION, "kdf": "argon2id", "params": self.kdf, "salt": salt.hex(), "nonce": nonce.hex(),
            "wrapped": AESGCM(wrapping).encrypt(nonce, data_key, b"typingcure data key").hex(),
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def create(self, passphrase: str) -> bytes:
        if not passphrase:
            raise LockedError("a passphrase is needed to protect your history")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data_key = secrets.token_bytes(32)
        self._write(data_key, passphrase)
        return data_key

    def unlock(self, passphrase: str) -> bytes:
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LockedError("there is no key yet: nothing has been stored") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"the key file {self.path} cannot be read ({exc}); your data is untouched") from None
        if record.get("version") != KEY_VERSION:
            raise StoreError(f"the key file was written by a newer typingcure (version {record.get('version')}); update typingcure")
        wrapping = derive(passphrase, bytes.fromhex(record["salt"]), record["params"])
        try:
            return AESGCM(wrapping).decrypt(bytes.fromhex(record["nonce"]), bytes.fromhex(record["wrapped"]),
                                            b"typingcure data key")
        except InvalidTag:
            raise LockedError("wrong passphrase; nothing was changed") from None

    def change(self, old: str, new: str) -> None:
        data_key = self.unlock(old)
        if not new:
            raise LockedError("the new passphrase is empty")
        self._write(data_key, new)

    def destroy(self) -> None:
        """Overwrite, then remove: without the key, every stored record is unreadable."""
        if not self.path.exists():
            return
        size = self.path.stat().st_size
        with self.path.open("r+b") as fh:
            fh.write(secrets.token_bytes(size))
            fh.flush()
            os.fsync(fh.fileno())
        self.path.unlink()
