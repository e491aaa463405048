"""Registering an identity provider and walking its browser leg, as the app and the browser do."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import requests
import sqlalchemy as sa

from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Session
from backend.providers.models import ClientAuthMethod
from backend.providers.services import registry
from tests.helpers.work import unit_of_work
from tests.providers.oidc_provider import CLIENT_ID, CLIENT_SECRET

APP_REDIRECT = "vn.dvcmobile.app:/oauth2/callback"


AGENCY = "000.00.00.H56"


LEVELS = {"urn:test:loa1": 1, "urn:test:loa2": 2, "urn:test:basic": 0}


def register(app, *, slug: str, issuer: str, **settings) -> dict:
    """Register a provider through the service (the admin API has its own tests)."""
    data = {
        "slug": slug,
        "agency": AGENCY,
        "name": f"Nhà cung cấp {slug}",
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_auth_method": ClientAuthMethod.CLIENT_SECRET_BASIC,
        "scopes": ["openid", "profile"],
        "signing_algorithms": ["RS256", "ES256"],
        "claim_mapping": {
            "full_name": "name",
            "national_id": "cccd",
            "date_of_birth": "birthdate",
            "phone": "phone_number",
            "address": "address",
        },
        "acr_levels": dict(LEVELS),
        "minimum_level": 1,
    }
    data.update(settings)
    secret = data.pop("client_secret", CLIENT_SECRET)
    with unit_of_work(app):
        provider = registry.create_provider(
            data=data, client_secret=secret, enable=True, by=None, now=utcnow()
        )
        result = {"slug": provider.slug, "enabled": provider.enabled, "id": provider.id}
        result["check_error"] = provider.check_error
    return result


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@dataclass
class BrowserLeg:
    """What the system browser saw: where each hop sent it."""

    verifier: str
    provider_url: str | None = None
    callback_url: str | None = None
    app_url: str | None = None

    @property
    def answer(self) -> dict[str, str]:
        return query_of(self.app_url or "")


def start(client, slug: str, *, redirect_uri: str = APP_REDIRECT, **extra) -> tuple:
    verifier, challenge = pkce()
    response = client.get(
        f"/api/v1/auth/providers/{slug}/authorize",
        query_string={
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "app-state-1",
            **extra,
        },
    )
    return response, verifier


def follow_provider(provider_url: str, *, form: dict | None = None) -> str:
    """The provider's own pages over real HTTP; returns where it sends the browser next."""
    if form is None:
        answer = requests.get(provider_url, allow_redirects=False, timeout=10)
    else:
        answer = requests.post(provider_url, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.text[:500]
    return answer.headers["Location"]


def come_back(client, callback_url: str):
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def browser_login(client, slug: str, *, form: dict | None = None, **extra) -> BrowserLeg:
    """Authorize -> provider -> callback -> app, like the system browser."""
    response, verifier = start(client, slug, **extra)
    assert response.status_code == 302, response.get_json()
    leg = BrowserLeg(verifier=verifier, provider_url=response.headers["Location"])
    leg.callback_url = follow_provider(leg.provider_url, form=form)
    back = come_back(client, leg.callback_url)
    assert back.status_code == 302, back.get_json()
    leg.app_url = back.headers["Location"]
    return leg


def redeem(client, leg: BrowserLeg, *, verifier: str | None = None, **extra):
    body = {
        "grant_type": "authorization_code",
        "code": leg.answer["code"],
        "code_verifier": verifier or leg.verifier,
        "redirect_uri": APP_REDIRECT,
        **extra,
    }
    return client.post("/api/v1/auth/token", json=body)


def session_count(app) -> int:
    with unit_of_work(app):
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Session))
    return count
