"""Small real files of every accepted type, and the lies and tricks built from them."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (250, 250, 240)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(width: int = 40, height: int = 30, *, progressive: bool = False) -> bytes:
    buffer = io.BytesIO()
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    image.save(buffer, "JPEG", quality=85, progressive=progressive)
    return buffer.getvalue()


def _pdf(objects: list[bytes], trailer_padding: bytes) -> bytes:
    """A PDF of these numbered objects (1 is the catalog) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF" % xref + trailer_padding
    return bytes(out)


def pdf(trailer_padding: bytes = b"\n") -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ],
        trailer_padding,
    )


def pdf_with_stream(stream: bytes, *, filters: bytes = b"/FlateDecode") -> bytes:
    """A well-formed one-page PDF whose page content is ``stream``, encoded by ``filters``."""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length %d /Filter %s >>\nstream\n" % (len(stream), filters)
            + stream
            + b"\nendstream",
        ],
        b"\n",
    )


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, payload: bytes) -> bytes:
    return box(kind, b"\x00\x00\x00\x00" + payload)  # version 0, no flags


def heic(
    width: int = 64,
    height: int = 48,
    *,
    major: bytes = b"heic",
    compatible: tuple[bytes, ...] = (b"mif1", b"heic"),
    with_meta: bool = True,
) -> bytes:
    """The box layout of an iPhone photo: ftyp, meta (hdlr, pitm, iprp/ipco/ispe), mdat.

    The mdat holds placeholder bytes, not HEVC: only the structure is checked.
    """
    file_type = box(b"ftyp", major + b"\x00\x00\x00\x00" + b"".join(compatible))
    handler = full_box(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 12 + b"\x00")
    primary = full_box(b"pitm", struct.pack(">H", 1))
    tile = full_box(b"ispe", struct.pack(">II", min(width, 512), min(height, 512)))
    extent = full_box(b"ispe", struct.pack(">II", width, height))
    properties = box(b"iprp", box(b"ipco", tile + extent))
    meta = full_box(b"meta", handler + primary + properties) if with_meta else b""
    media = box(b"mdat", bytes(range(64)))
    return file_type + meta + media


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, colour_type: int = 0) -> bytes:
    """A structurally valid PNG whose header declares any size: a few KB that claim billions
    of pixels are how a decompression bomb looks."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    data = zlib.compress(b"\x00" * (1 << 20), 9)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose frame header was rewritten to claim another size."""
    data = bytearray(jpeg())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_with_chunk_before_end(kind: bytes, payload: bytes) -> bytes:
    data = png()
    end = data.rindex(b"IEND") - 4
    return data[:end] + png_chunk(kind, payload) + data[end:]


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return buffer.getvalue()


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
