"""Both stores behind one fixture: a local directory, and S3 over HTTP on loopback.

The S3 peer is moto's server, started once per session in this process and bound to
127.0.0.1 on a free port; the stores talk to it with the real protocol, through boto3.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from backend.storage.local import LocalStore
from backend.storage.s3 import S3Store
from tests.helpers.storage import new_s3_store, s3_client


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3_test_client(s3_endpoint):
    """One client for the run (clients are thread-safe; building one loads botocore's models)."""
    return s3_client(s3_endpoint)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "blobs")
    return new_s3_store(request.getfixturevalue("s3_test_client"))


@pytest.fixture
def s3_store(s3_test_client) -> S3Store:
    return new_s3_store(s3_test_client)
