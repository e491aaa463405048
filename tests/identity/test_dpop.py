"""Device-bound tokens (DPoP, RFC 9449): binding at sign-in, proofs on every call, refresh by
the same key only, and a clear 4xx problem for every bad proof that changes nothing."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
import time_machine
from joserfc import jws
from joserfc.jwk import OctKey

from backend.extensions import db
from backend.identity.dpop import MAX_PROOF_CHARS
from backend.identity.models import OtpChallenge, RefreshToken, Session
from backend.identity.services.accounts import create_staff
from backend.phones import to_e164
from tests.helpers.dossiers import BIRTH, BIRTH_DATA
from tests.helpers.dpop import DeviceKey, b64, unsigned
from tests.helpers.signin import DEVICE, bearer, last_code
from tests.helpers.work import unit_of_work
from tests.identity.test_tokens import parts

PHONE = "0912345678"
ME = "/api/v1/me"
VERIFY = "/api/v1/auth/otp/verify"
TOKEN = "/api/v1/auth/token"
PROBLEM = "application/problem+json"


def ask_code(app, client, phone=PHONE, audience="citizen") -> dict:
    sent = client.post("/api/v1/auth/otp", json={"phone": phone, "audience": audience})
    assert sent.status_code == 202, sent.get_json()
    return {
        "challenge_id": sent.get_json()["challenge_id"],
        "code": last_code(app, to_e164(phone)),
        "device": DEVICE,
    }


def bound_sign_in(app, client, key: DeviceKey, phone=PHONE) -> dict:
    verified = client.post(VERIFY, json=ask_code(app, client, phone), headers=proof_at(key, VERIFY))
    assert verified.status_code == 200, verified.get_json()
    return verified.get_json()


def proof_at(key: DeviceKey, path: str, **kwargs) -> dict:
    return {"DPoP": key.proof("POST", path, **kwargs)}


def refresh(client, tokens, headers=None):
    body = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    return client.post(TOKEN, json=body, headers=headers or {})


def session_row(app, session_id) -> Session:
    with unit_of_work(app):
        row = db.session.get(Session, session_id)
        db.session.expunge(row)
    return row


def refused_at_resource(response, error="invalid_dpop_proof"):
    assert response.status_code == 401, response.get_json()
    assert response.mimetype == PROBLEM
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'DPoP error="{error}"'), challenge
    assert 'algs="ES256' in challenge
    assert response.get_json()["error"] == error
    return response.get_json()


def refused_at_token_endpoint(response, error="invalid_dpop_proof"):
    assert response.status_code == 400, response.get_json()
    assert response.mimetype == PROBLEM
    assert response.get_json()["error"] == error
    return response.get_json()


@pytest.fixture
def key() -> DeviceKey:
    return DeviceKey()


@pytest.fixture
def bound(app, client, key) -> dict:
    return bound_sign_in(app, client, key)


# --- happy paths ------------------------------------------------------------------------------


def test_a_proof_at_sign_in_binds_the_session_to_the_key(app, client, key, bound):
    assert bound["token_type"] == "DPoP"
    _, claims, _ = parts(bound["access_token"])
    assert claims["cnf"] == {"jkt": key.jkt}
    assert session_row(app, bound["session_id"]).dpop_jkt == key.jkt

    me = client.get(ME, headers=key.headers("GET", ME, bound))
    assert me.status_code == 200, me.get_json()
    assert me.get_json()["phone"] == to_e164(PHONE)


def test_without_a_proof_tokens_stay_bearer_tokens(client, citizen):
    assert citizen["token_type"] == "Bearer"
    assert "cnf" not in parts(citizen["access_token"])[1]
    assert client.get(ME, headers=bearer(citizen)).status_code == 200


def test_a_bound_token_files_and_reads_a_dossier(client, key, bound, demo_catalog):
    body = {"procedure_code": BIRTH, "data": BIRTH_DATA}
    created = client.post(
        "/api/v1/dossiers", json=body, headers=key.headers("POST", "/api/v1/dossiers", bound)
    )
    assert created.status_code == 201, created.get_json()
    path = created.headers["Location"].removeprefix("http://localhost")

    read = client.get(path, headers=key.headers("GET", path, bound))
    assert read.status_code == 200, read.get_json()
    assert read.get_json()["id"] == created.get_json()["id"]
    # The proof names the URL without its query, so the same read with one is fine too.
    query = client.get(path + "?x=1", headers=key.headers("GET", path, bound))
    assert query.status_code == 200


@pytest.mark.parametrize(
    ("kind", "alg"), [("OKP", "EdDSA"), ("OKP", "Ed25519"), ("RSA", "RS256"), ("RSA", "PS256")]
)
def test_other_asymmetric_algorithms_bind_too(app, client, kind, alg):
    key = DeviceKey(kind, alg)
    tokens = bound_sign_in(app, client, key)
    assert parts(tokens["access_token"])[1]["cnf"]["jkt"] == key.jkt
    assert client.get(ME, headers=key.headers("GET", ME, tokens)).status_code == 200


def test_refresh_with_the_same_key_keeps_the_binding(app, client, key, bound):
    rotated = refresh(client, bound, proof_at(key, TOKEN))
    assert rotated.status_code == 200, rotated.get_json()
    body = rotated.get_json()
    assert body["token_type"] == "DPoP" and body["session_id"] == bound["session_id"]
    assert parts(body["access_token"])[1]["cnf"] == {"jkt": key.jkt}
    assert client.get(ME, headers=key.headers("GET", ME, body)).status_code == 200
    again = refresh(client, body, proof_at(key, TOKEN))
    assert again.status_code == 200, again.get_json()


def _live_tokens(app, session_id) -> list:
    with unit_of_work(app):
        rows = db.session.execute(
            sa.select(RefreshToken.id, RefreshToken.used_at).where(
                RefreshToken.session_id == session_id
            )
        ).all()
    return sorted(rows)


@pytest.mark.parametrize("with_proof", ["other key", "none"])
def test_refresh_without_the_bound_key_is_refused_and_changes_nothing(
    app, client, key, bound, with_proof
):
    before = _live_tokens(app, bound["session_id"])
    headers = proof_at(DeviceKey(), TOKEN) if with_proof == "other key" else {}
    refused = refused_at_token_endpoint(refresh(client, bound, headers))
    assert refused["type"].endswith("invalid-dpop-proof")
    assert _live_tokens(app, bound["session_id"]) == before
    assert session_row(app, bound["session_id"]).revoked_at is None
    # The phone, with its key, goes on as if nothing happened.
    assert refresh(client, bound, proof_at(key, TOKEN)).status_code == 200


def test_a_grace_retry_needs_the_same_key(client, key, bound):
    first = refresh(client, bound, proof_at(key, TOKEN)).get_json()
    refused_at_token_endpoint(refresh(client, bound, proof_at(DeviceKey(), TOKEN)))
    refused_at_token_endpoint(refresh(client, bound))
    retry = refresh(client, bound, proof_at(key, TOKEN))
    assert retry.status_code == 200, retry.get_json()
    assert retry.get_json()["refresh_token"] == first["refresh_token"]
    assert retry.get_json()["token_type"] == "DPoP"


def test_an_unbound_session_is_bound_by_its_first_refresh_with_a_proof(app, client, citizen):
    key = DeviceKey()
    rotated = refresh(client, citizen, proof_at(key, TOKEN))
    assert rotated.status_code == 200, rotated.get_json()
    body = rotated.get_json()
    assert body["token_type"] == "DPoP"
    assert session_row(app, citizen["session_id"]).dpop_jkt == key.jkt
    refused_at_resource(client.get(ME, headers=bearer(body)), error="invalid_token")
    assert client.get(ME, headers=key.headers("GET", ME, body)).status_code == 200
    refused_at_token_endpoint(refresh(client, body))


def test_step_up_keeps_the_binding(app, client, key, bound):
    path = "/api/v1/me/totp"
    begun = client.post(path, json={}, headers=key.headers("POST", path, bound))
    assert begun.status_code == 201, begun.get_json()
    totp = pyotp.TOTP(begun.get_json()["secret"])
    path = "/api/v1/me/totp/confirm"
    confirmed = client.post(
        path, json={"code": totp.now()}, headers=key.headers("POST", path, bound)
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    tokens = confirmed.get_json()["tokens"]
    assert tokens["token_type"] == "DPoP"
    assert parts(tokens["access_token"])[1]["cnf"] == {"jkt": key.jkt}


def test_the_login_screen_names_the_proof_algorithms(client):
    listed = client.get("/api/v1/auth/providers").get_json()
    assert "ES256" in listed["dpop_signing_alg_values_supported"]
    assert not {"none", "HS256"} & set(listed["dpop_signing_alg_values_supported"])


# --- bad proofs with a bound token: 401 problems with the DPoP challenge ---------------------


def test_a_bound_token_without_a_proof_is_refused(client, bound):
    refused_at_resource(client.get(ME, headers={"Authorization": f"DPoP {bound['access_token']}"}))


def test_a_bound_token_sent_as_bearer_is_refused(client, bound):
    body = refused_at_resource(client.get(ME, headers=bearer(bound)), error="invalid_token")
    assert body["type"].endswith("dpop-bound-token")


def test_an_unbound_token_sent_as_dpop_is_refused(client, citizen, key):
    headers = key.headers("GET", ME, citizen)
    refused_at_resource(client.get(ME, headers=headers), error="invalid_token")


def test_a_proof_longer_than_declared_is_refused_even_beside_a_bearer_token(client, citizen):
    headers = {**bearer(citizen), "DPoP": "2" * (MAX_PROOF_CHARS + 1)}
    refused_at_resource(client.get(ME, headers=headers))
    headers["DPoP"] = "not a proof, but short"  # not read beside an unbound bearer token
    assert client.get(ME, headers=headers).status_code == 200


def test_a_proof_by_another_key_is_refused(client, bound):
    refused_at_resource(client.get(ME, headers=DeviceKey().headers("GET", ME, bound)))


def test_a_replayed_proof_is_refused(client, key, bound):
    headers = key.headers("GET", ME, bound)
    assert client.get(ME, headers=headers).status_code == 200
    body = refused_at_resource(client.get(ME, headers=headers))
    assert "jti" in body["detail"] or "dùng" in body["detail"]


def _bad_proofs(key: DeviceKey, method: str, path: str, token: str | None) -> dict[str, str]:
    """Every way a proof can be wrong, for ``method path`` (and ``token``)."""
    now = time.time()
    good_claims = {
        "jti": secrets.token_urlsafe(12),
        "htm": method,
        "htu": "http://localhost" + path,
    }
    private = key.key.as_dict(private=True)
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk()}
    oversized = {"x-padding": "A" * 10_000}
    return {
        "another method": key.proof("DELETE" if method != "DELETE" else "GET", path, token=token),
        "another url": key.proof(method, "/api/v1/me/sessions", token=token),
        "another host": key.proof(method, path, token=token, base="https://evil.example"),
        "stale iat": key.proof(method, path, token=token, iat=now - 120),
        "future iat": key.proof(method, path, token=token, iat=now + 60),
        "iat not a number": key.proof(method, path, token=token, claims={"iat": "now"}),
        "no jti": key.proof(method, path, token=token, claims={"jti": None}),
        "wrong typ": key.proof(method, path, token=token, header={"typ": "JWT"}),
        "wrong ath": key.proof(method, path, token=token, claims={"ath": b64(b"x" * 32)}),
        "alg none": unsigned({**header, "alg": "none"}, {**good_claims, "iat": int(now)}, b"x"),
        "alg HS256": _hmac_proof(key, {**good_claims, "iat": int(now)}),
        "private jwk": key.proof(method, path, token=token, header={"jwk": private}),
        "no jwk": unsigned({"typ": "dpop+jwt", "alg": "ES256"}, good_claims, b"sig"),
        "forged signature": _tampered(key.proof(method, path, token=token)),
        "not a jwt": "not-a-jwt",
        "bad base64": "e30.e30.%%%",
        "header not json": f"{b64(b'not json')}.{b64(b'{}')}.{b64(b'sig')}",
        "huge header": unsigned({**header, **oversized}, good_claims, b"sig"),
    }


def _hmac_proof(key: DeviceKey, claims: dict) -> str:
    secret = OctKey.import_key(secrets.token_bytes(32))
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": b64(b"x" * 32)}}
    return jws.serialize_compact(header, json.dumps(claims), secret, algorithms=["HS256"])


def _tampered(proof: str) -> str:
    header, payload, signature = proof.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["htm"] = "GET"
    claims["jti"] = "tampered-" + claims["jti"]
    return ".".join([header, b64(json.dumps(claims).encode()), signature])


BAD = [
    "another method",
    "another url",
    "another host",
    "stale iat",
    "future iat",
    "iat not a number",
    "no jti",
    "wrong typ",
    "wrong ath",
    "alg none",
    "alg HS256",
    "private jwk",
    "no jwk",
    "forged signature",
    "not a jwt",
    "bad base64",
    "header not json",
    "huge header",
]


@pytest.mark.parametrize("case", BAD)
def test_every_bad_proof_on_a_call_is_a_401_problem(app, client, key, bound, case):
    proof = _bad_proofs(key, "GET", ME, bound["access_token"])[case]
    headers = {"Authorization": f"DPoP {bound['access_token']}", "DPoP": proof}
    refused_at_resource(client.get(ME, headers=headers))
    # Nothing was spent: the same session goes on with a good proof.
    assert client.get(ME, headers=key.headers("GET", ME, bound)).status_code == 200


@pytest.mark.parametrize("case", [c for c in BAD if c != "wrong ath"])
def test_every_bad_proof_at_sign_in_is_a_400_that_spends_no_code(app, client, key, case):
    body = ask_code(app, client)
    proof = _bad_proofs(key, "POST", VERIFY, None)[case]
    refused = refused_at_token_endpoint(client.post(VERIFY, json=body, headers={"DPoP": proof}))
    assert refused["type"].endswith("invalid-dpop-proof")
    with unit_of_work(app):
        challenge = db.session.get(OtpChallenge, body["challenge_id"])
        assert challenge.consumed_at is None and challenge.failed_attempts == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Session)) == 0
    # The same code still signs in, bound to the key of a good proof.
    verified = client.post(VERIFY, json=body, headers=proof_at(key, VERIFY))
    assert verified.status_code == 200 and verified.get_json()["token_type"] == "DPoP"


def test_two_dpop_headers_are_refused(app, client, key):
    body = ask_code(app, client)
    headers = [("DPoP", key.proof("POST", VERIFY)), ("DPoP", key.proof("POST", VERIFY))]
    refused_at_token_endpoint(client.post(VERIFY, json=body, headers=headers))


def test_the_iat_window_is_the_configured_one(app, client, key, bound):
    past = app.config["DPOP_IAT_PAST_SECONDS"]
    fresh_enough = key.headers("GET", ME, bound, iat=time.time() - past + 5)
    assert client.get(ME, headers=fresh_enough).status_code == 200
    later = datetime.now(UTC) + timedelta(seconds=past + 5)
    headers = key.headers("GET", ME, bound)
    with time_machine.travel(later):
        refused_at_resource(client.get(ME, headers=headers))


def test_a_proof_for_the_public_url_is_needed_behind_a_proxy(app, client, key, bound, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://DVC.example.vn:443")
    refused_at_resource(client.get(ME, headers=key.headers("GET", ME, bound)))
    public = key.headers("GET", ME, bound, base="HTTPS://dvc.example.VN")
    assert client.get(ME, headers=public).status_code == 200


# --- the policy: which sessions must be bound ---------------------------------------------


def test_policy_all_refuses_unbound_sign_ins_and_spends_nothing(app, client, key, monkeypatch):
    monkeypatch.setitem(app.config, "DPOP_REQUIRED_FOR", frozenset({"all"}))
    body = ask_code(app, client)
    refused = refused_at_token_endpoint(client.post(VERIFY, json=body))
    assert "DPoP" in refused["detail"]
    verified = client.post(VERIFY, json=body, headers=proof_at(key, VERIFY))
    assert verified.status_code == 200 and verified.get_json()["token_type"] == "DPoP"


def test_policy_refuses_bearer_tokens_of_sessions_it_wants_bound(app, client, citizen, monkeypatch):
    monkeypatch.setitem(app.config, "DPOP_REQUIRED_FOR", frozenset({"all"}))
    body = refused_at_resource(client.get(ME, headers=bearer(citizen)), error="invalid_token")
    assert body["type"].endswith("dpop-required")
    refused_at_token_endpoint(refresh(client, citizen))
    # The refresh token is not spent: the app binds the session with its next refresh.
    key = DeviceKey()
    rotated = refresh(client, citizen, proof_at(key, TOKEN))
    assert rotated.status_code == 200 and rotated.get_json()["token_type"] == "DPoP"


def test_policy_staff_leaves_citizens_free_and_binds_staff(app, client, demo_catalog, monkeypatch):
    monkeypatch.setitem(app.config, "DPOP_REQUIRED_FOR", frozenset({"staff"}))

    citizen = client.post(VERIFY, json=ask_code(app, client))
    assert citizen.status_code == 200 and citizen.get_json()["token_type"] == "Bearer"
    with unit_of_work(app):
        create_staff(
            phone=to_e164("0933000111"),
            full_name="Cán bộ",
            agency_code="000.00.17.H56",
            role="leader",
            granted_by=None,
        )
    body = ask_code(app, client, "0933000111", audience="staff")
    refused_at_token_endpoint(client.post(VERIFY, json=body))
    key = DeviceKey()
    staff = client.post(VERIFY, json=body, headers=proof_at(key, VERIFY))
    assert staff.status_code == 200 and staff.get_json()["token_type"] == "DPoP"


# --- server nonces --------------------------------------------------------------------------


def test_a_required_nonce_is_handed_out_and_then_accepted(app, client, key, monkeypatch):
    monkeypatch.setitem(app.config, "DPOP_NONCE_REQUIRED", True)
    body = ask_code(app, client)
    asked = client.post(VERIFY, json=body, headers=proof_at(key, VERIFY))
    refused_at_token_endpoint(asked, error="use_dpop_nonce")
    nonce = asked.headers["DPoP-Nonce"]
    verified = client.post(
        VERIFY, json=body, headers=proof_at(key, VERIFY, claims={"nonce": nonce})
    )
    assert verified.status_code == 200, verified.get_json()
    tokens = verified.get_json()

    call = client.get(ME, headers=key.headers("GET", ME, tokens))
    refused_at_resource(call, error="use_dpop_nonce")
    assert call.headers["DPoP-Nonce"]
    headers = key.headers("GET", ME, tokens, claims={"nonce": call.headers["DPoP-Nonce"]})
    assert client.get(ME, headers=headers).status_code == 200
    forged = key.headers("GET", ME, tokens, claims={"nonce": "1.AAAAAAAAAAAAAAAAAAAAAA"})
    refused_at_resource(client.get(ME, headers=forged), error="use_dpop_nonce")


def test_a_host_no_proof_can_name_is_refused_not_an_error(client, key, bound):
    headers = {**key.headers("GET", ME, bound), "Host": "localhost:port"}
    refused_at_resource(client.get(ME, headers=headers))
