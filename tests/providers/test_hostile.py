"""A hostile provider: every bad answer is refused, the app hears why, and no session opens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from joserfc import jwt

from backend.extensions import db
from backend.providers.services import registry
from backend.providers.services.idtoken import IdTokenInvalid, access_token_hash, verify_id_token
from tests.helpers.providers import (
    BrowserLeg,
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
from tests.providers.oidc_provider import LoopbackProvider, b64, new_ec, new_rsa, serving


def assert_refused(app, leg, error_code: str, *, sessions: int = 0) -> None:
    answer = leg.answer
    assert "code" not in answer, answer
    assert answer["error"] == "access_denied"
    assert answer["error_code"] == error_code, answer
    assert answer["error_description"] and answer["state"] == "app-state-1"
    assert session_count(app) == sessions


def signed_by(key):
    """Sign with another key, under that key's kid."""
    return lambda header, claims: jwt.encode({**header, "kid": key.kid}, claims, key)


def with_claims(op, **changes):
    def mint(header, claims):
        for name, change in changes.items():
            value = change() if callable(change) else change
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(header, claims, op.signing_key)

    return mint


def test_bad_rs256_signature(app, client, op, registered):
    op.mint = signed_by(new_rsa("rsa-1"))  # same kid, another key
    assert_refused(app, browser_login(client, "testidp"), "id-token-invalid")


def test_bad_es256_signature(app, client, op, registered):
    op.rotate(new_ec("ec-1"))
    op.mint = signed_by(new_ec("ec-1"))
    assert_refused(app, browser_login(client, "testidp"), "id-token-invalid")


def test_alg_none(app, client, op, registered):
    op.mint = lambda header, claims: f"{b64({**header, 'alg': 'none'})}.{b64(claims)}."
    assert_refused(app, browser_login(client, "testidp"), "id-token-invalid")


def test_hs256_signed_with_the_providers_public_key(app, client, op, registered):
    def mint(header, claims):
        public_pem = op.signing_key.as_pem(private=False)
        signing_input = f"{b64({**header, 'alg': 'HS256'})}.{b64(claims)}"
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"

    op.mint = mint
    assert_refused(app, browser_login(client, "testidp"), "id-token-invalid")


def test_key_embedded_in_the_header(app, client, op, registered):
    attacker = new_rsa(None)

    def mint(header, claims):
        header = {"alg": "RS256", "jwk": attacker.as_dict(private=False)}
        return jwt.encode(header, claims, attacker)

    op.mint = mint
    assert_refused(app, browser_login(client, "testidp"), "id-token-invalid")


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"iss": "http://127.0.0.1:1/evil"}, id="wrong-iss"),
        pytest.param({"aud": "someone-else"}, id="wrong-aud"),
        pytest.param({"aud": None}, id="missing-aud"),
        pytest.param({"aud": ["dvc-test-client", "another-rp"]}, id="several-aud-no-azp"),
        pytest.param({"azp": "another-rp"}, id="wrong-azp"),
        pytest.param({"sub": None}, id="missing-sub"),
        pytest.param({"exp": lambda: int(time.time()) - 120}, id="expired"),
        pytest.param({"iat": lambda: int(time.time()) + 120}, id="iat-in-the-future"),
        pytest.param({"nbf": lambda: int(time.time()) + 120}, id="nbf-in-the-future"),
        pytest.param({"nonce": "not-the-one-we-sent"}, id="wrong-nonce"),
        pytest.param({"nonce": None}, id="missing-nonce"),
    ],
)
def test_bad_claims(app, client, op, registered, changes):
    op.mint = with_claims(op, **changes)
    assert_refused(app, browser_login(client, "testidp"), "id-token-invalid")


def test_clock_skew_within_sixty_seconds_is_tolerated(app, client, op, registered):
    op.mint = with_claims(op, iat=lambda: int(time.time()) + 30, nbf=lambda: int(time.time()) + 30)
    assert redeem(client, browser_login(client, "testidp")).status_code == 200


def test_replayed_nonce(app, client, op, registered):
    first = browser_login(client, "testidp")
    assert "code" in first.answer
    op.serve_id_token = op.id_tokens[-1]  # the earlier login's ID token, again
    assert_refused(app, browser_login(client, "testidp"), "id-token-invalid")


