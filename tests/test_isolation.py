"""The suite's own promise: one test's writes never reach the next."""

import sqlalchemy as sa

from backend.agencies.models import Agency, AgencyLevel
from backend.extensions import db


def test_a_test_writes_and_commits(ctx):
    db.session.add(Agency(code="999.99.99.Z99", name="Isolation probe", level=AgencyLevel.COMMUNE))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == 1


def test_the_next_test_does_not_see_it(ctx):
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == 0


def test_requests_do_not_share_a_context(client, demo_catalog):
    first = client.get("/api/v1/procedures/1.001193")
    second = client.get("/api/v1/procedures/1.001193")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
