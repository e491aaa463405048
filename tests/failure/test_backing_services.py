"""PostgreSQL or Redis stops under a stream of requests, then comes back.

The API runs under gunicorn against servers of the test's own (a throwaway cluster, its own
redis-server), never the shared ones. While a server is down the requests that need it answer
503 problem+json at once, never 500 and never a hang; once it is back they succeed again by
themselves, without restarting the API.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from rq import SimpleWorker

from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Account, AccountKind
from backend.identity.services import sessions
from backend.notifications import jobs, sweeps
from backend.notifications.models import Notification, NotificationStatus
from tests.helpers.dossiers import BIRTH, BIRTH_DATA
from tests.helpers.processes import app_env, in_process_app, migrate_and_seed, wait_for
from tests.helpers.work import unit_of_work
from tests.storage.samples import png

TIMEOUT = 10  # seconds: a request slower than this counts as a hang
PHONES = itertools.count(10000000)  # a new phone each time: no per-phone limit in the way
UP = {"procedures": 200, "dossier": 200, "otp": 202, "ready": 200}


@pytest.fixture(scope="module")
def deployment(postgres_cluster, redis_server, gunicorn, tmp_path_factory):
    """The API on the throwaway servers, and a citizen's token and draft."""
    env = app_env(
        database_url=postgres_cluster.url,
        redis_url=redis_server.url,
        instance=tmp_path_factory.mktemp("instance"),
        # Rows whose hand-over to the workers failed are due for the sweeper at once.
        NOTIFY_DISPATCH_GRACE_SECONDS="0",
        # A frozen server: give up on it well within the client's TIMEOUT.
        DATABASE_REQUEST_DEADLINE_SECONDS="3",
        DATABASE_CONNECT_TIMEOUT="2",
    )
    app = in_process_app(env)
    migrate_and_seed(app)
    with unit_of_work(app):
        account = Account(kind=AccountKind.CITIZEN, phone="+84912345678", created_at=utcnow())
        db.session.add(account)
        db.session.flush()
        pair = sessions.start_session(
            account=account, acr=0, amr=["otp"], mfa_complete=True, device={}, now=utcnow()
        )
        db.session.commit()
    server = gunicorn(env, workers=1)
    headers = {"Authorization": f"Bearer {pair.access_token}"}
    draft = requests.post(
        f"{server.url}/api/v1/dossiers",
        json={"procedure_code": BIRTH, "data": BIRTH_DATA},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert draft.status_code == 201, draft.text
    device = requests.post(
        f"{server.url}/api/v1/me/devices",
        json={"token": "push-token-of-the-test-phone", "platform": "android"},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert device.status_code == 201, device.text
    yield Deployment(server.url, headers, draft.json()["id"], app)
    with unit_of_work(app):
        db.engine.dispose()


@dataclass
class Deployment:
    url: str
    headers: dict
    dossier_id: str
    app: Flask


@pytest.fixture
def api(deployment, postgres_cluster, redis_server):
    """The phone's stream of requests, on servers that are all up when the test begins."""
    postgres_cluster.ensure_running()
    redis_server.ensure_running()
    stream = Stream(deployment.url, deployment.headers, deployment.dossier_id)
    wait_for(stream.recovered, timeout=30, what="the API to answer", explain=lambda: stream.last)
    stream.answers.clear()
    return stream


class Stream:
    """The requests a phone keeps sending: the catalog, its dossier, a sign-in code."""

    def __init__(self, base: str, headers: dict, dossier_id: str):
        self.base = base
        self.headers = headers
        self.dossier_id = dossier_id
        self.answers: list[requests.Response] = []
        self.last: dict[str, int] = {}

    def probe(self) -> dict[str, int]:
        calls = {
            "procedures": lambda: requests.get(f"{self.base}/api/v1/procedures", timeout=TIMEOUT),
            "dossier": lambda: requests.get(
                f"{self.base}/api/v1/dossiers/{self.dossier_id}",
                headers=self.headers,
                timeout=TIMEOUT,
            ),
            # Redis counts the requests per address (rate limits); PostgreSQL keeps the code.
            "otp": lambda: requests.post(
                f"{self.base}/api/v1/auth/otp",
                json={"phone": f"09{next(PHONES):08d}"},
                timeout=TIMEOUT,
            ),
            "ready": lambda: requests.get(f"{self.base}/readyz", timeout=TIMEOUT),
        }
        statuses = {}
        for name, call in calls.items():
            answer = call()  # a requests.Timeout here is a hang: the test fails
            self.answers.append(answer)
            statuses[name] = answer.status_code
        return statuses

    def recovered(self) -> bool:
        self.last = self.probe()
        return self.last == UP

    @contextmanager
    def in_background(self) -> Iterator[None]:
        """Another phone sends the same requests all along, some of them mid-flight at the cut."""
        failures: list[BaseException] = []
        stop = threading.Event()

        def keep_sending() -> None:
            while not stop.is_set():
                try:
                    self.probe()
                except BaseException as error:  # a hang or a dropped connection: reported below
                    failures.append(error)
                    return

        sender = threading.Thread(target=keep_sending, daemon=True)
        sender.start()
        try:
            yield
        finally:
            stop.set()
            sender.join(2 * TIMEOUT * len(UP))
        assert not sender.is_alive(), "a request hung"
        assert failures == []

    def assert_only_up_or_unavailable(self) -> None:
        """Every answer seen: a success, or 503 problem+json telling the phone to retry."""
        for answer in self.answers:
            assert answer.status_code in {200, 202, 503}, (answer.status_code, answer.text)
            if answer.status_code == 503:
                assert answer.headers["Content-Type"].startswith("application/problem+json")
                assert answer.json()["status"] == 503
                assert answer.headers["Retry-After"]


@pytest.mark.parametrize(
    "mode",
    [
        "fast",  # the server ends every session and says so: the API's pool is cut
        "immediate",  # no goodbye to the clients, as when the server crashes
    ],
)
def test_postgres_stopped_and_started_again(api, postgres_cluster, mode):
    assert api.probe() == UP

    with api.in_background():
        postgres_cluster.stop(mode)
        down = [api.probe(), api.probe()]
        postgres_cluster.start()
        wait_for(
            api.recovered,
            timeout=30,
            what="the API to use PostgreSQL again",
            explain=lambda: api.last,
        )

    unavailable = {name: 503 for name in UP}
    assert down == [unavailable, unavailable]
    api.assert_only_up_or_unavailable()


def test_a_frozen_postgres_is_a_503_not_a_hang(api, postgres_cluster):
    """SIGSTOP on every server process: it keeps no timeout of its own, and its kernel keeps
    the connections open. Each request still answers, 503, and all is well once it resumes."""
    assert api.probe() == UP

    with api.in_background():
        postgres_cluster.freeze()
        try:
            down = [api.probe(), api.probe()]  # a hang would be a requests.Timeout here
        finally:
            postgres_cluster.thaw()
        wait_for(
            api.recovered,
            timeout=30,
            what="the API to use PostgreSQL again",
            explain=lambda: api.last,
        )

    unavailable = {name: 503 for name in UP}
    assert down == [unavailable, unavailable]
    api.assert_only_up_or_unavailable()


def test_redis_killed_and_started_again(api, redis_server):
    assert api.probe() == UP

    with api.in_background():
        redis_server.stop()
        down = [api.probe(), api.probe()]
        redis_server.start()  # empty: nothing was saved
        wait_for(
            api.recovered, timeout=30, what="the API to use Redis again", explain=lambda: api.last
        )

    # What needs no Redis keeps working; the rate-limited sign-in code waits for it.
    without_redis = {"procedures": 200, "dossier": 200, "otp": 503, "ready": 503}
    assert down == [without_redis, without_redis]
    api.assert_only_up_or_unavailable()


def test_redis_that_stops_answering_is_a_503_not_a_hang(api, redis_server):
    assert api.probe() == UP

    with api.in_background():
        redis_server.freeze()  # connections are accepted, commands never answered
        try:
            down = api.probe()  # each wait costs the client's timeout: one round is enough
        finally:
            redis_server.thaw()
        wait_for(
            api.recovered, timeout=30, what="the API to use Redis again", explain=lambda: api.last
        )

    assert down == {"procedures": 200, "dossier": 200, "otp": 503, "ready": 503}
    api.assert_only_up_or_unavailable()


def test_a_submission_while_redis_is_down_is_kept_and_its_push_sent_later(
    api, deployment, redis_server
):
    headers = deployment.headers
    draft = requests.post(
        f"{deployment.url}/api/v1/dossiers",
        json={"procedure_code": BIRTH, "data": BIRTH_DATA},
        headers=headers,
        timeout=TIMEOUT,
    ).json()["id"]
    attached = requests.post(
        f"{deployment.url}/api/v1/dossiers/{draft}/attachments/giay_chung_sinh",
        files={"file": ("chung-sinh.png", png(), "image/png")},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert attached.status_code == 201, attached.text

    redis_server.stop()
    receipt = requests.post(
        f"{deployment.url}/api/v1/dossiers/{draft}/submit",
        headers={**headers, "Idempotency-Key": f"submit-{draft}"},
        timeout=TIMEOUT,
    )
    redis_server.start()

    # The submission does not need Redis: it is filed, and its push waits in the outbox for the
    # sweeper, which hands it to the workers once Redis is back.
    assert receipt.status_code == 200, receipt.text
    app = deployment.app
    with unit_of_work(app):
        push = db.session.scalars(
            sa.select(Notification).where(
                Notification.channel == "push", Notification.data["dossier_id"].as_string() == draft
            )
        ).one()
        assert push.status is NotificationStatus.CREATED
        report = sweeps.sweep(now=utcnow())
        notifications = jobs.queue()
        SimpleWorker([notifications], connection=notifications.connection).work(burst=True)
        db.session.refresh(push)
    assert report["due"] >= 1
    assert push.status is NotificationStatus.DELIVERED
