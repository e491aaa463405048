"""The contract tests' world: the security tests' owned resources, built through checked calls."""

from __future__ import annotations

import pytest

from tests.contract.headers import CheckedClient, HeaderContract, checked_client
from tests.helpers.stacks import empty_tables, flush_redis
from tests.helpers.work import unit_of_work
from tests.providers.oidc_provider import LoopbackProvider, serving
from tests.security.world import build
from tests.test_openapi import generated


@pytest.fixture(scope="module")
def contract(app) -> HeaderContract:
    """What every answer of this module's checked calls was found to break, and what was seen."""
    return HeaderContract(app=app, document=generated(app))


@pytest.fixture(scope="module")
def world(app, contract):
    """Citizens, officers, dossiers, petitions and a provider, made through the API once per
    module and committed; every answer on the way is checked against the document too."""
    flush_redis(app)
    provider = LoopbackProvider()
    default_client = app.test_client_class
    app.test_client_class = type("Checked", (CheckedClient,), {"contract": contract})
    try:
        with serving(provider.app) as base:
            provider.issuer = base
            built = build(app, issuer=base)
            built.issuer = base
            app.test_client_class = default_client
            yield built
    finally:
        app.test_client_class = default_client
        with unit_of_work(app):
            empty_tables()
        flush_redis(app)


@pytest.fixture
def checked(app, contract) -> CheckedClient:
    return checked_client(app, contract)
