"""Passkeys: register and manage them (signed in), sign in with one (public), and the files
the phones and browsers read to trust our RP id."""

from __future__ import annotations

from flask import Blueprint as PlainBlueprint
from flask import current_app, jsonify

from backend import ratelimits
from backend.db import utcnow
from backend.idempotency import idempotent
from backend.identity import dpop
from backend.identity import passkey_schemas as schemas
from backend.identity.access import public, require_principal
from backend.identity.schemas import TokenSchema
from backend.identity.services import passkeys
from backend.web import Blueprint

mine = Blueprint("passkeys", __name__, description="My passkeys")
auth = Blueprint("passkey_sign_in", __name__, description="Sign in with a passkey")
# Files for the platforms, not API operations: outside the document, like /signin.
trust = PlainBlueprint("passkey_trust", __name__)


def _per_ip():
    return current_app.config["RATELIMIT_PASSKEY_PER_IP"]


@mine.route("")
@mine.response(200, schemas.PasskeyListSchema)
def list_mine():
    """My passkeys"""
    return {"items": passkeys.list_passkeys(require_principal().account_id)}


@mine.route("/registration-options", methods=["POST"])
@mine.response(200, schemas.CeremonySchema)
@mine.refusals(403, 409)
def registration_options():
    """Options to create a passkey on this device (needs a sign-in in the last few minutes)"""
    return passkeys.registration_options(session=require_principal().session, now=utcnow())


@mine.route("", methods=["POST"])
@idempotent()
@mine.arguments(schemas.PasskeyRegisterSchema)
@mine.response(201, schemas.PasskeySchema)
@mine.refusals(403, 409)
def register(data):
    """Keep the passkey the authenticator created; it signs in at this session's level"""
    return passkeys.register(
        session=require_principal().session,
        challenge_id=data["challenge_id"],
        credential=data["credential"],
        name=data.get("name"),
        now=utcnow(),
    )


@mine.route("/<passkey_id>", methods=["PATCH"])
@mine.arguments(schemas.PasskeyRenameSchema)
@mine.response(200, schemas.PasskeySchema)
def rename(data, passkey_id):
    """Rename one of my passkeys"""
    return passkeys.rename(
        account_id=require_principal().account_id, passkey_id=passkey_id, name=data["name"]
    )


@mine.route("/<passkey_id>", methods=["DELETE"])
@mine.response(204)
def remove(passkey_id):
    """Remove one of my passkeys (needs a sign-in in the last few minutes)"""
    passkeys.remove(session=require_principal().session, passkey_id=passkey_id, now=utcnow())


@auth.route("/options", methods=["POST"])
@public
@ratelimits.limit(_per_ip)
@auth.arguments(schemas.PasskeyOptionsRequestSchema, required=False)
@auth.response(200, schemas.CeremonySchema)
@auth.refusals(429)
def sign_in_options(data):
    """Options to sign in with a passkey: usernameless, or for a phone number"""
    return passkeys.sign_in_options(
        audience=data["audience"], phone=data.get("phone"), now=utcnow()
    )


@auth.route("/verify", methods=["POST"])
@public
@dpop.token_endpoint
@ratelimits.limit(_per_ip)
@auth.arguments(schemas.PasskeySignInSchema)
@auth.response(200, TokenSchema)
@auth.refusals(401, 403, 429)
def verify(data):
    """Exchange the authenticator's signature for tokens (amr and level: see the README)"""
    return passkeys.sign_in(
        challenge_id=data["challenge_id"],
        credential=data["credential"],
        device=data["device"],
        now=utcnow(),
    )


@trust.route("/.well-known/webauthn")
@public
def related_origins():
    """WebAuthn related origins: other sites that may use our RP id's passkeys."""
    return jsonify(origins=list(current_app.config["WEBAUTHN_RELATED_ORIGINS"]))


@trust.route("/.well-known/assetlinks.json")
@public
def asset_links():
    """Digital Asset Links: the Android app may use the passkeys (and links) of this domain."""
    config = current_app.config
    statements = [
        {
            "relation": [
                "delegate_permission/common.handle_all_urls",
                "delegate_permission/common.get_login_creds",
            ],
            "target": {
                "namespace": "android_app",
                "package_name": config["ANDROID_APP_PACKAGE"],
                "sha256_cert_fingerprints": [f.upper() for f in config["ANDROID_APP_CERT_SHA256"]],
            },
        }
    ]
    return jsonify(statements if config["ANDROID_APP_CERT_SHA256"] else [])


@trust.route("/.well-known/apple-app-site-association")
@public
def apple_app_site_association():
    """The iOS apps (TEAMID.bundle) that may use this domain's passkeys and links."""
    apps = list(current_app.config["IOS_APP_IDS"])
    return jsonify(
        webcredentials={"apps": apps},
        applinks={"details": [{"appIDs": apps, "components": [{"/": "/signin/*"}]}]},
    )
