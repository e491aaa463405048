"""Both stores behind one fixture: a local directory, and S3 over HTTP on loopback.

The S3 peer is moto's server, started once per session in this process and bound to
127.0.0.1 on a free port; the stores talk to it with the real protocol, through boto3.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from backend.storage.local import LocalStore
from backend.storage.s3 import MIN_PART_SIZE, S3Store, make_s3_client

S3_REGION = "eu-west-1"
S3_PREFIX = "attachments"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_client(endpoint: str, **options):
    return make_s3_client(
        endpoint_url=endpoint,
        region=S3_REGION,
        access_key_id="test-access-key",
        secret_access_key="test-secret-key",
        **options,
    )


@pytest.fixture(scope="session")
def s3_test_client(s3_endpoint):
    """One client for the run (clients are thread-safe; building one loads botocore's models)."""
    return s3_client(s3_endpoint)


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


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "blobs")
    return new_s3_store(request.getfixturevalue("s3_test_client"))


@pytest.fixture
def s3_store(s3_test_client) -> S3Store:
    return new_s3_store(s3_test_client)


def stored_objects(store) -> list[str]:
    """Everything the store holds, temporary files and unfinished multipart uploads included."""
    if isinstance(store, LocalStore):
        return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
    listed = store.client.list_objects_v2(Bucket=store.bucket).get("Contents", [])
    pending = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    keys = [o["Key"] for o in listed] + [f"(unfinished) {u['Key']}" for u in pending]
    return sorted(k.replace(f"{S3_PREFIX}/", "", 1) for k in keys)
