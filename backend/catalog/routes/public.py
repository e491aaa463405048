"""Public catalog: agencies and the procedures citizens can file online."""

from __future__ import annotations

from backend.agencies import schemas as agency_schemas
from backend.agencies import services as agency_services
from backend.catalog import schemas, services
from backend.identity.access import public, viewer_id
from backend.unitofwork import reads_only
from backend.web import Blueprint

blp = Blueprint("catalog", __name__, description="Agencies and administrative procedures")


@blp.route("/agencies")
@public
@blp.arguments(agency_schemas.AgencyQuerySchema, location="query", as_kwargs=True)
@blp.response(200, agency_schemas.AgencyPageSchema)
def list_agencies(level=None, parent=None, cursor=None, limit=20):
    """List agencies"""
    return agency_services.list_agencies(
        level=level, parent_code=parent, cursor=cursor, limit=limit
    )


@blp.route("/agencies/<code>")
@public
@blp.etag
@blp.response(200, agency_schemas.AgencySchema)
def get_agency(code):
    """Get one agency"""
    return agency_services.get_agency(code=code)


@blp.route("/procedures")
@public
@blp.arguments(schemas.ProcedureQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.ProcedurePageSchema)
@reads_only
def search_procedures(q=None, agency=None, field=None, mode=None, cursor=None, limit=20):
    """Search procedures (diacritics and case ignored)"""
    return services.search_procedures(
        q=q,
        agency_code=agency,
        field=field,
        mode=mode,
        cursor=cursor,
        limit=limit,
        viewer_id=viewer_id(),
    )


@blp.route("/procedures/<code>")
@public
@blp.etag
@blp.response(200, schemas.ProcedureDetailSchema)
@reads_only
def get_procedure(code):
    """Get a procedure as in force: requirements, documents and form"""
    return services.get_public_version(code=code, viewer_id=viewer_id())
