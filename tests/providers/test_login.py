"""Signing in through a real provider on loopback: code flow, PKCE, nonce, userinfo, our tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import time_machine

from backend.crypto import vault
from backend.extensions import db
from backend.identity.models import Account
from backend.providers.models import ClientAuthMethod, IdentityLink, LoginTransaction
from tests.helpers.providers import (
    APP_REDIRECT,
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
from tests.helpers.work import unit_of_work
from tests.identity.test_tokens import parts
from tests.providers.oidc_provider import new_ec, new_rsa


def test_login_screen_lists_enabled_providers(client, registered):
    items = client.get("/api/v1/auth/providers").get_json()["items"]
    assert [(i["slug"], i["minimum_level"]) for i in items] == [("testidp", 1)]


def test_code_flow_gives_our_tokens_and_a_verified_profile(app, client, op, registered):
    leg = browser_login(client, "testidp")

    to_provider = query_of(leg.provider_url)
    assert to_provider["code_challenge_method"] == "S256" and to_provider["nonce"]
    assert to_provider["redirect_uri"] == "http://localhost/api/v1/auth/providers/testidp/callback"
    assert to_provider["acr_values"] == "urn:test:loa1 urn:test:loa2"
    assert leg.app_url.startswith(APP_REDIRECT + "?")
    assert leg.answer["state"] == "app-state-1" and "code" in leg.answer
    sent = op.token_requests[-1]
    assert sent["code_verifier"] and "client_secret" not in sent  # basic auth, PKCE

    tokens = redeem(client, leg)
    assert tokens.status_code == 200, tokens.get_json()
    body = tokens.get_json()
    _, claims, _ = parts(body["access_token"])
    assert claims["acr"] == "2" and claims["amr"][0] == "oidc"
    me = client.get("/api/v1/me", headers=bearer(body)).get_json()
    assert me["full_name"] == "Phạm Thị Dung"
    assert me["identity_verified"] is True and me["assurance_level"] == 2
    assert me["national_id"] == "********0123" and me["date_of_birth"] == "1995-03-08"
    assert me["phone"] == "+84912000123"
    assert me["address"] == {"line": "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "province": "Hà Nội"}
    with unit_of_work(app):
        account = db.session.get(Account, me["id"])
        assert account.date_of_birth == date(1995, 3, 8)
        assert vault().decrypt(account.national_id_ciphertext, context=f"nid:{account.id}") == (
            "001195000123"
        )
        assert account.national_id_digest == vault().digest("001195000123", purpose="national-id")
        link = db.session.scalar(sa.select(IdentityLink))
        assert (link.issuer, link.subject, link.account_id) == (op.issuer, "subject-0001", me["id"])


def test_second_login_finds_the_same_citizen(app, client, registered):
    first = redeem(client, browser_login(client, "testidp")).get_json()
    second = redeem(client, browser_login(client, "testidp")).get_json()
    me1 = client.get("/api/v1/me", headers=bearer(first)).get_json()
    me2 = client.get("/api/v1/me", headers=bearer(second)).get_json()
    assert me1["id"] == me2["id"]
    assert session_count(app) == 2
    with unit_of_work(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == 1


def test_client_secret_post(app, client, op, demo_catalog):
    op.client_auth = "client_secret_post"
    register(
        app,
        slug="postidp",
        issuer=op.issuer,
        client_auth_method=ClientAuthMethod.CLIENT_SECRET_POST,
    )
    assert redeem(client, browser_login(client, "postidp")).status_code == 200
    assert op.token_requests[-1]["client_secret"]


def test_private_key_jwt_with_our_published_client_key(app, client, op, demo_catalog):
    published = client.get("/.well-known/client-jwks.json").get_json()
    assert published["keys"] and all("d" not in key for key in published["keys"])
    op.client_auth = "private_key_jwt"
    op.client_jwks = published
    found = register(
        app, slug="pkjidp", issuer=op.issuer, client_auth_method=ClientAuthMethod.PRIVATE_KEY_JWT
    )
    assert found["enabled"]
    assert redeem(client, browser_login(client, "pkjidp")).status_code == 200
    assert "client_secret" not in op.token_requests[-1]


def test_es256_provider(app, client, op, demo_catalog):
    op.rotate(new_ec("ec-1"))
    register(app, slug="ecidp", issuer=op.issuer)
    assert redeem(client, browser_login(client, "ecidp")).status_code == 200


def test_token_without_kid_is_accepted_when_the_provider_has_one_key(app, client, op, demo_catalog):
    op.rotate(new_rsa(None))
    register(app, slug="nokid", issuer=op.issuer)
    assert redeem(client, browser_login(client, "nokid")).status_code == 200


def test_key_rotation_is_picked_up_by_refetching_once(app, client, op, registered):
    assert redeem(client, browser_login(client, "testidp")).status_code == 200
    assert op.jwks_hits == 1
    op.rotate(new_rsa("rsa-2"))
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
        leg = browser_login(client, "testidp")
        assert redeem(client, leg).status_code == 200, leg.answer
    assert op.jwks_hits == 2


def test_rfc9207_iss_is_required_when_advertised(app, client, op, registered):
    op.advertise_iss = True
    assert redeem(client, browser_login(client, "testidp")).status_code == 200
    assert op.token_requests  # iss matched and the code was redeemed


def test_provider_error_reaches_the_app_clearly(app, client, registered):
    response, _ = start(client, "testidp")
    state = query_of(response.headers["Location"])["state"]
    back = client.get(
        "/api/v1/auth/providers/testidp/callback",
        query_string={"state": state, "error": "access_denied", "error_description": "no"},
    )
    assert back.status_code == 302
    answer = query_of(back.headers["Location"])
    assert answer["error"] == "access_denied" and answer["state"] == "app-state-1"
    assert answer["error_code"] == "provider-denied"
    assert session_count(app) == 0


def test_redirect_uri_must_be_allow_listed(client, registered):
    response, _ = start(client, "testidp", redirect_uri="https://evil.example/steal")
    assert response.status_code == 422
    assert response.get_json()["type"].endswith("redirect-uri-not-allowed")


def test_loopback_redirect_accepts_any_port(app, client, registered, monkeypatch):
    monkeypatch.setitem(app.config, "APP_REDIRECT_URIS", ("http://127.0.0.1/cb",))
    response, _ = start(client, "testidp", redirect_uri="http://127.0.0.1:51234/cb")
    assert response.status_code == 302
    response, _ = start(client, "testidp", redirect_uri="http://127.0.0.1:51234/other")
    assert response.status_code == 422


def test_unknown_or_disabled_provider_is_404(client, registered, runner):
    assert start(client, "nope")[0].status_code == 404
    assert runner.invoke(args=["providers", "disable", "testidp"]).exit_code == 0
    assert start(client, "testidp")[0].status_code == 404


def test_login_transaction_expires_after_ten_minutes(app, client, registered):
    response, _ = start(client, "testidp")
    callback = follow_provider(response.headers["Location"])
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):
        late = come_back(client, callback)
    assert late.status_code == 400
    assert late.get_json()["type"].endswith("login-transaction-invalid")
    with unit_of_work(app):
        row = db.session.scalar(sa.select(LoginTransaction))
        assert row.expires_at - row.created_at == timedelta(minutes=10)
    assert session_count(app) == 0


def test_keys_age_out_after_an_hour(app, client, op, registered):
    """A key the provider withdrew (say, compromised) stops verifying within the hour."""
    assert redeem(client, browser_login(client, "testidp")).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=3601)):
        assert redeem(client, browser_login(client, "testidp")).status_code == 200
    assert op.jwks_hits == 2
