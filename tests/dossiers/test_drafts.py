"""Drafts: who may start one, what the form accepts, prefill, optimistic concurrency."""

from __future__ import annotations

import sqlalchemy as sa

from backend.catalog.models import Procedure, ProcedureStatus
from backend.catalog.services import add_pilot_member, move_procedure
from backend.dossiers.models import Dossier
from backend.extensions import db
from tests.helpers.dossiers import BIRTH, BIRTH_DATA
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work

PILOT = "1.000656"


def count_dossiers(app) -> int:
    with unit_of_work(app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Dossier))


def test_unknown_procedure_is_404(filing, app):
    assert filing.draft("9.999999").status_code == 404
    assert count_dossiers(app) == 0


def test_pilot_procedure_only_for_its_allow_list(filing, app, client):
    assert filing.draft(PILOT, data={}).status_code == 404
    me = client.get("/api/v1/me", headers=filing.headers).get_json()
    with unit_of_work(app):
        add_pilot_member(code=PILOT, account_id=me["id"])
    assert filing.draft(PILOT, data={}).status_code == 201
    listed = client.get("/api/v1/procedures?q=khai tu", headers=filing.headers).get_json()
    assert [p["code"] for p in listed["items"]] == [PILOT]
    assert client.get("/api/v1/procedures?q=khai tu").get_json()["items"] == []


def test_suspended_procedure_takes_no_new_dossiers(filing, app):
    with unit_of_work(app):
        procedure = db.session.scalar(sa.select(Procedure).where(Procedure.code == BIRTH))
        move_procedure(procedure, ProcedureStatus.SUSPENDED)
        db.session.commit()
    response = filing.draft()
    assert response.status_code == 409
    assert response.get_json()["type"].endswith("procedure-not-accepting")


def test_form_errors_name_each_field_and_create_nothing(filing, app):
    bad = {
        **BIRTH_DATA,
        "child_sex": "x",
        "mother_national_id": "123",
        "child_date_of_birth": "2027-01-01",
        "unexpected": 1,
    }
    response = filing.draft(data=bad)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {
        "data.child_sex",
        "data.mother_national_id",
        "data.child_date_of_birth",
        "data.unexpected",
    }
    assert count_dossiers(app) == 0


def test_draft_may_be_incomplete_and_is_prefilled_from_the_last_dossier(filing):
    first = filing.draft(data={"mother_full_name": "Trần Thị Lan"}).get_json()
    assert first["data"] == {"mother_full_name": "Trần Thị Lan", "requester_phone": "+84912345678"}
    second = filing.draft(data={"child_full_name": "Nguyễn Minh Bình"}).get_json()
    assert second["data"]["mother_full_name"] == "Trần Thị Lan"
    assert second["data"]["child_full_name"] == "Nguyễn Minh Bình"


def test_patch_needs_the_current_etag(filing, client):
    dossier = filing.draft().get_json()
    url = f"/api/v1/dossiers/{dossier['id']}"
    current = client.get(url, headers=filing.headers)
    etag = current.headers["ETag"]
    assert client.get(url, headers={**filing.headers, "If-None-Match": etag}).status_code == 304
    body = {"data": {"place_of_birth": "Trạm y tế phường Hồng Gai"}}
    assert client.patch(url, json=body, headers=filing.headers).status_code == 428
    changed = client.patch(url, json=body, headers={**filing.headers, "If-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["data"]["place_of_birth"] == "Trạm y tế phường Hồng Gai"
    assert changed.headers["ETag"] != etag
    stale = client.patch(url, json=body, headers={**filing.headers, "If-Match": etag})
    assert stale.status_code == 412


def test_patch_validates_and_null_removes(filing, client):
    dossier = filing.draft().get_json()
    url = f"/api/v1/dossiers/{dossier['id']}"
    etag = client.get(url, headers=filing.headers).headers["ETag"]
    bad = client.patch(
        url, json={"data": {"child_sex": "?"}}, headers={**filing.headers, "If-Match": etag}
    )
    assert bad.status_code == 422 and "data.child_sex" in bad.get_json()["errors"]
    removed = client.patch(
        url,
        json={"data": {"father_full_name": None, "child_sex": None}},
        headers={**filing.headers, "If-Match": etag},
    )
    assert removed.status_code == 200
    assert "child_sex" not in removed.get_json()["data"]


def test_another_citizens_dossier_does_not_exist_for_me(filing, filing_b, client):
    dossier = filing.draft().get_json()
    url = f"/api/v1/dossiers/{dossier['id']}"
    other = filing_b.headers
    assert client.get(url, headers=other).status_code == 404
    assert (
        client.patch(url, json={"data": {}}, headers={**other, "If-Match": '"x"'}).status_code
        == 404
    )
    assert client.get(f"{url}/events", headers=other).status_code == 404
    assert filing_b.attach(dossier["id"]).status_code == 404
    assert filing_b.submit(dossier["id"]).status_code == 404
    assert client.delete(url, headers=other).status_code == 404


def test_staff_cannot_use_citizen_routes(filing, client, receiver):
    assert client.get("/api/v1/dossiers", headers=bearer(receiver)).status_code == 403


def test_only_drafts_are_deleted(filing, client, app):
    dossier = filing.draft().get_json()
    assert (
        client.delete(f"/api/v1/dossiers/{dossier['id']}", headers=filing.headers).status_code
        == 204
    )
    assert count_dossiers(app) == 0
    receipt = filing.filed()
    gone = client.delete(f"/api/v1/dossiers/{receipt['id']}", headers=filing.headers)
    assert gone.status_code == 409


def test_a_draft_with_a_pending_direct_upload_is_deleted_with_it(filing, client, app):
    from datetime import timedelta

    from backend.db import utcnow
    from backend.dossiers.models import DirectUploadSlot

    dossier = filing.draft().get_json()
    with unit_of_work(app):
        db.session.add(
            DirectUploadSlot(
                dossier_id=dossier["id"],
                slot="giay_chung_sinh",
                upload_key="incoming/never-confirmed",
                file_name="chung-sinh.png",
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        db.session.commit()
    gone = client.delete(f"/api/v1/dossiers/{dossier['id']}", headers=filing.headers)
    assert gone.status_code == 204, gone.get_json()
    with unit_of_work(app):
        assert count_dossiers(app) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DirectUploadSlot)) == 0


def test_a_new_draft_answers_with_its_etag_and_location(client, citizen, filing):
    """The app edits the draft it just made without a GET first, and a retry sees the same."""
    made = filing.draft(key="new-draft-1")
    assert made.status_code == 201, made.get_json()
    dossier_id = made.get_json()["id"]
    assert made.headers["Location"] == f"/api/v1/dossiers/{dossier_id}"
    fetched = client.get(made.headers["Location"], headers=filing.headers)
    assert made.headers["ETag"] == fetched.headers["ETag"]
    patched = client.patch(
        made.headers["Location"],
        json={"data": {"child_full_name": "Nguyễn Minh Anh"}},
        headers={**filing.headers, "If-Match": made.headers["ETag"]},
    )
    assert patched.status_code == 200, patched.get_json()
    again = filing.draft(key="new-draft-1")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (again.headers["Location"], again.headers["ETag"]) == (
        made.headers["Location"],
        made.headers["ETag"],
    )
