"""Two API deployments side by side (two gunicorn masters) on one PostgreSQL and one Redis.

Scaling out adds machines that share nothing but the database and Redis. What one process
decides, the other must know at once: a session revoked through one is refused by the other,
a rate limit counts the requests both received, and a retry that lands on the other process
replays the first answer instead of doing the work again.
"""

from __future__ import annotations

import threading
import uuid

import pytest
import requests
import sqlalchemy as sa

from backend.dossiers.models import DossierEvent
from backend.extensions import db
from tests.helpers.processes import (
    app_env,
    citizens_signed_in,
    draft_over_http,
    in_process_app,
    migrate_and_seed,
)
from tests.helpers.work import unit_of_work

DEVICE = {"name": "Test phone", "platform": "android", "app_version": "1.0.0"}
OTP_PER_IP = 3


@pytest.fixture
def two(database, redis_server, gunicorn, tmp_path):
    """(first, second, app): two gunicorn masters of one deployment, and an in-process app."""
    env = app_env(
        database_url=database,
        redis_url=redis_server.url,
        instance=tmp_path / "inst",
        NOTIFY_DELIVERY="inline",
        RATELIMIT_OTP_PER_IP=f"{OTP_PER_IP}/minute",
    )
    app = in_process_app(env)
    migrate_and_seed(app)
    first, second = gunicorn(env, workers=1), gunicorn(env, workers=1)
    yield first, second, app
    with unit_of_work(app):
        db.engine.dispose()


def test_a_session_revoked_through_one_process_is_refused_by_the_other(two):
    first, second, app = two
    headers = citizens_signed_in(app, ["+84910000001"])[0]
    assert requests.get(f"{second.url}/api/v1/me", headers=headers, timeout=10).status_code == 200

    out = requests.post(f"{first.url}/api/v1/auth/logout", headers=headers, timeout=10)
    assert out.status_code == 204, out.text

    refused = requests.get(f"{second.url}/api/v1/me", headers=headers, timeout=10)
    assert refused.status_code == 401, refused.text
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_rate_limit_counts_the_requests_of_both_processes(two):
    first, second, _ = two
    answers = []
    for number in range(OTP_PER_IP + 1):
        server = (first, second)[number % 2]
        answers.append(
            requests.post(
                f"{server.url}/api/v1/auth/otp",
                json={"phone": f"09100000{number:02d}"},
                timeout=10,
            )
        )
    assert [a.status_code for a in answers] == [202] * OTP_PER_IP + [429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[-1].headers["Content-Type"] == "application/problem+json"


def _submits(app, dossier_id: str) -> int:
    with unit_of_work(app):
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DossierEvent)
            .where(DossierEvent.dossier_id == dossier_id, DossierEvent.action == "submit")
        )
    return count


def test_a_retry_sent_to_the_other_process_replays_the_first_answer(two):
    first, second, app = two
    headers = citizens_signed_in(app, ["+84910000002"])[0]
    dossier_id = draft_over_http(first.url, headers)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/api/v1/dossiers/{dossier_id}/submit"

    done = requests.post(f"{first.url}{path}", headers={**headers, **key}, timeout=30)
    assert done.status_code == 200, done.text
    again = requests.post(f"{second.url}{path}", headers={**headers, **key}, timeout=30)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == done.json()
    assert _submits(app, dossier_id) == 1


def test_the_same_submission_sent_to_both_at_once_is_done_once(two):
    first, second, app = two
    headers = citizens_signed_in(app, ["+84910000003"])[0]
    dossier_id = draft_over_http(first.url, headers)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/api/v1/dossiers/{dossier_id}/submit"
    receipts: dict[str, requests.Response] = {}
    start = threading.Barrier(2)

    def phone(server):
        start.wait()
        while True:  # a 409 says the other copy is still running: the phone asks again
            answer = requests.post(f"{server.url}{path}", headers={**headers, **key}, timeout=30)
            if answer.status_code != 409:
                receipts[server.url] = answer
                return

    threads = [threading.Thread(target=phone, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    answers = list(receipts.values())
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.headers.get("Idempotent-Replayed", "false") for a in answers) == [
        "false",
        "true",
    ]
    assert _submits(app, dossier_id) == 1
