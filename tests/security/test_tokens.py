"""Forged, altered, stale and misused tokens: each is a 401 problem and changes nothing.

Every forgery below is sent to a write (``PATCH /api/v1/me``, switching citizen A's language
to English) and, where it names someone else, impersonates citizen B. Nothing may change for
either of them.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from joserfc import jwt
from joserfc.jwk import ECKey

from backend.errors import PROBLEM_CONTENT_TYPE
from backend.identity import tokens
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work
from tests.identity.test_tokens import b64, parts


def _ours(app):
    with unit_of_work(app):
        return tokens.keys().signing


def alg_none(app, header, claims):
    return f"{b64({**header, 'alg': 'none'})}.{b64(claims)}."


def alg_none_with_signature(app, header, claims):
    return f"{b64({**header, 'alg': 'none'})}.{b64(claims)}.{b64(b'x' * 64)}"


def hs256_with_our_public_key(app, header, claims):
    public = _ours(app).as_pem(private=False)
    signing_input = f"{b64({**header, 'alg': 'HS256'})}.{b64(claims)}"
    return (
        f"{signing_input}.{b64(hmac.new(public, signing_input.encode(), hashlib.sha256).digest())}"
    )


def hs256_with_our_public_jwk(app, header, claims):
    public = _ours(app).as_dict(private=False)
    secret = b64(public).encode()
    signing_input = f"{b64({**header, 'alg': 'HS256'})}.{b64(claims)}"
    return (
        f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    )


def unknown_kid(app, header, claims):
    other = ECKey.generate_key("P-256", parameters={"kid": "not-one-of-ours"}, private=True)
    return jwt.encode({**header, "kid": "not-one-of-ours"}, claims, other)


def no_kid_other_key(app, header, claims):
    other = ECKey.generate_key("P-256", private=True)
    return jwt.encode({k: v for k, v in header.items() if k != "kid"}, claims, other)


def jwk_in_header(app, header, claims):
    attacker = ECKey.generate_key("P-256", private=True)
    return jwt.encode({**header, "jwk": attacker.as_dict(private=False)}, claims, attacker)


def jku_in_header(app, header, claims):
    attacker = ECKey.generate_key("P-256", parameters={"kid": header["kid"]}, private=True)
    return jwt.encode({**header, "jku": "http://127.0.0.1:9/jwks.json"}, claims, attacker)


def x5u_in_header(app, header, claims):
    attacker = ECKey.generate_key("P-256", parameters={"kid": header["kid"]}, private=True)
    return jwt.encode({**header, "x5u": "http://127.0.0.1:9/cert.pem"}, claims, attacker)


def signed_by_us(header=None, **changes):
    """A token signed with our real key, but with claims or a header we never issue."""

    def forge(app, original_header, claims):
        claims = {k: v for k, v in {**claims, **changes}.items() if v is not None}
        return jwt.encode({**original_header, **(header or {})}, claims, _ours(app))

    return forge


FORGERIES = {
    "alg none": alg_none,
    "alg none with a signature": alg_none_with_signature,
    "HS256 keyed with our PEM public key": hs256_with_our_public_key,
    "HS256 keyed with our public JWK": hs256_with_our_public_jwk,
    "unknown kid": unknown_kid,
    "no kid, another key": no_kid_other_key,
    "jwk header": jwk_in_header,
    "jku header": jku_in_header,
    "x5u header": x5u_in_header,
    "wrong aud": signed_by_us(aud="another-api"),
    "aud list without ours": signed_by_us(aud=["another-api"]),
    "wrong iss": signed_by_us(iss="urn:evil"),
    "expired": signed_by_us(iat=1_700_000_000, exp=1_700_000_600),
    "issued in the future": signed_by_us(iat=4_000_000_000, exp=4_000_000_600),
    "no exp": signed_by_us(exp=None),
    "no sid": signed_by_us(sid=None),
    "exp as text": signed_by_us(exp="9999999999"),
    "typ JWT": signed_by_us(header={"typ": "JWT"}),
}


@pytest.fixture
def language_of(app, client):
    def _language(tokens_: dict) -> str:
        return client.get("/api/v1/me", headers=bearer(tokens_)).get_json()["preferred_language"]

    return _language


def assert_refused(response):
    assert response.status_code == 401, response.get_json()
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def attempt(client, token: str):
    return client.patch(
        "/api/v1/me",
        json={"preferred_language": "en"},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forged_token_is_refused_and_changes_nothing(
    app, client, citizen, citizen_b, language_of, name
):
    header, claims, _ = parts(citizen["access_token"])
    _, claims_b, _ = parts(citizen_b["access_token"])
    before = (language_of(citizen), language_of(citizen_b))
    # As A, and as B with B's real subject and session in the claims.
    for target in (claims, {**claims, "sub": claims_b["sub"], "sid": claims_b["sid"]}):
        assert_refused(attempt(client, FORGERIES[name](app, dict(header), dict(target))))
    assert (language_of(citizen), language_of(citizen_b)) == before == ("vi", "vi")


def test_changed_payload_with_the_old_signature(client, citizen, citizen_b, language_of):
    header, claims, signature = parts(citizen["access_token"])
    _, claims_b, _ = parts(citizen_b["access_token"])
    for changed in (
        {**claims, "sub": claims_b["sub"], "sid": claims_b["sid"]},
        {**claims, "acr": "2"},
        {**claims, "kind": "staff"},
        {**claims, "exp": claims["exp"] + 86_400},
    ):
        assert_refused(attempt(client, f"{b64(header)}.{b64(changed)}.{signature}"))
    assert language_of(citizen) == language_of(citizen_b) == "vi"


def test_a_session_of_someone_else_in_our_own_token(app, client, citizen, citizen_b, language_of):
    """Even signed by us, a subject paired with another account's session opens nothing."""
    header, claims, _ = parts(citizen["access_token"])
    _, claims_b, _ = parts(citizen_b["access_token"])
    mixed = jwt.encode(header, {**claims, "sid": claims_b["sid"]}, _ours(app))
    assert_refused(attempt(client, mixed))
    assert language_of(citizen) == language_of(citizen_b) == "vi"


