"""Default deny: every route needs a token unless marked public; step-up answers (RFC 9470)."""

from __future__ import annotations

import re

import pytest

from backend import create_app
from backend.identity.access import public, require_acr
from backend.web import Blueprint
from tests.helpers.signin import bearer
from tests.helpers.stacks import app_config
from tests.helpers.work import unit_of_work

# Endpoints anyone may call, on purpose. A new public route must be added here knowingly.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs/"),
    ("GET", "/docs/<path:path>"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/api/v1/agencies"),
    ("GET", "/api/v1/agencies/<code>"),
    ("GET", "/api/v1/procedures"),
    ("GET", "/api/v1/procedures/<code>"),
    ("POST", "/api/v1/auth/otp"),
    ("POST", "/api/v1/auth/otp/verify"),
    ("POST", "/api/v1/auth/passkey/options"),
    ("POST", "/api/v1/auth/passkey/verify"),
    ("GET", "/.well-known/webauthn"),
    ("GET", "/.well-known/assetlinks.json"),
    ("GET", "/.well-known/apple-app-site-association"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/cross-device"),
    ("GET", "/signin"),
    ("GET", "/signin/qr/<request_id>.svg"),
    ("GET", "/signin/static/<path:filename>"),
    ("POST", "/api/v1/auth/cross-device/<request_id>/token"),
    ("GET", "/api/v1/tracking/<code>"),
    ("GET", "/.well-known/client-jwks.json"),
    ("GET", "/api/v1/auth/providers"),
    ("GET", "/api/v1/auth/providers/<slug>/authorize"),
    ("GET", "/api/v1/auth/providers/<slug>/callback"),
    ("POST", "/api/v1/feedback/phone-proofs"),
    ("POST", "/api/v1/feedback/phone-proofs/verify"),
    ("GET", "/api/v1/feedback/public"),
    ("GET", "/api/v1/feedback/public/<string(length=26):feedback_id>"),
}


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule


def test_every_route_not_listed_as_public_needs_a_token(app, client):
    found_public = set()
    for method, rule in routes(app):
        url = re.sub(r"<[^>]+>", "01ARZ3NDEKTSV4RRFFQ69G5FAV", rule)
        response = client.open(url, method=method, json={})
        if (method, rule) in PUBLIC:
            found_public.add((method, rule))
            assert response.status_code != 401, (method, rule)
        else:
            assert response.status_code == 401, (method, rule, response.status_code)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert found_public == PUBLIC


@pytest.fixture
def step_up_client(stack, tmp_path, app):
    probe = Blueprint("probe_acr", __name__)

    @probe.route("/level2")
    def level2():
        require_acr(2)
        return {"ok": True}

    @probe.route("/open")
    @public
    def open_route():
        return {"ok": True}

    from backend.identity import tokens

    with unit_of_work(app):
        tokens.keys()  # loaded on first use: maybe no token was signed yet in this process
    other = create_app(app_config(stack, tmp_path))
    other.extensions["api"].register_blueprint(probe, url_prefix="/probe")
    from backend.extensions import db

    with unit_of_work(other):
        db.engines[None] = app.extensions["sqlalchemy"]._app_engines[app][None]
        # Same signing keys as the main app, so its tokens open this one.
        other.extensions["signing_keys"] = app.extensions["signing_keys"]
    return other.test_client()


def test_step_up_answer(step_up_client, citizen):
    response = step_up_client.get("/probe/level2", headers=bearer(citizen))
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_user_authentication"' in challenge
    assert 'acr_values="2"' in challenge
    body = response.get_json()
    assert body["error"] == "insufficient_user_authentication" and body["acr_values"] == "2"
    assert step_up_client.get("/probe/open").status_code == 200
