"""Every step the citizen should hear of is queued with it; officers get a daily digest."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from backend.db import utcnow as _now
from backend.dossiers.sweeps import send_officer_digests
from backend.extensions import db
from backend.notifications.models import Notification
from tests.helpers.dossiers import officer_post
from tests.helpers.signin import bearer, outbox_lines
from tests.helpers.work import unit_of_work


def kinds(app) -> list[str]:
    with unit_of_work(app):
        return list(
            db.session.scalars(
                sa.select(Notification.kind)
                .where(Notification.channel == "inbox")
                .order_by(Notification.created_at, Notification.id)
            )
        )


def test_each_step_reaches_the_citizens_inbox(filing, client, receiver, leader, app):
    receipt = filing.filed()
    officer_post(client, receiver, receipt["id"], "accept")
    officer_post(client, leader, receipt["id"], "start")
    client.post(
        f"/api/v1/agency/dossiers/{receipt['id']}/request-supplement",
        json={"items": ["Giấy chứng nhận kết hôn"]},
        headers=bearer(leader),
    )
    # The clock is frozen, so the rows share a moment: compare them unordered.
    assert sorted(kinds(app)) == [
        "dossier.accepted",
        "dossier.processing",
        "dossier.submitted",
        "dossier.supplement_requested",
    ]
    inbox = client.get("/api/v1/me/notifications", headers=filing.headers).get_json()["items"]
    assert all(receipt["code"] in item["body"] for item in inbox)
    # A supplement request also goes by SMS, with the code, to the citizen's phone.
    sms = [line for line in outbox_lines(app) if line.get("kind") == "dossier.supplement_requested"]
    assert sms and sms[-1]["to"] == "+84912345678" and receipt["code"] in sms[-1]["text"]


def test_a_refused_step_queues_nothing(filing, app):
    dossier = filing.draft().get_json()
    assert filing.submit(dossier["id"]).status_code == 422  # no documents
    assert kinds(app) == []


def test_officers_get_one_digest_a_day(filing, app, receiver, clock):
    filing.filed()  # due Tuesday 09:00: within one working day
    with unit_of_work(app):
        assert send_officer_digests(now=_now()) == 1
        assert send_officer_digests(now=_now()) == 0  # once a day
        digest = db.session.scalar(
            sa.select(Notification).where(
                Notification.kind == "officer.digest", Notification.channel == "inbox"
            )
        )
        assert digest.data == {"due_soon": 1, "overdue": 0}
    clock.shift(timedelta(days=1))
    with unit_of_work(app):
        assert send_officer_digests(now=_now()) == 1


def test_no_digest_before_opening_or_on_a_day_off(filing, app, receiver, clock):
    filing.filed()
    clock.shift(timedelta(hours=-3))  # Monday 06:00
    with unit_of_work(app):
        assert send_officer_digests(now=_now()) == 0
    clock.shift(timedelta(days=-1, hours=3))  # Sunday 09:00
    with unit_of_work(app):
        assert send_officer_digests(now=_now()) == 0


def test_answering_officers_get_a_feedback_digest(app, client, filing, make_staff, clock):
    from backend.engagement.sweeps import send_feedback_digests

    make_staff("0911300001", agency="001.01.00.H56", role="feedback_officer")
    sent = client.post(
        "/api/v1/feedback",
        headers=filing.headers,
        json={
            "subject": {"agency_code": "001.01.00.H56"},
            "category": "delay",
            "title": "Thời gian chờ",
            "text": "Thời gian chờ ở bộ phận một cửa quá lâu.",
        },
    )
    assert sent.status_code == 201, sent.get_json()
    # Refuse-or-start within 2 working days: due Wednesday 17:00; on Wednesday 10:00 it is near.
    clock.shift(timedelta(days=2, hours=1))
    with unit_of_work(app):
        assert send_feedback_digests(now=_now()) == 1
        assert send_feedback_digests(now=_now()) == 0
