"""Models: what is installed, and downloading a recommended larger one.

`pull(name)` streams the file into `<user_dir>/models/NAME.part`, checks its SHA-256, and only
then renames it into place: an interrupted or failed download leaves no partial model behind.
The hub is `TYPINGCURE_HF_ENDPOINT` (default https://huggingface.co); offline, pull fails with a
message saying how to use a model file you already have.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict

from .. import _yaml
from ..config import user_dir
from ..errors import ConfigError, DownloadError
from .local import BUNDLED_NAME, bundled_model_path


class CatalogueEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    repo: str
    file: str
    size_mb: int
    license: str
    sha256: str | None = None
    summary: str
    capable: bool = False
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstalledModel:
    name: str
    spec: str
    note: str


@lru_cache(maxsize=1)
def catalogue() -> tuple[CatalogueEntry, ...]:
    raw = _yaml.safe_load(files("typingcure.backends").joinpath("models.yaml").read_text("utf-8"))
    return tuple(CatalogueEntry(**entry) for entry in raw)


def models_dir() -> Path:
    return user_dir() / "models"


def entry_named(name: str) -> CatalogueEntry | None:
    return next((e for e in catalogue() if e.name == name), None)


def entry_for_file(path: Path) -> CatalogueEntry | None:
    """The catalogue entry a model file came from (by its file name), if any."""
    return next((e for e in catalogue() if e.file == path.name), None)


def pulled_path(name: str) -> Path | None:
    """Where `models pull NAME` put the model, or None when it is not pulled (or not a catalogue name)."""
    entry = entry_named(name)
    if entry is None:
        return None
    path = models_dir() / entry.file
    return path if path.is_file() else None


def installed_models() -> list[InstalledModel]:
    found: list[InstalledModel] = []
    bundled = bundled_model_path()
    if bundled:
        found.append(InstalledModel(BUNDLED_NAME, "local", f"bundled, {bundled.stat().st_size // 1_000_000} MB"))
    else:
        found.append(InstalledModel(BUNDLED_NAME, "local", "NOT INSTALLED: run scripts/bootstrap"))
    if models_dir().is_dir():
        for path in sorted(models_dir().glob("*.gguf")):
            entry = entry_for_file(path)
            size = f"{path.stat().st_size // 1_000_000} MB"
            if entry is not None:
                found.append(InstalledModel(entry.name, f"local:{entry.name}",
                                            f"pulled, {size}, {'capable' if entry.capable else 'not marked capable'}"))
            else:
                found.append(InstalledModel(path.stem, f"local:{path}", f"your file, {size}, not marked capable"))
    return found


def _advertised_sha256(response: httpx.Response) -> str | None:
    for r in [*response.history, response]:
        for header in ("x-linked-etag", "etag"):
            value = r.headers.get(header, "").strip('"').removeprefix("W/").strip('"')
            if re.fullmatch(r"[0-9a-f]{64}", value):
                return value
    return None


def pull(name: str, *, endpoint: str | None = None) -> Path:
    entry = entry_named(name)
    if entry is None:
        raise ConfigError(f"unknown model {name!r} (choose from: {', '.join(e.name for e in catalogue())})")
    target = models_dir() / entry.file
    if target.exists():
        return target
    base = (endpoint or os.environ.get("TYPINGCURE_HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    url = f"{base}/{entry.repo}/resolve/main/{entry.file}"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        _download(url, partial, entry)
        os.replace(partial, target)
        return target
    except httpx.HTTPError as exc:
        raise DownloadError(
            f"cannot download {entry.name} from {base} ({type(exc).__name__}); typingcure works offline with the "
            "bundled model, and any GGUF file you already have works with --backend local:/path/to/model.gguf"
        ) from None
    finally:
        partial.unlink(missing_ok=True)


def _download(url: str, partial: Path, entry: CatalogueEntry) -> None:
    digest = hashlib.sha256()
    with httpx.stream("GET", url, follow_redirects=True, timeout=httpx.Timeout(30.0, connect=10.0)) as response:
        if response.status_code != 200:
            raise DownloadError(f"cannot download {entry.name}: the hub answered {response.status_code}")
        expected = entry.sha256 or _advertised_sha256(response)
        if expected is None:
            raise DownloadError(f"cannot verify {entry.name}: no checksum is known for it; nothing was kept")
        total = int(response.headers.get("content-length", 0)) or None
        with partial.open("wb") as fh, _progress(entry.name, total) as advance:
            for chunk in response.iter_bytes(1 << 20):
                fh.write(chunk)
                digest.update(chunk)
                advance(len(chunk))
    if digest.hexdigest() != expected:
        raise DownloadError(f"checksum mismatch for {entry.name}: the download is damaged; nothing was kept")


class _progress:
    """A progress bar on a terminal; silence when stderr is not one."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label, self.total, self._bar = label, total, None

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not sys.stderr.isatty():
            return lambda n: None
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        self._bar = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                             TransferSpeedColumn(), transient=True)
        self._bar.start()
        task = self._bar.add_task(self.label, total=self.total)
        return lambda n: self._bar.advance(task, n)  # type: ignore[union-attr]

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
