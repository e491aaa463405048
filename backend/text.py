"""Text folding for search the way people type on a phone: no case, no Vietnamese diacritics."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """``"Đăng ký  Khai Sinh"`` -> ``"dang ky khai sinh"``."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped).strip().lower()


def like_pattern(term: str) -> str:
    """A ``LIKE`` pattern matching ``term`` anywhere, with its wildcards escaped (escape ``\\``)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
