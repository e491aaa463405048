"""Blob storage for attachments: a local directory by default, or S3-compatible object storage.

``get_store()`` gives the app's one store, chosen by ``STORAGE_URL``:

- ``file:///srv/dvc/blobs`` (default: ``<INSTANCE_PATH>/blobs``): files on this host.
- ``s3://bucket`` or ``s3://bucket/prefix``: with ``S3_ENDPOINT_URL``, ``S3_REGION``,
  ``S3_ADDRESSING_STYLE`` and the standard AWS credential chain (``AWS_ACCESS_KEY_ID``, ...).
  Outside production the bucket is created on first use; in production it must exist.

Keys are random (``new_key``), never derived from a file's name; ``intake`` checks and
stores what citizens upload, ``sniff`` decides a file's type from its bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app

from backend.storage.base import BlobStore, PresignedUpload, StoredBlob, check_key, new_key
from backend.storage.exceptions import (
    BadFileName,
    BlobNotFound,
    EmptyFile,
    FileContentMismatch,
    FileTooLarge,
    FileTypeNotAllowed,
    ImageTooLarge,
    InvalidBlobKey,
    StorageUnavailable,
)
from backend.storage.local import LocalStore

__all__ = [
    "BadFileName",
    "BlobNotFound",
    "BlobStore",
    "EmptyFile",
    "FileContentMismatch",
    "FileTooLarge",
    "FileTypeNotAllowed",
    "ImageTooLarge",
    "InvalidBlobKey",
    "PresignedUpload",
    "StorageUnavailable",
    "StoredBlob",
    "check_key",
    "create_store",
    "get_store",
    "new_key",
    "storage_url",
]

STORAGE_SCHEMES = ("file", "s3")
_EXTENSION_KEY = "storage"
_creating = threading.Lock()


def storage_url(config: Mapping[str, Any]) -> str:
    return config.get("STORAGE_URL") or Path(config["INSTANCE_PATH"], "blobs").as_uri()


def create_store(config: Mapping[str, Any]) -> BlobStore:
    """A new store from an app's configuration (``get_store`` keeps one per app)."""
    url = urlsplit(storage_url(config))
    if url.scheme == "file":
        return LocalStore(unquote(url.netloc + url.path))
    if url.scheme == "s3" and url.netloc:
        # boto3 weighs on every worker's memory: loaded only where the store is S3.
        from backend.storage.s3 import S3Store, make_s3_client

        client = make_s3_client(
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            addressing_style=config.get("S3_ADDRESSING_STYLE") or "auto",
        )
        store = S3Store(client=client, bucket=url.netloc, prefix=url.path)
        if config.get("APP_ENV") != "production":
            store.ensure_bucket()
        return store
    raise RuntimeError("STORAGE_URL must be file:///path or s3://bucket[/prefix]")


def get_store() -> BlobStore:
    """The current app's store, created on first use and shared by its threads."""
    app = current_app._get_current_object()
    store = app.extensions.get(_EXTENSION_KEY)
    if store is None:
        with _creating:
            store = app.extensions.get(_EXTENSION_KEY)
            if store is None:
                store = app.extensions[_EXTENSION_KEY] = create_store(app.config)
    return store