def test_made_up_key_ids_cost_the_provider_one_fetch_per_spacing(app, client, op, registered):
    spacing = app.config["PROVIDER_JWKS_REFETCH_SECONDS"]
    assert spacing == 10
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        assert redeem(client, browser_login(client, "testidp")).status_code == 200
        assert op.jwks_hits == 1
        op.mint = lambda header, claims: signed_by(new_rsa(f"ghost-{secrets.token_hex(4)}"))(
            header, claims
        )
        for _ in range(6):  # a stream of made-up key ids, right after our regular fetch
            leg = browser_login(client, "testidp")
            assert_refused(app, leg, "id-token-invalid", sessions=1)
        assert op.jwks_hits == 2  # the regular fetch, then one refetch for the first unknown kid
        op.mint = None
        assert redeem(client, browser_login(client, "testidp")).status_code == 200  # keys kept
        op.mint = signed_by(new_rsa("ghost-late"))
        clock.shift(spacing - 1)
        assert_refused(app, browser_login(client, "testidp"), "id-token-invalid", sessions=2)
        assert op.jwks_hits == 2
        clock.shift(1)
        for _ in range(3):
            assert_refused(app, browser_login(client, "testidp"), "id-token-invalid", sessions=2)
        assert op.jwks_hits == 3  # one more once the spacing has passed, and only one


def test_threads_meeting_a_rotation_together_share_one_refetch(app, op, registered):
    """Threads that meet unknown kids at once wait for one refetch and share its answer: the
    tokens signed with the provider's new key all pass, the made-up ones all fail."""
    with unit_of_work(app):
        provider = registry.get_provider(slug="testidp")
        db.session.expunge(provider)
        verify_id_token(op.id_token("n"), provider=provider, nonce="n", now=datetime.now(UTC))
    assert op.jwks_hits == 1
    op.rotate(new_rsa("rsa-rotated"))
    genuine = [op.id_token("n") for _ in range(8)]
    forged = [
        signed_by(new_rsa(f"ghost-{i}"))(op.honest_header(), op.base_claims("n")) for i in range(8)
    ]
    start_together = threading.Barrier(len(genuine) + len(forged))
    outcomes: dict[str, str] = {}

    def verify(token: str) -> None:
        with unit_of_work(app):
            start_together.wait(timeout=10)
            try:
                verify_id_token(token, provider=provider, nonce="n", now=datetime.now(UTC))
                outcomes[token] = "accepted"
            except IdTokenInvalid as error:
                outcomes[token] = error.reason

    threads = [threading.Thread(target=verify, args=(token,)) for token in genuine + forged]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [outcomes.get(token) for token in genuine] == ["accepted"] * len(genuine)
    assert [outcomes.get(token) for token in forged] == ["unknown key id"] * len(forged)
    assert op.jwks_hits == 2


def test_a_rotated_key_is_picked_up_by_its_first_token(app, client, op, registered):
    """A provider that signs with a new key just after we fetched its keys loses no login."""
    assert redeem(client, browser_login(client, "testidp")).status_code == 200
    op.rotate(new_rsa("rsa-rotated"))
    assert redeem(client, browser_login(client, "testidp")).status_code == 200
    assert op.jwks_hits == 2


def test_no_kid_while_several_keys_are_published(app, client, op, registered):
    op.keys = [op.signing_key, new_rsa("rsa-9")]
    op.mint = lambda header, claims: jwt.encode(
        {k: v for k, v in header.items() if k != "kid"}, claims, op.signing_key
    )
    assert_refused(app, browser_login(client, "testidp"), "id-token-invalid")


def test_userinfo_sub_mismatch(app, client, op, registered):
    op.userinfo_sub = "someone-else"
    assert_refused(app, browser_login(client, "testidp"), "provider-denied")


def test_acr_below_the_minimum(app, client, op, registered):
    op.claims["acr"] = "urn:test:basic"
    assert_refused(app, browser_login(client, "testidp"), "assurance-level-too-low")


def test_missing_acr_counts_as_level_zero(app, client, op, registered):
    del op.claims["acr"]
    assert_refused(app, browser_login(client, "testidp"), "assurance-level-too-low")


def test_discovery_issuer_mismatch_keeps_the_provider_disabled(app, client, op, demo_catalog):
    op.discovery_issuer = "https://someone-else.example"
    found = register(app, slug="liar", issuer=op.issuer)
    assert found["enabled"] is False
    assert "someone-else.example" in found["check_error"]
    assert start(client, "liar")[0].status_code == 404


def test_rfc9207_wrong_iss(app, client, op, registered):
    op.callback_iss = "http://127.0.0.1:1/other-provider"
    assert_refused(app, browser_login(client, "testidp"), "authorization-response-issuer-mismatch")


def test_rfc9207_missing_iss_when_advertised(app, client, op, registered):
    op.advertise_iss = True
    response, _ = start(client, "testidp")
    callback = follow_provider(response.headers["Location"])
    without_iss = callback.replace("&iss=", "&dropped=")
    back = come_back(client, without_iss)
    answer = query_of(back.headers["Location"])
    assert answer["error_code"] == "authorization-response-issuer-mismatch"
    assert session_count(app) == 0


