"""A quarter of dossiers, petitions and ratings with known figures, written straight to tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from backend.agencies.models import Agency
from backend.catalog.models import Procedure, ProcedureVersion
from backend.db import new_id
from backend.dossiers.models import Dossier
from backend.engagement.models import DossierRating, Feedback
from backend.extensions import db
from backend.identity.models import Account, AccountKind
from tests.helpers.work import unit_of_work

MARRIAGE, CERTIFY, RESIDENCE, JUDICIAL = "1.000894", "2.000815", "1.004222", "2.000488"
WARD = "001.01.00.H56"


POLICE = "001.01.40.H56"


JUSTICE = "000.00.17.H56"


PROVINCE = "000.00.00.H56"


HA_LONG = "000.01.00.H56"


DAY = 8 * 3600  # office seconds in a working day


READ_AT = datetime(2026, 4, 15, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam


Q1 = {"from": "2026-01-01", "to": "2026-03-31"}


def vn(*args) -> datetime:
    """A moment given in Vietnam time."""
    return datetime(*args, tzinfo=UTC) - timedelta(hours=7)


class Builder:
    """Rows straight into the tables, in the test's transaction."""

    def __init__(self):
        self.procedures = {p.code: p for p in db.session.scalars(sa.select(Procedure))}
        self.versions = {
            v.procedure_id: v.id for v in db.session.scalars(sa.select(ProcedureVersion))
        }
        self.agencies = {a.code: a.id for a in db.session.scalars(sa.select(Agency))}
        self.citizen = Account(kind=AccountKind.CITIZEN, phone="+84912000999")
        db.session.add(self.citizen)
        db.session.flush()

    def dossiers(self, code, count, *, received, channel="online", rating=None, **outcome):
        if not count:
            return []  # an empty executemany would insert one row of defaults
        procedure = self.procedures[code]
        rows = []
        for _ in range(count):
            rows.append(
                {
                    "id": new_id(),
                    "procedure_id": procedure.id,
                    "procedure_version_id": self.versions[procedure.id],
                    "agency_id": procedure.agency_id,
                    "citizen_id": self.citizen.id,
                    "channel": channel,
                    "data": {},
                    "verifier_digests": [],
                    "version": 1,
                    "supplement_requests": 0,
                    "submitted_at": received,
                    "created_at": received or READ_AT,
                    "updated_at": received or READ_AT,
                    **outcome,
                }
            )
        db.session.execute(sa.insert(Dossier), rows)
        if rating is not None:
            answers = _answers_summing_to(rating)
            db.session.execute(
                sa.insert(DossierRating),
                [
                    {
                        "id": new_id(),
                        "dossier_id": row["id"],
                        "citizen_id": self.citizen.id,
                        "agency_id": row["agency_id"],
                        "procedure_id": row["procedure_id"],
                        "submitted_at": row["submitted_at"],
                        "created_at": READ_AT,
                        **answers,
                    }
                    for row in rows
                ],
            )
        return [row["id"] for row in rows]

    def petitions(self, count, *, agency=WARD, code=None, **fields):
        db.session.execute(
            sa.insert(Feedback),
            [
                {
                    "id": new_id(),
                    "sender_id": self.citizen.id,
                    "agency_id": self.agencies[agency],
                    "procedure_id": self.procedures[code].id if code else None,
                    "category": "delay",
                    "title": "Chậm",
                    "text": "Chậm trả kết quả",
                    "version": 1,
                    "updated_at": fields["received_at"],
                    **fields,
                }
                for _ in range(count)
            ],
        )


def _answers_summing_to(total: int) -> dict[str, int]:
    base, extra = divmod(total, 4)
    scores = [base + (1 if i < extra else 0) for i in range(4)]
    return dict(zip(("time", "staff_attitude", "clarity", "online_ease"), scores, strict=True))


def build(app, fill) -> None:
    """Run ``fill(builder)`` in its own app context: requests must not share the test's."""
    with unit_of_work(app):
        fill(Builder())
        db.session.commit()


