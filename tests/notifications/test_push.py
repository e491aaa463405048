"""Push through FCM HTTP v1, against a loopback server that speaks Google's protocols."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backend.db import utcnow
from backend.extensions import db
from backend.notifications import sweeps
from backend.notifications.models import Device, Notification, NotificationStatus
from backend.notifications.services import notify
from tests.helpers.notifications import DOSSIER, add_citizen, add_device
from tests.helpers.work import unit_of_work
from tests.notifications.loopback import FakeFcm, serve

Status = NotificationStatus
TOKENS = [f"fcm-{name}-" + "t" * 30 for name in ("phone", "tablet", "old")]


@pytest.fixture
def fcm():
    fake = FakeFcm()
    with serve(fake) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def push_app(sibling, fcm, tmp_path):
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(fcm.service_account()))
    return sibling(
        PUSH_CHANNEL="fcm", FCM_CREDENTIALS_FILE=str(key_file), FCM_ENDPOINT=fcm.base_url
    )


def _push_rows() -> dict[str, Notification]:
    rows = db.session.scalars(sa.select(Notification).where(Notification.channel == "push"))
    return {row.address: row for row in rows}


def test_one_message_per_device_signed_in_with_a_service_account(push_app, fcm):
    with unit_of_work(push_app):
        account = add_citizen(language="en")
        devices = [add_device(account, token) for token in TOKENS[:2]]
        notify(account.id, "dossier.supplement_requested", DOSSIER)
        db.session.commit()
        rows = _push_rows()
        assert all(rows[d.id].status is Status.DELIVERED for d in devices)
        assert {r.provider_reference for r in rows.values()} == {
            f"projects/{FakeFcm.PROJECT}/messages/{n}" for n in (1, 2)
        }
    assert len(fcm.tokens_issued) == 1  # one sign-in for the batch
    sent = {message["token"]: message for message in fcm.sent}
    assert set(sent) == set(TOKENS[:2])
    message = sent[TOKENS[0]]
    assert message["notification"]["title"] == "Documents needed"
    assert message["data"]["link"] == f"dvc://dossiers/{DOSSIER['dossier_id']}"
    assert message["android"]["collapse_key"] == message["data"]["notification_id"]


@pytest.mark.parametrize("code", ["UNREGISTERED", "INVALID_ARGUMENT"])
def test_a_token_fcm_reports_dead_removes_its_device(push_app, fcm, code):
    fcm.errors[TOKENS[2]] = [(404 if code == "UNREGISTERED" else 400, code)]
    with unit_of_work(push_app):
        account = add_citizen()
        alive, dead = add_device(account, TOKENS[0]).id, add_device(account, TOKENS[2]).id
        notify(account.id, "dossier.accepted", DOSSIER)
        db.session.commit()
        rows = _push_rows()
        assert rows[alive].status is Status.DELIVERED
        assert rows[dead].status is Status.PERMANENT_FAILURE and code in rows[dead].last_error
        assert [d.id for d in db.session.scalars(sa.select(Device))] == [alive]


def test_unavailable_and_server_errors_are_retried(push_app, fcm):
    fcm.errors[TOKENS[0]] = [(503, "UNAVAILABLE"), (500, "")]
    with unit_of_work(push_app):
        account = add_citizen()
        device = add_device(account, TOKENS[0])
        notify(account.id, "dossier.decided", DOSSIER)
        db.session.commit()
        row = _push_rows()[device.id]
        assert row.status is Status.TEMPORARY_FAILURE and "UNAVAILABLE" in row.last_error
        with time_machine.travel(utcnow() + timedelta(minutes=2), tick=False) as clock:
            sweeps.sweep(now=utcnow())
            db.session.refresh(row)
            assert row.status is Status.TEMPORARY_FAILURE and "INTERNAL" in row.last_error
            clock.shift(timedelta(minutes=2))
            sweeps.sweep(now=utcnow())
            db.session.refresh(row)
        assert row.status is Status.DELIVERED and row.attempts == 3
        assert db.session.get(Device, device.id) is not None
    assert [m["token"] for m in fcm.sent] == [TOKENS[0]]


def test_a_rejected_access_token_is_renewed_on_the_next_try(push_app, fcm):
    with unit_of_work(push_app):
        account = add_citizen()
        device = add_device(account, TOKENS[0])
        notify(account.id, "dossier.accepted", DOSSIER)
        db.session.commit()
        fcm.unauthorized.append(fcm.tokens_issued[0])  # revoked at Google's end
        notify(account.id, "dossier.processing", DOSSIER)
        db.session.commit()
        rows = db.session.scalars(
            sa.select(Notification)
            .where(Notification.address == device.id)
            .order_by(Notification.id)
        ).all()
        assert rows[1].status is Status.TEMPORARY_FAILURE
        with time_machine.travel(utcnow() + timedelta(minutes=2)):
            sweeps.sweep(now=utcnow())
        db.session.refresh(rows[1])
        assert rows[1].status is Status.DELIVERED
    assert len(fcm.tokens_issued) == 2


def test_a_device_signed_out_before_sending_gets_nothing(push_app, fcm):
    with unit_of_work(push_app):
        account = add_citizen()
        device = add_device(account, TOKENS[0])
        [push] = [r for r in notify(account.id, "dossier.accepted", DOSSIER) if r.address]
        db.session.delete(device)
        db.session.commit()
        db.session.refresh(push)
        assert push.status is Status.PERMANENT_FAILURE
    assert fcm.sent == []
