"""The life of a petition in one table, its deadlines, and the one function that moves it.

| step               | from                                       | to                   | by      |
|--------------------|--------------------------------------------|----------------------|---------|
| (filing)           | -                                          | received             | sender  |
| start              | received                                   | processing           | officer |
| refuse             | received, processing, supplement_requested | refused              | officer |
| request_supplement | received, processing (once)                | supplement_requested | officer |
| supplement         | supplement_requested                       | where it was         | sender  |
| answer             | received, processing                       | answered             | officer |
| publish            | answered                                   | published            | officer |

Officers need ``feedback.answer`` at the petition's agency or above it. Deadlines count working
days on the office calendar (``backend.workdays``), from the receipt like a dossier's:
refuse or take up within ``FEEDBACK_REFUSE_WORKING_DAYS`` (2), answer within
``FEEDBACK_ANSWER_WORKING_DAYS`` (15), publish within ``FEEDBACK_PUBLISH_WORKING_DAYS`` (2) of
the answer. The time the sender takes to supplement is given back to the first two. ``due_at``
is the deadline of the step the agency owes now, for the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from backend.engagement.models import Feedback, FeedbackEvent, FeedbackStatus
from backend.errors import Conflict
from backend.identity.access import Principal
from backend.states import Step, Steps
from backend.trails import append
from backend.workdays.services import DeadlineUnit, compute_due

F = FeedbackStatus
SENDER, OFFICER = "sender", "officer"
PERMISSION = "feedback.answer"


class FeedbackTransitionNotAllowed(Conflict):
    code = "feedback-transition-not-allowed"
    title = ("Không thể thực hiện ở trạng thái này", "Not allowed in this status")


STEPS = Steps(
    {
        "start": Step(frozenset({F.RECEIVED}), F.PROCESSING, OFFICER),
        "refuse": Step(
            frozenset({F.RECEIVED, F.PROCESSING, F.SUPPLEMENT_REQUESTED}), F.REFUSED, OFFICER
        ),
        "request_supplement": Step(
            frozenset({F.RECEIVED, F.PROCESSING}), F.SUPPLEMENT_REQUESTED, OFFICER
        ),
        "supplement": Step(frozenset({F.SUPPLEMENT_REQUESTED}), None, SENDER),
        "answer": Step(frozenset({F.RECEIVED, F.PROCESSING}), F.ANSWERED, OFFICER),
        "publish": Step(frozenset({F.ANSWERED}), F.PUBLISHED, OFFICER),
    },
    refused=FeedbackTransitionNotAllowed,
    what=("phản ánh", "petition"),
)
# Statuses in which the sender may still add files.
OPEN_TO_SENDER = frozenset({F.RECEIVED, F.SUPPLEMENT_REQUESTED})


@dataclass(frozen=True)
class Sender:
    """Who sends a petition: a signed-in citizen, or an anonymous sender's proven phone."""

    account_id: str | None
    phone: str | None

    @property
    def kind(self) -> str:
        return "citizen" if self.account_id else "anonymous"


def allowed_actions(feedback: Feedback, *, actor: str) -> list[str]:
    return STEPS.allowed(feedback.status, lambda step: step.actor == actor)


def working_days_after(start: datetime, setting: str, pauses=()) -> datetime:
    return compute_due(
        received_at=start,
        amount=current_app.config[setting],
        unit=DeadlineUnit.WORKING_DAYS,
        pauses=pauses,
    )


def set_receipt_deadlines(feedback: Feedback) -> None:
    """Refuse-or-start and answer deadlines from the receipt, the supplement time given back."""
    pauses = []
    if feedback.supplement_requested_at and feedback.supplement_returned_at:
        pauses = [(feedback.supplement_requested_at, feedback.supplement_returned_at)]
    start = feedback.received_at
    feedback.refuse_due_at = working_days_after(start, "FEEDBACK_REFUSE_WORKING_DAYS", pauses)
    feedback.answer_due_at = working_days_after(start, "FEEDBACK_ANSWER_WORKING_DAYS", pauses)


def _owed_deadline(feedback: Feedback) -> datetime | None:
    return {
        F.RECEIVED: feedback.refuse_due_at,
        F.PROCESSING: feedback.answer_due_at,
        F.ANSWERED: feedback.publish_due_at,
    }.get(feedback.status)


def record(
    feedback: Feedback,
    *,
    action: str,
    from_status: FeedbackStatus | None,
    actor_id: str | None,
    actor_kind: str,
    note: str | None,
    now: datetime,
) -> None:
    append(
        FeedbackEvent,
        owner="feedback_id",
        owner_id=feedback.id,
        action=action,
        from_status=from_status,
        to_status=feedback.status,
        actor_id=actor_id,
        actor_kind=actor_kind,
        note=note,
        created_at=now,
    )


def move(
    feedback: Feedback,
    action: str,
    *,
    now: datetime,
    officer: Principal | None = None,
    sender: Sender | None = None,
    note: str | None = None,
) -> None:
    """Apply one step of the table to a petition the actor can see; the unit of work commits."""
    actor = STEPS[action].actor
    step = STEPS.check(action, feedback.status, lambda step: step.actor == actor)
    before = feedback.status
    target = step.target
    if action == "request_supplement":
        feedback.supplement_requested_at = now
        feedback.resume_to = before
    elif action == "supplement":
        feedback.supplement_returned_at = now
        target = feedback.resume_to
        set_receipt_deadlines(feedback)
    elif action == "answer":
        feedback.answered_at = now
        feedback.publish_due_at = working_days_after(now, "FEEDBACK_PUBLISH_WORKING_DAYS")
    elif action == "publish":
        feedback.published_at = now
    elif action == "refuse":
        feedback.refused_at = now
    feedback.status = target
    feedback.due_at = _owed_deadline(feedback)
    feedback.version += 1
    feedback.updated_at = now
    if officer is not None:
        actor_id, actor_kind = officer.account_id, "staff"
    else:
        actor_id, actor_kind = sender.account_id, sender.kind
    record(
        feedback,
        action=action,
        from_status=before,
        actor_id=actor_id,
        actor_kind=actor_kind,
        note=note,
        now=now,
    )
