"""Signing in: phone codes, token refresh, logout, step-up, and our public keys."""

from __future__ import annotations

from flask import current_app, request

from backend import ratelimits
from backend.db import utcnow
from backend.identity import dpop, schemas, tokens
from backend.identity.access import public, require_principal
from backend.identity.routes import totp_guesses_limited
from backend.identity.services import login, otp, sessions
from backend.providers.services import login as provider_login
from backend.web import Blueprint, body_accepts, json_body_or_none

blp = Blueprint("auth", __name__, description="Sign-in and tokens")
well_known = Blueprint("well_known", __name__, description="Published keys")


def _device_key() -> str:
    body = json_body_or_none() or {}
    device = body.get("device") if isinstance(body, dict) else None
    device_id = device.get("id") if isinstance(device, dict) else None
    return f"device:{device_id}" if isinstance(device_id, str) else f"ip:{request.remote_addr}"


def _limit(name: str):
    return lambda: current_app.config[name]


@blp.route("/otp", methods=["POST"])
@public
@ratelimits.limit(_limit("RATELIMIT_OTP_PER_IP"))
@blp.arguments(schemas.OtpRequestSchema)
@blp.response(202, schemas.OtpChallengeSchema)
@blp.refusals(429, 503)
def request_code(data):
    """Send a sign-in code to a phone (same answer whether the phone is known or not)"""
    sent = otp.request_code(phone=data["phone"], audience=data["audience"], now=utcnow())
    return {
        "challenge_id": sent.challenge.id,
        "expires_in": sent.expires_in,
        "resend_after": sent.resend_after,
    }


@blp.route("/otp/verify", methods=["POST"])
@public
@dpop.token_endpoint
@ratelimits.limit(_limit("RATELIMIT_VERIFY_PER_IP"))
@ratelimits.limit(_limit("RATELIMIT_VERIFY_PER_DEVICE"), key=_device_key)
@blp.arguments(schemas.OtpVerifySchema)
@blp.response(200, schemas.TokenSchema)
@blp.refusals(401, 403, 429)
def verify_code(data):
    """Exchange the code (and, for staff, an authenticator code) for tokens"""
    signed_in = login.sign_in_with_phone(
        challenge_id=data["challenge_id"],
        code=data["code"],
        device=data["device"],
        totp_code=data.get("totp_code"),
        recovery_code=data.get("recovery_code"),
        now=utcnow(),
    )
    return signed_in.tokens


@blp.route("/token", methods=["POST"])
@public
@dpop.token_endpoint
@body_accepts("application/json", "application/x-www-form-urlencoded")
@ratelimits.limit(_limit("RATELIMIT_TOKEN_PER_IP"))
@blp.arguments(schemas.TokenRequestSchema)
@blp.doc(
    requestBody={
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"$ref": "#/components/schemas/TokenRequest"}
            }
        }
    }
)
@blp.response(200, schemas.TokenSchema)
@blp.refusals(401, 429)
def token(data):
    """Rotate a refresh token, or redeem an identity provider sign-in's one-time code (PKCE)"""
    if data["grant_type"] == "authorization_code":
        return provider_login.redeem_app_code(
            code=data["code"],
            code_verifier=data["code_verifier"],
            redirect_uri=data["redirect_uri"],
            device=data.get("device", {}),
            now=utcnow(),
        )
    return sessions.refresh(refresh_token=data["refresh_token"], now=utcnow())


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout():
    """End this device's session"""
    principal = require_principal()
    sessions.revoke_session(
        account_id=principal.account_id,
        session_id=principal.session_id,
        reason="logout",
        now=utcnow(),
    )


@blp.route("/step-up", methods=["POST"])
@totp_guesses_limited
@blp.arguments(schemas.CodeSchema)
@blp.refusals(429)
@blp.response(200, schemas.TokenSchema)
@blp.refusals(409)
def step_up(data):
    """Prove the authenticator app again; new tokens carry it (amr)"""
    return login.step_up_with_totp(
        session=require_principal().session, code=data["code"], now=utcnow()
    )


@well_known.route("/jwks.json")
@public
@well_known.response(200, schemas.JwksSchema)
def jwks():
    """Public keys that verify our access tokens"""
    now = utcnow().timestamp()
    max_age = current_app.config["ACCESS_TOKEN_SECONDS"] + 60
    return {"keys": tokens.keys().published(now=now, max_token_age=max_age)}
