"""The national calendar's announced swaps, managed by administrators at a top-level agency."""

from __future__ import annotations

from backend.errors import ValidationFailed
from backend.identity.access import Forbidden, require_principal, staff_required
from backend.parsing import Unparsable, parse_day
from backend.web import Blueprint
from backend.workdays import schemas, services

blp = Blueprint("calendar", __name__, description="Working-day calendar overrides")
MANAGE = "calendar.manage"


def _require_national_scope() -> None:
    """Swaps are announced nationally: the permission must be held at a top-level agency."""
    if not require_principal().holds_at_top(MANAGE):
        raise Forbidden(
            (
                "Chỉ quản trị của cơ quan cấp bộ hoặc cấp tỉnh sửa được lịch làm việc.",
                "Only administrators of a ministry or province change the calendar.",
            )
        )


@blp.route("/overrides")
@staff_required()
@blp.arguments(schemas.OverrideQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.OverrideListSchema)
@blp.refusals(403)
def list_overrides(year=None):
    """Announced extra days off and make-up working days"""
    return {"items": services.list_overrides(year=year)}


@blp.route("/overrides", methods=["POST"])
@staff_required(MANAGE)
@blp.arguments(schemas.OverrideSchema)
@blp.response(201, schemas.OverrideSchema)
@blp.refusals(403, 409)
def add_override(data):
    """Record an announced day off or make-up working day"""
    _require_national_scope()
    return services.add_override(day=data["day"], kind=data["kind"], note=data["note"])


@blp.route(
    "/overrides/<day>",
    methods=["DELETE"],
    parameters=[{"in": "path", "name": "day", "schema": {"type": "string", "format": "date"}}],
)
@staff_required(MANAGE)
@blp.response(204)
@blp.refusals(403, 422)
def remove_override(day):
    """Forget the override of a day (YYYY-MM-DD)"""
    _require_national_scope()
    services.remove_override(day=_parse_day(day))


def _parse_day(text: str):
    try:
        return parse_day(text)
    except Unparsable as error:
        raise ValidationFailed(errors={"day": [f"Not a valid date: {error}."]}) from error
