"""Satisfaction: one rating per finished dossier, by its citizen, within a window.

The rule for levels (used by the API and, as a SQL expression, by the reports):
the four answers are 1-5 each; their average >= 4 is *satisfied*, >= 3 *neutral*, below 3
*dissatisfied*. It is the reading of a five-point answer that the national satisfaction
index of public services uses (4-5 hài lòng, 3 bình thường, 1-2 không hài lòng), applied to
the average so one criterion does not decide alone. It is computed on the sum of the four
answers, in whole numbers: a sum of 16 or more is an average of 4 or more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend.dossiers.models import Dossier, DossierStatus
from backend.engagement.models import RATING_CRITERIA, DossierRating, SatisfactionLevel
from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.identity.access import Principal

# Dossiers that have ended in the agency's hands (a withdrawal is the citizen's own act).
RATABLE = frozenset({DossierStatus.RETURNED, DossierStatus.REFUSED, DossierStatus.STOPPED})
SATISFIED_MIN_SUM = 4 * len(RATING_CRITERIA)
NEUTRAL_MIN_SUM = 3 * len(RATING_CRITERIA)


class DossierNotFinished(Conflict):
    code = "dossier-not-finished"
    title = ("Hồ sơ chưa kết thúc", "The dossier has not finished")


class AlreadyRated(Conflict):
    code = "dossier-already-rated"
    title = ("Hồ sơ đã được đánh giá", "The dossier was already rated")


class RatingWindowClosed(Conflict):
    code = "rating-window-closed"
    title = ("Đã hết thời hạn đánh giá", "The time to rate has passed")


class RatingNotFound(NotFound):
    code = "rating-not-found"


def level_of(total: int) -> SatisfactionLevel:
    if total >= SATISFIED_MIN_SUM:
        return SatisfactionLevel.SATISFIED
    if total >= NEUTRAL_MIN_SUM:
        return SatisfactionLevel.NEUTRAL
    return SatisfactionLevel.DISSATISFIED


def total_of(rating) -> sa.ColumnElement[int]:
    """The sum of the answers as a SQL expression over a ratings table (or its alias)."""
    return rating.time + rating.staff_attitude + rating.clarity + rating.online_ease


def rate(
    *,
    principal: Principal,
    dossier: Dossier,
    answers: dict[str, int],
    comment: str | None,
    now: datetime,
) -> DossierRating:
    if dossier.status not in RATABLE:
        raise DossierNotFinished(
            (
                "Chỉ đánh giá được hồ sơ đã trả kết quả, bị từ chối hoặc bị dừng xử lý.",
                "Only dossiers returned, refused or stopped can be rated.",
            ),
            extra={"current_status": dossier.status.value},
        )
    if db.session.scalar(sa.select(DossierRating.id).where(DossierRating.dossier_id == dossier.id)):
        raise AlreadyRated(("Mỗi hồ sơ chỉ đánh giá một lần.", "A dossier is rated once."))
    window = timedelta(days=current_app.config["RATING_WINDOW_DAYS"])
    if dossier.finished_at is None or dossier.finished_at + window < now:
        raise RatingWindowClosed(
            (
                f"Chỉ đánh giá được trong {window.days} ngày sau khi hồ sơ kết thúc.",
                f"A dossier can be rated within {window.days} days of finishing.",
            )
        )
    rating = DossierRating(
        dossier_id=dossier.id,
        citizen_id=principal.account_id,
        agency_id=dossier.agency_id,
        procedure_id=dossier.procedure_id,
        submitted_at=dossier.submitted_at,
        comment=comment,
        created_at=now,
        **{name: answers[name] for name in RATING_CRITERIA},
    )
    try:
        with db.session.begin_nested():
            db.session.add(rating)
    except sa.exc.IntegrityError as error:  # two first ratings at once: the unique dossier
        raise AlreadyRated(
            ("Mỗi hồ sơ chỉ đánh giá một lần.", "A dossier is rated once.")
        ) from error
    db.session.flush()
    return rating


def rating_of(*, dossier: Dossier) -> DossierRating:
    rating = db.session.scalar(
        sa.select(DossierRating).where(DossierRating.dossier_id == dossier.id)
    )
    if rating is None:
        raise RatingNotFound(("Hồ sơ chưa được đánh giá.", "The dossier has not been rated."))
    return rating
