"""Walks over the byte layout of PNG chunks, JPEG segments and HEIF boxes.

Each walk reads the file the way a decoder would, from its signature to its end marker,
without decoding pixels, and returns the declared dimensions. It refuses anything a strict
reader would: a broken length, a bad checksum, a missing end marker (a file cut short),
and any byte after the end marker, which is where polyglots (an image that is also a ZIP,
an HTML page, ...) keep their second life. Every loop is bounded, so a hostile file costs at
most one pass over its bytes.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from backend.storage.base import CHUNK_SIZE


class LayoutError(ValueError):
    """The bytes do not follow the format; ``reason`` is a short machine-readable slug."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


Dimensions = tuple[int, int]

# --- PNG --------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_CHUNKS = 100_000


def png_dimensions(file: BinaryIO, size: int) -> Dimensions:
    file.seek(0)
    if file.read(8) != PNG_SIGNATURE:
        raise LayoutError("bad-signature")
    position, dimensions, has_image_data = 8, None, False
    for index in range(MAX_PNG_CHUNKS):
        header = file.read(8)
        if len(header) < 8:
            raise LayoutError("truncated")
        length, chunk_type = struct.unpack(">I4s", header)
        end = position + 12 + length
        if length > 0x7FFFFFFF or end > size:
            raise LayoutError("truncated")
        if not chunk_type.isalpha():
            raise LayoutError("bad-chunk")
        if (index == 0) != (chunk_type == b"IHDR") or (chunk_type == b"IHDR" and length != 13):
            raise LayoutError("bad-header")
        data, checksum = _read_chunk_data(file, chunk_type, length)
        if struct.unpack(">I", file.read(4))[0] != checksum:
            raise LayoutError("bad-checksum")
        if chunk_type == b"IHDR":
            dimensions = struct.unpack(">II", data[:8])
            if not all(dimensions):
                raise LayoutError("bad-dimensions")
        elif chunk_type == b"IDAT":
            has_image_data = True
        elif chunk_type == b"IEND":
            if not has_image_data:
                raise LayoutError("no-image-data")
            if end != size:
                raise LayoutError("trailing-data")
            return dimensions
        position = end
    raise LayoutError("too-many-chunks")


def _read_chunk_data(file: BinaryIO, chunk_type: bytes, length: int) -> tuple[bytes, int]:
    """The CRC of the chunk, and its first bytes (all that IHDR needs)."""
    checksum = zlib.crc32(chunk_type)
    first = b""
    remaining = length
    while remaining:
        piece = file.read(min(CHUNK_SIZE, remaining))
        if not piece:
            raise LayoutError("truncated")
        first = first or piece[:16]
        checksum = zlib.crc32(piece, checksum)
        remaining -= len(piece)
    return first, checksum


# --- JPEG -------------------------------------------------------------------------------

_START_OF_FRAME = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # not DHT, JPG, DAC
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
_START_OF_SCAN, _END_OF_IMAGE, _START_OF_IMAGE = 0xDA, 0xD9, 0xD8
# In entropy-coded data 0xFF is followed by 0x00 (a stuffed byte), RSTn or more 0xFF fill;
# anything else is the next marker.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
MAX_JPEG_SEGMENTS = 10_000
_SCAN_BLOCK = 1024 * 1024


def jpeg_dimensions(file: BinaryIO, size: int) -> Dimensions:
    file.seek(0)
    if file.read(2) != b"\xff\xd8":
        raise LayoutError("bad-signature")
    position, dimensions, scanned = 2, None, False
    for _ in range(MAX_JPEG_SEGMENTS):
        file.seek(position)
        marker = file.read(2)
        if len(marker) < 2:
            raise LayoutError("truncated")
        if marker[0] != 0xFF:
            raise LayoutError("bad-marker")
        code = marker[1]
        position += 2
        if code == 0xFF:  # fill byte before a marker
            position -= 1
            continue
        if code == _END_OF_IMAGE:
            if dimensions is None or not scanned:
                raise LayoutError("no-image-data")
            if position != size:
                raise LayoutError("trailing-data")
            return dimensions
        if code in _STANDALONE:
            continue
        if code in (0x00, _START_OF_IMAGE):
            raise LayoutError("bad-marker")
        length_field = file.read(2)
        if len(length_field) < 2:
            raise LayoutError("truncated")
        (length,) = struct.unpack(">H", length_field)
        if length < 2:
            raise LayoutError("bad-segment")
        if position + length > size:
            raise LayoutError("truncated")
        if code in _START_OF_FRAME and dimensions is None:
            frame = file.read(5)  # precision, height, width
            if len(frame) < 5 or length < 7:
                raise LayoutError("bad-segment")
            height, width = struct.unpack(">HH", frame[1:])
            if not width or not height:
                raise LayoutError("bad-dimensions")
            dimensions = (width, height)
        position += length
        if code == _START_OF_SCAN:
            if dimensions is None:
                raise LayoutError("scan-before-frame")
            scanned = True
            position = _find_marker(file, position)
    raise LayoutError("too-many-segments")


