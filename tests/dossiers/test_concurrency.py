"""Parallel requests on PostgreSQL: distinct codes, one dossier per idempotency key, one refresh."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from backend.dossiers.models import Dossier, DossierEvent
from backend.extensions import db
from tests.helpers.dossiers import Filing
from tests.helpers.work import unit_of_work

pytestmark = [pytest.mark.committing, pytest.mark.postgres_only]


def test_fifty_parallel_submissions_get_fifty_codes(app, client, citizen):
    filing = Filing(client, citizen)
    drafts = []
    for _ in range(50):
        dossier_id = filing.draft().get_json()["id"]
        assert filing.attach(dossier_id).status_code == 201
        drafts.append(dossier_id)

    def submit(dossier_id):
        own = Filing(app.test_client(), citizen)
        return own.submit(dossier_id, key=f"parallel-{dossier_id}")

    with ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(submit, drafts))
    assert [a.status_code for a in answers] == [200] * 50
    codes = [a.get_json()["code"] for a in answers]
    assert len(set(codes)) == 50
    assert sorted(int(code[-4:]) for code in codes) == list(range(1, 51))


def test_one_key_retried_in_parallel_submits_once(app, client, citizen):
    filing = Filing(client, citizen)
    dossier_id = filing.draft().get_json()["id"]
    filing.attach(dossier_id)

    def submit(_):
        return Filing(app.test_client(), citizen).submit(dossier_id, key="flaky-network-retry")

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(submit, range(10)))
    # The retries wait on the key while the first runs, then get its receipt: no 409 to retry.
    assert [a.status_code for a in answers] == [200] * 10
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 9
    receipts = {a.get_json()["code"] for a in answers}
    assert len(receipts) == 1
    # Once done, every retry gets the same receipt.
    assert filing.submit(dossier_id, key="flaky-network-retry").get_json()["code"] in receipts
    with unit_of_work(app):
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Dossier).where(Dossier.code.is_not(None))
            )
            == 1
        )
        submits = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DossierEvent)
            .where(DossierEvent.action == "submit")
        )
        assert submits == 1


def test_parallel_refreshes_with_one_token_all_get_the_same_pair(app, citizen):
    """A phone retrying a refresh on a flaky network: the retries wait, then share one answer."""

    def refresh(_):
        return app.test_client().post(
            "/api/v1/auth/token",
            json={"grant_type": "refresh_token", "refresh_token": citizen["refresh_token"]},
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(refresh, range(8)))
    assert [a.status_code for a in answers] == [200] * 8, [a.get_json() for a in answers]
    assert len({a.get_json()["refresh_token"] for a in answers}) == 1
    me = app.test_client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {answers[0].get_json()['access_token']}"}
    )
    assert me.status_code == 200
