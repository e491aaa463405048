"""Public lookup of a dossier's status by its code."""

from __future__ import annotations

from flask import current_app, request

from backend import ratelimits
from backend.dossiers import schemas
from backend.dossiers.services import tracking
from backend.identity.access import public
from backend.web import Blueprint

blp = Blueprint("tracking", __name__, description="Public dossier status lookup")


def _wrong_verifier(response) -> bool:
    """A counter dossier's four digits guessed wrong: the guesses a caller may spend."""
    return response.status_code == 404 and "verifier" in request.args


@blp.route("/<code>")
@public
@ratelimits.limit(lambda: current_app.config["RATELIMIT_TRACKING_PER_IP"])
@ratelimits.limit(
    lambda: current_app.config["RATELIMIT_TRACKING_VERIFIER_PER_IP"],
    scope="tracking-verifier",
    exempt_when=lambda: "verifier" not in request.args,
    deduct_when=_wrong_verifier,
)
@blp.arguments(schemas.TrackingQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.TrackingSchema)
@blp.refusals(429)
def lookup(code, secret=None, verifier=None):
    """Status, procedure and dates of a dossier, by its code and lookup secret"""
    return tracking.lookup(code=code, secret=secret, verifier=verifier)
