"""Who may read which figures: ``reports.read`` at an agency reaches it and the agencies below."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from backend.agencies.services import with_descendants
from backend.catalog.authoring.services import pilot_period
from backend.catalog.models import Procedure
from backend.catalog.services import ProcedureNotFound
from backend.extensions import db
from backend.identity.access import Principal
from backend.reports import indicators
from backend.workdays.calendar import local_day

PERMISSION = "reports.read"


def quality_report(
    *,
    principal: Principal,
    agency_code: str,
    procedure_code: str | None,
    start: date,
    end: date,
    now: datetime,
) -> indicators.QualityReport:
    """The figures of an agency in the reader's scope; any other agency looks unknown (404)."""
    agency = principal.agency(PERMISSION, agency_code)
    scope = with_descendants({agency.id})
    procedure = None
    if procedure_code is not None:
        procedure = db.session.scalar(
            sa.select(Procedure).where(
                Procedure.code == procedure_code, Procedure.agency_id.in_(scope)
            )
        )
        if procedure is None:
            raise ProcedureNotFound(
                ("Cơ quan này không có thủ tục mã này.", "The agency has no such procedure.")
            )
    return indicators.build(
        agency=agency, scope=scope, procedure=procedure, start=start, end=end, now=now
    )


def pilot_figures(*, procedure: Procedure, now: datetime) -> indicators.QualityReport:
    """The figures of a procedure's pilot (Article 21 step 4e), to judge it before publishing."""
    began, ended = pilot_period(procedure=procedure, now=now)
    return indicators.build(
        agency=procedure.agency,
        scope={procedure.agency_id},
        procedure=procedure,
        start=local_day(began),
        end=local_day(ended),
        now=now,
    )
