"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph, Garage, ...), through boto3.

Uploads stream in parts: a stream that fits in one part is sent with one PutObject, a longer
one as a multipart upload that is aborted if anything fails, so a refused or broken upload
never leaves an object (or billable orphan parts) behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable

from backend.db import utcnow
from backend.storage.base import (
    Meter,
    PresignedUpload,
    StoredBlob,
    check_expiry,
    check_key,
    read_metered,
    sha256_of,
)
from backend.storage.exceptions import BlobNotFound, InvalidBlobKey, StorageUnavailable
from backend.storage.filenames import content_disposition

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's floor for every part but the last
DEFAULT_PART_SIZE = 8 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}

log = logging.getLogger(__name__)


def make_s3_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    addressing_style: str = "auto",
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    max_attempts: int = 3,
):
    """An S3 client; credentials come from the standard AWS chain unless given here."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": addressing_style},
        # botocore >= 1.36 adds CRC checksums to every request by default; S3-compatible
        # servers that do not know them refuse the request. Send them only where required.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=5,
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": max_attempts},
    )
    # A session per client: boto3's default session is shared module state, not thread-safe.
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


@contextmanager
def _translated(key: str | None = None) -> Iterator[None]:
    """S3 answers in its own terms; callers get BlobNotFound or StorageUnavailable."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if key is not None and code in _MISSING:
            raise BlobNotFound(key) from error
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500 or code in {"SlowDown", "ServiceUnavailable"}:
            raise StorageUnavailable() from error
        raise
    except (EndpointUnreachable, HTTPClientError) as error:
        raise StorageUnavailable() from error


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Store:
    def __init__(
        self, *, client, bucket: str, prefix: str = "", part_size: int = DEFAULT_PART_SIZE
    ):
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_size = part_size

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def ensure_bucket(self) -> None:
        """Create the bucket when missing; for development and tests (production provisions it)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) not in {"404", "NoSuchBucket"}:
                raise
        region = self.client.meta.region_name
        options: dict[str, Any] = {}
        if region and region != "us-east-1":  # us-east-1 refuses an explicit constraint
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with suppress(self.client.exceptions.BucketAlreadyOwnedByYou):
            self.client.create_bucket(Bucket=self.bucket, **options)

    def put(
        self,
        key: str,
        stream: BinaryIO,
        *,
        max_size: int,
        content_type: str = "application/octet-stream",
    ) -> StoredBlob:
        object_key = self._object_key(key)
        meter = Meter(max_size)
        first = read_metered(stream, self.part_size, meter)
        meter.require_content()
        with _translated():
            if len(first) < self.part_size:
                self.client.put_object(
                    Bucket=self.bucket, Key=object_key, Body=first, ContentType=content_type
                )
            else:
                self._put_in_parts(object_key, first, stream, meter, content_type)
        return StoredBlob(key=key, size=meter.size, sha256=meter.sha256)

    def _put_in_parts(
        self, object_key: str, first: bytes, stream: BinaryIO, meter: Meter, content_type: str
    ) -> None:
        upload = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=object_key, ContentType=content_type
        )
        upload_id = upload["UploadId"]
        parts = []
        try:
            body, number = first, 1
            while body:
                answer = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=object_key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                body, number = read_metered(stream, self.part_size, meter), number + 1
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=object_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with suppress(Exception):  # the original failure matters more than this one
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=object_key, UploadId=upload_id
                )
            raise

    def open(self, key: str) -> BinaryIO:
        with _translated(key):
            return self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))["Body"]

    def copy(self, source_key: str, target_key: str) -> None:
        """Server-side copy (objects up to 5 GB, far above any attachment limit)."""
        with _translated(source_key):
            self.client.copy_object(
                Bucket=self.bucket,
                Key=self._object_key(target_key),
                CopySource={"Bucket": self.bucket, "Key": self._object_key(source_key)},
            )

    def delete(self, key: str) -> None:
        with _translated():
            self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def listing(self) -> Iterator[tuple[str, datetime]]:
        for entry in self._paged("list_objects_v2", "Contents"):
            yield entry["Key"], entry["LastModified"]

    def discard_unfinished(self, *, before: datetime) -> int:
        """Abort multipart uploads begun before ``before``: ``put`` aborts its own on any error,
        so these are a killed process's, and their parts are stored (and billed) until then.

        Without ``s3:ListBucketMultipartUploads`` nothing is aborted here; the bucket's
        lifecycle rule (``AbortIncompleteMultipartUpload``) must do it then.
        """
        discarded = 0
        try:
            for upload in self._paged("list_multipart_uploads", "Uploads"):
                if upload["Initiated"] >= before:
                    continue
                try:
                    with _translated():
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket,
                            Key=self._object_key(upload["Key"]),
                            UploadId=upload["UploadId"],
                        )
                except ClientError as error:
                    if _code(error) != "NoSuchUpload":  # else: it finished or was aborted since
                        raise
                    continue
                discarded += 1
        except ClientError as error:
            if _code(error) != "AccessDenied":
                raise
            log.warning("may not list or abort unfinished uploads in %s: left", self.bucket)
        return discarded

    def _paged(self, operation: str, items: str) -> Iterator[dict[str, Any]]:
        """Entries under our prefix whose names are keys (the key relative to the prefix)."""
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator(operation).paginate(Bucket=self.bucket, Prefix=start)
        with _translated():
            for page in pages:
                for entry in page.get(items) or []:
                    key = entry["Key"][len(start) :]
                    try:
                        check_key(key)
                    except InvalidBlobKey:
                        continue  # not written by us: never listed, never deleted
                    yield {**entry, "Key": key}

    def size(self, key: str) -> int:
        with _translated(key):
            head = self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        return int(head["ContentLength"])

    def first_bytes(self, key: str, count: int) -> bytes:
        if count < 1:
            raise ValueError("count must be at least 1")
        try:
            with _translated(key):
                answer = self.client.get_object(
                    Bucket=self.bucket, Key=self._object_key(key), Range=f"bytes=0-{count - 1}"
                )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""  # a zero-byte object has no first byte to range over
            raise
        with answer["Body"] as body:
            return body.read(count)

    def sha256(self, key: str) -> str:
        with self.open(key) as body, _translated(key):
            return sha256_of(body)

    def presigned_upload(
        self, key: str, *, content_type: str, max_size: int, expires_in: int
    ) -> PresignedUpload:
        if max_size < 1:
            raise ValueError("max_size must be at least 1 byte")
        object_key = self._object_key(key)
        expires_at = utcnow() + timedelta(seconds=check_expiry(expires_in))
        post = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=object_key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                # S3 refuses the POST itself when the body is empty or over the limit.
                ["content-length-range", 1, max_size],
            ],
            ExpiresIn=expires_in,
        )
        return PresignedUpload(
            url=post["url"], fields=dict(post["fields"]), max_size=max_size, expires_at=expires_at
        )

    def presigned_download(
        self,
        key: str,
        *,
        expires_in: int,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str:
        params = {"Bucket": self.bucket, "Key": self._object_key(key)}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if content_type:
            params["ResponseContentType"] = content_type
        return self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=check_expiry(expires_in)
        )
