"""Quality figures for staff with ``reports.read``: JSON, CSV, and a chart."""

from __future__ import annotations

from flask import current_app

from backend.db import utcnow
from backend.identity.access import require_principal, staff_required
from backend.reports import exports, schemas, services
from backend.web import Blueprint

blp = Blueprint("reports", __name__, description="Quality indicators and the upgrade rule")


def _file_response(description: str, *media_types: str) -> dict:
    """The figures as a file: text, or bytes a generated client reads as a download."""
    schema = {"type": "string"}
    if not media_types[0].startswith("text/"):
        schema["format"] = "binary"
    return {
        "responses": {
            "200": {
                "description": description,
                "content": {media: {"schema": dict(schema)} for media in media_types},
                "headers": {
                    "Content-Disposition": "CONTENT_DISPOSITION",
                    "Content-Security-Policy": "CONTENT_SECURITY_POLICY",
                    "X-Content-Type-Options": "X_CONTENT_TYPE_OPTIONS",
                },
            }
        }
    }


def _report(agency, from_, to, procedure=None):
    return services.quality_report(
        principal=require_principal(),
        agency_code=agency,
        procedure_code=procedure,
        start=from_,
        end=to,
        now=utcnow(),
    )


def _file(body: str, media_type: str, name: str, *, disposition: str):
    response = current_app.response_class(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The chart is opened in browsers: it may draw, never run anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@blp.route("/quality")
@staff_required(services.PERMISSION)
@blp.arguments(schemas.QualityQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.QualityReportSchema)
@blp.refusals(403, 404)
def quality(**query):
    """Quality indicators of an agency (and those below it) over a period; upgrade eligibility"""
    return _report(**query)


@blp.route("/quality.csv")
@staff_required(services.PERMISSION)
@blp.arguments(schemas.QualityQuerySchema, location="query", as_kwargs=True)
@blp.doc(**_file_response("The same figures: a total row, then one per procedure", "text/csv"))
@blp.refusals(403, 404)
def quality_csv(**query):
    """Quality indicators as CSV (UTF-8), for spreadsheets"""
    report = _report(**query)
    name = f"chat-luong-{query['agency']}-{query['from_']}-{query['to']}.csv"
    return _file(exports.to_csv(report), "text/csv", name, disposition="attachment")


@blp.route("/quality/chart.svg")
@staff_required(services.PERMISSION)
@blp.arguments(schemas.QualityQuerySchema, location="query", as_kwargs=True)
@blp.doc(
    **_file_response(
        "Monthly online and on-time shares (sent as image/svg+xml)",
        "image/svg+xml",
        "application/octet-stream",
    )
)
@blp.refusals(403, 404)
def quality_chart(**query):
    """Chart of the monthly online and on-time shares (SVG)"""
    report = _report(**query)
    name = f"bieu-do-{query['agency']}-{query['from_']}-{query['to']}.svg"
    return _file(exports.to_svg(report), "image/svg+xml", name, disposition="inline")
