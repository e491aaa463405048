"""Which kind of file an upload really is, decided from its bytes alone.

The name and the declared Content-Type are the sender's claims; only the content counts.
A file must open with the signature of an accepted type *and* hold together as that type
from its first byte to its last (see ``layouts``): a PNG that ends in a ZIP, a JPEG cut in
half or a PDF with a web page after its end marker is refused, not stored.

What this does not do: decode pixels or inflate PDF streams. Nothing here expands
compressed data, so a compression bomb costs one read of its (size-limited) bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from backend.storage import layouts
from backend.storage.exceptions import (
    EmptyFile,
    FileContentMismatch,
    FileTypeNotAllowed,
    ImageTooLarge,
)

SNIFF_BYTES = 512  # enough for every signature and a HEIF ftyp box with its brands
# Phone cameras save 12-50 megapixels; a photo of a paper form needs far fewer. Decoding
# past this would take hundreds of MB of memory, which is what decompression bombs aim at.
MAX_IMAGE_PIXELS = 50_000_000


class FileType(StrEnum):
    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    HEIC = "heic"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {
    FileType.PDF: "application/pdf",
    FileType.JPEG: "image/jpeg",
    FileType.PNG: "image/png",
    FileType.HEIC: "image/heic",
}
ALL_TYPES: tuple[FileType, ...] = tuple(FileType)


@dataclass(frozen=True)
class CheckedFile:
    file_type: FileType
    size: int
    width: int | None = None
    height: int | None = None

    @property
    def media_type(self) -> str:
        return self.file_type.media_type


def identify(head: bytes) -> FileType | None:
    """The type whose signature ``head`` (the first ``SNIFF_BYTES``) opens with, if any."""
    if head.startswith(b"%PDF-"):
        return FileType.PDF
    if head.startswith(b"\xff\xd8\xff"):
        return FileType.JPEG
    if head.startswith(layouts.PNG_SIGNATURE):
        return FileType.PNG
    if layouts.is_heic_file_type_box(head):
        return FileType.HEIC
    return None


def check_type_allowed(file_type: FileType | None, allowed: Iterable[str]) -> FileType:
    accepted = [str(t) for t in allowed]
    if file_type is None or str(file_type) not in accepted:
        raise FileTypeNotAllowed(detected=file_type and str(file_type), accepted=accepted)
    return file_type


def check_file(
    file: BinaryIO,
    *,
    allowed: Iterable[str] = ALL_TYPES,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> CheckedFile:
    """Identify a seekable file and check that all of it is what its signature says.

    Raises ``EmptyFile``, ``FileTypeNotAllowed``, ``FileContentMismatch`` (``extra["reason"]``
    says which check failed) or ``ImageTooLarge``. Leaves the file positioned at its start.
    """
    size = file.seek(0, io.SEEK_END)
    if size == 0:
        raise EmptyFile()
    file.seek(0)
    file_type = check_type_allowed(identify(file.read(SNIFF_BYTES)), allowed)
    try:
        _refuse_zip_directory(file, size)
        if file_type is FileType.PDF:
            _check_pdf(file, size)
            return CheckedFile(file_type, size)
        if file_type is FileType.PNG:
            width, height = layouts.png_dimensions(file, size)
        elif file_type is FileType.JPEG:
            width, height = layouts.jpeg_dimensions(file, size)
        else:
            width, height = layouts.heic_dimensions(file, size)
        if width * height > max_pixels:
            raise ImageTooLarge(width=width, height=height, max_pixels=max_pixels)
        if file_type in _PILLOW_FORMATS:
            _confirm_with_pillow(file, file_type, (width, height))
        return CheckedFile(file_type, size, width, height)
    except layouts.LayoutError as error:
        raise _mismatch(file_type, error.reason) from error
    finally:
        file.seek(0)


def _mismatch(file_type: FileType, reason: str) -> FileContentMismatch:
    name = file_type.upper()
    return FileContentMismatch(
        (
            f"Nội dung tệp không đúng định dạng {name}: tệp bị hỏng, bị cắt ngắn "
            "hoặc chứa dữ liệu khác.",
            f"The file's content is not a valid {name}: it is damaged, cut short "
            "or carries other data.",
        ),
        extra={"detected_type": str(file_type), "reason": reason},
    )


# A ZIP reader looks for its end-of-central-directory record in the last 64 KiB + 22 bytes,
# wherever the file starts; finding one there means the file also opens as an archive.
_ZIP_DIRECTORY_END = b"PK\x05\x06"
_ZIP_SEARCH_SPAN = 22 + 0xFFFF


def _refuse_zip_directory(file: BinaryIO, size: int) -> None:
    file.seek(max(0, size - _ZIP_SEARCH_SPAN))
    if _ZIP_DIRECTORY_END in file.read():
        raise layouts.LayoutError("zip-directory")


_PDF_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")
# Readers look for the end marker in the last 1024 bytes; after it only white space or the
# NUL padding some scanners add may follow.
_PDF_TRAILER = re.compile(rb"startxref\s+([0-9]{1,15})\s+%%EOF[\s\x00]*\Z")
_PDF_TAIL = 1024


def _check_pdf(file: BinaryIO, size: int) -> None:
    file.seek(0)
    if not _PDF_HEADER.match(file.read(8)):
        raise layouts.LayoutError("bad-header")
    file.seek(max(0, size - _PDF_TAIL))
    trailer = _PDF_TRAILER.search(file.read())
    if trailer is None:
        raise layouts.LayoutError("no-end-marker")
    if int(trailer[1]) >= size:
        raise layouts.LayoutError("bad-xref-offset")


# HEIC needs pillow-heif (libheif) to open; its box walk stands alone.
_PILLOW_FORMATS = {FileType.PNG: ["PNG"], FileType.JPEG: ["JPEG", "MPO"]}


def _confirm_with_pillow(file: BinaryIO, file_type: FileType, dimensions: tuple[int, int]):
    """A second, independent reader of the headers must agree with the walk."""
    # Pillow loads with the first image checked, not with the app: a worker that never
    # receives one does not hold it.
    from PIL import Image

    file.seek(0)
    try:
        with Image.open(file, formats=_PILLOW_FORMATS[file_type]) as image:
            size = image.size
    except Image.DecompressionBombError as error:  # Pillow's own guard, if ours was raised
        width, height = dimensions
        limit = Image.MAX_IMAGE_PIXELS
        raise ImageTooLarge(width=width, height=height, max_pixels=limit) from error
    except Exception as error:  # any failure to read the headers means a refusal
        raise layouts.LayoutError("unreadable-image") from error
    if size != dimensions:
        raise layouts.LayoutError("dimension-mismatch")
