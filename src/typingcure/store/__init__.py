"""Encrypted local storage, export and crypto-shredding (design/privacy.md).

    store = open_store()                       # the passphrase from TYPINGCURE_PASSPHRASE or the caller
    for note in store.notes: show(note)        # e.g. files that others could read were made private
    recorder = StoreRecorder(store, store.new_conversation(profile, role))
    parts.recorder = recorder                  # run_turn() now keeps each turn, encrypted
    data = store.export(); skipped_note(data)  # damaged records are left out and counted
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import user_dir
from ..pipeline import Recorder, Session
from ..types import TurnResult
from .crypto import Box, KeyFile, LockedError, StoreError
from .files import write_private
from .location import Database, Folder, history_at
from .sqlite import DB_NAME, KEY_NAME, SQLiteStore, secure_home, wipe

if TYPE_CHECKING:
    from .postgres import PostgresStore

    Store = SQLiteStore | PostgresStore
else:
    Store = SQLiteStore

__all__ = [
    "DB_NAME",
    "KEY_NAME",
    "Box",
    "Database",
    "Folder",
    "KeyFile",
    "LockedError",
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoreRecorder",
    "database_url",
    "history_at",
    "open_store",
    "passphrase_from_env",
    "secure_home",
    "skipped_note",
    "to_markdown",
    "wipe",
    "write_private",
]


def passphrase_from_env() -> str | None:
    """TYPINGCURE_PASSPHRASE, for scripts and tests. Anyone who can read your environment can read it."""
    return os.environ.get("TYPINGCURE_PASSPHRASE") or None


def database_url() -> str | None:
    """TYPINGCURE_DATABASE_URL: a `postgresql://…` URL puts the history in PostgreSQL (a hosted
    deployment, design/organisations.md); unset, it is SQLite in the user directory."""
    url = (os.environ.get("TYPINGCURE_DATABASE_URL") or "").strip()
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise StoreError("TYPINGCURE_DATABASE_URL must be a postgresql:// URL (unset, the history is SQLite in your "
                         "user directory)")
    return url or None


def open_store(passphrase: str | None = None, folder: Path | None = None, *, create: bool = True) -> Store:
    secret = passphrase if passphrase is not None else passphrase_from_env()
    if not secret:
        raise LockedError("a passphrase is needed to open your history (or set TYPINGCURE_PASSPHRASE)")
    return history_at(folder or user_dir()).open(secret, create=create)


class StoreRecorder(Recorder):
    """Keeps each finished turn, encrypted, in the store."""

    spec = "encrypted store"

    def __init__(self, store: Store, conversation: str) -> None:
        self.store, self.conversation = store, conversation

    def record(self, session: Session, turn: TurnResult) -> None:
        self.store.add_turn(self.conversation, turn)


def skipped_note(export: dict[str, Any]) -> str | None:
    """One line naming what export() had to leave out, or None when everything could be read."""
    skipped = export.get("skipped") or []
    if not skipped:
        return None
    named = "; ".join(skipped[:3]) + (f"; and {len(skipped) - 3} more" if len(skipped) > 3 else "")
    one = len(skipped) == 1
    return (f"{len(skipped)} damaged record{'' if one else 's'} could not be read and {'was' if one else 'were'} "
            f"left out ({named}); everything else is exported")


def to_markdown(export: dict[str, Any]) -> str:
    when = lambda t: datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    lines = ["# Everything typingcure kept", "", f"Exported {when(export['exported'])}.", ""]
    note = skipped_note(export)
    if note:
        lines += [f"_{note[0].upper()}{note[1:]}._", ""]
    if export.get("profile"):
        lines += ["## Profile", "", *[f"- {k}: {v}" for k, v in export["profile"].items() if v], ""]
    plan = export.get("safety_plan")
    if plan and plan.get("sections"):
        lines += ["## Safety plan", ""]
        for section, items in plan["sections"].items():
            lines += [f"**{section.replace('_', ' ')}**", *[f"- {i}" for i in items], ""]
    for card in (export.get("exercises") or {}).get("cards") or []:
        lines += [f"## {card['title']} ({card['made']})", "",
                  *[f"- **{label}:** {answer}" for label, answer in card["items"]],
                  f"- **{card['takeaway_label']}:** {card['takeaway']}", ""]
    outcomes = export.get("outcomes") or {}
    if any(outcomes.get(k) for k in ("distress", "better", "goals", "checkins")):
        lines += ["## Your outcomes, in your words", "",
                  *[f"- {label}: {'; '.join(outcomes.get(k) or []) or '-'}" for k, label in
                    (("distress", "What distress looks like"), ("better", "What better would look like"), ("goals", "Goals"))], ""]
        lines += [f"- {c['at'][:16]}: " + ("skipped" if c.get("skipped") else ", ".join(f"{k} {v}" for k, v in c["scores"].items()))
                  for c in outcomes.get("checkins") or []]
        lines.append("")
    for summary in (export.get("summaries") or {}).get("items") or []:
        lines += [f"## Session summary ({summary['at'][:16]})", "", *[f"- {t}" for t in summary.get("talked") or []],
                  *[f"- {t}" for t in summary.get("takeaways") or []], ""]
    usage = export.get("usage") or {}
    if usage.get("days"):
        lines += ["## Time spent", "", *[f"- {day}: {d['seconds'] // 60} min, {d['sessions']} sessions"
                                          for day, d in sorted(usage["days"].items())], ""]
    for c in export["conversations"]:
        lines += [f"## Conversation {c['id']} ({when(c['created'])}, role: {c.get('role', 'unknown')})", ""]
        for turn in c["turns"]:
            lines += [f"**You:** {turn['user_text']}", ""]
            if turn["reply"]:
                lines += [f"**typingcure:** {turn['reply']}", ""]
            if turn["risk"]["level"] != "none":
                lines += [f"_Safety check: {turn['risk']['level']} ({', '.join(turn['risk']['categories'])})._", ""]
    return "\n".join(lines)
