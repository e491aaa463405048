"""The signed-in person: profile, devices, authenticator app."""

from __future__ import annotations

from backend.db import utcnow
from backend.identity import schemas
from backend.identity.access import Forbidden, require_principal
from backend.identity.models import AccountKind
from backend.identity.routes import totp_guesses_limited
from backend.identity.services import accounts, enrolment, login, sessions, totp
from backend.web import Blueprint

blp = Blueprint("me", __name__, description="The signed-in person")


@blp.route("")
@blp.etag
@blp.response(200, schemas.ProfileSchema)
def get_me():
    """My profile (national ID number masked)"""
    return require_principal().session.account


@blp.route("", methods=["PATCH"])
@blp.arguments(schemas.ProfilePatchSchema, required=False)
@blp.response(200, schemas.ProfileSchema)
@blp.refusals(409)
def patch_me(changes):
    """Change my name, e-mail, language or address"""
    return accounts.update_profile(account=require_principal().session.account, changes=changes)


@blp.route("/sessions")
@blp.response(200, schemas.SessionListSchema)
def list_sessions():
    """My signed-in devices"""
    return {"items": sessions.list_sessions(account_id=require_principal().account_id)}


@blp.route("/sessions/<session_id>", methods=["DELETE"])
@blp.response(204)
def revoke_session(session_id):
    """Sign a device out"""
    sessions.revoke_session(
        account_id=require_principal().account_id,
        session_id=session_id,
        reason="revoked_by_owner",
        now=utcnow(),
    )


@blp.route("/totp", methods=["POST"])
@totp_guesses_limited
@blp.arguments(schemas.TotpBeginSchema, required=False)
@blp.refusals(429)
@blp.response(201, schemas.TotpEnrolmentSchema)
@blp.refusals(401, 409)
def begin_totp(data):
    """Start setting up an authenticator app (scan the QR code, then confirm)"""
    return enrolment.begin(
        account=require_principal().session.account,
        code=(data or {}).get("enrolment_code"),
        now=utcnow(),
    )


@blp.route("/totp/confirm", methods=["POST"])
@totp_guesses_limited
@blp.arguments(schemas.CodeSchema)
@blp.refusals(429)
@blp.response(200, schemas.TotpConfirmedSchema)
@blp.refusals(409)
def confirm_totp(data):
    """Confirm the app with its first code; returns recovery codes, shown only once"""
    codes, pair = login.confirm_totp_and_upgrade(
        session=require_principal().session, code=data["code"], now=utcnow()
    )
    return {"recovery_codes": codes, "tokens": pair}


@blp.route("/totp/recovery-codes", methods=["POST"])
@totp_guesses_limited
@blp.arguments(schemas.CodeSchema)
@blp.refusals(429)
@blp.response(200, schemas.RecoveryCodesSchema)
@blp.refusals(409)
def new_recovery_codes(data):
    """Replace my recovery codes"""
    codes = totp.regenerate_recovery_codes(
        account=require_principal().session.account, code=data["code"], now=utcnow()
    )
    return {"recovery_codes": codes}


@blp.route("/totp/disable", methods=["POST"])
@totp_guesses_limited
@blp.arguments(schemas.CodeSchema)
@blp.refusals(429)
@blp.response(204)
@blp.refusals(403, 409)
def disable_totp(data):
    """Remove my authenticator app (citizens only)"""
    principal = require_principal()
    if principal.kind is AccountKind.STAFF:
        raise Forbidden(("Cán bộ phải dùng ứng dụng xác thực.", "Staff must keep one."))
    totp.disable(account=principal.session.account, code=data["code"], now=utcnow())
