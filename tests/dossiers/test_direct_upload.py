"""Direct uploads to object storage: the phone sends the bytes to S3, the API checks them."""

from __future__ import annotations

import pytest
import requests

from tests.helpers.storage import new_s3_store
from tests.storage.conftest import s3_endpoint, s3_test_client  # noqa: F401 - shared fixtures
from tests.storage.samples import jpeg, png


@pytest.fixture
def s3_storage(app, monkeypatch, s3_test_client):  # noqa: F811
    store = new_s3_store(s3_test_client)
    monkeypatch.setitem(app.extensions, "storage", store)
    return store


def start(client, filing, dossier_id, name="giay.png"):
    return client.post(
        f"/api/v1/dossiers/{dossier_id}/attachments/giay_chung_sinh/uploads",
        json={"file_name": name},
        headers=filing.headers,
    )


def post_to_storage(ticket: dict, content: bytes) -> int:
    answer = requests.post(
        ticket["url"], data=ticket["fields"], files={"file": ("upload", content)}, timeout=10
    )
    return answer.status_code


def test_upload_straight_to_storage_then_confirm(s3_storage, client, filing):
    dossier = filing.draft().get_json()
    ticket = start(client, filing, dossier["id"]).get_json()
    assert ticket["max_size"] == 10 * 1024 * 1024
    assert post_to_storage(ticket, png()) in (200, 201, 204)
    confirmed = client.post(
        f"/api/v1/dossiers/{dossier['id']}/uploads/{ticket['upload_id']}/confirm",
        headers=filing.headers,
    )
    assert confirmed.status_code == 201, confirmed.get_json()
    assert confirmed.get_json()["document"]["file_type"] == "png"
    # Downloads come from storage too, through a short-lived link.
    link = client.get(
        f"/api/v1/dossiers/{dossier['id']}/attachments/giay_chung_sinh/content",
        headers=filing.headers,
    )
    assert link.status_code == 302
    assert requests.get(link.headers["Location"], timeout=10).content == png()
    # The ticket is spent.
    again = client.post(
        f"/api/v1/dossiers/{dossier['id']}/uploads/{ticket['upload_id']}/confirm",
        headers=filing.headers,
    )
    assert again.status_code == 404


def test_a_lie_uploaded_directly_is_refused_and_removed(s3_storage, client, filing):
    dossier = filing.draft().get_json()
    ticket = start(client, filing, dossier["id"]).get_json()
    post_to_storage(ticket, b"%PDF-1.7 but really a script")
    confirmed = client.post(
        f"/api/v1/dossiers/{dossier['id']}/uploads/{ticket['upload_id']}/confirm",
        headers=filing.headers,
    )
    assert confirmed.status_code == 422
    listed = s3_storage.client.list_objects_v2(Bucket=s3_storage.bucket).get("Contents", [])
    assert listed == []


def test_confirm_before_uploading(s3_storage, client, filing):
    dossier = filing.draft().get_json()
    ticket = start(client, filing, dossier["id"]).get_json()
    response = client.post(
        f"/api/v1/dossiers/{dossier['id']}/uploads/{ticket['upload_id']}/confirm",
        headers=filing.headers,
    )
    assert response.status_code == 404


def test_someone_elses_ticket(s3_storage, client, filing, filing_b):
    dossier = filing.draft().get_json()
    ticket = start(client, filing, dossier["id"]).get_json()
    post_to_storage(ticket, jpeg())
    theirs = filing_b.draft().get_json()
    response = client.post(
        f"/api/v1/dossiers/{theirs['id']}/uploads/{ticket['upload_id']}/confirm",
        headers=filing_b.headers,
    )
    assert response.status_code == 404
