"""S3 clients and stores on the loopback S3 server, and what a store holds."""

from __future__ import annotations

import uuid

from backend.storage.local import LocalStore
from backend.storage.s3 import MIN_PART_SIZE, S3Store, make_s3_client

S3_REGION = "eu-west-1"


S3_PREFIX = "attachments"


def s3_client(endpoint: str, **options):
    return make_s3_client(
        endpoint_url=endpoint,
        region=S3_REGION,
        access_key_id="test-access-key",
        secret_access_key="test-secret-key",
        **options,
    )


def new_s3_store(client) -> S3Store:
    # Parts at S3's minimum size, so a multipart upload is only 5 MiB away.
    store = S3Store(
        client=client,
        bucket=f"dvc-test-{uuid.uuid4().hex[:12]}",
        prefix=S3_PREFIX,
        part_size=MIN_PART_SIZE,
    )
    store.ensure_bucket()
    return store


def stored_objects(store) -> list[str]:
    """Everything the store holds, temporary files and unfinished multipart uploads included."""
    if isinstance(store, LocalStore):
        return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
    listed = store.client.list_objects_v2(Bucket=store.bucket).get("Contents", [])
    pending = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    keys = [o["Key"] for o in listed] + [f"(unfinished) {u['Key']}" for u in pending]
    return sorted(k.replace(f"{S3_PREFIX}/", "", 1) for k in keys)
