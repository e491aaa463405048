"""Direct transfers between the phone and S3: presigned POST uploads and GET downloads.

The uploads below are real HTTP form posts to the S3-compatible server on loopback. That
server (moto) stores whatever a presigned POST sends: it checks neither the policy's
``content-length-range`` nor its key or expiry. Those are S3's job in production, so here
the policy the phone receives is checked for them, and the size limit is shown to hold
anyway at confirmation (``test_intake``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import UTC, datetime

import pytest
import requests
import time_machine

from backend.storage import new_key
from tests.helpers.storage import S3_PREFIX, stored_objects
from tests.storage import samples


def post_form(upload, content: bytes, filename: str = "photo.png") -> requests.Response:
    return requests.post(
        upload.url, data=upload.fields, files={"file": (filename, content)}, timeout=10
    )


def policy_of(upload) -> dict:
    return json.loads(base64.b64decode(upload.fields["policy"]))


def test_phone_uploads_with_a_presigned_post_then_the_api_reads_what_arrived(s3_store):
    content = samples.png()
    key = new_key("incoming")
    upload = s3_store.presigned_upload(
        key, content_type="application/octet-stream", max_size=len(content), expires_in=600
    )

    answer = post_form(upload, content)

    assert answer.status_code == 204
    assert upload.method == "POST" and upload.max_size == len(content)
    assert stored_objects(s3_store) == [key]
    assert s3_store.size(key) == len(content)
    assert s3_store.first_bytes(key, 8) == samples.PNG_SIGNATURE
    assert s3_store.sha256(key) == hashlib.sha256(content).hexdigest()


def test_presigned_post_policy_binds_key_type_size_range_and_expiry(s3_store):
    key = new_key("incoming")
    with time_machine.travel(datetime(2026, 3, 2, 8, 30, tzinfo=UTC), tick=False):
        upload = s3_store.presigned_upload(
            key, content_type="application/octet-stream", max_size=5_000_000, expires_in=900
        )

    policy = policy_of(upload)

    # S3 refuses an empty or oversize body, another key, or a late upload, from this policy.
    assert ["content-length-range", 1, 5_000_000] in policy["conditions"]
    assert {"key": f"{S3_PREFIX}/{key}"} in policy["conditions"]
    assert {"bucket": s3_store.bucket} in policy["conditions"]
    assert {"Content-Type": "application/octet-stream"} in policy["conditions"]
    assert policy["expiration"] == "2026-03-02T08:45:00Z"
    assert upload.expires_at == datetime(2026, 3, 2, 8, 45, tzinfo=UTC)
    assert upload.fields["key"] == f"{S3_PREFIX}/{key}"
    assert upload.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"


def test_the_test_server_does_not_enforce_the_size_range(s3_store):
    """Documents the limit of the test peer; the API's own check is in test_intake."""
    key = new_key("incoming")
    upload = s3_store.presigned_upload(
        key, content_type="application/octet-stream", max_size=10, expires_in=600
    )

    answer = post_form(upload, b"x" * 100)

    assert answer.status_code == 204
    assert s3_store.size(key) == 100


@pytest.mark.parametrize("expires_in", [0, -1, 8 * 24 * 3600])
def test_presigned_lifetimes_outside_what_s3_signs_are_refused(s3_store, expires_in):
    with pytest.raises(ValueError, match="expires_in"):
        s3_store.presigned_upload(
            new_key(), content_type="image/png", max_size=10, expires_in=expires_in
        )
    with pytest.raises(ValueError, match="expires_in"):
        s3_store.presigned_download(new_key(), expires_in=expires_in)


def test_presigned_download_url_fetches_the_bytes_with_name_and_type(s3_store):
    content = samples.pdf()
    key = new_key()
    s3_store.put(key, io.BytesIO(content), max_size=len(content))

    url = s3_store.presigned_download(
        key, expires_in=300, filename="Giấy khai sinh.pdf", content_type="application/pdf"
    )
    answer = requests.get(url, timeout=10)

    assert answer.status_code == 200
    assert answer.content == content
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="Giay khai sinh.pdf"; '
        "filename*=UTF-8''Gi%E1%BA%A5y%20khai%20sinh.pdf"
    )


def test_presigned_download_url_expires_as_asked(s3_store):
    key = new_key()
    s3_store.put(key, io.BytesIO(b"payload"), max_size=100)
    signed_at = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)

    with time_machine.travel(signed_at, tick=False):
        url = s3_store.presigned_download(key, expires_in=300)

    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    assert query["X-Amz-Date"] == "20260302T083000Z"
    assert query["X-Amz-Expires"] == "300"


def test_first_bytes_of_an_empty_upload_are_empty(s3_store):
    """S3 refuses an empty POST under our policy; the test peer lets one through, and reading
    its first bytes (an unsatisfiable range on S3) must still answer, so it can be refused."""
    key = new_key("incoming")
    upload = s3_store.presigned_upload(
        key, content_type="application/octet-stream", max_size=10, expires_in=600
    )
    post_form(upload, b"").raise_for_status()

    assert s3_store.size(key) == 0
    assert s3_store.first_bytes(key, 8) == b""
