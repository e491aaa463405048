"""What every store promises, checked on the local directory and on S3 alike."""

from __future__ import annotations

import hashlib
import io
import random
import socket

import pytest

from backend.storage import (
    BlobNotFound,
    EmptyFile,
    FileTooLarge,
    InvalidBlobKey,
    StorageUnavailable,
    check_key,
    new_key,
)
from backend.storage.local import LocalStore
from backend.storage.s3 import MIN_PART_SIZE, S3Store
from tests.helpers.storage import s3_client, stored_objects


def payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


class BrokenStream(io.RawIOBase):
    """A client that hangs up after ``good`` bytes."""

    def __init__(self, good: int):
        self.remaining = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.remaining <= 0:
            raise OSError("connection reset by peer")
        count = min(len(buffer), self.remaining)
        buffer[:count] = b"x" * count
        self.remaining -= count
        return count


def test_put_then_read_back_with_size_and_sha256(store):
    data = payload(200_000)
    key = new_key()

    blob = store.put(key, io.BytesIO(data), max_size=len(data))

    assert (blob.key, blob.size, blob.sha256) == (key, len(data), hashlib.sha256(data).hexdigest())
    with store.open(key) as stored:
        assert stored.read() == data
    assert store.size(key) == len(data)
    assert store.first_bytes(key, 16) == data[:16]
    assert store.sha256(key) == blob.sha256
    assert stored_objects(store) == [key]


def test_put_streams_files_bigger_than_one_part(store):
    data = payload(2 * MIN_PART_SIZE + 123)
    key = new_key()

    blob = store.put(key, io.BytesIO(data), max_size=len(data))

    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert store.sha256(key) == blob.sha256
    assert stored_objects(store) == [key]


@pytest.mark.parametrize("size", [1001, MIN_PART_SIZE + 1001], ids=["one-part", "many-parts"])
def test_put_over_the_limit_stores_nothing(store, size):
    with pytest.raises(FileTooLarge) as refused:
        store.put(new_key(), io.BytesIO(payload(size)), max_size=size - 1)

    assert refused.value.kind == "too_large"
    assert stored_objects(store) == []


def test_put_of_an_empty_stream_stores_nothing(store):
    with pytest.raises(EmptyFile):
        store.put(new_key(), io.BytesIO(b""), max_size=100)

    assert stored_objects(store) == []


@pytest.mark.parametrize("good", [10_000, MIN_PART_SIZE + 10_000], ids=["one-part", "many-parts"])
def test_a_stream_that_breaks_midway_stores_nothing(store, good):
    with pytest.raises(OSError, match="reset"):
        store.put(new_key(), io.BufferedReader(BrokenStream(good)), max_size=10 * MIN_PART_SIZE)

    assert stored_objects(store) == []


def test_a_second_put_replaces_the_blob(store):
    key = new_key()
    store.put(key, io.BytesIO(b"first version"), max_size=100)

    store.put(key, io.BytesIO(b"second"), max_size=100)

    assert store.first_bytes(key, 100) == b"second"
    assert stored_objects(store) == [key]


def test_copy_makes_an_independent_blob(store):
    source, target = new_key(), new_key()
    store.put(source, io.BytesIO(b"original"), max_size=100)

    store.copy(source, target)
    store.delete(source)

    assert store.first_bytes(target, 100) == b"original"
    assert stored_objects(store) == [target]


def test_delete_removes_the_blob_and_tolerates_a_missing_one(store):
    key = new_key()
    store.put(key, io.BytesIO(b"to be deleted"), max_size=100)

    store.delete(key)
    store.delete(key)

    assert stored_objects(store) == []
    with pytest.raises(BlobNotFound):
        store.size(key)


@pytest.mark.parametrize(
    "read",
    [
        lambda store, key: store.open(key),
        lambda store, key: store.size(key),
        lambda store, key: store.first_bytes(key, 8),
        lambda store, key: store.sha256(key),
        lambda store, key: store.copy(key, new_key()),
    ],
    ids=["open", "size", "first_bytes", "sha256", "copy"],
)
def test_reading_a_missing_blob_raises_not_found(store, read):
    with pytest.raises(BlobNotFound) as missing:
        read(store, new_key())

    assert missing.value.kind == "not_found"
    assert stored_objects(store) == []


BAD_KEYS = [
    "../escaped",
    "a/../../escaped",
    "/etc/passwd",
    "a\\..\\escaped",
    ".hidden",
    "a/./b",
    "a//b",
    "trailing/",
    "",
    "name with space",
    "a" * 129,
    "x\x00y",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_that_could_leave_the_store_are_refused(store, tmp_path, key):
    with pytest.raises(InvalidBlobKey):
        store.put(key, io.BytesIO(b"payload"), max_size=100)
    with pytest.raises(InvalidBlobKey):
        store.size(key)
    with pytest.raises(InvalidBlobKey):
        store.delete(key)

    assert stored_objects(store) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        ["blobs"] if isinstance(store, LocalStore) else []
    )


def test_local_store_refuses_a_key_through_a_symlink_out_of_its_root(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    store = LocalStore(tmp_path / "blobs")
    (store.root / "linked").symlink_to(outside, target_is_directory=True)

    with pytest.raises(InvalidBlobKey):
        store.put("linked/escaped", io.BytesIO(b"payload"), max_size=100)

    assert list(outside.iterdir()) == []


def test_new_keys_are_random_valid_and_unrelated_to_anything_given():
    keys = {new_key() for _ in range(1000)}

    assert len(keys) == 1000
    assert all(check_key(k) == k and len(k) == 26 for k in keys)
    assert new_key("incoming").startswith("incoming/")
    check_key(new_key("incoming"))


def test_local_store_offers_no_direct_transfer_urls(tmp_path):
    store = LocalStore(tmp_path / "blobs")
    key = new_key()
    store.put(key, io.BytesIO(b"payload"), max_size=100)

    upload = store.presigned_upload(
        new_key(), content_type="image/png", max_size=100, expires_in=600
    )
    download = store.presigned_download(key, expires_in=600, filename="a.png")

    assert (upload, download) == (None, None)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_s3_store_unreachable_is_reported_as_unavailable():
    client = s3_client(f"http://127.0.0.1:{_closed_port()}", max_attempts=1)
    store = S3Store(client=client, bucket="nowhere")

    with pytest.raises(StorageUnavailable) as down:
        store.put(new_key(), io.BytesIO(b"payload"), max_size=100)

    assert down.value.kind == "unavailable"
    assert down.value.headers == {"Retry-After": "5"}
