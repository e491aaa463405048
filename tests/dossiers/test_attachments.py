"""Attachments: type by content, per-slot limits, nothing kept when refused, reuse."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend.dossiers.models import Document
from backend.extensions import db
from tests.helpers.work import unit_of_work
from tests.storage.samples import jpeg, pdf, png, zip_archive

PROVINCE_JUSTICE_RECORD = "2.000488"  # portrait photo slot: jpeg/png/heic, 5 MB


def stored(app) -> tuple[int, list[Path]]:
    blobs = Path(app.config["INSTANCE_PATH"]) / "blobs"
    files = [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else []
    with unit_of_work(app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Document)), files


@pytest.mark.parametrize(
    "content, name, status, problem",
    [
        (b"MZ\x90\x00" + b"\x00" * 200, "giay.png", 422, "file-type-not-allowed"),
        (b"<html><script>alert(1)</script></html>", "giay.pdf", 422, "file-type-not-allowed"),
        (b"", "giay.png", 422, "empty-file"),
        (png() + zip_archive(), "giay.png", 422, "file-content-mismatch"),
        (png()[:-20], "giay.png", 422, "file-content-mismatch"),
        (png(), "../../etc/passwd.png", 422, "bad-file-name"),
        (png(), "C:\\Windows\\giay.png", 422, "bad-file-name"),
    ],
    ids=["exe", "html", "empty", "polyglot", "truncated", "traversal", "windows-path"],
)
def test_refused_files_leave_nothing(filing, app, content, name, status, problem):
    dossier = filing.draft().get_json()
    before = stored(app)
    response = filing.attach(dossier["id"], content=content, name=name)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["type"].endswith(problem)
    assert stored(app) == before


def test_type_comes_from_the_bytes_not_the_name(filing):
    dossier = filing.draft().get_json()
    response = filing.attach(dossier["id"], content=png(), name="chung-sinh.pdf")
    assert response.status_code == 201
    document = response.get_json()["document"]
    assert document["file_type"] == "png" and document["file_name"] == "chung-sinh.png"
    assert len(document["sha256"]) == 64


def test_slot_size_and_type_limits(filing):
    dossier = filing.draft().get_json()
    # The marriage-registration declaration slot takes PDF only.
    marriage = filing.draft("1.000894", data={}).get_json()
    wrong_type = filing.attach(marriage["id"], slot="to_khai_ket_hon", content=jpeg())
    assert wrong_type.status_code == 422
    assert (
        filing.attach(
            marriage["id"], slot="to_khai_ket_hon", content=pdf(), name="to-khai.pdf"
        ).status_code
        == 201
    )
    big = png(3000, 3000)  # many pixels, still within the slot's 10 MB
    too_big = filing.attach(dossier["id"], content=b"\x89PNG\r\n\x1a\n" + b"\x00" * (11 << 20))
    assert too_big.status_code == 413
    assert filing.attach(dossier["id"], content=big).status_code == 201


def test_unknown_slot(filing):
    dossier = filing.draft().get_json()
    response = filing.attach(dossier["id"], slot="ho_chieu")
    assert response.status_code == 422


def test_upload_must_be_multipart(filing, client):
    dossier = filing.draft().get_json()
    response = client.post(
        f"/api/v1/dossiers/{dossier['id']}/attachments/giay_chung_sinh",
        json={"file": "x"},
        headers=filing.headers,
    )
    assert response.status_code == 415


def test_a_file_given_once_is_reused_without_uploading(filing, filing_b, client, app):
    first = filing.draft().get_json()
    document = filing.attach(first["id"]).get_json()["document"]
    second = filing.draft().get_json()
    reused = client.post(
        f"/api/v1/dossiers/{second['id']}/attachments/giay_chung_sinh/reuse",
        json={"document_id": document["id"]},
        headers=filing.headers,
    )
    assert reused.status_code == 201
    assert reused.get_json()["document"]["id"] == document["id"]
    assert stored(app)[0] == 1
    library = client.get("/api/v1/me/documents", headers=filing.headers).get_json()["items"]
    assert [d["id"] for d in library] == [document["id"]]
    # Nobody else can attach my document.
    theirs = filing_b.draft().get_json()
    stolen = client.post(
        f"/api/v1/dossiers/{theirs['id']}/attachments/giay_chung_sinh/reuse",
        json={"document_id": document["id"]},
        headers=filing_b.headers,
    )
    assert stolen.status_code == 404


def test_replacing_and_removing_an_attachment(filing, client):
    dossier = filing.draft().get_json()
    filing.attach(dossier["id"])
    filing.attach(dossier["id"], content=jpeg(), name="anh.jpg")
    view = client.get(f"/api/v1/dossiers/{dossier['id']}", headers=filing.headers).get_json()
    assert [(a["slot"], a["document"]["file_type"]) for a in view["attachments"]] == [
        ("giay_chung_sinh", "jpeg")
    ]
    url = f"/api/v1/dossiers/{dossier['id']}/attachments/giay_chung_sinh"
    assert client.delete(url, headers=filing.headers).status_code == 204
    assert client.delete(url, headers=filing.headers).status_code == 404


def test_attached_file_is_downloadable_by_its_citizen_and_officers_only(
    filing, filing_b, client, receiver, outsider
):
    from tests.helpers.signin import bearer

    receipt = filing.filed()
    url = f"/api/v1/dossiers/{receipt['id']}/attachments/giay_chung_sinh/content"
    mine = client.get(url, headers=filing.headers)
    assert mine.status_code == 200 and mine.data == png()
    assert mine.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(url, headers=bearer(receiver)).status_code == 200
    assert client.get(url, headers=filing_b.headers).status_code == 404
    assert client.get(url, headers=bearer(outsider)).status_code == 404


def test_direct_upload_needs_object_storage(filing, client):
    dossier = filing.draft().get_json()
    response = client.post(
        f"/api/v1/dossiers/{dossier['id']}/attachments/giay_chung_sinh/uploads",
        json={"file_name": "x.png"},
        headers=filing.headers,
    )
    assert response.status_code == 409


def test_retry_of_an_upload_with_its_key_stores_it_once(filing, client, app):
    dossier = filing.draft().get_json()
    url = f"/api/v1/dossiers/{dossier['id']}/attachments/giay_chung_sinh"

    def send():
        return client.post(
            url,
            data={"file": (io.BytesIO(png()), "a.png")},
            content_type="multipart/form-data",
            headers={**filing.headers, "Idempotency-Key": "upload-0001"},
        )

    first, again = send(), send()
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json() == again.get_json()
    assert stored(app)[0] == 1
