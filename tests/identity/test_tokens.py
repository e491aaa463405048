"""Our access tokens: only genuine, unexpired ES256 tokens from our keys open the API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from click.testing import Result
from joserfc import jwt
from joserfc.jwk import ECKey

from backend.identity import tokens
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def me(client, token: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def assert_refused(response):
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("invalid-token")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_genuine_token_has_the_promised_claims(client, citizen, app):
    header, claims, _ = parts(citizen["access_token"])
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt" and header["kid"]
    assert {"sub", "sid", "acr", "amr", "iat", "exp", "iss", "aud", "kind"} <= claims.keys()
    assert claims["exp"] - claims["iat"] <= 900
    assert claims["amr"] == ["otp"]
    assert me(client, citizen["access_token"]).status_code == 200


def test_missing_or_malformed_header(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert_refused(me(client, "not-a-jwt"))


def test_tampered_payload(client, citizen):
    header, claims, signature = parts(citizen["access_token"])
    claims["sub"] = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    assert_refused(me(client, f"{b64(header)}.{b64(claims)}.{signature}"))


def test_alg_none(client, citizen):
    header, claims, _ = parts(citizen["access_token"])
    assert_refused(me(client, f"{b64({**header, 'alg': 'none'})}.{b64(claims)}."))


def test_hs256_signed_with_our_public_key(client, citizen, app):
    header, claims, _ = parts(citizen["access_token"])
    with unit_of_work(app):
        public = tokens.keys().signing.as_pem(private=False)
    signing_input = f"{b64({**header, 'alg': 'HS256'})}.{b64(claims)}"
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    assert_refused(me(client, f"{signing_input}.{b64(mac)}"))


def test_token_signed_by_another_key_under_our_kid(client, citizen):
    header, claims, _ = parts(citizen["access_token"])
    impostor = ECKey.generate_key("P-256", parameters={"kid": header["kid"]}, private=True)
    assert_refused(me(client, jwt.encode(header, claims, impostor)))


def test_unknown_kid(client, citizen):
    header, claims, _ = parts(citizen["access_token"])
    other = ECKey.generate_key("P-256", parameters={"kid": "someone-else"}, private=True)
    assert_refused(me(client, jwt.encode({**header, "kid": "someone-else"}, claims, other)))


def test_key_carried_in_the_header_is_ignored(client, citizen):
    header, claims, _ = parts(citizen["access_token"])
    attacker = ECKey.generate_key("P-256", private=True)
    forged = jwt.encode({**header, "jwk": attacker.as_dict(private=False)}, claims, attacker)
    assert_refused(me(client, forged))


@pytest.mark.parametrize(
    "claim, value", [("aud", "someone-else"), ("iss", "urn:evil"), ("typ", "JWT")]
)
def test_wrong_audience_issuer_or_type(client, citizen, app, claim, value):
    header, claims, _ = parts(citizen["access_token"])
    if claim == "typ":
        header["typ"] = value
    else:
        claims[claim] = value
    with unit_of_work(app):
        signing = tokens.keys().signing
    assert_refused(me(client, jwt.encode(header, claims, signing)))


def test_expired_token(client, citizen):
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):
        assert_refused(me(client, citizen["access_token"]))


def test_jwks_publishes_the_signing_key_without_private_parts(client, citizen):
    keys = client.get("/.well-known/jwks.json").get_json()["keys"]
    header, _, _ = parts(citizen["access_token"])
    assert [k["kid"] for k in keys] == [header["kid"]]
    assert all("d" not in key for key in keys)
    assert keys[0]["alg"] == "ES256" and keys[0]["use"] == "sig"


def test_rotation_keeps_old_tokens_valid_until_they_expire(tmp_path):
    first = tokens.new_key_entry()
    rotated = tokens.rotate([first], now=1_000)
    keys = tokens.SigningKeys(rotated)
    assert keys.signing.kid != first["jwk"]["kid"]
    published = {k["kid"] for k in keys.published(now=1_500, max_token_age=960)}
    assert published == {keys.signing.kid, first["jwk"]["kid"]}
    later = {k["kid"] for k in keys.published(now=2_000, max_token_age=960)}
    assert later == {keys.signing.kid}
    assert len(tokens.prune(rotated, now=2_000, max_token_age=960)) == 1


def test_keys_rotate_command(runner, app, tmp_path, monkeypatch):
    path = tmp_path / "keys.json"
    monkeypatch.setitem(app.config, "SIGNING_KEYS_FILE", str(path))
    result: Result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["keys", "rotate"])
    entries = json.loads(path.read_text())
    assert len(entries) == 2 and "retired_at" in entries[1] and "retired_at" not in entries[0]
    assert oct(path.stat().st_mode)[-3:] == "600"
    with time_machine.travel(time.time() + 3600):
        assert runner.invoke(args=["keys", "prune"]).exit_code == 0
    assert len(json.loads(path.read_text())) == 1


def test_citizen_token_on_a_staff_route_is_403(client, citizen):
    response = client.get("/api/v1/admin/staff", headers=bearer(citizen))
    assert response.status_code == 403
    assert response.get_json()["type"].endswith("staff-only")
