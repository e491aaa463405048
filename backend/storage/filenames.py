"""File names as the citizen gave them: checked, tidied, and only ever shown, never used as paths.

Blobs live under random keys, so a name cannot reach the file system; it still ends up in
download headers, officers' browsers and their desktops, where a separator, a control
character or a right-to-left override (``invoice\u202efdp.exe``) does harm.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from backend.storage.exceptions import BadFileName

MAX_FILENAME_BYTES = 255  # what common file systems take for one name

# NUL and other controls, format characters (bidi overrides, zero-width), lone surrogates,
# line and paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Path separators on any platform: "/" and "\\", and ":" (drive letters, NTFS streams).
_SEPARATORS = frozenset("/\\:")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}\Z")

_EXTENSIONS = {
    "pdf": (".pdf",),
    "jpeg": (".jpg", ".jpeg"),
    "png": (".png",),
    "heic": (".heic", ".heif"),
}


def _refuse(vi: str, en: str) -> BadFileName:
    return BadFileName((vi, en), errors={"file": [en]})


def clean_filename(name: str | None) -> str:
    """The name to show for an upload (NFC, trimmed); ``BadFileName`` when it is not one."""
    if not isinstance(name, str):
        raise _refuse("Thiếu tên tệp.", "The file has no name.")
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise _refuse("Thiếu tên tệp.", "The file has no name.")
    if any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in cleaned):
        raise _refuse(
            "Tên tệp chứa ký tự điều khiển.", "The file name contains control characters."
        )
    # Compatibility forms fold look-alikes ("／", "‥") onto the characters they imitate.
    for form in (cleaned, unicodedata.normalize("NFKC", cleaned)):
        if any(c in _SEPARATORS for c in form) or ".." in form or form == ".":
            raise _refuse(
                "Tên tệp không được chứa đường dẫn.", "The file name must not contain a path."
            )
    if len(cleaned.encode("utf-8")) > MAX_FILENAME_BYTES:
        raise _refuse("Tên tệp quá dài.", "The file name is too long.")
    return cleaned


def name_for_type(name: str, file_type: str) -> str:
    """``name`` with an extension true to ``file_type``: "scan.pdf" holding a PNG -> "scan.png".

    Whoever downloads the file later opens it by its extension; a PNG named ".pdf" would at
    best fail to open there, at worst be handed to the wrong program.
    """
    extensions = _EXTENSIONS[str(file_type)]
    if name.lower().endswith(extensions):
        return name
    stem = _EXTENSION.sub("", name) or name
    renamed = stem + extensions[0]
    while len(renamed.encode("utf-8")) > MAX_FILENAME_BYTES:
        stem = stem[:-1]
        renamed = stem + extensions[0]
    return renamed


def _ascii_fallback(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in folded)


def content_disposition(name: str) -> str:
    """An RFC 6266 ``attachment`` header: an ASCII fallback and the exact UTF-8 name."""
    fallback = _ascii_fallback(name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