def test_replayed_state(app, client, op, registered):
    response, _ = start(client, "testidp")
    callback = follow_provider(response.headers["Location"])
    assert "code" in query_of(come_back(client, callback).headers["Location"])
    again = come_back(client, callback)
    assert again.status_code == 400
    assert again.mimetype == "application/problem+json"
    assert again.get_json()["type"].endswith("login-transaction-invalid")


def test_state_of_another_provider_is_refused(app, client, op, registered):
    register(app, slug="other", issuer=op.issuer)
    response, _ = start(client, "testidp")
    callback = follow_provider(response.headers["Location"])
    wrong = come_back(client, callback.replace("/testidp/", "/other/"))
    assert wrong.status_code == 400


def test_replayed_provider_code(app, client, op, registered):
    """A provider code already redeemed, smuggled into a fresh login, is refused by the provider."""
    first = browser_login(client, "testidp")
    old_code = query_of(first.callback_url)["code"]
    response, _ = start(client, "testidp")
    fresh = query_of(follow_provider(response.headers["Location"]))
    back = client.get(
        "/api/v1/auth/providers/testidp/callback",
        query_string={"state": fresh["state"], "code": old_code},
    )
    answer = query_of(back.headers["Location"])
    assert answer["error_code"] == "provider-token-refused"
    assert session_count(app) == 0


def test_app_code_used_twice_ends_the_first_session(app, client, registered):
    leg = browser_login(client, "testidp")
    tokens = redeem(client, leg)
    assert tokens.status_code == 200
    again = redeem(client, leg)
    assert again.status_code == 401 and again.get_json()["error"] == "invalid_grant"
    assert client.get("/api/v1/me", headers=bearer(tokens.get_json())).status_code == 401


def test_app_code_needs_the_right_verifier_and_redirect(app, client, registered):
    leg = browser_login(client, "testidp")
    wrong = redeem(client, leg, verifier="x" * 50)
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_grant"
    assert redeem(client, leg).status_code == 401  # a failed attempt burns the code
    other = browser_login(client, "testidp")
    assert redeem(client, other, redirect_uri="vn.dvcmobile.app:/elsewhere").status_code == 401
    assert session_count(app) == 0


def test_app_code_lives_sixty_seconds(app, client, registered):
    leg = browser_login(client, "testidp")
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
        assert redeem(client, leg).status_code == 401
    assert session_count(app) == 0


def test_unreachable_provider_is_a_clean_503(app, client, demo_catalog):
    provider = LoopbackProvider()
    with serving(provider.app) as base:
        provider.issuer = base
        assert register(app, slug="gone", issuer=base)["enabled"]
    response, _ = start(client, "gone")  # its server has stopped since
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("provider-unreachable")


def test_token_endpoint_failure_reaches_the_app(app, client, op, registered):
    response, _ = start(client, "testidp")
    callback = follow_provider(response.headers["Location"])
    op.client_auth = "client_secret_post"  # it no longer accepts how we authenticate
    assert_refused(app, _back(client, callback), "provider-token-refused")


def _back(client, callback: str) -> BrowserLeg:
    back = come_back(client, callback)
    assert back.status_code == 302
    return BrowserLeg(verifier="", callback_url=callback, app_url=back.headers["Location"])


def test_an_at_hash_that_matches_the_access_token_is_accepted(app, client, op, registered):
    op.at_hash = "right"
    assert redeem(client, browser_login(client, "testidp")).status_code == 200
    assert "at_hash" in jwt.decode(op.id_tokens[-1], op.signing_key).claims
    assert op.userinfo_hits == 1


def test_an_at_hash_of_another_access_token_is_refused(app, client, op, registered):
    """The access token was swapped on its way: it is never sent to userinfo."""
    op.at_hash = "wrong"
    leg = browser_login(client, "testidp")
    assert_refused(app, leg, "id-token-invalid")
    assert "at_hash" in leg.answer["error_description"]
    assert op.userinfo_hits == 0


def test_at_hash_of_the_openid_connect_core_example():
    """OpenID Connect Core 1.0, appendix A.3 (an RS256 ID token)."""
    token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
    assert access_token_hash(token, "RS256") == "77QmUPtjPfzWtF2AnpK9RQ"


@pytest.mark.parametrize(
    ("alg", "hash_name"),
    [("ES256", "sha256"), ("RS384", "sha384"), ("PS512", "sha512"), ("EdDSA", "sha512")],
)
def test_at_hash_takes_the_hash_of_the_id_tokens_algorithm(alg, hash_name):
    digest = hashlib.new(hash_name, b"at-example").digest()
    assert access_token_hash("at-example", alg) == b64(digest[: len(digest) // 2])