def test_a_refresh_token_is_no_bearer_token(client, citizen, language_of):
    assert_refused(attempt(client, citizen["refresh_token"]))
    assert language_of(citizen) == "vi"


def test_an_expired_token_of_a_live_session(client, citizen, language_of):
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        assert_refused(attempt(client, citizen["access_token"]))
    assert language_of(citizen) == "vi"


def test_a_revoked_sessions_unexpired_token(client, sign_in, citizen):
    with time_machine.travel(datetime.now(UTC), tick=True) as clock:
        _revoked_sessions(client, sign_in, citizen, clock)


def _revoked_sessions(client, sign_in, citizen, clock):
    clock.shift(61)  # past the resend cooldown of A's phone
    other_phone = sign_in()  # A on a second device, to read the result afterwards
    assert client.post("/api/v1/auth/logout", headers=bearer(citizen)).status_code == 204
    assert_refused(attempt(client, citizen["access_token"]))
    assert (
        client.get("/api/v1/me", headers=bearer(other_phone)).get_json()["preferred_language"]
        == "vi"
    )
    # Revoked from another device: the same.
    clock.shift(61)
    third = sign_in()
    revoked = client.delete(
        f"/api/v1/me/sessions/{third['session_id']}", headers=bearer(other_phone)
    )
    assert revoked.status_code == 204
    assert_refused(attempt(client, third["access_token"]))
    # And its refresh token opens no new session.
    refreshed = client.post(
        "/api/v1/auth/token",
        json={"grant_type": "refresh_token", "refresh_token": third["refresh_token"]},
    )
    assert refreshed.status_code in (400, 401) and refreshed.mimetype == PROBLEM_CONTENT_TYPE


def test_the_probe_works_with_a_genuine_token(client, citizen, language_of):
    assert attempt(client, citizen["access_token"]).status_code == 200
    assert language_of(citizen) == "en"
