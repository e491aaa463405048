"""Providers on loopback, one registered with us per test, and the browser legs of a login."""

from __future__ import annotations

import pytest

from tests.helpers.providers import (
    register,
)
from tests.providers.oidc_provider import LoopbackProvider, serving


@pytest.fixture
def op(app) -> LoopbackProvider:
    """Our own strict provider, serving on 127.0.0.1 for this test."""
    provider = LoopbackProvider()
    with serving(provider.app) as base:
        provider.issuer = base
        yield provider


@pytest.fixture
def registered(app, op, demo_catalog) -> dict:
    """``op`` registered as provider ``testidp``."""
    found = register(app, slug="testidp", issuer=op.issuer)
    assert found["enabled"], found
    return found
