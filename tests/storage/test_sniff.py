"""File types decided by the bytes: real files pass, lies, polyglots and bombs do not."""

from __future__ import annotations

import io

import pytest

from backend.catalog.schemas import FILE_TYPES
from backend.storage import EmptyFile, FileContentMismatch, FileTypeNotAllowed, ImageTooLarge
from backend.storage.sniff import MAX_IMAGE_PIXELS, FileType, check_file, identify
from tests.storage import samples


def check(data: bytes, **options):
    return check_file(io.BytesIO(data), **options)


def refusal_reason(data: bytes, **options) -> str:
    with pytest.raises(FileContentMismatch) as refused:
        check(data, **options)
    return refused.value.extra["reason"]


@pytest.mark.parametrize(
    ("data", "file_type", "dimensions"),
    [
        (samples.pdf(), FileType.PDF, (None, None)),
        (samples.pdf(trailer_padding=b"\r\n\x00\x00"), FileType.PDF, (None, None)),
        (samples.png(40, 30), FileType.PNG, (40, 30)),
        (samples.jpeg(40, 30), FileType.JPEG, (40, 30)),
        (samples.jpeg(64, 48, progressive=True), FileType.JPEG, (64, 48)),
        (samples.heic(4032, 3024), FileType.HEIC, (4032, 3024)),
        (samples.heic(major=b"mif1", compatible=(b"heic",)), FileType.HEIC, (64, 48)),
    ],
    ids=["pdf", "pdf-padded", "png", "jpeg", "jpeg-progressive", "heic", "heif-mif1"],
)
def test_real_files_are_identified_with_their_dimensions(data, file_type, dimensions):
    checked = check(data)

    assert checked.file_type is file_type
    assert (checked.width, checked.height) == dimensions
    assert checked.size == len(data)


def test_the_types_are_those_a_procedure_slot_can_accept():
    assert sorted(FileType) == sorted(FILE_TYPES)


def test_media_types_follow_the_detected_type():
    assert [t.media_type for t in FileType] == [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/heic",
    ]


def test_the_file_is_left_at_its_start_for_whoever_stores_it():
    file = io.BytesIO(samples.png())

    check_file(file)

    assert file.tell() == 0


def test_a_png_named_pdf_is_a_png():
    """Nothing but the bytes is looked at; a name never reaches the check."""
    assert check(samples.png()).file_type is FileType.PNG
    assert identify(samples.png()[:512]) is FileType.PNG


def test_a_type_the_slot_does_not_accept_is_refused_with_what_it_is():
    with pytest.raises(FileTypeNotAllowed) as refused:
        check(samples.png(), allowed=["pdf"])

    assert refused.value.kind == "invalid"
    assert refused.value.extra == {"detected_type": "png", "accepted_types": ["pdf"]}


@pytest.mark.parametrize(
    "data",
    [
        samples.HTML,
        samples.EXE,
        samples.zip_archive(),
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1miaf",  # AVIF: HEIF, but not HEVC
        b"\x00\x00\x00\x14ftypisom\x00\x00\x00\x00mp41",  # MP4 video
        b"plain text that says %PDF-1.4 later on",
        b"\x89PNG\r\n",  # a PNG signature cut short
    ],
    ids=["html", "exe", "zip", "gif", "avif", "mp4", "pdf-not-at-start", "short-png"],
)
def test_other_kinds_of_file_are_refused(data):
    with pytest.raises(FileTypeNotAllowed) as refused:
        check(data)

    assert refused.value.extra["detected_type"] is None


def test_zero_bytes_are_refused():
    with pytest.raises(EmptyFile):
        check(b"")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (samples.png() + samples.zip_archive(), "zip-directory"),
        (samples.png_with_chunk_before_end(b"prVt", samples.zip_archive()), "zip-directory"),
        (samples.jpeg() + samples.zip_archive(), "zip-directory"),
        (samples.pdf() + samples.zip_archive(), "zip-directory"),
        (samples.heic() + samples.zip_archive(), "zip-directory"),
        (samples.png() + b"<script>alert(1)</script>", "trailing-data"),
        (samples.jpeg() + b"<script>alert(1)</script>", "trailing-data"),
        (samples.jpeg() + samples.jpeg(), "trailing-data"),
        (samples.pdf() + samples.HTML, "no-end-marker"),
        (samples.heic() + b"<html>", "truncated"),
    ],
    ids=[
        "png+zip",
        "png-hiding-zip-in-a-chunk",
        "jpeg+zip",
        "pdf+zip",
        "heic+zip",
        "png+html",
        "jpeg+html",
        "jpeg+jpeg",
        "pdf+html",
        "heic+html",
    ],
)
def test_polyglots_are_refused(data, reason):
    assert refusal_reason(data) == reason


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: samples.jpeg()[: len(samples.jpeg()) // 2], "truncated"),
        (lambda: samples.jpeg()[:-2], "truncated"),
        (lambda: samples.png()[:-12], "truncated"),
        (lambda: samples.png()[:-40], "truncated"),
        (lambda: samples.heic()[:-10], "truncated"),
        (lambda: samples.pdf()[:-30], "no-end-marker"),
    ],
    ids=["jpeg-half", "jpeg-no-eoi", "png-no-iend", "png-cut-in-idat", "heic-cut", "pdf-cut"],
)
def test_files_cut_short_are_refused(make, reason):
    assert refusal_reason(make()) == reason


def _flip_byte(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]


def test_a_png_whose_data_does_not_match_its_checksum_is_refused():
    data = samples.png()
    inside_image_data = data.index(b"IDAT") + 6

    assert refusal_reason(_flip_byte(data, inside_image_data)) == "bad-checksum"


def test_a_png_header_only_the_second_reader_rejects_is_refused():
    """Colour type 9 does not exist; the chunk walk cannot know, Pillow does."""
    assert refusal_reason(samples.png_declaring(10, 10, colour_type=9)) == "unreadable-image"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n<html><script>alert(1)</script></html>",
        b"%PDF-\n%%EOF\n",
        b"%PDF-1.4\nstartxref\n999999\n%%EOF\n",
    ],
    ids=["html-with-pdf-header", "no-version", "xref-past-the-end"],
)
def test_pdf_headers_on_something_else_are_refused(data):
    with pytest.raises(FileContentMismatch):
        check(data)


def test_heic_structure_is_required():
    assert refusal_reason(samples.heic(with_meta=False)) == "no-meta"


@pytest.mark.parametrize(
    ("data", "dimensions"),
    [
        (samples.png_declaring(100_000, 100_000), (100_000, 100_000)),
        (samples.png_declaring(8_000, 7_000), (8_000, 7_000)),
        (samples.jpeg_declaring(65_000, 65_000), (65_000, 65_000)),
        (samples.heic(200_000, 100_000), (200_000, 100_000)),
    ],
    ids=["png-10-gigapixels", "png-56-megapixels", "jpeg-4-gigapixels", "heic-20-gigapixels"],
)
def test_images_past_the_pixel_limit_are_refused_before_decoding(data, dimensions):
    assert len(data) < 10_000  # a few KB that would decode to gigabytes

    with pytest.raises(ImageTooLarge) as refused:
        check(data)

    width, height = dimensions
    assert f"{width}x{height}" in refused.value.detail[1]
    assert refused.value.extra == {"max_pixels": MAX_IMAGE_PIXELS}


def test_the_pixel_limit_can_be_lowered():
    check(samples.png(40, 30), max_pixels=1200)

    with pytest.raises(ImageTooLarge):
        check(samples.png(40, 31), max_pixels=1200)
