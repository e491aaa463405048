"""Claim, send, record: retries with backoff, the dead letter, rows a dead worker left behind."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backend.db import utcnow
from backend.extensions import db
from backend.notifications import delivery, sweeps
from backend.notifications.models import Notification, NotificationStatus
from backend.notifications.services import notify
from tests.helpers.notifications import DOSSIER, add_citizen
from tests.helpers.work import unit_of_work
from tests.notifications.loopback import SmsGateway, serve

Status = NotificationStatus


@pytest.fixture
def gateway():
    sink = SmsGateway()
    with serve(sink) as url:
        sink.url = url
        yield sink


@pytest.fixture
def http_app(sibling, gateway):
    return sibling(SMS_CHANNEL="http", SMS_GATEWAY_URL=f"{gateway.url}/send", NOTIFY_MAX_ATTEMPTS=3)


def _queue_sms(now=None) -> Notification:
    account = add_citizen()
    [_, sms] = notify(account.id, "dossier.fees_due", DOSSIER, now=now)
    db.session.commit()
    return sms


def test_delivered_rows_keep_the_providers_reference(http_app, gateway):
    with unit_of_work(http_app):
        sms = _queue_sms()
        row = db.session.get(Notification, sms.id)
        assert row.status is Status.DELIVERED and row.attempts == 1
        assert row.provider_reference == f"gw-{row.id}" and row.delivered_at
    assert gateway.sent == {sms.id: 1}


def test_a_failure_is_retried_after_a_growing_delay_then_dead_lettered(http_app, gateway):
    gateway.failures = [503, 500, 429]
    with unit_of_work(http_app):
        start = utcnow()
        row_id = _queue_sms(now=start).id
        first = db.session.get(Notification, row_id)
        assert first.status is Status.TEMPORARY_FAILURE and first.last_error.endswith("503")
        delay_1 = first.next_attempt_at - utcnow()
        assert timedelta(seconds=7) <= delay_1 <= timedelta(seconds=15)

        with time_machine.travel(start + timedelta(seconds=5), tick=False):
            assert sweeps.sweep(now=utcnow())["due"] == 0  # not yet
        with time_machine.travel(start + timedelta(seconds=16), tick=False) as clock:
            sweeps.sweep(now=utcnow())
            second = db.session.get(Notification, row_id)
            db.session.refresh(second)
            assert second.status is Status.TEMPORARY_FAILURE and second.attempts == 2
            assert second.next_attempt_at - utcnow() >= timedelta(seconds=15)
            clock.shift(timedelta(seconds=31))
            sweeps.sweep(now=utcnow())
            db.session.refresh(second)
    assert second.status is Status.TECHNICAL_FAILURE and second.attempts == 3
    assert second.last_error.startswith("gave up after 3") and second.next_attempt_at is None
    assert gateway.sent == {}


def test_a_refused_number_is_a_permanent_failure_and_not_retried(http_app, gateway):
    gateway.failures = [400]
    with unit_of_work(http_app):
        row = db.session.get(Notification, _queue_sms().id)
        assert row.status is Status.PERMANENT_FAILURE and "400" in row.last_error
        with time_machine.travel(utcnow() + timedelta(days=1)):
            assert sweeps.sweep(now=utcnow())["due"] == 0
    assert sum(gateway.requests.values()) == 1


def test_a_row_left_sending_by_a_dead_worker_is_sent_again(http_app, gateway):
    with unit_of_work(http_app):
        account = add_citizen()
        [_, sms] = notify(account.id, "dossier.decided", DOSSIER)
        db.session.flush()
        _token, claimed = delivery.claim(ids=[sms.id], limit=10, now=utcnow())
        assert [row.id for row in claimed] == [sms.id]
        # ... and the worker dies here, before sending.
        assert sweeps.sweep(now=utcnow())["reclaimed"] == 0  # still within the timeout
        with time_machine.travel(utcnow() + timedelta(seconds=301)):
            report = sweeps.sweep(now=utcnow())
        assert report["reclaimed"] == 1
        row = db.session.get(Notification, sms.id)
        db.session.refresh(row)
        assert row.status is Status.DELIVERED and row.attempts == 2
    assert gateway.sent == {sms.id: 1}


def test_a_worker_that_lost_its_claim_does_not_overwrite_the_new_owner(http_app):
    with unit_of_work(http_app):
        account = add_citizen()
        [_, sms] = notify(account.id, "dossier.decided", DOSSIER)
        db.session.flush()
        token, _ = delivery.claim(ids=[sms.id], limit=10, now=utcnow())
        db.session.execute(
            sa.update(Notification)
            .values(claim_token="someone-else")
            .where(Notification.id == sms.id)
        )
        report = delivery.DeliveryReport()
        delivery._record(sms, token, delivery.Delivered("late"), report)
        row = db.session.get(Notification, sms.id)
        db.session.refresh(row)
        assert row.status is Status.SENDING and row.provider_reference is None
        assert report.outcomes == {}
        db.session.rollback()


def test_a_lost_job_is_picked_up_by_the_sweeper(sibling, gateway):
    # queue mode with no Redis reachable: the hand-over fails, the row stays "created".
    lost = sibling(
        SMS_CHANNEL="http",
        SMS_GATEWAY_URL=f"{gateway.url}/send",
        NOTIFY_DELIVERY="queue",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    with unit_of_work(lost):
        row_id = _queue_sms().id
        assert db.session.get(Notification, row_id).status is Status.CREATED
    inline = sibling(SMS_CHANNEL="http", SMS_GATEWAY_URL=f"{gateway.url}/send")
    with unit_of_work(inline):
        assert sweeps.sweep(now=utcnow())["due"] == 0  # within the grace period
        with time_machine.travel(utcnow() + timedelta(seconds=61)):
            sweeps.sweep(now=utcnow())
        assert db.session.get(Notification, row_id).status is Status.DELIVERED
    assert gateway.sent == {row_id: 1}


@pytest.mark.committing
@pytest.mark.postgres_only
def test_claims_skip_rows_another_worker_is_claiming(app):
    with unit_of_work(app):
        account = add_citizen()
        ids = [notify(account.id, "dossier.fees_due", DOSSIER)[1].id for _ in range(4)]
        db.session.commit()  # sent inline; make them waiting again
        db.session.execute(sa.update(Notification).values(status=Status.CREATED))
        db.session.commit()
    locked = threading.Event()
    release = threading.Event()

    def hold_two():
        with unit_of_work(app):
            db.session.scalars(
                sa.select(Notification).where(Notification.id.in_(ids[:2])).with_for_update()
            ).all()
            locked.set()
            release.wait(10)
            db.session.rollback()

    holder = threading.Thread(target=hold_two)
    holder.start()
    try:
        assert locked.wait(10)
        with unit_of_work(app):
            _, claimed = delivery.claim(ids=ids, limit=10, now=utcnow())
            assert sorted(row.id for row in claimed) == sorted(ids[2:])
    finally:
        release.set()
        holder.join()