def fill_quarter(b: Builder) -> None:
    """The table of the module docstring."""
    jan, feb, mar = vn(2026, 1, 10, 9, 0), vn(2026, 2, 10, 9, 0), vn(2026, 3, 10, 9, 0)
    jan_due, feb_due, mar_due = (
        vn(2026, 1, 15, 17, 0),
        vn(2026, 2, 13, 17, 0),
        vn(2026, 3, 20, 17, 0),
    )
    returned_on_time = {
        "status": "returned",
        "due_at": jan_due,
        "decided_at": jan_due - timedelta(days=1),
        "finished_at": jan_due,
        "office_seconds_spent": 2 * DAY,
        "submitted_acr": 2,
    }
    b.dossiers(MARRIAGE, 30, received=jan, rating=18, **returned_on_time)
    b.dossiers(MARRIAGE, 30, received=jan, **returned_on_time)
    b.dossiers(
        MARRIAGE,
        140,
        received=jan,
        channel="counter",
        status="returned",
        due_at=jan_due,
        decided_at=jan_due + timedelta(days=5),
        finished_at=jan_due + timedelta(days=6),
        office_seconds_spent=4 * DAY,
    )
    b.dossiers(
        MARRIAGE,
        7,
        received=vn(2026, 1, 1, 0, 5),
        status="submitted",
        due_at=vn(2026, 5, 4, 17, 0),
        submitted_acr=1,
    )
    b.dossiers(CERTIFY, 29, received=feb, status="processing", due_at=feb_due, submitted_acr=1)
    b.dossiers(
        CERTIFY,
        71,
        received=feb,
        channel="counter",
        status="decided",
        due_at=feb_due,
        decided_at=feb_due - timedelta(hours=30),
        office_seconds_spent=DAY,
    )
    stopped_on_time = {
        "status": "stopped",
        "due_at": mar_due,
        "finished_at": mar + timedelta(days=2),
        "office_seconds_spent": DAY // 2,
        "submitted_acr": 2,
    }
    b.dossiers(RESIDENCE, 20, received=mar, rating=12, **stopped_on_time)
    b.dossiers(RESIDENCE, 10, received=mar, rating=8, **stopped_on_time)
    b.dossiers(RESIDENCE, 10, received=mar, **stopped_on_time)
    b.dossiers(
        RESIDENCE,
        10,
        received=mar,
        rating=16,
        status="refused",
        due_at=mar_due,
        finished_at=mar + timedelta(hours=1),
        office_seconds_spent=3600,
        submitted_acr=0,
    )
    b.dossiers(
        RESIDENCE,
        5,
        received=mar,
        status="withdrawn",
        due_at=mar_due,
        finished_at=mar + timedelta(days=1),
        submitted_acr=1,
    )
    b.dossiers(
        RESIDENCE, 5, received=mar, status="supplement_requested", due_at=mar_due, submitted_acr=1
    )
    for received in (vn(2025, 12, 31, 23, 30), vn(2026, 4, 1, 0, 10)):
        count = 20 if received.year == 2025 else 10
        b.dossiers(MARRIAGE, count, received=received, status="processing", due_at=jan_due)
    b.dossiers(MARRIAGE, 5, received=None, status="draft")
    b.dossiers(
        JUDICIAL,
        50,
        received=feb,
        status="returned",
        due_at=feb_due,
        decided_at=feb_due - timedelta(days=1),
        finished_at=feb_due,
        office_seconds_spent=DAY,
        submitted_acr=2,
    )

    petition_in = vn(2026, 1, 12, 9, 0)
    answer_due = vn(2026, 2, 2, 17, 0)
    timing = {"received_at": petition_in, "refuse_due_at": petition_in, "answer_due_at": answer_due}
    b.petitions(4, code=MARRIAGE, status="answered", answered_at=answer_due, **timing)
    b.petitions(
        2, code=MARRIAGE, status="published", answered_at=answer_due + timedelta(days=1), **timing
    )
    b.petitions(1, status="processing", **timing)
    b.petitions(1, status="refused", refused_at=petition_in, **timing)
    late_in = vn(2026, 3, 30, 9, 0)
    b.petitions(
        1,
        status="processing",
        received_at=late_in,
        refuse_due_at=late_in,
        answer_due_at=vn(2026, 4, 20, 17, 0),
    )
