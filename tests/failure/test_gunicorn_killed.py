"""kill -9 gunicorn workers during a wave of submissions from phones.

A phone whose connection breaks sends the same request again with the same Idempotency-Key.
Afterwards no dossier is lost, none is filed twice, and none is half-written: a submitted
dossier has its code, dates, event and notifications; any other is still a clean draft. Each
submission's push then reaches the phone exactly once.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests
import sqlalchemy as sa
from rq import SimpleWorker

from backend.db import utcnow
from backend.dossiers.models import Dossier, DossierEvent, DossierStatus
from backend.extensions import db
from backend.notifications import jobs, sweeps
from backend.notifications.models import Notification, NotificationStatus
from tests.helpers.processes import (
    app_env,
    citizens_signed_in,
    draft_over_http,
    in_process_app,
    log_tail,
    migrate_and_seed,
    wait_for,
)
from tests.helpers.signin import outbox_lines
from tests.helpers.work import unit_of_work

CITIZENS = 24
CLIENTS = 6
DEVICE = {"name": "Test phone", "platform": "android", "app_version": "1.0.0"}


@pytest.fixture
def deployment(database, redis_server, tmp_path):
    """Environment and an in-process app of one deployment on a fresh database."""
    env = app_env(
        database_url=database,
        redis_url=redis_server.url,
        instance=tmp_path / "inst",
        # A push whose job a killed worker never queued is the sweeper's at once.
        NOTIFY_DISPATCH_GRACE_SECONDS="0",
    )
    app = in_process_app(env)
    migrate_and_seed(app)
    yield env, app
    with unit_of_work(app):
        db.engine.dispose()


def _prepare_draft(base: str, headers: dict, number: int) -> str:
    """A draft with its birth certificate attached, and the phone's push token registered."""
    device = requests.post(
        f"{base}/api/v1/me/devices",
        json={"token": f"push-token-{number:04d}-{uuid.uuid4().hex}", "platform": "android"},
        headers=headers,
        timeout=30,
    )
    assert device.status_code == 201, device.text
    return draft_over_http(base, headers)


@dataclass
class Outcome:
    """What one phone saw while submitting one dossier."""

    dossier_id: str
    key: str
    receipt: dict | None = None
    status: int | None = None
    connection_errors: int = 0
    replayed: bool = False
    answers: list[int] = field(default_factory=list)


def _submit_like_a_phone(base: str, headers: dict, dossier_id: str, *, deadline: float) -> Outcome:
    """Submit; on a broken connection, a 409 "still running" or a 503, send it again as is."""
    outcome = Outcome(dossier_id, key=f"submit-{uuid.uuid4().hex}")
    with requests.Session() as http:
        while time.monotonic() < deadline:
            try:
                answer = http.post(
                    f"{base}/api/v1/dossiers/{dossier_id}/submit",
                    headers={**headers, "Idempotency-Key": outcome.key},
                    timeout=20,
                )
            except requests.RequestException:
                outcome.connection_errors += 1
                http.close()  # a new connection, as after a network change
                continue
            outcome.answers.append(answer.status_code)
            if answer.status_code == 409 or answer.status_code == 503:
                time.sleep(0.1)
                continue
            outcome.status = answer.status_code
            if answer.status_code == 200:
                outcome.receipt = answer.json()
                outcome.replayed = answer.headers.get("Idempotent-Replayed") == "true"
            return outcome
    return outcome


def _rows(app):
    with unit_of_work(app):
        dossiers = {d.id: d for d in db.session.scalars(sa.select(Dossier))}
        events = Counter(
            db.session.scalars(
                sa.select(DossierEvent.dossier_id).where(DossierEvent.action == "submit")
            )
        )
        notes = Counter(
            (n.data.get("dossier_id"), n.channel.value, n.account_id)
            for n in db.session.scalars(
                sa.select(Notification).where(Notification.kind == "dossier.submitted")
            )
        )
        db.session.expunge_all()
    return dossiers, events, notes


