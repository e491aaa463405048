"""What officers do: the work queue, the one-stop steps, counter dossiers, new due dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.agencies.models import Agency
from backend.catalog.models import Procedure
from backend.catalog.services import ProcedureNotFound
from backend.dossiers import workflow
from backend.dossiers.codes import issue_code
from backend.dossiers.models import (
    FINISHED,
    OPEN_SQL,
    RUNNING,
    SUMMARY,
    Channel,
    Dossier,
    DossierStatus,
)
from backend.dossiers.services.access import officer_scope
from backend.dossiers.services.drafts import check_form, fileable_procedure
from backend.dossiers.services.submission import verifier_digests
from backend.errors import Conflict, ValidationFailed
from backend.extensions import db
from backend.identity.access import Principal
from backend.pagination import Keyset, Page
from backend.workdays.services import due_soon_cutoff


# Dossiers whose clock runs: officers owe the next step.
class SupplementAlreadyRequested(Conflict):
    code = "supplement-already-requested"
    title = ("Đã yêu cầu bổ sung một lần", "A supplement was already requested")


class ResultMissing(ValidationFailed):
    code = "result-missing"


class NotLate(Conflict):
    code = "dossier-not-late"


# The queue's statement for each shape a request can take; a request binds its values.
QUEUE = Keyset(
    SUMMARY.where(
        Dossier.agency_id.in_(sa.bindparam("agencies", expanding=True)),
        Dossier.status != DossierStatus.DRAFT,
    ),
    order_by=[Dossier.due_at, Dossier.id],
    key=lambda d: [d.due_at.isoformat(), d.id],
    optional={
        "status": Dossier.status == sa.bindparam("status"),
        # The same words as the partial indexes' predicate, so the planner can use them.
        "open": sa.text(f"dossiers.{OPEN_SQL}"),
        "finished": Dossier.status.in_(FINISHED),
        "procedure_code": Procedure.code == sa.bindparam("procedure_code"),  # joined already
        # One agency by its unique code: a subquery, so the statement keeps the summary's joins.
        "agency_code": Dossier.agency_id
        == sa.select(Agency.id).where(Agency.code == sa.bindparam("agency_code")).scalar_subquery(),
        "overdue_at": sa.and_(
            Dossier.status.in_(RUNNING), Dossier.due_at < sa.bindparam("overdue_at")
        ),
        "soon_from": sa.and_(
            Dossier.status.in_(RUNNING),
            Dossier.due_at >= sa.bindparam("soon_from"),
            Dossier.due_at <= sa.bindparam("soon_until"),
        ),
    },
)


def queue(
    *,
    principal: Principal,
    status: DossierStatus | None,
    procedure_code: str | None,
    agency_code: str | None,
    due: str | None,
    cursor: str | None,
    limit: int,
    now: datetime,
    state: str = "open",
) -> Page:
    """Dossiers of the officer's agencies, most urgent first.

    ``state`` picks the open ones (the default: still to be worked on or handed back), the
    finished ones or all; a ``status`` picks exactly that status, whatever the state.
    """
    return QUEUE.page(
        cursor=cursor,
        limit=limit,
        agencies=sorted(officer_scope(principal)),
        status=status,
        open=status is None and state == "open",
        finished=status is None and state == "finished",
        procedure_code=procedure_code,
        agency_code=agency_code,
        overdue_at=now if due == "overdue" else None,
        soon_from=now if due == "soon" else None,
        soon_until=due_soon_cutoff(now=now) if due == "soon" else None,
    )


def act(
    *,
    principal: Principal,
    dossier: Dossier,
    action: str,
    now: datetime,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> Dossier:
    """One step of the table with no more to it than a note (accept, refuse, stop, ...)."""
    if action == "decide" and dossier.result_document_id is None:
        workflow.check(dossier, action, actor=principal)
        raise ResultMissing(
            ("Hãy tải lên văn bản kết quả trước.", "Upload the result document first."),
            errors={"result": ["Upload the result document first."]},
        )
    workflow.move(dossier, action, actor=principal, now=now, note=note, details=details)
    db.session.flush()
    return dossier


def request_supplement(
    *, principal: Principal, dossier: Dossier, items: list[str], note: str | None, now: datetime
) -> Dossier:
    workflow.check(dossier, "request_supplement", actor=principal)
    if dossier.supplement_requests >= 1:
        raise SupplementAlreadyRequested(
            (
                "Mỗi hồ sơ chỉ được yêu cầu bổ sung một lần.",
                "A dossier may be sent back for a supplement only once.",
            )
        )
    dossier.supplement_requests += 1
    return act(
        principal=principal,
        dossier=dossier,
        action="request_supplement",
        now=now,
        note=note,
        details={"items": items},
    )


def request_fees(
    *, principal: Principal, dossier: Dossier, amount: int, note: str | None, now: datetime
) -> Dossier:
    workflow.check(dossier, "request_fees", actor=principal)
    dossier.fee_amount = amount
    return act(
        principal=principal,
        dossier=dossier,
        action="request_fees",
        now=now,
        note=note,
        details={"amount": amount},
    )


def extend_due(
    *, principal: Principal, dossier: Dossier, due_at: datetime, apology: str, now: datetime
) -> Dossier:
    """A new due date for a dossier that will be late, with the apology the citizen receives."""
    workflow.check(dossier, "extend_due", actor=principal)
    if dossier.due_at is None or dossier.due_at > due_soon_cutoff(now=now):
        raise NotLate(
            (
                "Chỉ gia hạn được hồ sơ sắp đến hạn hoặc đã quá hạn.",
                "Only dossiers due within a working day or overdue can get a new date.",
            )
        )
    if due_at <= dossier.due_at or due_at <= now:
        raise ValidationFailed(errors={"due_at": ["Must be later than the current due date."]})
    previous = dossier.due_at
    dossier.due_at = due_at
    workflow.move(
        dossier,
        "extend_due",
        actor=principal,
        now=now,
        note=apology,
        details={"previous_due_at": previous.isoformat(), "due_at": due_at.isoformat()},
    )
    db.session.flush()
    return dossier


def register_counter(
    *,
    principal: Principal,
    procedure_code: str,
    channel: Channel,
    applicant: dict[str, Any],
    data: dict[str, Any],
    now: datetime,
) -> Dossier:
    """A dossier handed in at the counter or by post: received at once, counted in the figures."""
    procedure, version = fileable_procedure(code=procedure_code, principal=principal)
    if not principal.can("dossier.receive", procedure.agency_id):
        raise ProcedureNotFound(("Không có thủ tục mã này.", "No procedure has this code."))
    dossier = Dossier(
        procedure=procedure,
        procedure_version_id=version.id,
        procedure_version=version,
        agency_id=procedure.agency_id,
        agency=procedure.agency,
        channel=channel,
        status=DossierStatus.ACCEPTED,
        data=check_form(version, data, partial=False),
        applicant_name=applicant["full_name"],
        applicant_phone=applicant.get("phone"),
        submitted_at=now,
        created_at=now,
        updated_at=now,
    )
    db.session.add(dossier)
    db.session.flush()
    dossier.code = issue_code(procedure.agency, at=now)
    dossier.verifier_digests = verifier_digests(dossier, national_id=applicant.get("national_id"))
    workflow.recompute_due(dossier)
    workflow.record(
        dossier,
        action="register",
        actor=principal,
        from_status=None,
        now=now,
        details={"channel": channel.value},
    )
    db.session.flush()
    return dossier
