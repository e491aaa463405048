"""Taking in uploads: through the API on both stores, and direct to S3 then confirmed."""

from __future__ import annotations

import hashlib
import io

import pytest
import requests

from backend.storage import (
    BadFileName,
    BlobNotFound,
    EmptyFile,
    FileContentMismatch,
    FileTooLarge,
    FileTypeNotAllowed,
)
from backend.storage.intake import (
    INCOMING_PREFIX,
    accept_direct_upload,
    accept_upload,
    prepare_direct_upload,
)
from backend.storage.local import LocalStore
from backend.storage.sniff import FileType
from tests.helpers.storage import stored_objects
from tests.storage import samples

SLOT_TYPES = ["pdf", "jpeg", "png", "heic"]
LIMIT = 1024 * 1024


class OneWayStream(io.RawIOBase):
    """A request body that can only be read forward, as a socket gives it."""

    def __init__(self, data: bytes):
        self._source = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        chunk = self._source.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def upload(store, data: bytes, filename: str = "cccd.png", *, seekable=True, **options):
    stream = io.BytesIO(data) if seekable else io.BufferedReader(OneWayStream(data))
    options = {"allowed_types": SLOT_TYPES, "max_size": LIMIT, **options}
    return accept_upload(stream=stream, filename=filename, store=store, **options)


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "one-way"])
def test_an_upload_is_checked_and_kept_under_a_random_key(store, seekable):
    data = samples.png(40, 30)

    accepted = upload(store, data, "  Căn cước công dân.png ", seekable=seekable)

    assert accepted.file_type is FileType.PNG and accepted.media_type == "image/png"
    assert accepted.file_name == "Căn cước công dân.png"
    assert (accepted.size, accepted.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert (accepted.width, accepted.height) == (40, 30)
    assert "cccd" not in accepted.key.lower() and "png" not in accepted.key.lower()
    assert stored_objects(store) == [accepted.key]
    assert store.sha256(accepted.key) == accepted.sha256


def test_a_png_named_pdf_is_kept_as_a_png_with_a_true_name(store):
    accepted = upload(store, samples.png(), "scan.pdf")

    assert accepted.file_type is FileType.PNG
    assert accepted.file_name == "scan.png"


@pytest.mark.parametrize(
    ("data", "filename", "options", "refusal"),
    [
        (samples.png(), "scan.pdf", {"allowed_types": ["pdf"]}, FileTypeNotAllowed),
        (samples.HTML, "don.pdf", {}, FileTypeNotAllowed),
        (samples.EXE, "anh.jpg", {}, FileTypeNotAllowed),
        (samples.png() + samples.zip_archive(), "anh.png", {}, FileContentMismatch),
        (samples.jpeg()[:-100], "anh.jpg", {}, FileContentMismatch),
        (b"", "empty.pdf", {}, EmptyFile),
        (samples.pdf(), "../../etc/passwd", {}, BadFileName),
        (samples.pdf(), "don\x00.pdf", {}, BadFileName),
        (samples.pdf(), "don.pdf", {"max_size": len(samples.pdf()) - 1}, FileTooLarge),
    ],
    ids=[
        "type-not-in-slot",
        "html",
        "exe",
        "polyglot",
        "truncated",
        "empty",
        "path-in-name",
        "nul-in-name",
        "too-large",
    ],
)
@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "one-way"])
def test_a_refused_upload_leaves_nothing_stored(store, data, filename, options, refusal, seekable):
    with pytest.raises(refusal):
        upload(store, data, filename, seekable=seekable, **options)

    assert stored_objects(store) == []


def test_an_oversize_one_way_stream_is_not_read_to_its_end(store):
    stream = io.BufferedReader(OneWayStream(samples.png() + b"\x00" * (4 * LIMIT)))

    with pytest.raises(FileTooLarge):
        accept_upload(
            stream=stream, filename="a.png", allowed_types=SLOT_TYPES, max_size=LIMIT, store=store
        )

    assert stream.raw._source.tell() < 2 * LIMIT
    assert stored_objects(store) == []


# --- direct uploads ----------------------------------------------------------------------


