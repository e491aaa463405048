"""Every blob the API's own flows store is one a row points at, so the sweep never takes it.

The security tests' world is built through the API with a store of its own: attachments on a
draft and on submitted dossiers, an officer's result, a petition's file and a direct upload
waiting for its confirmation. A month later the sweep must remove none of them and the check
must find neither orphans nor missing files; a domain that stores blob keys in a column it did
not register would show up here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.db import utcnow
from backend.storage import orphans
from backend.storage.local import LocalStore
from tests.helpers.stacks import empty_tables, flush_redis
from tests.helpers.storage import new_s3_store
from tests.helpers.work import unit_of_work
from tests.providers.oidc_provider import LoopbackProvider, serving
from tests.security.world import build


@pytest.fixture(scope="module", params=["local", "s3"])
def world_store(request, app, tmp_path_factory):
    if request.param == "local":
        store = LocalStore(tmp_path_factory.mktemp("world-blobs"))
    else:
        store = new_s3_store(request.getfixturevalue("s3_test_client"))
    before = app.extensions.get("storage")
    app.extensions["storage"] = store
    flush_redis(app)
    provider = LoopbackProvider()
    try:
        with serving(provider.app) as base:
            provider.issuer = base
            build(app, issuer=base)
            yield store
    finally:
        app.extensions["storage"] = before
        with unit_of_work(app):
            empty_tables()
        flush_redis(app)


def test_a_month_later_the_sweep_removes_none_of_the_apis_own_blobs(app, ctx, world_store):
    stored = {key for key, _ in world_store.listing()}
    # A draft's and two dossiers' attachments, a result, a petition's file, a pending upload.
    assert len(stored) >= 6 and any(key.startswith("incoming/") for key in stored)

    assert orphans.sweep(now=utcnow() + timedelta(days=30)) == 0

    assert {key for key, _ in world_store.listing()} == stored
    report = orphans.check()
    assert report.orphans == [] and report.missing == []
    assert report.rows == len(stored)
