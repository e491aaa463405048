"""The security tests' shared world: real owned resources, built once per module."""

from __future__ import annotations

import pytest

from tests.helpers.stacks import empty_tables, flush_redis
from tests.helpers.work import unit_of_work
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
        with unit_of_work(app):
            empty_tables()
        flush_redis(app)
