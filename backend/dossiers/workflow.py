"""The one-stop workflow (DESIGN §6) in one table, and the one function that moves a dossier.

Every move checks the table, the actor and their scope, appends an immutable event, bumps the
dossier's version and, while the citizen has to act (supplement, fees), stops the clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.dossiers.models import (
    FINISHED,
    Dossier,
    DossierEvent,
    DossierPause,
    DossierStatus,
)
from backend.dossiers.services.tracking import lookup_secret
from backend.errors import Conflict, DomainError
from backend.identity.access import Principal
from backend.notifications.services import notify, notify_phone
from backend.states import Step, Steps
from backend.trails import append
from backend.unitofwork import write_now
from backend.workdays.calendar import LEGAL_TIMEZONE
from backend.workdays.services import DeadlineUnit, compute_due, current_calendar

S = DossierStatus
CITIZEN, STAFF = "citizen", "staff"


class TransitionNotAllowed(Conflict):
    code = "transition-not-allowed"
    title = ("Không thể thực hiện ở trạng thái này", "Not allowed in this status")


STEPS = Steps(
    {
        "submit": Step(frozenset({S.DRAFT}), S.SUBMITTED, CITIZEN),
        "accept": Step(frozenset({S.SUBMITTED}), S.ACCEPTED, STAFF, "dossier.receive"),
        "refuse": Step(frozenset({S.SUBMITTED}), S.REFUSED, STAFF, "dossier.receive"),
        "start_processing": Step(frozenset({S.ACCEPTED}), S.PROCESSING, STAFF, "dossier.process"),
        "request_supplement": Step(
            frozenset({S.ACCEPTED, S.PROCESSING}), S.SUPPLEMENT_REQUESTED, STAFF, "dossier.process"
        ),
        "resubmit": Step(frozenset({S.SUPPLEMENT_REQUESTED}), None, CITIZEN),
        "request_fees": Step(frozenset({S.PROCESSING}), S.FEES_DUE, STAFF, "dossier.process"),
        "confirm_fees": Step(frozenset({S.FEES_DUE}), None, STAFF, "dossier.process"),
        "decide": Step(frozenset({S.PROCESSING}), S.DECIDED, STAFF, "dossier.decide"),
        "return_result": Step(frozenset({S.DECIDED}), S.RETURNED, STAFF, "dossier.return"),
        "withdraw": Step(
            frozenset({S.SUBMITTED, S.ACCEPTED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.FEES_DUE}),
            S.WITHDRAWN,
            CITIZEN,
        ),
        "stop": Step(
            frozenset({S.ACCEPTED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.FEES_DUE}),
            S.STOPPED,
            STAFF,
            "dossier.decide",
        ),
        # A new due date for a dossier that will be late: the status stays. Not a button: the
        # app offers it only near the due date (the service checks that).
        "extend_due": Step(
            frozenset({S.SUBMITTED, S.ACCEPTED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.FEES_DUE}),
            None,
            STAFF,
            "dossier.process",
            listed=False,
        ),
    },
    refused=TransitionNotAllowed,
    what=("hồ sơ", "dossier"),
)
# Moves that stop the clock, and the status they wait in.
PAUSING = {"request_supplement": S.SUPPLEMENT_REQUESTED, "request_fees": S.FEES_DUE}
RESUMING = frozenset({"resubmit", "confirm_fees"})


# Where the agency's work on a dossier ends: decided, refused at the desk, or stopped.
TIMED_ENDS = frozenset({S.DECIDED, S.REFUSED, S.STOPPED})


class PermissionMissing(DomainError):
    code = "permission-missing"
    kind = "forbidden"
    title = ("Không có quyền", "Forbidden")


def allowed_actions(dossier: Dossier, principal: Principal) -> list[str]:
    """What this person may do to this dossier now (the app shows these as buttons)."""
    return STEPS.allowed(dossier.status, lambda step: _may(principal, step, dossier))


def _may(principal: Principal, step: Step, dossier: Dossier) -> bool:
    if step.actor == CITIZEN:
        return not principal.is_staff and dossier.citizen_id == principal.account_id
    return principal.is_staff and principal.can(step.permission, dossier.agency_id)


# What the citizen hears about each step (backend.notifications.templates has the words).
ANNOUNCED = {
    "submit": "dossier.submitted",
    "accept": "dossier.accepted",
    "refuse": "dossier.refused",
    "start_processing": "dossier.processing",
    "request_supplement": "dossier.supplement_requested",
    "resubmit": "dossier.resubmitted",
    "request_fees": "dossier.fees_due",
    "confirm_fees": "dossier.processing",
    "decide": "dossier.decided",
    "return_result": "dossier.returned",
    "withdraw": "dossier.withdrawn",
    "stop": "dossier.stopped",
    "extend_due": "dossier.due_date_extended",
}


# What an applicant at the counter, with a phone but no account, is texted about.
COUNTER_ANNOUNCED = {
    "register": "dossier.counter_received",
    "request_supplement": "dossier.counter_supplement_requested",
    "request_fees": "dossier.counter_fees_due",
    "decide": "dossier.counter_decided",
    "extend_due": "dossier.counter_due_date_extended",
}


def _legal_date(moment: datetime) -> str:
    return moment.astimezone(LEGAL_TIMEZONE).date().isoformat()


def announce(dossier: Dossier, action: str, now: datetime) -> None:
    """Queue the citizen's notification in the same transaction as the step it tells of.

    A counter dossier may have no account behind it: its applicant, when they left a phone,
    gets the steps that ask something of them or tell them when to come, by SMS.
    """
    data = {"dossier_id": dossier.id, "code": dossier.code}
    if action in ("submit", "register"):
        data["lookup_secret"] = lookup_secret(dossier.id)
    if action == "extend_due":
        data["new_due_date"] = _legal_date(dossier.due_at)
    if dossier.citizen_id is not None:
        kind = ANNOUNCED.get(action)
        if kind is not None:
            notify(dossier.citizen_id, kind, data, now=now)
        return
    kind = COUNTER_ANNOUNCED.get(action)
    if kind is None or not dossier.applicant_phone:
        return
    if action == "register":
        data["due_date"] = _legal_date(dossier.due_at) if dossier.due_at else "-"
    notify_phone(phone=dossier.applicant_phone, kind=kind, data=data, now=now)


def record(
    dossier: Dossier,
    *,
    action: str,
    actor: Principal | None,
    from_status: DossierStatus | None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime,
    announced: bool = True,
) -> DossierEvent:
    """Append the step to the timeline and, unless ``announced=False``, queue its message."""
    event = append(
        DossierEvent,
        owner="dossier_id",
        owner_id=dossier.id,
        action=action,
        from_status=from_status,
        to_status=dossier.status,
        actor_id=actor.account_id if actor else None,
        actor_kind=(actor.kind.value if actor else "system"),
        note=note,
        details=details or {},
        created_at=now,
    )
    if announced:
        # The dossier's row before the notice, whose reads would flush it (``write_now``).
        write_now(dossier)
        announce(dossier, action, now)
    return event


def recompute_due(dossier: Dossier) -> None:
    """The due date from the receipt, the processing time and every finished pause."""
    if dossier.submitted_at is None:
        return
    content = dossier.procedure_version.content["processing_time"]
    pauses = [(p.started_at, p.ended_at) for p in dossier.pauses if p.ended_at is not None]
    dossier.due_at = compute_due(
        received_at=dossier.submitted_at,
        amount=content["amount"],
        unit=DeadlineUnit(content["unit"]),
        pauses=pauses,
    )


def office_seconds_spent(dossier: Dossier, *, until: datetime) -> int | None:
    """Office time from the receipt to ``until``, without the waits for the citizen."""
    if dossier.submitted_at is None:
        return None
    calendar = current_calendar()
    start = dossier.submitted_at
    spent = calendar.office_time_between(start, max(start, until))
    for pause in dossier.pauses:
        wait_start, wait_end = max(pause.started_at, start), min(pause.ended_at or until, until)
        if wait_end > wait_start:
            spent -= calendar.office_time_between(wait_start, wait_end)
    return max(int(spent.total_seconds()), 0)


def check(dossier: Dossier, action: str, *, actor: Principal) -> Step:
    """The step, if this actor may take it now: 403 without the permission, 409 otherwise."""
    step = STEPS[action]
    if step.actor == STAFF and not (
        actor.is_staff and actor.can(step.permission, dossier.agency_id)
    ):
        raise PermissionMissing(
            (f"Cần quyền {step.permission}.", f"The {step.permission} permission is needed."),
            extra={"allowed_actions": allowed_actions(dossier, actor)},
        )
    return STEPS.check(action, dossier.status, lambda step: _may(actor, step, dossier))


def move(
    dossier: Dossier,
    action: str,
    *,
    actor: Principal,
    now: datetime,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    announced: bool = True,
) -> DossierEvent:
    """Apply one step of the table to a dossier the actor can see; the unit of work commits.

    The caller has already refused (404) a dossier outside the actor's reach; here a step the
    actor may not take is 403, and a step the status does not allow is 409 with the allowed ones.
    With ``announced=False`` the caller queues the message itself (``announce``).
    """
    step = check(dossier, action, actor=actor)
    before = dossier.status
    target = step.target
    if action in RESUMING:
        pause = next(p for p in reversed(dossier.pauses) if p.ended_at is None)
        pause.ended_at = now
        target = pause.resume_to
    elif target is None:
        target = before
    if action in PAUSING:
        dossier.pauses.append(
            DossierPause(reason=PAUSING[action], resume_to=before, started_at=now)
        )
    dossier.status = target
    dossier.version += 1
    dossier.updated_at = now
    if target is DossierStatus.DECIDED:
        dossier.decided_at = now
    if target in FINISHED:
        dossier.finished_at = now
    if target in TIMED_ENDS and dossier.office_seconds_spent is None:
        dossier.office_seconds_spent = office_seconds_spent(dossier, until=now)
    if action in RESUMING:
        recompute_due(dossier)
    return record(
        dossier,
        action=action,
        actor=actor,
        from_status=before,
        note=note,
        details=details,
        now=now,
        announced=announced,
    )
