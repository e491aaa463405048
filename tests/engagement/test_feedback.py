"""Petitions from signed-in citizens: filing, deadlines, the officers' steps, publication."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.engagement.models import FeedbackEvent
from backend.extensions import db
from tests.helpers.dossiers import JUSTICE, refreshed
from tests.helpers.engagement import PETITION, PROVINCE, officer_step, send
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work
from tests.storage.samples import png


def test_a_petition_is_received_with_its_working_day_deadlines(filing, client):
    response = send(client, filing.headers)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "received" and body["status_label"] == "Đã tiếp nhận"
    assert body["procedure"]["code"] == "1.001193" and body["agency"]["code"] == "001.01.00.H56"
    # Received Monday 30/11/2026 09:00: answer by the close of the 15th working day after it,
    # Monday 21/12 17:00 (Vietnam time).
    assert body["answer_due_at"] == "2026-12-21T10:00:00+00:00"


def test_officer_takes_up_answers_and_publishes(filing, client, answerer, app):
    feedback_id = send(client, filing.headers).get_json()["id"]
    queue = client.get("/api/v1/agency/feedback", headers=bearer(answerer)).get_json()
    assert [item["id"] for item in queue["items"]] == [feedback_id]
    detail = client.get(f"/api/v1/agency/feedback/{feedback_id}", headers=bearer(answerer))
    # Refuse or take up within 2 working days: Wednesday 2/12 17:00.
    assert detail.get_json()["due_at"] == "2026-12-02T10:00:00+00:00"
    assert detail.get_json()["sender_kind"] == "citizen"

    assert officer_step(client, answerer, feedback_id, "start").get_json()["status"] == "processing"
    answered = officer_step(
        client, answerer, feedback_id, "answer", {"answer": "Hồ sơ sẽ được trả trong hôm nay."}
    )
    assert answered.status_code == 200
    assert answered.get_json()["publish_due_at"] == "2026-12-02T10:00:00+00:00"

    mine = client.get(f"/api/v1/feedback/{feedback_id}", headers=filing.headers).get_json()
    assert mine["status"] == "answered" and mine["answer"] == "Hồ sơ sẽ được trả trong hôm nay."
    inbox = client.get("/api/v1/me/notifications", headers=filing.headers).get_json()["items"]
    assert [n["kind"] for n in inbox] == ["feedback.answered"]
    assert inbox[0]["link"] == f"dvc://feedback/{feedback_id}"
    judged = client.post(
        f"/api/v1/feedback/{feedback_id}/helpful", json={"helpful": True}, headers=filing.headers
    )
    assert judged.get_json()["helpful"] is True

    published = officer_step(
        client, answerer, feedback_id, "publish", {"public_text": "Hồ sơ khai sinh quá hạn."}
    )
    assert published.get_json()["status"] == "published"
    public = client.get("/api/v1/feedback/public?agency=000.00.00.H56").get_json()
    assert [item["id"] for item in public["items"]] == [feedback_id]
    item = public["items"][0]
    assert item["text"] == "Hồ sơ khai sinh quá hạn."
    assert item["answer"] == "Hồ sơ sẽ được trả trong hôm nay."
    assert not {"sender_id", "sender_phone", "helpful"} & item.keys()
    assert client.get(f"/api/v1/feedback/public/{feedback_id}").status_code == 200
    with unit_of_work(app):
        actions = db.session.scalars(
            sa.select(FeedbackEvent.action)
            .where(FeedbackEvent.feedback_id == feedback_id)
            .order_by(FeedbackEvent.seq)
        ).all()
    assert actions == ["file", "start", "answer", "publish"]


def test_unpublished_answers_are_not_public(filing, client, answerer):
    feedback_id = send(client, filing.headers).get_json()["id"]
    officer_step(client, answerer, feedback_id, "answer", {"answer": "Đã xử lý."})

    assert client.get("/api/v1/feedback/public").get_json()["items"] == []
    assert client.get(f"/api/v1/feedback/public/{feedback_id}").status_code == 404


def test_an_officer_above_the_agency_may_answer_one_elsewhere_may_not(
    filing, client, make_staff, outsider
):
    feedback_id = send(client, filing.headers).get_json()["id"]
    province = make_staff("0911100005", agency=PROVINCE, role="feedback_officer")[0]

    assert officer_step(client, outsider, feedback_id, "answer", {"answer": "x"}).status_code == 404
    assert (
        client.get(f"/api/v1/agency/feedback/{feedback_id}", headers=bearer(outsider)).status_code
        == 404
    )
    assert client.get("/api/v1/agency/feedback", headers=bearer(outsider)).get_json()["items"] == []
    answered = officer_step(client, province, feedback_id, "answer", {"answer": "Đã xử lý."})
    assert answered.status_code == 200


def test_an_officer_without_feedback_answer_is_403(filing, client, receiver):
    send(client, filing.headers)
    assert client.get("/api/v1/agency/feedback", headers=bearer(receiver)).status_code == 403


def test_refused_petition_takes_no_answer(filing, client, answerer):
    feedback_id = send(client, filing.headers).get_json()["id"]
    assert officer_step(client, answerer, feedback_id, "refuse").status_code == 422
    refused = officer_step(
        client, answerer, feedback_id, "refuse", {"reason": "Không thuộc thẩm quyền"}
    )
    assert refused.get_json()["status"] == "refused"

    late = officer_step(client, answerer, feedback_id, "answer", {"answer": "x"})
    assert late.status_code == 409 and late.get_json()["allowed_actions"] == []
    mine = client.get(f"/api/v1/feedback/{feedback_id}", headers=filing.headers).get_json()
    assert mine["refusal_reason"] == "Không thuộc thẩm quyền"
    helpful = client.post(
        f"/api/v1/feedback/{feedback_id}/helpful", json={"helpful": False}, headers=filing.headers
    )
    assert helpful.status_code == 409


def test_a_supplement_gives_the_waiting_time_back_once(filing, client, answerer, clock):
    feedback_id = send(client, filing.headers).get_json()["id"]
    asked = officer_step(
        client, answerer, feedback_id, "request-supplement", {"items": ["Mã hồ sơ"]}
    )
    assert asked.get_json()["status"] == "supplement_requested"
    assert asked.get_json()["due_at"] is None

    clock.shift(timedelta(hours=24))  # Tuesday 09:00
    filing.refresh()
    attached = client.post(
        f"/api/v1/feedback/{feedback_id}/attachments",
        data={"file": (io.BytesIO(png()), "bien-nhan.png")},
        content_type="multipart/form-data",
        headers=filing.headers,
    )
    assert attached.status_code == 201, attached.get_json()
    back = client.post(
        f"/api/v1/feedback/{feedback_id}/supplement",
        json={"note": "Mã hồ sơ: 001.01.00.H56-261130-0001"},
        headers=filing.headers,
    )

    assert back.status_code == 200 and back.get_json()["status"] == "received"
    # The wait ran Monday 09:00 - Tuesday 09:00; Monday is the uncounted day of receipt, so
    # only Tuesday 07:30-09:00 (1.5 office hours) is given back: 21/12 17:00 -> 22/12 09:00.
    assert back.get_json()["answer_due_at"] == "2026-12-22T02:00:00+00:00"
    answerer = refreshed(client, answerer)
    again = officer_step(client, answerer, feedback_id, "request-supplement", {"items": ["x"]})
    assert again.status_code == 409


def test_files_are_checked_by_content_and_counted(filing, client, answerer, app, monkeypatch):
    monkeypatch.setitem(app.config, "FEEDBACK_MAX_ATTACHMENTS", 1)
    feedback_id = send(client, filing.headers).get_json()["id"]

    def attach(content, name):
        return client.post(
            f"/api/v1/feedback/{feedback_id}/attachments",
            data={"file": (io.BytesIO(content), name)},
            content_type="multipart/form-data",
            headers=filing.headers,
        )

    assert attach(b"not really a picture", "anh.png").status_code == 422
    kept = attach(png(), "anh.png")
    assert kept.status_code == 201 and kept.get_json()["file_type"] == "png"
    assert attach(png(), "anh-2.png").status_code == 409
    download = client.get(
        f"/api/v1/agency/feedback/{feedback_id}/attachments/{kept.get_json()['id']}",
        headers=bearer(answerer),
    )
    assert download.status_code == 200 and download.data == png()


def test_files_are_refused_once_the_petition_is_answered(filing, client, answerer):
    feedback_id = send(client, filing.headers).get_json()["id"]
    officer_step(client, answerer, feedback_id, "answer", {"answer": "Đã xử lý."})

    late = client.post(
        f"/api/v1/feedback/{feedback_id}/attachments",
        data={"file": (io.BytesIO(png()), "anh.png")},
        content_type="multipart/form-data",
        headers=filing.headers,
    )
    assert late.status_code == 409


def test_a_petition_about_my_dossier_goes_to_its_agency(filing, filing_b, client):
    receipt = filing.filed()
    about = {**PETITION, "subject": {"dossier_id": receipt["id"]}}

    mine = send(client, filing.headers, about)
    assert mine.status_code == 201 and mine.get_json()["dossier_id"] == receipt["id"]
    assert send(client, filing_b.headers, about).status_code == 404


@pytest.mark.parametrize(
    "subject",
    [{}, {"procedure_code": "1.001193", "agency_code": JUSTICE}, {"agency_code": "nope"}],
)
def test_one_subject_exactly(filing, client, subject):
    assert send(client, filing.headers, {**PETITION, "subject": subject}).status_code == 422


def test_unknown_subject_is_404(filing, client):
    unknown = {**PETITION, "subject": {"agency_code": "999.99.99.H99"}}
    assert send(client, filing.headers, unknown).status_code == 404


def test_senders_see_only_their_own(filing, filing_b, client):
    feedback_id = send(client, filing.headers).get_json()["id"]

    assert (
        client.get(f"/api/v1/feedback/{feedback_id}", headers=filing_b.headers).status_code == 404
    )
    assert client.get("/api/v1/feedback", headers=filing_b.headers).get_json()["items"] == []
    assert [
        i["id"] for i in client.get("/api/v1/feedback", headers=filing.headers).get_json()["items"]
    ] == [feedback_id]


def test_staff_do_not_send_petitions(client, answerer):
    assert send(client, bearer(answerer)).status_code == 403


def test_a_retry_with_the_same_key_files_once(filing, client):
    first = send(client, filing.headers, key="petition-key-0001")
    again = send(client, filing.headers, key="petition-key-0001")

    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert len(client.get("/api/v1/feedback", headers=filing.headers).get_json()["items"]) == 1


def test_a_sender_files_a_few_petitions_a_day(filing, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "FEEDBACK_PER_SENDER_PER_DAY", 2)
    assert send(client, filing.headers).status_code == 201
    assert send(client, filing.headers).status_code == 201

    refused = send(client, filing.headers)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == str(24 * 3600)
