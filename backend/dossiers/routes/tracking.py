"""Public lookup of a dossier's status by its code."""

from __future__ import annotations

import hashlib

from flask import current_app, request

from backend.dossiers import schemas
from backend.dossiers.services import tracking
from backend.extensions import limiter
from backend.security import public
from backend.web import Blueprint

blp = Blueprint("tracking", __name__, description="Public dossier status lookup")


def _code_key() -> str:
    """One counter per dossier code, whoever asks: the verifier has only 10,000 values."""
    code = (request.view_args or {}).get("code", "")
    return "tracking-code:" + hashlib.sha256(code.encode("utf-8", "replace")).hexdigest()[:32]


def _wrong_verifier(response) -> bool:
    return response.status_code == 404


@blp.route("/<code>")
@public
@limiter.limit(lambda: current_app.config["RATELIMIT_TRACKING_PER_IP"])
@limiter.limit(
    lambda: current_app.config["RATELIMIT_TRACKING_PER_CODE"],
    key_func=_code_key,
    deduct_when=_wrong_verifier,
)
@blp.arguments(schemas.TrackingQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.TrackingSchema)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def lookup(code, verifier):
    """Status, procedure and dates of a dossier (verifier: last 4 digits of phone or ID)"""
    return tracking.lookup(code=code, verifier=verifier)
