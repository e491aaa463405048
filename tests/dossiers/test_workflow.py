"""The one-stop workflow: who may do what, when, and what each step leaves behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.dossiers.models import DossierEvent
from backend.extensions import db
from tests.helpers.dossiers import officer_post, refreshed, upload_result
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work


@pytest.fixture
def accepted(filing, client, receiver) -> dict:
    receipt = filing.filed()
    assert officer_post(client, receiver, receipt["id"], "accept").status_code == 200
    return receipt


@pytest.fixture
def processing(accepted, client, leader) -> dict:
    assert officer_post(client, leader, accepted["id"], "start").status_code == 200
    return accepted


def test_step_not_allowed_now_is_409_with_the_allowed_ones(filing, client, receiver):
    receipt = filing.filed()
    response = officer_post(client, receiver, receipt["id"], "return")
    assert response.status_code == 409
    assert response.get_json()["allowed_actions"] == ["accept", "refuse"]


def test_step_without_the_permission_is_403(filing, client, receiver):
    receipt = filing.filed()
    response = officer_post(client, receiver, receipt["id"], "stop", {"reason": "x"})
    assert response.status_code == 403


def test_officer_of_another_agency_sees_nothing(filing, client, outsider):
    receipt = filing.filed()
    assert (
        client.get(f"/api/v1/agency/dossiers/{receipt['id']}", headers=bearer(outsider)).status_code
        == 404
    )
    assert officer_post(client, outsider, receipt["id"], "accept").status_code == 404
    queue = client.get("/api/v1/agency/dossiers", headers=bearer(outsider)).get_json()
    assert queue["items"] == []


def test_refusal_needs_a_reason_and_ends_the_dossier(filing, client, receiver):
    receipt = filing.filed()
    assert officer_post(client, receiver, receipt["id"], "refuse").status_code == 422
    refused = officer_post(
        client, receiver, receipt["id"], "refuse", {"reason": "Giấy chứng sinh không rõ"}
    )
    assert refused.get_json()["status"] == "refused"
    assert refused.get_json()["finished_at"] is not None
    assert (
        client.post(
            f"/api/v1/dossiers/{receipt['id']}/withdraw",
            json={"reason": "x"},
            headers=filing.headers,
        ).status_code
        == 409
    )


def test_one_supplement_request_stops_the_clock_until_resubmitted(
    processing, filing, client, leader, clock
):
    dossier_id = processing["id"]
    asked = client.post(
        f"/api/v1/agency/dossiers/{dossier_id}/request-supplement",
        json={"items": ["Bản sao giấy chứng nhận kết hôn"]},
        headers=bearer(leader),
    )
    assert asked.status_code == 200 and asked.get_json()["status"] == "supplement_requested"
    # Monday 09:00 until Wednesday 09:00 waiting: 16 office hours not counted.
    clock.shift(timedelta(days=2))
    filing.refresh()
    assert filing.attach(dossier_id, slot="giay_chung_nhan_ket_hon").status_code == 201
    back = client.post(f"/api/v1/dossiers/{dossier_id}/resubmit", json={}, headers=filing.headers)
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["status"] == "processing"
    # Due Tuesday 09:00 before; 16 office hours later it is Thursday 09:00.
    assert back.get_json()["due_at"] == "2026-12-03T02:00:00+00:00"
    leader_again = refreshed(client, leader)
    again = client.post(
        f"/api/v1/agency/dossiers/{dossier_id}/request-supplement",
        json={"items": ["Thêm nữa"]},
        headers=bearer(leader_again),
    )
    assert again.status_code == 409
    assert again.get_json()["type"].endswith("supplement-already-requested")


def test_fees_pause_and_resume(processing, client, leader):
    dossier_id = processing["id"]
    asked = client.post(
        f"/api/v1/agency/dossiers/{dossier_id}/request-fees",
        json={"amount": 8000},
        headers=bearer(leader),
    )
    assert asked.get_json()["status"] == "fees_due" and asked.get_json()["fee_amount"] == 8000
    paid = officer_post(client, leader, dossier_id, "confirm-fees")
    assert paid.get_json()["status"] == "processing"


def test_deciding_needs_the_result_document(processing, client, leader, filing):
    dossier_id = processing["id"]
    missing = officer_post(client, leader, dossier_id, "decide")
    assert missing.status_code == 422
    assert (
        client.get(f"/api/v1/dossiers/{dossier_id}/result", headers=filing.headers).status_code
        == 404
    )
    assert upload_result(client, leader, dossier_id, content=b"not a pdf").status_code == 422
    assert upload_result(client, leader, dossier_id).status_code == 201
    assert officer_post(client, leader, dossier_id, "decide").status_code == 200


def test_result_is_for_its_citizen_only(processing, client, leader, filing_b, filing):
    upload_result(client, leader, processing["id"])
    officer_post(client, leader, processing["id"], "decide")
    url = f"/api/v1/dossiers/{processing['id']}/result"
    assert client.get(url, headers=filing.headers).status_code == 200
    assert client.get(url, headers=filing_b.headers).status_code == 404


def test_withdraw_while_allowed(processing, filing, client):
    url = f"/api/v1/dossiers/{processing['id']}/withdraw"
    assert client.post(url, json={}, headers=filing.headers).status_code == 422
    done = client.post(url, json={"reason": "Nộp nhầm"}, headers=filing.headers)
    assert done.get_json()["status"] == "withdrawn"


def test_stop_by_the_authority(processing, client, leader):
    stopped = officer_post(client, leader, processing["id"], "stop", {"reason": "Hết thẩm quyền"})
    assert stopped.get_json()["status"] == "stopped"


def test_every_step_leaves_an_immutable_event(processing, app, client, filing):
    events = client.get(
        f"/api/v1/dossiers/{processing['id']}/events", headers=filing.headers
    ).get_json()["items"]
    assert [(e["seq"], e["from_status"], e["to_status"]) for e in events] == [
        (1, None, "draft"),
        (2, "draft", "submitted"),
        (3, "submitted", "accepted"),
        (4, "accepted", "processing"),
    ]
    with unit_of_work(app):
        event = db.session.scalar(sa.select(DossierEvent).limit(1))
        event.note = "rewritten"
        with pytest.raises(ValueError, match="dossier_events is append-only"):
            db.session.flush()
        db.session.rollback()


def test_version_and_etag_change_with_each_step(accepted, client, filing, leader):
    url = f"/api/v1/dossiers/{accepted['id']}"
    before = client.get(url, headers=filing.headers)
    officer_post(client, leader, accepted["id"], "start")
    after = client.get(url, headers={**filing.headers, "If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_json()["version"] > before.get_json()["version"]


def test_allowed_actions_guide_the_app(accepted, client, filing, receiver, leader):
    citizen_view = client.get(f"/api/v1/dossiers/{accepted['id']}", headers=filing.headers)
    assert citizen_view.get_json()["allowed_actions"] == ["withdraw"]
    officer_view = client.get(f"/api/v1/agency/dossiers/{accepted['id']}", headers=bearer(leader))
    assert officer_view.get_json()["allowed_actions"] == [
        "request_supplement",
        "start_processing",
        "stop",
    ]
