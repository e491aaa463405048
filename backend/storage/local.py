"""Blobs as files in one local directory: the zero-setup default, and single-host deployments.

Writes go to a temporary file in the target's own directory, are fsynced, then renamed over
the target, so a reader sees either nothing or the whole blob, even after a crash. Temporary
names start with a dot, which no key can, so they never collide with a blob.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from backend.storage.base import (
    CHUNK_SIZE,
    Meter,
    PresignedUpload,
    StoredBlob,
    check_expiry,
    check_key,
    sha256_of,
)
from backend.storage.exceptions import BlobNotFound, InvalidBlobKey

TEMP_PREFIX = ".incoming-"


class LocalStore:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        # The key grammar already forbids escaping; this also catches a symlinked directory.
        if not path.resolve().is_relative_to(self.root):
            raise InvalidBlobKey(("Khoá lưu trữ không hợp lệ.", "The storage key is not valid."))
        return path

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFound(key)
        return path

    def put(
        self,
        key: str,
        stream: BinaryIO,
        *,
        max_size: int,
        content_type: str = "application/octet-stream",
    ) -> StoredBlob:
        meter = Meter(max_size)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)

        def write(out: BinaryIO) -> None:
            while chunk := stream.read(CHUNK_SIZE):
                meter.update(chunk)
                out.write(chunk)
            meter.require_content()

        self._write_atomically(path, write)
        return StoredBlob(key=key, size=meter.size, sha256=meter.sha256)

    def _write_atomically(self, path: Path, write) -> None:
        descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(descriptor, "wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp_name, path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _fsync_directory(path.parent)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._existing(key).open("rb")
        except FileNotFoundError as error:  # deleted between the check and the open
            raise BlobNotFound(key) from error

    def copy(self, source_key: str, target_key: str) -> None:
        target = self._path(target_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.open(source_key) as source:
            self._write_atomically(target, lambda out: shutil.copyfileobj(source, out))

    def delete(self, key: str) -> None:
        with suppress(FileNotFoundError):
            self._path(key).unlink()

    def size(self, key: str) -> int:
        return self._existing(key).stat().st_size

    def first_bytes(self, key: str, count: int) -> bytes:
        with self.open(key) as blob:
            return blob.read(count)

    def sha256(self, key: str) -> str:
        with self.open(key) as blob:
            return sha256_of(blob)

    def listing(self) -> Iterator[tuple[str, datetime]]:
        for path in self.root.rglob("*"):
            if path.name.startswith(TEMP_PREFIX) or not path.is_file():
                continue  # a write in progress (or one a crash cut short)
            key = path.relative_to(self.root).as_posix()
            try:
                check_key(key)
                written = path.stat().st_mtime
            except (InvalidBlobKey, FileNotFoundError):
                continue
            yield key, datetime.fromtimestamp(written, UTC)

    def discard_unfinished(self, *, before: datetime) -> int:
        """Temporary files a killed ``put`` or ``copy`` left: an ongoing write keeps its file's
        modification time fresh, so one untouched since ``before`` has nobody behind it."""
        discarded = 0
        for path in self.root.rglob(f"{TEMP_PREFIX}*"):
            try:
                if not path.is_file() or path.stat().st_mtime >= before.timestamp():
                    continue
                path.unlink()
            except FileNotFoundError:  # its write finished (renamed) or another sweeper won
                continue
            discarded += 1
        return discarded

    def presigned_upload(
        self, key: str, *, content_type: str, max_size: int, expires_in: int
    ) -> PresignedUpload | None:
        """None: a local directory has no URL of its own; files come through the API."""
        check_key(key)
        check_expiry(expires_in)
        return None

    def presigned_download(
        self,
        key: str,
        *,
        expires_in: int,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """None: the API streams the file itself (``open``)."""
        check_key(key)
        check_expiry(expires_in)
        return None


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX keeps directory entries separately)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # platforms that cannot open a directory
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
