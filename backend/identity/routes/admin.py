"""Staff administration, within the agencies the administrator manages."""

from __future__ import annotations

from typing import NamedTuple

from backend.db import utcnow
from backend.identity import schemas
from backend.identity.access import require_principal, staff_required
from backend.identity.models import Account
from backend.identity.services import accounts, enrolment
from backend.web import Blueprint

blp = Blueprint("admin_staff", __name__, description="Staff administration")
MANAGE = "staff.manage"


class NewStaff(NamedTuple):
    account: Account
    enrolment: enrolment.IssuedCode


@blp.route("/staff")
@staff_required(MANAGE)
@blp.response(200, schemas.StaffListSchema)
@blp.refusals(403)
def list_staff():
    """Staff holding a role in my agencies"""
    return {"items": accounts.list_staff(visible_agencies=require_principal().agencies_for(MANAGE))}


@blp.route("/staff", methods=["POST"])
@staff_required(MANAGE)
@blp.arguments(schemas.StaffCreateSchema)
@blp.response(201, schemas.NewStaffSchema)
@blp.refusals(403, 404, 409)
def create_staff(data):
    """Add a staff member with a first role; the answer holds their enrolment code, once"""
    require_principal().agency(MANAGE, data["agency"])
    by = require_principal().account_id
    account = accounts.create_staff(
        phone=data["phone"],
        full_name=data["full_name"],
        agency_code=data["agency"],
        role=data["role"],
        granted_by=by,
    )
    return NewStaff(account, enrolment.issue(account=account, issued_by=by, now=utcnow()))


@blp.route("/staff/<account_id>/enrolment-code", methods=["POST"])
@staff_required(MANAGE)
@blp.response(201, schemas.EnrolmentCodeSchema)
@blp.refusals(403, 404, 409)
def issue_enrolment_code(account_id):
    """A new enrolment code for a staff member who has not set up an authenticator yet"""
    principal = require_principal()
    staff = accounts.get_staff(
        account_id=account_id, visible_agencies=principal.agencies_for(MANAGE)
    )
    return enrolment.issue(account=staff, issued_by=principal.account_id, now=utcnow())


@blp.route("/staff/<account_id>/roles", methods=["POST"])
@staff_required(MANAGE)
@blp.arguments(schemas.GrantCreateSchema)
@blp.response(201, schemas.GrantSchema)
@blp.refusals(403, 409)
def grant_role(data, account_id):
    """Give a staff member a role at an agency"""
    principal = require_principal()
    staff = accounts.get_staff(
        account_id=account_id, visible_agencies=principal.agencies_for(MANAGE)
    )
    return accounts.grant_role(
        account=staff,
        role=data["role"],
        agency_id=require_principal().agency(MANAGE, data["agency"]).id,
        granted_by=principal.account_id,
    )


@blp.route("/staff/<account_id>/roles/<grant_id>", methods=["DELETE"])
@staff_required(MANAGE)
@blp.response(204)
@blp.refusals(403)
def revoke_role(account_id, grant_id):
    """Take a role away"""
    principal = require_principal()
    visible = principal.agencies_for(MANAGE)
    staff = accounts.get_staff(account_id=account_id, visible_agencies=visible)
    accounts.revoke_role(
        account=staff, grant_id=grant_id, revoked_by=principal.account_id, visible_agencies=visible
    )
