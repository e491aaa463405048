"""flask sweep: purges, registered tasks, forgotten devices; flask worker needs Redis."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import AccountKind, OtpChallenge, RefreshToken, Session
from backend.notifications import sweeps
from backend.notifications.models import Device, Notification, NotificationStatus
from backend.notifications.services import notify
from tests.helpers.notifications import DOSSIER, add_citizen, add_device
from tests.helpers.work import statements_sent, unit_of_work


@pytest.fixture
def registry():
    """Leave the process-wide registries as they were."""
    purges, tasks = dict(sweeps._PURGES), dict(sweeps._TASKS)
    yield
    sweeps._PURGES.clear()
    sweeps._PURGES.update(purges)
    sweeps._TASKS.clear()
    sweeps._TASKS.update(tasks)


def _challenge(expires_at) -> OtpChallenge:
    challenge = OtpChallenge(
        phone="+84912345678",
        audience=AccountKind.CITIZEN,
        code_digest="0" * 64,
        created_at=expires_at - timedelta(minutes=5),
        expires_at=expires_at,
    )
    db.session.add(challenge)
    return challenge


def test_otp_challenges_go_a_day_after_they_expire(ctx):
    now = utcnow()
    _challenge(now - timedelta(days=1, minutes=1))
    recent = _challenge(now - timedelta(hours=2))
    db.session.commit()
    report = sweeps.sweep(now=now)
    assert report["purged"]["otp_challenges.expires_at"] == 1
    assert db.session.scalars(sa.select(OtpChallenge.id)).all() == [recent.id]


def test_a_purge_deletes_a_backlog_in_batches(app, ctx, monkeypatch):
    monkeypatch.setattr(sweeps, "PURGE_BATCH", 2)
    now = utcnow()
    for minutes in range(5):
        _challenge(now - timedelta(days=2, minutes=minutes))
    recent = _challenge(now - timedelta(hours=2))
    db.session.commit()
    report, sent = statements_sent(app, lambda: sweeps.sweep(now=now))
    assert report["purged"]["otp_challenges.expires_at"] == 5
    assert len([s for s in sent if s.startswith("DELETE FROM otp_challenges")]) == 3  # 2, 2, 1
    assert db.session.scalars(sa.select(OtpChallenge.id)).all() == [recent.id]


def test_refresh_tokens_go_a_day_after_they_expire_but_each_sessions_newest_stays(ctx):
    now = utcnow()
    account = add_citizen()
    made: list[RefreshToken] = []

    def session() -> Session:
        row = Session(
            account=account, acr=0, amr=["otp"], mfa_complete=True,
            created_at=now - timedelta(days=120), expires_at=now + timedelta(days=60),
        )  # fmt: skip
        db.session.add(row)
        db.session.flush()
        return row

    def token(owner: Session, *, issued: timedelta, lasts: timedelta) -> RefreshToken:
        row = RefreshToken(
            session_id=owner.id,
            digest=f"{len(made):064d}",
            issued_at=now - issued,
            expires_at=now - issued + lasts,
        )
        db.session.add(row)
        made.append(row)
        return row

    day = timedelta(days=1)
    active, idle = session(), session()
    token(active, issued=60 * day, lasts=30 * day)  # a month past its expiry: goes
    recent = token(active, issued=20 * day, lasts=19.75 * day)  # expired 6 hours ago
    live = token(active, issued=timedelta(hours=1), lasts=30 * day)
    token(idle, issued=100 * day, lasts=30 * day)  # goes
    last = token(idle, issued=90 * day, lasts=30 * day)  # long expired, but idle's newest
    db.session.commit()
    seen = db.session.get(Session, idle.id).last_seen_at
    report = sweeps.sweep(now=now)
    assert report["purged"]["refresh_tokens.expires_at"] == 2
    assert set(db.session.scalars(sa.select(RefreshToken.id))) == {recent.id, live.id, last.id}
    db.session.expire_all()
    assert db.session.get(Session, idle.id).last_seen_at == seen == last.issued_at


def test_old_delivery_rows_go_but_the_inbox_stays(ctx):
    account = add_citizen()
    rows = notify(account.id, "dossier.decided", DOSSIER)  # inbox + sms, delivered inline
    db.session.commit()
    later = utcnow() + timedelta(days=91)
    report = sweeps.sweep(now=later)
    assert report["purged"]["notifications.created_at"] == 1
    [kept] = db.session.scalars(sa.select(Notification)).all()
    assert kept.id == rows[0].id and kept.channel.value == "inbox"


def test_other_domains_register_purges_and_tasks(ctx, registry):
    seen = []
    sweeps.register_purge(Session, Session.expires_at, timedelta(days=30))
    sweeps.register_sweep_task("probe", lambda *, now: seen.append(now) or 7)
    now = utcnow()
    report = sweeps.sweep(now=now)
    assert report["purged"]["sessions.expires_at"] == 0
    assert report["tasks"]["probe"] == 7 and seen == [now]


def test_devices_of_expired_sessions_are_forgotten(ctx):
    account = add_citizen()
    device = add_device(account, "token-" + "e" * 30)
    session = db.session.get(Session, device.session_id)
    session.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    report = sweeps.sweep(now=utcnow())
    assert report["tasks"]["forget_devices_of_ended_sessions"] == 1
    assert db.session.scalars(sa.select(Device)).all() == []


def test_flask_sweep_prints_what_it_did(runner, app):
    with unit_of_work(app):
        account = add_citizen()
        sms_id = notify(account.id, "dossier.fees_due", DOSSIER)[1].id
        db.session.commit()  # sent inline; now pretend that attempt failed
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id == sms_id)
            .values(status=NotificationStatus.TEMPORARY_FAILURE, next_attempt_at=utcnow())
        )
        db.session.commit()
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["due"] == 1
    with unit_of_work(app):
        assert db.session.get(Notification, sms_id).status is NotificationStatus.DELIVERED


def test_flask_worker_explains_that_it_needs_redis(sibling):
    app = sibling(REDIS_URL=None)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL" in result.output