def _find_marker(file: BinaryIO, start: int) -> int:
    """Offset of the first marker after entropy-coded data starting at ``start``."""
    file.seek(start)
    offset, carry = start, b""
    while block := file.read(_SCAN_BLOCK):
        data = carry + block  # starts at file offset ``offset - len(carry)``
        match = _NEXT_MARKER.search(data)
        if match:
            return offset - len(carry) + match.start()
        carry = data[-1:]
        offset += len(block)
    raise LayoutError("truncated")


# --- HEIC (ISO base media file format) --------------------------------------------------

HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})  # also used by AVIF: need a HEVC brand
MAX_BOXES = 10_000
MAX_META_SIZE = 4 * 1024 * 1024  # real ones are a few KB; the pixels live in mdat


def is_heic_file_type_box(head: bytes) -> bool:
    """Whether ``head`` opens with an ``ftyp`` box naming a HEVC-coded HEIF brand."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    (box_size,) = struct.unpack(">I", head[:4])
    if box_size < 16 or box_size % 4:
        return False
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    if major in HEIC_BRANDS:
        return True
    return major in _GENERIC_HEIF_BRANDS and bool(compatible & HEIC_BRANDS)


def heic_dimensions(file: BinaryIO, size: int) -> Dimensions:
    """The largest image extent (``ispe``) in the ``meta`` box; boxes must tile the whole file."""
    position, dimensions, seen = 0, None, set()
    for _ in range(MAX_BOXES):
        if position == size:
            break
        box_type, header_size, box_size = _top_level_box(file, position, size)
        if not seen and box_type != b"ftyp":
            raise LayoutError("bad-signature")
        if box_type == b"meta":
            if box_size > MAX_META_SIZE or b"meta" in seen:
                raise LayoutError("bad-meta")
            file.seek(position + header_size)
            payload = file.read(box_size - header_size)
            dimensions = _largest_extent(payload[4:])  # a FullBox: skip version and flags
        seen.add(box_type)
        position += box_size
    else:
        raise LayoutError("too-many-boxes")
    if b"meta" not in seen:
        raise LayoutError("no-meta")
    if dimensions is None:
        raise LayoutError("no-dimensions")
    return dimensions


def _top_level_box(file: BinaryIO, position: int, size: int) -> tuple[bytes, int, int]:
    file.seek(position)
    header = file.read(8)
    if len(header) < 8:
        raise LayoutError("truncated")
    box_size, box_type = struct.unpack(">I4s", header)
    header_size = 8
    if box_size == 1:
        large = file.read(8)
        if len(large) < 8:
            raise LayoutError("truncated")
        (box_size,) = struct.unpack(">Q", large)
        header_size = 16
    elif box_size == 0:  # "extends to the end of the file"
        box_size = size - position
    if not all(0x20 <= byte <= 0x7E for byte in box_type) or box_size < header_size:
        raise LayoutError("bad-box")
    if position + box_size > size:
        raise LayoutError("truncated")
    return box_type, header_size, box_size


def _child_boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    position = 0
    while position < len(data):
        if len(data) - position < 8:
            raise LayoutError("bad-box")
        box_size, box_type = struct.unpack_from(">I4s", data, position)
        header_size = 8
        if box_size == 1:
            if len(data) - position < 16:
                raise LayoutError("bad-box")
            (box_size,) = struct.unpack_from(">Q", data, position + 8)
            header_size = 16
        elif box_size == 0:
            box_size = len(data) - position
        if box_size < header_size or position + box_size > len(data):
            raise LayoutError("bad-box")
        yield box_type, data[position + header_size : position + box_size]
        position += box_size


def _largest_extent(meta_children: bytes) -> Dimensions | None:
    """The biggest ``ispe`` in meta/iprp/ipco: for a tiled (grid) image, the whole picture."""
    largest = None
    for box_type, payload in _child_boxes(meta_children):
        if box_type != b"iprp":
            continue
        for property_box, properties in _child_boxes(payload):
            if property_box != b"ipco":
                continue
            for kind, extent in _child_boxes(properties):
                if kind != b"ispe":
                    continue
                if len(extent) < 12:
                    raise LayoutError("bad-box")
                width, height = struct.unpack_from(">II", extent, 4)
                if largest is None or width * height > largest[0] * largest[1]:
                    largest = (width, height)
    return largest
