"""The security tests' shared world: real owned resources, built once per module."""

from __future__ import annotations

import pytest

from backend.extensions import db
from tests.helpers.stacks import empty_tables, flush_redis
from tests.providers.oidc_provider import LoopbackProvider, serving
from tests.security.world import build


@pytest.fixture(scope="module")
def world(app):
    """Built and committed once per stack; every request below runs in a rolled-back savepoint."""
    flush_redis(app)
    provider = LoopbackProvider()
    try:
        with serving(provider.app) as base:
            provider.issuer = base
            yield build(app, issuer=base)
    finally:
        with app.app_context():
            db.session.remove()
            empty_tables()
        flush_redis(app)
