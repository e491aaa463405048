"""Catalog administration for staff with ``catalog.manage``, within their agencies."""

from __future__ import annotations

from backend.apiheaders import LOCATION
from backend.catalog.authoring import schemas, services
from backend.db import utcnow
from backend.idempotency import idempotent
from backend.identity.access import require_principal, staff_required
from backend.reports import services as reports
from backend.reports.schemas import QualityReportSchema
from backend.web import Blueprint, created

blp = Blueprint("admin_catalog", __name__, description="Catalog administration (audited)")
MANAGE = services.PERMISSION


def _managed(code: str, *, lock: bool = False):
    return services.managed_procedure(principal=require_principal(), code=code, lock=lock)


@blp.route("/procedures")
@staff_required(MANAGE)
@blp.arguments(schemas.AdminQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.ManagedProcedurePageSchema)
@blp.refusals(403)
def list_procedures(status=None, cursor=None, limit=20):
    """Procedures of my agencies, drafts included"""
    return services.list_managed(
        principal=require_principal(), status=status, cursor=cursor, limit=limit
    )


@blp.route("/procedures", methods=["POST"])
@staff_required(MANAGE)
@idempotent()
@blp.arguments(schemas.ProcedureCreateSchema)
@blp.response(201, schemas.ManagedProcedureSchema, headers=LOCATION)
@blp.refusals(403, 404, 409)
def create_procedure(data):
    """Create a procedure as a draft"""
    procedure = services.create_procedure(
        principal=require_principal(),
        code=data["code"],
        agency_code=data["agency"],
        content=data["content"],
        note=data.get("note"),
        now=utcnow(),
    )
    return created(procedure, "admin_catalog.get_procedure", code=procedure.code)


@blp.route("/procedures/<code>")
@staff_required(MANAGE)
@blp.etag
@blp.response(200, schemas.ManagedProcedureSchema)
@blp.refusals(403)
def get_procedure(code):
    """One procedure of my agencies: status, working copy, versions"""
    return _managed(code)


@blp.route("/procedures/<code>/draft", methods=["PUT"])
@staff_required(MANAGE)
@blp.arguments(schemas.DraftEditSchema)
@blp.response(200, schemas.ManagedProcedureSchema)
@blp.refusals(403, 409)
def edit_draft(data, code):
    """Replace the working copy (frozen into a version when piloted or published)"""
    return services.edit_draft(
        principal=require_principal(),
        procedure=_managed(code, lock=True),
        content=data["content"],
        note=data.get("note"),
        now=utcnow(),
    )


@blp.route("/procedures/<code>/status", methods=["POST"])
@staff_required(MANAGE)
@blp.arguments(schemas.MoveSchema)
@blp.response(200, schemas.ManagedProcedureSchema)
@blp.refusals(403, 409)
def move(data, code):
    """Pilot, publish, suspend or retire the procedure"""
    return services.move(
        principal=require_principal(),
        procedure=_managed(code, lock=True),
        to=data["status"],
        note=data.get("note"),
        now=utcnow(),
    )


@blp.route("/procedures/<code>/pilot-members")
@staff_required(MANAGE)
@blp.response(200, schemas.PilotMemberListSchema)
@blp.refusals(403)
def list_pilot_members(code):
    """Citizens allowed to file the procedure while it is in pilot"""
    return {"items": services.pilot_members(procedure=_managed(code))}


@blp.route("/procedures/<code>/pilot-members", methods=["POST"])
@staff_required(MANAGE)
@blp.arguments(schemas.PilotMemberCreateSchema)
@blp.response(201, schemas.PilotMemberSchema)
@blp.refusals(403)
def add_pilot_member(data, code):
    """Let a citizen (by phone) into the pilot"""
    return services.add_pilot_member(
        principal=require_principal(),
        procedure=_managed(code, lock=True),
        phone=data["phone"],
        now=utcnow(),
    )


@blp.route("/procedures/<code>/pilot-members/<account_id>", methods=["DELETE"])
@staff_required(MANAGE)
@blp.response(204)
@blp.refusals(403)
def remove_pilot_member(code, account_id):
    """Take a citizen out of the pilot"""
    services.remove_pilot_member(
        principal=require_principal(),
        procedure=_managed(code, lock=True),
        account_id=account_id,
        now=utcnow(),
    )


@blp.route("/procedures/<code>/audit")
@staff_required(MANAGE)
@blp.response(200, schemas.AuditListSchema)
@blp.refusals(403)
def audit(code):
    """Every administrative act on the procedure, oldest first"""
    return {"items": services.audit_trail(procedure=_managed(code))}


@blp.route("/procedures/<code>/pilot-figures")
@staff_required(MANAGE)
@blp.response(200, QualityReportSchema)
@blp.refusals(403)
def pilot_figures(code):
    """The figures of the procedure's pilot, to decide whether to publish it"""
    return reports.pilot_figures(procedure=_managed(code), now=utcnow())
