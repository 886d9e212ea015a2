"""Text that shows nothing: one rule for the terminal, the web app, the proxy and the Python API;
and the person's own words as typingcure keeps them (`their_words`)."""

from __future__ import annotations

import re
import unicodedata

# Control characters, and the invisible ones that turn text around or break lines (U+202A-202E,
# U+2066-2069, U+2028-2029, U+200B, U+200E-200F, U+FEFF; the joiners Persian and emoji need stay).
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def their_words(text: str) -> str:
    """What the person wrote for their profile, reminders or outcomes, as the words they read: the
    characters above removed, spaces single."""
    return " ".join(_CONTROL_CHARS.sub(" ", text).split())

# Default_Ignorable_Code_Point (Unicode) outside the Cf category, and the braille blank: they draw nothing either.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0") | frozenset(
    map(chr, range(0xFE00, 0xFE10))) | frozenset(map(chr, range(0xE0100, 0xE01F0)))



def is_blank(text: str) -> bool:
    """True when nothing in `text` would show: whitespace, controls, zero-width and other invisible characters."""
    return all(ch.isspace() or ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")
               for ch in text)
