"""The contract every blob store keeps, and the pieces the stores share.

A blob is an opaque byte string under a key we generate. Stores never learn a file's name,
type or owner; the dossiers keep those. Every write is all or nothing: a refused or failed
``put`` leaves no object and no temporary file behind.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

from backend.db import new_id
from backend.storage.exceptions import EmptyFile, FileTooLarge, InvalidBlobKey

CHUNK_SIZE = 64 * 1024
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # the longest a SigV4 signature may live

# Segments of letters, digits, "-" and "_" joined by "/": no ".", "..", absolute paths,
# backslashes or empty segments, so a key can never leave a store's root on any platform.
_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}(/[A-Za-z0-9_-]{1,128}){0,7}")
MAX_KEY_LENGTH = 512


def new_key(prefix: str | None = None) -> str:
    """A fresh random key, optionally under a prefix such as ``incoming``."""
    key = new_id()
    return f"{prefix.strip('/')}/{key}" if prefix else key


def check_key(key: str) -> str:
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidBlobKey(("Khoá lưu trữ không hợp lệ.", "The storage key is not valid."))
    return key


def check_expiry(expires_in: int) -> int:
    if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
        raise ValueError(f"expires_in must be 1..{MAX_PRESIGN_SECONDS} seconds, not {expires_in}")
    return expires_in


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str  # lowercase hex


@dataclass(frozen=True)
class PresignedUpload:
    """What the phone needs to upload straight to object storage: an HTML-form style POST.

    The phone sends ``fields`` as multipart form fields, then the file as the last field
    named ``file``. The storage service itself refuses a body over ``max_size``.
    """

    url: str
    fields: dict[str, str]
    max_size: int
    expires_at: datetime
    method: str = "POST"


class BlobStore(Protocol):
    """Operations the dossiers need; ``LocalStore`` and ``S3Store`` implement them."""

    def put(
        self,
        key: str,
        stream: BinaryIO,
        *,
        max_size: int,
        content_type: str = "application/octet-stream",
    ) -> StoredBlob:
        """Store ``stream`` (read to its end) under ``key``, hashing and counting as it goes.

        Raises ``EmptyFile`` or ``FileTooLarge`` (as soon as the limit is passed), storing nothing.
        """
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the blob; close it (it is a context manager)."""
        ...

    def copy(self, source_key: str, target_key: str) -> None: ...

    def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing key is not an error."""
        ...

    def size(self, key: str) -> int: ...

    def first_bytes(self, key: str, count: int) -> bytes:
        """Up to ``count`` bytes from the start: enough to sniff the type without a download."""
        ...

    def sha256(self, key: str) -> str: ...

    def listing(self) -> Iterator[tuple[str, datetime]]:
        """Every blob's key and when it was last written, in no particular order.

        Only names a key can have: anything else in the directory or under the prefix was not
        written by us, and nothing that lists blobs in order to delete them may touch it.
        """
        ...

    def discard_unfinished(self, *, before: datetime) -> int:
        """Drop the remains of writes begun before ``before`` that never finished; how many.

        A process killed in the middle of a ``put`` leaves a temporary file (local) or an
        unfinished multipart upload (S3) that no key names and no listing shows.
        """
        ...

    def presigned_upload(
        self, key: str, *, content_type: str, max_size: int, expires_in: int
    ) -> PresignedUpload | None:
        """A direct upload to the storage service, or None: send the file through the API."""
        ...

    def presigned_download(
        self,
        key: str,
        *,
        expires_in: int,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """A URL the phone downloads from directly, or None: stream it through the API."""
        ...


class Meter:
    """Counts and hashes bytes as they pass, and stops the stream right past ``max_size``."""

    def __init__(self, max_size: int):
        if max_size < 1:
            raise ValueError("max_size must be at least 1 byte")
        self.max_size = max_size
        self.size = 0
        self._digest = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_size:
            raise FileTooLarge(max_size=self.max_size)
        self._digest.update(chunk)

    def require_content(self) -> None:
        if self.size == 0:
            raise EmptyFile()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


def read_metered(stream: BinaryIO, count: int, meter: Meter) -> bytes:
    """Read up to ``count`` bytes (fewer only at the end), through ``meter``."""
    parts: list[bytes] = []
    remaining = count
    while remaining > 0:
        chunk = stream.read(min(CHUNK_SIZE, remaining))
        if not chunk:
            break
        meter.update(chunk)
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK_SIZE):
        digest.update(chunk)
    return digest.hexdigest()
