"""Against an OpenID provider we did not write: oidc-provider-mock (authlib-based) on loopback."""

from __future__ import annotations

import oidc_provider_mock
import pytest

from backend.providers.models import ClientAuthMethod
from tests.helpers.providers import (
    browser_login,
    come_back,
    follow_provider,
    query_of,
    redeem,
    register,
    session_count,
    start,
)
from tests.helpers.signin import bearer

PERSON = oidc_provider_mock.User(
    sub="mock-citizen-7",
    claims={
        "name": "Hoàng Minh Em",
        "birthdate": "2000-12-31",
        "cccd": "038200000777",
        "acr": "urn:test:loa2",
    },
)


@pytest.fixture
def mock_op():
    with oidc_provider_mock.run_server_in_thread(
        require_nonce=True, user_claims=[PERSON]
    ) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.mark.parametrize(
    "method", [ClientAuthMethod.CLIENT_SECRET_BASIC, ClientAuthMethod.CLIENT_SECRET_POST]
)
def test_code_flow_with_userinfo_and_claim_mapping(app, client, mock_op, demo_catalog, method):
    found = register(
        app, slug="mock", issuer=mock_op, client_auth_method=method, signing_algorithms=["RS256"]
    )
    assert found["enabled"], found
    leg = browser_login(client, "mock", form={"sub": PERSON.sub})
    assert query_of(leg.provider_url)["nonce"]
    tokens = redeem(client, leg)
    assert tokens.status_code == 200, leg.answer
    me = client.get("/api/v1/me", headers=bearer(tokens.get_json())).get_json()
    assert me["full_name"] == "Hoàng Minh Em" and me["date_of_birth"] == "2000-12-31"
    assert me["national_id"] == "********0777" and me["assurance_level"] == 2


def test_denial_without_state_is_a_clear_problem(app, client, mock_op, demo_catalog):
    """This provider's "deny" answer leaves out ``state`` (RFC 6749 4.1.2.1 requires it), so we
    cannot tell which login, nor which app, it belongs to: a 400 problem, and nothing opens."""
    register(app, slug="mock", issuer=mock_op, signing_algorithms=["RS256"])
    response, _ = start(client, "mock")
    callback = follow_provider(response.headers["Location"], form={"action": "deny"})
    assert query_of(callback)["error"] == "access_denied"
    back = come_back(client, callback)
    assert back.status_code == 400 and back.mimetype == "application/problem+json"
    assert back.get_json()["type"].endswith("login-transaction-invalid")
    assert session_count(app) == 0