def arrive(store, upload_key: str, data: bytes) -> None:
    """The phone's part: a form POST to S3, or (local store) the bytes written in place."""
    if isinstance(store, LocalStore):
        path = store.root / upload_key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    direct = store.presigned_upload(
        upload_key, content_type="application/octet-stream", max_size=LIMIT, expires_in=600
    )
    answer = requests.post(direct.url, data=direct.fields, files={"file": ("x", data)}, timeout=10)
    assert answer.status_code == 204


def confirm(store, upload_key: str, filename: str = "cccd.heic", **options):
    options = {"allowed_types": SLOT_TYPES, "max_size": LIMIT, **options}
    return accept_direct_upload(upload_key=upload_key, filename=filename, store=store, **options)


def test_prepare_direct_upload_hands_out_a_post_on_s3_and_nothing_on_local(store):
    direct = prepare_direct_upload(max_size=LIMIT, store=store)

    if isinstance(store, LocalStore):
        assert direct is None
        return
    assert direct.upload_key.startswith(f"{INCOMING_PREFIX}/")
    assert direct.upload.max_size == LIMIT
    assert direct.upload.fields["key"].endswith(direct.upload_key)


def test_a_direct_upload_is_checked_then_kept_under_a_key_the_phone_cannot_write(s3_store):
    data = samples.heic()
    direct = prepare_direct_upload(max_size=LIMIT, store=s3_store)
    requests.post(
        direct.upload.url, data=direct.upload.fields, files={"file": ("x", data)}, timeout=10
    ).raise_for_status()

    accepted = confirm(s3_store, direct.upload_key, "IMG_0001.HEIC")

    assert accepted.file_type is FileType.HEIC
    assert accepted.file_name == "IMG_0001.HEIC"
    assert accepted.sha256 == hashlib.sha256(data).hexdigest()
    assert accepted.key != direct.upload_key
    assert stored_objects(s3_store) == [accepted.key]


def test_posting_again_after_confirmation_does_not_change_the_kept_file(store):
    upload_key = f"{INCOMING_PREFIX}/upload1"
    arrive(store, upload_key, samples.pdf())
    accepted = confirm(store, upload_key, "don.pdf")

    arrive(store, upload_key, samples.HTML)

    assert store.sha256(accepted.key) == hashlib.sha256(samples.pdf()).hexdigest()


@pytest.mark.parametrize(
    ("data", "options", "refusal"),
    [
        (samples.HTML, {}, FileTypeNotAllowed),
        (samples.pdf(), {"allowed_types": ["jpeg", "png"]}, FileTypeNotAllowed),
        (samples.pdf() + samples.zip_archive(), {}, FileContentMismatch),
        (samples.png(), {"max_size": len(samples.png()) - 1}, FileTooLarge),
        (b"", {}, EmptyFile),
    ],
    ids=["html", "type-not-in-slot", "polyglot", "too-large", "empty"],
)
def test_a_refused_direct_upload_is_deleted(store, data, options, refusal):
    upload_key = f"{INCOMING_PREFIX}/upload1"
    arrive(store, upload_key, data)  # S3 itself would refuse an empty POST; the test peer not

    with pytest.raises(refusal):
        confirm(store, upload_key, **options)

    assert stored_objects(store) == []


def test_an_oversize_direct_upload_is_refused_at_confirmation(s3_store):
    """The test server lets an oversize POST through (see test_s3_presigned); S3 would not.
    Confirmation refuses it all the same, and deletes it."""
    direct = prepare_direct_upload(max_size=1000, store=s3_store)
    requests.post(
        direct.upload.url,
        data=direct.upload.fields,
        files={"file": ("x", samples.png(400, 400))},
        timeout=10,
    ).raise_for_status()

    with pytest.raises(FileTooLarge):
        confirm(s3_store, direct.upload_key, max_size=1000)

    assert stored_objects(s3_store) == []


def test_a_refused_name_at_confirmation_deletes_the_upload(store):
    upload_key = f"{INCOMING_PREFIX}/upload1"
    arrive(store, upload_key, samples.pdf())

    with pytest.raises(BadFileName):
        confirm(store, upload_key, "../don.pdf")

    assert stored_objects(store) == []


def test_confirming_an_upload_that_never_arrived_is_not_found(store):
    with pytest.raises(BlobNotFound):
        confirm(store, f"{INCOMING_PREFIX}/never-sent")

    assert stored_objects(store) == []
