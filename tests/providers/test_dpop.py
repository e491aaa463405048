"""A provider sign-in's one-time code redeemed with a DPoP proof binds the new session."""

from __future__ import annotations

from backend.extensions import db
from backend.identity.models import Session
from backend.providers.models import AppCode
from tests.helpers.dpop import DeviceKey
from tests.helpers.providers import APP_REDIRECT, browser_login, redeem, session_count
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work
from tests.identity.test_tokens import parts

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/me"


def test_an_app_code_redeemed_with_a_proof_gives_bound_tokens(app, client, registered):
    key = DeviceKey()
    leg = browser_login(client, "testidp")
    redeemed = redeem_with(client, leg, {"DPoP": key.proof("POST", TOKEN)})
    assert redeemed.status_code == 200, redeemed.get_json()
    tokens = redeemed.get_json()
    assert tokens["token_type"] == "DPoP" and tokens["acr"] == "2"
    assert parts(tokens["access_token"])[1]["cnf"] == {"jkt": key.jkt}
    assert client.get(ME, headers=key.headers("GET", ME, tokens)).status_code == 200
    assert client.get(ME, headers=bearer(tokens)).status_code == 401


def test_a_bad_proof_leaves_the_app_code_unspent(app, client, registered):
    leg = browser_login(client, "testidp")
    forged = DeviceKey().proof("POST", "/api/v1/auth/otp/verify")
    refused = redeem_with(client, leg, {"DPoP": forged})
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_dpop_proof"
    with unit_of_work(app):
        assert all(code.consumed_at is None for code in db.session.query(AppCode))
    assert session_count(app) == 0
    assert redeem(client, leg).status_code == 200


def test_policy_level2_binds_level_2_sessions_only(app, client, registered, monkeypatch):
    monkeypatch.setitem(app.config, "DPOP_REQUIRED_FOR", frozenset({"level2"}))
    leg = browser_login(client, "testidp")
    refused = redeem(client, leg)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_dpop_proof"
    assert session_count(app) == 0
    key = DeviceKey()
    bound = redeem_with(client, leg, {"DPoP": key.proof("POST", TOKEN)})
    assert bound.status_code == 200, bound.get_json()
    with unit_of_work(app):
        assert db.session.get(Session, bound.get_json()["session_id"]).dpop_jkt == key.jkt


def redeem_with(client, leg, headers):
    body = {
        "grant_type": "authorization_code",
        "code": leg.answer["code"],
        "code_verifier": leg.verifier,
        "redirect_uri": APP_REDIRECT,
    }
    return client.post(TOKEN, json=body, headers=headers)
