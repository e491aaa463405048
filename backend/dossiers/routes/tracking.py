"""Public lookup of a dossier's status by its code."""

from __future__ import annotations

from flask import current_app

from backend.dossiers import schemas
from backend.dossiers.services import tracking
from backend.extensions import limiter
from backend.security import public
from backend.web import Blueprint

blp = Blueprint("tracking", __name__, description="Public dossier status lookup")


@blp.route("/<code>")
@public
@limiter.limit(lambda: current_app.config["RATELIMIT_TRACKING_PER_IP"])
@blp.arguments(schemas.TrackingQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.TrackingSchema)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def lookup(code, verifier):
    """Status, procedure and dates of a dossier (verifier: last 4 digits of phone or ID)"""
    return tracking.lookup(code=code, verifier=verifier)
