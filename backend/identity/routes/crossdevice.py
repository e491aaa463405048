"""Cross-device sign-in: the screen that asks, the phone that approves, the agency's screens."""

from __future__ import annotations

from flask import current_app

from backend import ratelimits
from backend.db import utcnow
from backend.identity import dpop, schemas
from backend.identity.access import (
    citizen_required,
    public,
    require_acr,
    require_bound_key,
    require_principal,
    staff_required,
)
from backend.identity.services import crossdevice
from backend.web import Blueprint

screen = Blueprint("cross_device", __name__, description="Sign in on another screen")
phone = Blueprint("cross_device_approval", __name__, description="Approve a sign-in on a screen")
admin = Blueprint("admin_signin_clients", __name__, description="Sign-in screens of an agency")
MANAGE = "staff.manage"


@screen.route("", methods=["POST"])
@public
@ratelimits.limit(lambda: current_app.config["RATELIMIT_CROSS_DEVICE_PER_IP"])
@screen.arguments(schemas.CrossDeviceStartSchema)
@screen.response(201, schemas.CrossDeviceStartedSchema)
@screen.refusals(429)
def start(data):
    """A registered screen asks to be signed in: show the QR (link) and the code, then poll"""
    started = crossdevice.start(
        client_id=data["client_id"],
        code_challenge=data["code_challenge"],
        acr=data["acr"],
        now=utcnow(),
    )
    return started


@screen.route("/<request_id>/token", methods=["POST"])
@public
@dpop.token_endpoint
@ratelimits.limit(lambda: current_app.config["RATELIMIT_TOKEN_PER_IP"])
@screen.arguments(schemas.CrossDeviceRedeemSchema)
@screen.response(200, schemas.TokenSchema)
@screen.refusals(401, 429)
def redeem(data, request_id):
    """Poll (RFC 8628 errors: authorization_pending, slow_down, expired_token, access_denied);
    once approved, the screen's own session, once"""
    pair = crossdevice.redeem(
        request_id=request_id, code_verifier=data["code_verifier"], now=utcnow()
    )
    return pair


@phone.route("/<request_id>")
@citizen_required
@phone.response(200, schemas.CrossDeviceRequestSchema)
@phone.refusals(403)
def show(request_id):
    """The request a scanned QR points to: who asks, where, for which level, and three codes"""
    return crossdevice.for_phone(request_id=request_id, now=utcnow())


@phone.route("/<request_id>/approve", methods=["POST"])
@citizen_required
@phone.arguments(schemas.CrossDeviceApproveSchema)
@phone.response(200, schemas.CrossDeviceRequestSchema)
@phone.refusals(403, 409)
def approve(data, request_id):
    """Approve with the code the screen shows (three wrong picks deny the request)"""
    now = utcnow()
    if current_app.config["CROSS_DEVICE_PHONE_BOUND"]:
        require_bound_key()  # the phone proves its key: a copied token approves nothing
    pending = crossdevice.for_phone(request_id=request_id, now=now)
    require_acr(pending.requested_acr)
    principal = require_principal()
    approved = crossdevice.approve(
        pending,
        picked=data["code"],
        account_id=principal.account_id,
        session_id=principal.session_id,
        now=now,
    )
    return approved


@phone.route("/<request_id>/deny", methods=["POST"])
@citizen_required
@phone.response(204)
@phone.refusals(403, 409)
def deny(request_id):
    """Refuse: the screen hears access_denied"""
    crossdevice.deny(request_id=request_id, account_id=require_principal().account_id, now=utcnow())


@admin.route("")
@staff_required(MANAGE)
@admin.response(200, schemas.SigninClientListSchema)
@admin.refusals(403)
def list_clients():
    """The sign-in screens of my agencies"""
    visible = require_principal().agencies_for(MANAGE)
    return {"items": crossdevice.list_clients(visible_agencies=visible)}


@admin.route("", methods=["POST"])
@staff_required(MANAGE)
@admin.arguments(schemas.SigninClientCreateSchema)
@admin.response(201, schemas.SigninClientSchema)
@admin.refusals(403, 404)
def register_client(data):
    """Register a portal, kiosk or counter screen; its id is the client_id it starts with"""
    principal = require_principal()
    client = crossdevice.register_client(
        agency=principal.agency(MANAGE, data["agency"]),
        kind=data["kind"],
        name=data["name"],
        name_en=data.get("name_en"),
        place=data.get("place"),
        registered_by=principal.account_id,
        now=utcnow(),
    )
    return client


@admin.route("/<client_id>", methods=["DELETE"])
@staff_required(MANAGE)
@admin.response(204)
@admin.refusals(403, 404)
def retire_client(client_id):
    """Retire a screen: it can start no more sign-ins"""
    principal = require_principal()
    crossdevice.retire_client(
        client_id=client_id,
        visible_agencies=principal.agencies_for(MANAGE),
        by=principal.account_id,
        now=utcnow(),
    )
