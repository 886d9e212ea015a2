"""Files only the person can read, one writer of key files at a time, and shredding.

    private_folder(home)                 # created 0700
    notes = tighten(home, names)         # at start: wider modes made private, one line saying so
    write_private(path, text)            # an export: 0600 from its first byte, swapped in whole
    with folder_lock(home): ...          # across processes, while a key file is written or wiped
    shred(path)                          # overwrite, fsync, unlink; a link is only unlinked

Owns modes and deletion on disk; what the files hold belongs to crypto.py and sqlite.py.
Overwriting before unlinking is best effort (journaling and copy-on-write file systems and SSDs
may keep old blocks); the guarantee is the key's: once every copy of it is gone, no block left
anywhere can be read (design/privacy.md).
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterable, Iterator

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
_CHUNK = 1024 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def private_folder(folder: Path) -> None:
    """Create the folder 0700; parents the person may share (~/.local/share) keep the system's modes."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=PRIVATE_FOLDER)
    except FileExistsError:
        return
    os.chmod(folder, PRIVATE_FOLDER)  # mkdir's mode passes through the umask


def tighten(folder: Path, names: Iterable[str]) -> list[str]:
    """Take group and other access off the folder and the named files; one note when any had it."""
    changed = []
    for path, want in ((folder, PRIVATE_FOLDER), *((folder / name, PRIVATE_FILE) for name in names)):
        try:
            info = os.lstat(path)
        except OSError:
            continue
        have = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode) or not have & 0o077:
            continue  # chmod would follow a link out of the folder; narrower modes are the person's choice
        try:
            os.chmod(path, want)
        except OSError:
            continue
        changed.append(f"{'the folder' if path == folder else path.name} {have:04o} → {want:04o}")
    if not changed:
        return []
    return [f"others on this computer could read your typingcure files; they are private now ({', '.join(changed)})"]


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder itself: no lock file to leave behind, and the kernel
    lets go when a killed process dies. Where flock does not exist (Windows) it is a no-op."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def fsync_folder(folder: Path) -> None:
    """Make a rename or unlink in the folder durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def shred(path: Path) -> bool:
    """Overwrite a regular file with random bytes, fsync, then unlink it; a link (or anything but a
    file) is only unlinked, never followed. True when something was removed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(info.st_mode):
        return False
    if stat.S_ISREG(info.st_mode):
        if not info.st_mode & stat.S_IWUSR:
            os.chmod(path, PRIVATE_FILE)
        fd = os.open(path, os.O_WRONLY | _NOFOLLOW)
        try:
            for start in range(0, info.st_size, _CHUNK):
                write_all(fd, secrets.token_bytes(min(_CHUNK, info.st_size - start)))
            os.fsync(fd)
        finally:
            os.close(fd)
    os.unlink(path)
    return True


def write_private(path: Path, text: str) -> None:
    """Write to a new 0600 file beside `path`, then rename it over: never readable by others, never
    half-written under the real name; the partial file is removed if anything fails."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