def test_gunicorn_workers_killed_during_submissions_lose_and_duplicate_nothing(
    deployment, gunicorn
):
    env, app = deployment
    server = gunicorn(env, workers=2)
    headers = citizens_signed_in(app, [f"+8491{n:07d}" for n in range(CITIZENS)])
    with ThreadPoolExecutor(CLIENTS) as pool:
        drafts = list(
            pool.map(lambda n: _prepare_draft(server.url, headers[n], n), range(CITIZENS))
        )

    # Act: phones submit from CLIENTS threads; two workers die, one after the other.
    work: queue.Queue[int] = queue.Queue()
    for number in range(CITIZENS):
        work.put(number)
    outcomes: dict[str, Outcome] = {}
    deadline = time.monotonic() + 45

    def phone():
        while True:
            try:
                number = work.get_nowait()
            except queue.Empty:
                return
            outcome = _submit_like_a_phone(
                server.url, headers[number], drafts[number], deadline=deadline
            )
            outcomes[outcome.dossier_id] = outcome

    threads = [threading.Thread(target=phone, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    killed = []
    for done_before_kill in (CITIZENS // 5, CITIZENS // 2):
        wait_for(
            lambda n=done_before_kill: len(outcomes) >= n,
            timeout=30,
            what=f"{done_before_kill} submissions answered",
        )
        pids = wait_for(server.worker_pids, timeout=30, what="a live worker")
        victim = next(pid for pid in pids if pid not in killed)
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert server.process.poll() is None, log_tail(server.process)

    # Assert: nothing half-written, whatever each phone was told.
    assert sorted(outcomes) == sorted(drafts)
    dossiers, events, notes = _rows(app)
    for dossier_id, outcome in outcomes.items():
        dossier = dossiers[dossier_id]
        if outcome.status != 200:
            # Still a clean draft: no code, no event, no notification.
            assert dossier.status is DossierStatus.DRAFT and dossier.code is None
            assert dossier.submitted_at is None and dossier.due_at is None
            assert events[dossier_id] == 0
            assert not [n for n in notes if n[0] == dossier_id]
            continue
        # The receipt the phone holds is the dossier as stored: code, received and due dates.
        assert dossier.status is DossierStatus.SUBMITTED
        assert outcome.receipt["code"] == dossier.code
        assert dossier.submitted_at is not None and dossier.due_at is not None
        assert events[dossier_id] == 1  # one "submit" event: filed exactly once
        # One notification per channel for the citizen: the inbox and the phone's push.
        assert notes[(dossier_id, "inbox", dossier.citizen_id)] == 1
        assert notes[(dossier_id, "push", dossier.citizen_id)] == 1
    # And nothing lost: every phone, retrying as it does, got its receipt.
    unanswered = {o.dossier_id: o.answers for o in outcomes.values() if o.status != 200}
    assert unanswered == {}
    codes = [dossiers[d].code for d in drafts]
    assert len(set(codes)) == CITIZENS  # unique codes
    assert sum(notes.values()) == 2 * CITIZENS
    retried = [o for o in outcomes.values() if o.connection_errors]
    assert retried, "no request was in flight or kept alive when the workers died"

    # Every push reaches the phone once, including those of requests cut after their commit:
    # the sweeper queues what was never handed over, a worker sends the lot.
    with unit_of_work(app):
        sweeps.sweep(now=utcnow())
        notifications = jobs.queue()
        SimpleWorker([notifications], connection=notifications.connection).work(burst=True)
    pushed = Counter(line["id"] for line in outbox_lines(app) if line["channel"] == "push")
    with unit_of_work(app):
        push_ids = db.session.scalars(
            sa.select(Notification.id).where(
                Notification.channel == "push",
                Notification.status == NotificationStatus.DELIVERED,
            )
        ).all()
    assert len(push_ids) == CITIZENS
    assert pushed == dict.fromkeys(push_ids, 1)
    print(  # shown with -s: what the kills did to the phones
        f"\n{len(retried)} phones retried after a broken connection, "
        f"{sum(o.replayed for o in outcomes.values())} got the stored receipt replayed",
        file=sys.stderr,
    )
