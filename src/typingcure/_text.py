"""Text that shows nothing: one rule for the terminal, the web app, the proxy and the Python API."""

from __future__ import annotations

import unicodedata

# Default_Ignorable_Code_Point (Unicode) outside the Cf category, and the braille blank: they draw nothing either.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0") | frozenset(
    map(chr, range(0xFE00, 0xFE10))) | frozenset(map(chr, range(0xE0100, 0xE01F0)))



def is_blank(text: str) -> bool:
    """True when nothing in `text` would show: whitespace, controls, zero-width and other invisible characters."""
    return all(ch.isspace() or ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")
               for ch in text)
