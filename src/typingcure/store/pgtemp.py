"""A private, throwaway PostgreSQL server, for the tests and benchmarks of the PostgreSQL store
(Debian's `postgresql` package; scripts/bootstrap --test installs it). It listens on a Unix socket
in a temporary folder only (no TCP port), trusts its one user, and is gone when the block ends.

    with private_postgres() as url:      # postgresql://typingcure@/postgres?host=/tmp/typingcure-pg-…/run
        ...
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(versions[-1]) if versions else None


@contextmanager
def private_postgres(max_connections: int = 200) -> Iterator[str]:
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("PostgreSQL is not installed (scripts/bootstrap --test installs Debian's postgresql)")
    # Its own folder under the system's temp folder: the server may run as another user (below).
    base = Path(tempfile.mkdtemp(prefix="typingcure-pg-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root: as its own system user, in folders it owns
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
        base.chmod(0o700)

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "typingcure", "--no-sync", "-E", "UTF8")
        run(pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-o",
            f"-k {sockets} -c listen_addresses='' -c fsync=off -c max_connections={max_connections}", "start")
        yield f"postgresql://typingcure@/postgres?host={sockets}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
