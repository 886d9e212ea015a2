"""Errors a person or a calling tool can act on.

Every error carries a one-line message that says what went wrong and what to do; the CLI prints
that line alone (a traceback only with TYPINGCURE_DEBUG=1) and exits with `exit_code`:
2 bad input or setting, 3 model, 4 download, 5 passphrase (`store.LockedError`), 6 store
(`store.StoreError`); anything else that escapes is a bug, and exits 1 with one line too.
"""

from __future__ import annotations


class TypingcureError(Exception):
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(TypingcureError):
    """The input cannot be used as it is (empty, too long, not UTF-8, not the promised JSON shape)."""

    exit_code = 2


class ConfigError(TypingcureError):
    """A setting, role, backend spec or data file is unknown or malformed."""

    exit_code = 2


class BackendError(TypingcureError):
    """The model could not be reached, loaded, or answered with an error."""

    exit_code = 3


class DownloadError(TypingcureError):
    """A model could not be downloaded, or its checksum did not match."""

    exit_code = 4
