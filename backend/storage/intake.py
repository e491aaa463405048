"""Taking in a citizen's file, through the API or straight into object storage.

Either way the same checks run before anything is kept: a proper name, not empty, within the
slot's size limit, and bytes that really are one of the slot's accepted types. A refused
file leaves nothing behind in the store.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import BinaryIO

from backend.storage import get_store
from backend.storage.base import (
    CHUNK_SIZE,
    BlobStore,
    Meter,
    PresignedUpload,
    new_key,
)
from backend.storage.exceptions import (
    BadFileName,
    EmptyFile,
    FileContentMismatch,
    FileTooLarge,
    FileTypeNotAllowed,
    ImageTooLarge,
)
from backend.storage.filenames import clean_filename, name_for_type
from backend.storage.sniff import SNIFF_BYTES, FileType, check_file, check_type_allowed, identify

INCOMING_PREFIX = "incoming"  # direct uploads land here; an S3 lifecycle rule can expire them
DIRECT_UPLOAD_SECONDS = 15 * 60
SPOOL_IN_MEMORY = 1024 * 1024  # bigger uploads are spooled to a temporary file
_REFUSALS = (
    BadFileName,
    EmptyFile,
    FileTooLarge,
    FileTypeNotAllowed,
    FileContentMismatch,
    ImageTooLarge,
)


@dataclass(frozen=True)
class AcceptedFile:
    key: str
    file_name: str  # cleaned, with an extension that matches file_type
    file_type: FileType
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None

    @property
    def media_type(self) -> str:
        return self.file_type.media_type


@dataclass(frozen=True)
class DirectUpload:
    upload_key: str  # give it back to accept_direct_upload once the phone has uploaded
    upload: PresignedUpload


def _store(store: BlobStore | None) -> BlobStore:
    if store is not None:
        return store
    return get_store()


def accept_upload(
    *,
    stream: BinaryIO,
    filename: str | None,
    allowed_types: Iterable[str],
    max_size: int,
    store: BlobStore | None = None,
) -> AcceptedFile:
    """Check a file sent through the API (read from its start) and keep it under a new key."""
    store = _store(store)
    name = clean_filename(filename)
    with _seekable(stream, max_size) as file:
        checked = check_file(file, allowed=allowed_types)
        blob = store.put(new_key(), file, max_size=max_size, content_type=checked.media_type)
    return AcceptedFile(
        key=blob.key,
        file_name=name_for_type(name, checked.file_type),
        file_type=checked.file_type,
        size=blob.size,
        sha256=blob.sha256,
        width=checked.width,
        height=checked.height,
    )


def prepare_direct_upload(
    *,
    max_size: int,
    expires_in: int = DIRECT_UPLOAD_SECONDS,
    store: BlobStore | None = None,
) -> DirectUpload | None:
    """Where the phone may upload one file itself; None when the store needs the API."""
    store = _store(store)
    upload_key = new_key(INCOMING_PREFIX)
    upload = store.presigned_upload(
        upload_key,
        content_type="application/octet-stream",
        max_size=max_size,
        expires_in=expires_in,
    )
    return None if upload is None else DirectUpload(upload_key=upload_key, upload=upload)


def accept_direct_upload(
    *,
    upload_key: str,
    filename: str | None,
    allowed_types: Iterable[str],
    max_size: int,
    store: BlobStore | None = None,
) -> AcceptedFile:
    """Check what the phone uploaded under ``upload_key`` and keep it under a new key.

    The phone can keep posting to its URL until it expires, so the file is first copied to a
    key nobody else can write to, and that copy is what gets checked, hashed and kept. The
    upload itself is deleted once accepted or refused (a transient failure keeps it, so the
    phone may ask again). Raises ``BlobNotFound`` when nothing was uploaded.
    """
    store = _store(store)
    key = new_key()
    try:
        name = clean_filename(filename)
        size = store.size(upload_key)
        if size == 0:
            raise EmptyFile()
        if size > max_size:  # S3 enforces this already; other servers may not
            raise FileTooLarge(max_size=max_size)
        # Refuse a wrong type from its first bytes, before copying anything.
        check_type_allowed(identify(store.first_bytes(upload_key, SNIFF_BYTES)), allowed_types)
        store.copy(upload_key, key)
        with _downloaded(store, key, max_size) as (file, meter):
            checked = check_file(file, allowed=allowed_types)
    except _REFUSALS:
        store.delete(key)
        store.delete(upload_key)
        raise
    except BaseException:
        with suppress(Exception):
            store.delete(key)
        raise
    store.delete(upload_key)
    return AcceptedFile(
        key=key,
        file_name=name_for_type(name, checked.file_type),
        file_type=checked.file_type,
        size=meter.size,
        sha256=meter.sha256,
        width=checked.width,
        height=checked.height,
    )


@contextmanager
def _seekable(stream: BinaryIO, max_size: int) -> Iterator[BinaryIO]:
    """``stream`` itself when it can seek (its size known without reading), else a spooled copy."""
    if _can_seek(stream):
        size = stream.seek(0, io.SEEK_END)
        if size > max_size:
            raise FileTooLarge(max_size=max_size)
        if size == 0:
            raise EmptyFile()
        stream.seek(0)
        yield stream
        return
    meter = Meter(max_size)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as copy:
        while chunk := stream.read(CHUNK_SIZE):
            meter.update(chunk)
            copy.write(chunk)
        meter.require_content()
        copy.seek(0)
        yield copy


def _can_seek(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError):
        return False


@contextmanager
def _downloaded(store: BlobStore, key: str, max_size: int) -> Iterator[tuple[BinaryIO, Meter]]:
    meter = Meter(max_size)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as copy:
        with store.open(key) as body:
            while chunk := body.read(CHUNK_SIZE):
                meter.update(chunk)
                copy.write(chunk)
        meter.require_content()
        yield copy, meter
