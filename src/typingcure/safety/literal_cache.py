"""The literals each lexicon regex needs, kept between runs so start-up need not work them out again.

Working out a regex's required literals means parsing it, and the sixteen lexicons hold about
4,400 regexes: parsing and compiling them all took about 4 of the 5 seconds a command needed to
start. With this table a regex is neither parsed nor compiled at start-up; it is compiled the first
time a text holds its literals (most never are, in a short run).

    needs = known(pattern)          # None: not worked out yet on this machine
    remember(pattern, needs)        # after the pattern compiled and its literals were worked out
    save()                          # once a lexicon is loaded

The table lives in the user's cache folder (`$XDG_CACHE_HOME/typingcure`, else `~/.cache/typingcure`),
keyed by the pattern's own text, so an edited pattern is simply worked out afresh; it holds only
what the shipped patterns are, never anything a person wrote. A table that is missing, unreadable
or malformed is ignored and rebuilt; one that cannot be written costs only speed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import threading
from pathlib import Path

VERSION = 1  # of how literals are worked out (assess.required_literals): a change starts a new table
Needs = tuple[frozenset[str], ...]

_CODE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})")
_ONE = re.compile(r"\[(\\?[^\]\\^])\]")
_ESCAPE = re.compile(r"\\(.)")
_GROUPING = re.compile(r"\(\?(?:[:>]|P<\w+>)|[()|]")
_lock = threading.Lock()
_table: dict[str, Needs] | None = None
_new: dict[str, Needs] = {}


def path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "typingcure" / f"literals-v{VERSION}-py{sys.version_info[0]}.{sys.version_info[1]}.json"


def _read() -> dict[str, Needs]:
    try:
        raw = json.loads(path().read_text("utf-8"))
        return {pattern: tuple(frozenset(group) for group in needs) for pattern, needs in raw.items()
                if isinstance(pattern, str) and isinstance(needs, list)
                and all(isinstance(g, list) and g and all(isinstance(x, str) and x for x in g) for g in needs)}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def known(pattern: str) -> Needs | None:
    """The literals worked out for `pattern` before, if the table holds them and each literal is
    written in the pattern itself (a table edited to hold others would make the pre-check skip
    texts the pattern matches: such an entry is worked out again)."""
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                _table = _read()
    needs = _table.get(pattern)
    if needs is None:
        return None
    written = _written(pattern)
    return needs if all(x in written for group in needs for x in group) else None


def _written(pattern: str) -> str:
    """The pattern's text as the literals are: code points written out, one-letter classes and
    escapes dropped, lower case, folded as texts are."""
    from .assess import fold

    text = _CODE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), pattern)
    text = fold(_ESCAPE.sub(r"\1", _ONE.sub(r"\1", text)))
    return text + "\0" + _GROUPING.sub("", text)  # and without grouping, as `a(?:b|c)` needs "ab"


def remember(pattern: str, needs: Needs) -> None:
    with _lock:
        _new[pattern] = needs


def save() -> None:
    """Write what was worked out since the last save, merged with what another process wrote."""
    with _lock:
        if not _new:
            return
        table = {**_read(), **_new}
        if _table is not None:
            _table.update(_new)
        _new.clear()
    target = path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps({p: [sorted(g) for g in needs] for p, needs in table.items()}, ensure_ascii=False)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".literals-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError:
        return  # a read-only or full home: the literals are worked out again next time


def forget() -> None:
    """Drop the table from memory (tests; the file stays)."""
    global _table
    with _lock:
        _table = None
        _new.clear()
