"""Names are shown, never used as paths: tidied when sane, refused when they carry a path."""

from __future__ import annotations

import unicodedata

import pytest

from backend.storage import BadFileName
from backend.storage.filenames import (
    MAX_FILENAME_BYTES,
    clean_filename,
    content_disposition,
    name_for_type,
)


def test_a_name_is_trimmed_and_normalised_to_nfc():
    decomposed = unicodedata.normalize("NFD", "Giấy khai sinh.pdf")

    cleaned = clean_filename(f"  {decomposed}\t")

    assert cleaned == "Giấy khai sinh.pdf"
    assert unicodedata.is_normalized("NFC", cleaned)


@pytest.mark.parametrize(
    "name",
    [
        None,
        "",
        "   ",
        "../../etc/passwd",
        "scans/cccd.jpg",
        "C:\\Users\\an\\cccd.jpg",
        "..",
        ".",
        "cccd..jpg",
        "C:cccd.jpg",
        "cccd.jpg:hidden-stream",
        "cccd\x00.jpg.exe",
        "cccd\n.jpg",
        "invoice\u202efdp.exe",  # a right-to-left override shows this as "invoiceexe.pdf"
        "zero\u200bwidth.pdf",
        "fullwidth\uff0fslash.pdf",
        "two\u2025dots.pdf",
        "a" * 252 + ".pdf",
        "ả" * 126 + ".pdf",  # 126 letters, but 3 bytes each in UTF-8
    ],
    ids=[
        "none",
        "empty",
        "blank",
        "traversal",
        "slash",
        "backslash",
        "dot-dot",
        "dot",
        "inner-dot-dot",
        "drive",
        "stream",
        "nul",
        "newline",
        "bidi-override",
        "zero-width",
        "fullwidth-slash",
        "two-dot-leader",
        "too-long",
        "too-long-in-bytes",
    ],
)
def test_names_with_paths_controls_or_no_sense_are_refused(name):
    with pytest.raises(BadFileName) as refused:
        clean_filename(name)

    assert refused.value.kind == "invalid"
    assert refused.value.code == "bad-file-name"
    assert list(refused.value.errors) == ["file"]


def test_the_longest_name_allowed_passes():
    name = "a" * (MAX_FILENAME_BYTES - 4) + ".pdf"

    assert clean_filename(name) == name


@pytest.mark.parametrize(
    ("name", "file_type", "shown"),
    [
        ("scan.pdf", "png", "scan.png"),
        ("scan.PNG", "png", "scan.PNG"),
        ("ảnh.jpg", "jpeg", "ảnh.jpg"),
        ("ảnh.jpeg", "jpeg", "ảnh.jpeg"),
        ("IMG_0001.HEIC", "heic", "IMG_0001.HEIC"),
        ("photo.heic", "jpeg", "photo.jpg"),
        ("Nguyen Van A. CCCD", "pdf", "Nguyen Van A. CCCD.pdf"),
        ("report", "pdf", "report.pdf"),
        ("a" * 253 + ".x", "heic", "a" * 250 + ".heic"),
    ],
)
def test_the_shown_name_carries_an_extension_true_to_the_content(name, file_type, shown):
    assert name_for_type(name, file_type) == shown
    assert len(shown.encode()) <= MAX_FILENAME_BYTES


def test_download_header_has_an_ascii_fallback_and_the_exact_name():
    header = content_disposition('Đơn "xin" việc 100%.pdf')

    assert header == (
        'attachment; filename="Don _xin_ viec 100_.pdf"; '
        "filename*=UTF-8''%C4%90%C6%A1n%20%22xin%22%20vi%E1%BB%87c%20100%25.pdf"
    )
