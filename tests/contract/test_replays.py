"""A retry with the same Idempotency-Key gets the first answer whole, on every creating POST a
phone may send twice: headers included, and marked as given again."""

from __future__ import annotations

import io

from tests.helpers.dossiers import BIRTH, BIRTH_DATA
from tests.helpers.signin import bearer
from tests.storage.samples import png

DRAFT = {"procedure_code": BIRTH, "data": BIRTH_DATA}


def test_a_replayed_refusal_keeps_its_language(client, demo_catalog, citizen):
    headers = {**bearer(citizen), "Idempotency-Key": "draft-retry-0002", "Accept-Language": "en"}
    unknown = {"procedure_code": "9.999999"}
    first = client.post("/api/v1/dossiers", json=unknown, headers=headers)
    again = client.post("/api/v1/dossiers", json=unknown, headers=headers)

    assert first.status_code == again.status_code == 404
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Language"] == first.headers["Content-Language"] == "en"


def test_an_attachment_from_the_library_is_given_once(client, demo_catalog, citizen):
    headers = bearer(citizen)
    draft = client.post("/api/v1/dossiers", json=DRAFT, headers=headers).get_json()
    slot = f"/api/v1/dossiers/{draft['id']}/attachments/giay_chung_sinh"
    file = {"file": (io.BytesIO(png()), "cs.png")}
    uploaded = client.post(slot, data=file, content_type="multipart/form-data", headers=headers)
    document_id = uploaded.get_json()["document"]["id"]
    assert client.delete(slot, headers=headers).status_code == 204

    keyed = {**headers, "Idempotency-Key": "reuse-retry-0001"}
    first = client.post(f"{slot}/reuse", json={"document_id": document_id}, headers=keyed)
    again = client.post(f"{slot}/reuse", json={"document_id": document_id}, headers=keyed)

    assert first.status_code == again.status_code == 201, again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"] == f"{slot}/content"
    assert again.get_json() == first.get_json()
