"""A citizen rates a finished dossier of theirs, once."""

from __future__ import annotations

from backend.apiheaders import LOCATION
from backend.db import utcnow
from backend.dossiers.services.access import citizen_dossier
from backend.engagement import schemas
from backend.engagement.models import RATING_CRITERIA
from backend.engagement.services import ratings
from backend.idempotency import idempotent
from backend.identity.access import citizen_required, require_principal
from backend.web import Blueprint, created

blp = Blueprint("dossier_ratings", __name__, description="Satisfaction ratings of dossiers")


@blp.route("/<dossier_id>/rating", methods=["POST"])
@citizen_required
@idempotent()
@blp.arguments(schemas.RatingCreateSchema)
@blp.response(201, schemas.RatingSchema, headers=LOCATION)
@blp.refusals(403, 409)
def rate(data, dossier_id):
    """Rate a finished dossier (1-5 per criterion), once, within the rating window"""
    principal = require_principal()
    rating = ratings.rate(
        principal=principal,
        dossier=citizen_dossier(principal, dossier_id, lock=True),
        answers={name: data[name] for name in RATING_CRITERIA},
        comment=data.get("comment"),
        now=utcnow(),
    )
    return created(rating, "dossier_ratings.get", dossier_id=dossier_id)


@blp.route("/<dossier_id>/rating")
@citizen_required
@blp.etag
@blp.response(200, schemas.RatingSchema)
@blp.refusals(403)
def get(dossier_id):
    """My rating of a dossier"""
    return ratings.rating_of(dossier=citizen_dossier(require_principal(), dossier_id))
