"""Signing in through identity providers: the login screen, the two browser legs, linking."""

from __future__ import annotations

from flask import current_app, redirect, request

from backend import ratelimits
from backend.apiheaders import LOCATION
from backend.db import utcnow
from backend.identity.access import citizen_required, public, require_principal
from backend.identity.models import AccountKind
from backend.identity.schemas import JwksSchema
from backend.providers import schemas
from backend.providers.services import linking, login, registry
from backend.providers.services.exchange import published_client_keys
from backend.web import Blueprint

blp = Blueprint("providers", __name__, description="Sign-in with identity providers (OIDC)")
me_blp = Blueprint("me_identities", __name__, description="My linked identities")
well_known = Blueprint("client_keys", __name__, description="Published keys")


def _callback_url(slug: str) -> str:
    """The redirect URI registered at the provider: the same on every pod."""
    base = current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")
    return f"{base}/api/v1/auth/providers/{slug}/callback"


def _login_limit() -> str:
    return current_app.config["RATELIMIT_PROVIDER_LOGIN_PER_IP"]


@blp.route("")
@public
@blp.response(200, schemas.LoginProviderListSchema)
def list_login_providers():
    """Identity providers to offer on the login screen, and the DPoP algorithms we accept"""
    return {
        "items": registry.enabled_providers(),
        "dpop_signing_alg_values_supported": current_app.config["DPOP_SIGNING_ALGS"],
    }


@blp.route("/<slug>/authorize")
@public
@ratelimits.limit(_login_limit)
@blp.arguments(schemas.AuthorizeArgsSchema, location="query")
@blp.alt_response(302, description="To the provider's login page", headers=LOCATION, success=True)
@blp.refusals(429, 502, 503)
def authorize(args, slug):
    """Start signing in: opened in the system browser, redirects to the provider (RFC 8252)"""
    location = login.begin_login(
        slug=slug,
        audience=args["audience"],
        app_redirect_uri=args["redirect_uri"],
        code_challenge=args["code_challenge"],
        app_state=args.get("state"),
        callback_url=_callback_url(slug),
        now=utcnow(),
    )
    return redirect(location, code=302)


@blp.route("/<slug>/callback")
@public
@ratelimits.limit(_login_limit)
@blp.arguments(schemas.CallbackArgsSchema, location="query")
@blp.alt_response(
    302,
    description="To the app: `code` (60 s, one use) or `error`, `error_code`, `error_description`",
    headers=LOCATION,
    success=True,
)
@blp.refusals(400, 429)
def callback(args, slug):
    """The provider's answer: checked, then back to the app with a one-time code"""
    location = login.finish_login(
        slug=slug,
        state=args.get("state"),
        code=args.get("code"),
        error=args.get("error"),
        iss=args.get("iss"),
        callback_url=_callback_url(slug),
        now=utcnow(),
    )
    return redirect(location, code=302)


@me_blp.route("")
@citizen_required
@me_blp.response(200, schemas.IdentityLinkListSchema)
@me_blp.refusals(403)
def list_identities():
    """Provider identities linked to my account"""
    return {"items": linking.identities_of(account_id=require_principal().account_id)}


@me_blp.route("/link", methods=["POST"])
@citizen_required
@me_blp.arguments(schemas.LinkRequestSchema)
@me_blp.response(201, schemas.LinkStartedSchema)
@me_blp.refusals(403, 404, 502, 503)
def link_identity(data):
    """Link a provider identity to my account: open the returned URL in the system browser"""
    url = login.begin_login(
        slug=data["provider"],
        audience=AccountKind.CITIZEN,
        app_redirect_uri=data["redirect_uri"],
        code_challenge=data["code_challenge"],
        app_state=data.get("state"),
        callback_url=_callback_url(data["provider"]),
        link_account_id=require_principal().account_id,
        now=utcnow(),
    )
    return {"authorize_url": url, "expires_in": current_app.config["PROVIDER_LOGIN_SECONDS"]}


@well_known.route("/client-jwks.json")
@public
@well_known.response(200, JwksSchema)
def client_jwks():
    """Public keys of our private_key_jwt client authentication"""
    return {"keys": published_client_keys()}
