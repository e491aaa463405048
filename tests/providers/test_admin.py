"""The provider registry: agency administrators, their agencies only; the CLI; the demo provider."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from backend import config as config_module
from backend import create_app
from backend.crypto import vault
from backend.extensions import db
from backend.providers.models import IdentityProvider
from backend.providers.services.exchange import secret_context
from tests.helpers.providers import query_of
from tests.helpers.signin import bearer
from tests.helpers.stacks import app_config
from tests.helpers.work import unit_of_work
from tests.providers.oidc_provider import CLIENT_ID, CLIENT_SECRET

PROVINCE = "000.00.00.H56"
JUSTICE = "000.00.17.H56"
WARD = "001.01.00.H56"


def body(issuer: str, **changes) -> dict:
    return {
        "slug": "tinh_h56",
        "name": "Định danh tỉnh",
        "name_en": "Province e-ID",
        "agency": JUSTICE,
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scopes": ["openid", "profile"],
        "claim_mapping": {"national_id": "cccd"},
        # An agency's own administrator may let its provider vouch for level 1 at most.
        "acr_levels": {"urn:test:loa2": 1},
        "minimum_level": 1,
        **changes,
    }


@pytest.fixture
def admin(make_staff, demo_catalog):
    tokens, _ = make_staff("0911000444", agency=JUSTICE, role="agency_admin")
    return tokens


def test_admin_plugs_in_a_provider(app, client, op, admin):
    created = client.post(
        "/api/v1/admin/identity-providers", json=body(op.issuer), headers=bearer(admin)
    )
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert data["enabled"] is True and data["check_error"] is None
    assert data["has_client_secret"] is True and "client_secret" not in data
    assert data["agency"]["code"] == JUSTICE
    with unit_of_work(app):
        row = db.session.scalar(sa.select(IdentityProvider))
        assert CLIENT_SECRET not in row.client_secret_ciphertext
        assert vault().decrypt(row.client_secret_ciphertext, context=secret_context(row.id)) == (
            CLIENT_SECRET
        )
    listed = client.get("/api/v1/admin/identity-providers", headers=bearer(admin)).get_json()
    assert [p["slug"] for p in listed["items"]] == ["tinh_h56"]
    patched = client.patch(
        "/api/v1/admin/identity-providers/tinh_h56", json={"enabled": False}, headers=bearer(admin)
    )
    assert patched.status_code == 200 and patched.get_json()["enabled"] is False
    assert client.get("/api/v1/auth/providers").get_json()["items"] == []


def test_only_a_top_level_administrator_lets_a_provider_vouch_for_level_2(
    client, op, admin, make_staff
):
    level_2 = {"acr_levels": {"urn:test:loa2": 2}, "minimum_level": 2}
    refused = client.post(
        "/api/v1/admin/identity-providers", json=body(op.issuer, **level_2), headers=bearer(admin)
    )
    assert refused.status_code == 403
    assert refused.get_json()["type"].endswith("level-2-needs-a-top-administrator")
    created = client.post(
        "/api/v1/admin/identity-providers", json=body(op.issuer), headers=bearer(admin)
    )
    assert created.status_code == 201
    raised = client.patch(
        "/api/v1/admin/identity-providers/tinh_h56", json=level_2, headers=bearer(admin)
    )
    assert raised.status_code == 403
    top, _ = make_staff("0911000777", agency=PROVINCE, role="agency_admin")
    vouched = client.patch(
        "/api/v1/admin/identity-providers/tinh_h56", json=level_2, headers=bearer(top)
    )
    assert vouched.status_code == 200, vouched.get_json()
    assert vouched.get_json()["acr_levels"] == {"urn:test:loa2": 2}
    # The agency's own administrator keeps running it, without touching the levels.
    renamed = client.patch(
        "/api/v1/admin/identity-providers/tinh_h56",
        json={"name": "Định danh"},
        headers=bearer(admin),
    )
    assert renamed.status_code == 200


def test_a_provider_failing_discovery_is_saved_disabled_with_the_reason(client, op, admin):
    op.discovery_issuer = "https://impostor.example"
    created = client.post(
        "/api/v1/admin/identity-providers", json=body(op.issuer), headers=bearer(admin)
    )
    assert created.status_code == 201
    assert created.get_json()["enabled"] is False
    assert "impostor.example" in created.get_json()["check_error"]


def test_unreachable_discovery_is_the_reason_too(client, admin):
    created = client.post(
        "/api/v1/admin/identity-providers", json=body("http://127.0.0.1:9"), headers=bearer(admin)
    )
    assert created.status_code == 201 and created.get_json()["enabled"] is False
    assert "no answer" in created.get_json()["check_error"]


def test_settings_are_validated(client, op, admin):
    for changes in (
        {"scopes": ["profile"]},
        {"signing_algorithms": ["HS256"]},
        {"client_secret": None},
    ):
        payload = {k: v for k, v in body(op.issuer, **changes).items() if v is not None}
        refused = client.post(
            "/api/v1/admin/identity-providers", json=payload, headers=bearer(admin)
        )
        assert refused.status_code == 422, (changes, refused.get_json())
    first = client.post(
        "/api/v1/admin/identity-providers", json=body(op.issuer), headers=bearer(admin)
    )
    assert first.status_code == 201
    again = client.post(
        "/api/v1/admin/identity-providers", json=body(op.issuer), headers=bearer(admin)
    )
    assert again.status_code == 409


def test_admins_see_only_their_agencies(client, op, admin, make_staff):
    other, _ = make_staff("0911000555", agency=WARD, role="agency_admin")
    refused = client.post(
        "/api/v1/admin/identity-providers",
        json=body(op.issuer, agency=PROVINCE),
        headers=bearer(admin),
    )
    assert refused.status_code == 404
    client.post("/api/v1/admin/identity-providers", json=body(op.issuer), headers=bearer(admin))
    assert (
        client.get("/api/v1/admin/identity-providers/tinh_h56", headers=bearer(other)).status_code
        == 404
    )
    assert (
        client.get("/api/v1/admin/identity-providers", headers=bearer(other)).get_json()["items"]
        == []
    )


def test_citizens_and_other_roles_are_refused(client, citizen, make_staff, demo_catalog):
    assert (
        client.get("/api/v1/admin/identity-providers", headers=bearer(citizen)).status_code == 403
    )
    officer, _ = make_staff("0911000666", agency=JUSTICE, role="receiving_officer")
    assert (
        client.get("/api/v1/admin/identity-providers", headers=bearer(officer)).status_code == 403
    )


def test_cli_add_list_disable(runner, op, demo_catalog, monkeypatch):
    monkeypatch.setenv("IDP_SECRET", CLIENT_SECRET)
    added = runner.invoke(
        args=[
            "providers", "add", "--slug", "cli_idp", "--name", "Định danh", "--agency", JUSTICE,
            "--issuer", op.issuer, "--client-id", CLIENT_ID, "--client-secret-env", "IDP_SECRET",
            "--claim", "national_id=cccd", "--acr", "urn:test:loa2=2", "--minimum-level", "2",
        ]
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "cli_idp" in added.output and "(enabled)" in added.output
    assert "cli_idp" in runner.invoke(args=["providers", "list"]).output
    disabled = runner.invoke(args=["providers", "disable", "cli_idp"])
    assert disabled.exit_code == 0 and "NOT enabled" in disabled.output
    assert runner.invoke(args=["providers", "disable", "nope"]).exit_code != 0


def test_client_jwks_is_public_and_has_no_private_parts(client):
    keys = client.get("/.well-known/client-jwks.json").get_json()["keys"]
    assert keys and {"kty", "kid", "crv", "x", "y"} <= keys[0].keys() and "d" not in keys[0]


def test_demo_provider_cannot_run_in_production(tmp_path):
    environ = {"APP_ENV": "production", "SECRET_KEY": "x" * 40, "DEMO_IDP_ENABLED": "1"}
    with pytest.raises(RuntimeError, match="DEMO_IDP_ENABLED"):
        config_module.load(str(tmp_path), environ)


def test_demo_provider_end_to_end(stack, app, tmp_path, demo_catalog):
    """What `make run` sets up: register the demo e-ID, then sign in through it as a person."""
    demo_app = create_app(
        app_config(
            stack,
            tmp_path,
            DEMO_IDP_ENABLED=True,
            DEMO_IDP_ISSUER="http://localhost/demo-idp",
            APP_REDIRECT_URIS=(),
        )
    )
    with unit_of_work(demo_app):
        db.engines[None] = app.extensions["sqlalchemy"]._app_engines[app][None]
    registered = demo_app.test_cli_runner().invoke(args=["providers", "add-demo"])
    assert registered.exit_code == 0 and "(enabled)" in registered.output, registered.output
    browser = demo_app.test_client()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    app_uri = "http://localhost/demo-idp/app"
    to_idp = browser.get(
        "/api/v1/auth/providers/demo/authorize",
        query_string={
            "redirect_uri": app_uri,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        },
    )
    assert to_idp.status_code == 302
    page_url = urlsplit(to_idp.headers["Location"])
    page = browser.get(f"{page_url.path}?{page_url.query}")
    assert "DEMO" in page.get_data(as_text=True) and "Nguyễn Văn An" in page.get_data(as_text=True)
    picked = browser.post(
        page_url.path, data={**query_of(to_idp.headers["Location"]), "sub": "demo-citizen-1"}
    )
    back = urlsplit(picked.headers["Location"])
    to_app = browser.get(f"{back.path}?{back.query}")
    code = query_of(to_app.headers["Location"])["code"]
    assert "curl" in browser.get(
        urlsplit(to_app.headers["Location"]).path, query_string={"code": code}
    ).get_data(as_text=True)
    tokens = browser.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": app_uri,
        },
    )  # a form body, as OAuth clients send it
    assert tokens.status_code == 200, tokens.get_json()
    me = browser.get("/api/v1/me", headers=bearer(tokens.get_json())).get_json()
    assert me["full_name"] == "Nguyễn Văn An" and me["assurance_level"] == 2
