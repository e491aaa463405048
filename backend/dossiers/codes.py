"""Dossier codes in the Circular 01/2018 Art. 19 form ``AGENCYCODE-YYMMDD-NNNN``.

The number is a per-agency, per-day sequence kept in a counter row that one atomic upsert bumps;
on PostgreSQL concurrent submissions wait on that row, so no two get the same number, and a
submission that rolls back gives its number back.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from backend.agencies.models import Agency
from backend.dossiers.models import DailyCounter
from backend.extensions import db, on_conflict
from backend.workdays.calendar import LEGAL_TIMEZONE

_COUNTERS = DailyCounter.__table__
# Built once: every submission runs it.
_BUMP = on_conflict(
    sa.insert(_COUNTERS)
    .values(agency_id=sa.bindparam("agency_id"), day=sa.bindparam("day"), last_number=1)
    .returning(_COUNTERS.c.last_number),
    "ON CONFLICT (agency_id, day) DO UPDATE SET last_number = dossier_counters.last_number + 1",
)


def issue_code(agency: Agency, *, at: datetime) -> str:
    day = at.astimezone(LEGAL_TIMEZONE).date()
    number = db.session.execute(_BUMP, {"agency_id": agency.id, "day": day}).scalar_one()
    return f"{agency.code}-{day:%y%m%d}-{number:04d}"


def count_issued(agency: Agency, *, day) -> int:
    return (
        db.session.scalar(
            sa.select(DailyCounter.last_number).where(
                DailyCounter.agency_id == agency.id, DailyCounter.day == day
            )
        )
        or 0
    )
