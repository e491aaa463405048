"""Real `flask worker` processes on PostgreSQL and Redis: killed mid-batch, or two at once.

The SMS gateway on loopback counts every call by notification id (its Idempotency-Key) and,
like a gateway that honours the key, hands a repeated message to the phone only once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from backend import create_app
from backend.db import utcnow
from backend.extensions import db
from backend.notifications import dispatch, jobs, sweeps
from backend.notifications.models import Notification, NotificationStatus
from backend.notifications.services import notify
from tests.helpers.notifications import DOSSIER, add_citizen
from tests.helpers.stacks import app_config
from tests.helpers.work import unit_of_work
from tests.notifications.loopback import SmsGateway, serve

pytestmark = [pytest.mark.committing, pytest.mark.postgres_only]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def gateway():
    sink = SmsGateway(delay=0.02)
    with serve(sink) as url:
        sink.url = f"{url}/send"
        yield sink


@pytest.fixture
def settings(stack, tmp_path, gateway):
    """One configuration for this process and the workers: environment and app config."""
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": stack.database_url,
        "REDIS_URL": stack.redis_url,
        "INSTANCE_PATH": str(tmp_path),
        "SMS_CHANNEL": "http",
        "SMS_GATEWAY_URL": gateway.url,
        "NOTIFY_DELIVERY": "queue",
        "NOTIFY_BATCH_SIZE": "20",
        "NOTIFY_DISPATCH_GRACE_SECONDS": "0",
        "NOTIFY_SENDING_TIMEOUT_SECONDS": "1",
        "PUSH_CHANNEL": "off",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def queue_app(stack, settings):
    overrides = {
        key: int(value) if value.isdigit() else value
        for key, value in settings.items()
        if key.startswith(("NOTIFY_", "SMS_", "PUSH_"))
    }
    app = create_app(app_config(stack, Path(settings["INSTANCE_PATH"]), **overrides))
    yield app
    with unit_of_work(app):
        db.engine.dispose()


@pytest.fixture
def start_worker(settings):
    started: list[subprocess.Popen] = []

    def _start(*args: str) -> subprocess.Popen:
        env = {**os.environ, **settings, "FLASK_APP": "backend"}
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: kill -9 reaches all of it
        )
        started.append(process)
        return process

    yield _start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stderr.close()


def _queue_sms(app, count: int) -> list[str]:
    with unit_of_work(app):
        account = add_citizen()
        ids = [notify(account.id, "dossier.fees_due", DOSSIER)[1].id for _ in range(count)]
        db.session.commit()  # one commit, queued as count / NOTIFY_BATCH_SIZE jobs
    return ids


def _statuses(app) -> dict[str, NotificationStatus]:
    with unit_of_work(app):
        rows = db.session.execute(
            sa.select(Notification.id, Notification.status).where(Notification.channel == "sms")
        )
        statuses = dict(rows.all())
    return statuses


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _finish(process: subprocess.Popen) -> None:
    assert process.wait(30) == 0, process.stderr.read().decode()[-2000:]


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(queue_app, gateway, start_worker):
    ids = _queue_sms(queue_app, 60)
    doomed = start_worker()
    _wait_for(lambda: len(gateway.sent) >= 25, timeout=20, what="the first worker to send")
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(10)
    statuses = _statuses(queue_app)
    assert NotificationStatus.SENDING in statuses.values()  # it died holding a batch
    assert len(gateway.sent) < 60

    time.sleep(1.1)  # past NOTIFY_SENDING_TIMEOUT_SECONDS
    with unit_of_work(queue_app):
        report = sweeps.sweep(now=utcnow())
    assert report["reclaimed"] >= 1
    _finish(start_worker("--burst"))

    assert set(_statuses(queue_app).values()) == {NotificationStatus.DELIVERED}
    assert gateway.sent == dict.fromkeys(ids, 1)  # every message reached a phone once
    # Only the message in flight when the worker died can have been offered twice.
    assert sum(gateway.requests.values()) - len(ids) <= 1
    with unit_of_work(queue_app):
        references = db.session.scalars(
            sa.select(Notification.provider_reference).where(Notification.id.in_(ids))
        ).all()
    assert sorted(references) == sorted(f"gw-{i}" for i in ids)


def test_two_workers_on_one_queue_deliver_each_message_once(queue_app, gateway, start_worker):
    ids = _queue_sms(queue_app, 80)
    with unit_of_work(queue_app):
        dispatch.enqueue(list(reversed(ids)))  # every row queued twice, in the other order
        dispatch.enqueue(jobs=4)  # and jobs that take any due rows
    first, second = start_worker("--burst"), start_worker("--burst")
    _finish(first)
    _finish(second)

    assert set(_statuses(queue_app).values()) == {NotificationStatus.DELIVERED}
    assert gateway.requests == dict.fromkeys(ids, 1)  # not even offered twice


def test_a_rolled_back_transition_queues_nothing(queue_app, gateway):
    with unit_of_work(queue_app):
        account = add_citizen()
        db.session.commit()
        notify(account.id, "dossier.decided", DOSSIER)
        db.session.rollback()
        notify(account.id, "dossier.refused", DOSSIER)  # no SMS by default: inbox only
        db.session.commit()
        notifications = jobs.queue()
        assert notifications.count == 0
        sweeps.sweep(now=utcnow())
        SimpleWorker([notifications], connection=notifications.connection).work(burst=True)
        kinds = db.session.scalars(sa.select(Notification.kind)).all()
    assert kinds == ["dossier.refused"]
    assert gateway.requests == {}
