"""What officers with ``feedback.answer`` do: the queue, taking up, refusing, asking for more,
answering and publishing the petitions of their agencies (and the agencies below them)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from backend import trails
from backend.engagement import workflow
from backend.engagement.models import (
    Feedback,
    FeedbackAttachment,
    FeedbackEvent,
    FeedbackStatus,
)
from backend.engagement.services.petitions import FeedbackNotFound
from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.identity.access import Principal
from backend.notifications.services import notify, notify_phone
from backend.pagination import Page, keyset_page
from backend.workdays.services import due_soon_cutoff

# Petitions whose clock runs: the agency owes the next step.
OWED = frozenset({FeedbackStatus.RECEIVED, FeedbackStatus.PROCESSING, FeedbackStatus.ANSWERED})


class SupplementAlreadyAsked(Conflict):
    code = "feedback-supplement-already-requested"
    title = ("Đã yêu cầu bổ sung một lần", "A supplement was already requested")


class AttachmentNotFound(NotFound):
    code = "feedback-attachment-not-found"


def _scope(principal: Principal) -> frozenset[str]:
    return principal.agencies_for(workflow.PERMISSION)


def officer_feedback(*, principal: Principal, feedback_id: str, lock: bool = False) -> Feedback:
    """A petition of the officer's agencies; any other looks like it does not exist."""
    statement = sa.select(Feedback).where(
        Feedback.id == feedback_id, Feedback.agency_id.in_(_scope(principal))
    )
    if lock:
        statement = statement.with_for_update(of=Feedback).execution_options(populate_existing=True)
    feedback = db.session.scalar(statement)
    if feedback is None:
        raise FeedbackNotFound()
    return feedback


def queue(
    *,
    principal: Principal,
    status: FeedbackStatus | None,
    due: str | None,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> Page:
    """The petitions of my agencies, the most urgent first (those owed nothing last)."""
    statement = sa.select(Feedback).where(Feedback.agency_id.in_(_scope(principal)))
    if status is not None:
        statement = statement.where(Feedback.status == status)
    if due == "overdue":
        statement = statement.where(Feedback.status.in_(OWED), Feedback.due_at < now)
    elif due == "soon":
        statement = statement.where(
            Feedback.status.in_(OWED),
            Feedback.due_at >= now,
            Feedback.due_at <= due_soon_cutoff(now=now),
        )
    else:
        statement = statement.where(Feedback.due_at.is_not(None))
    return keyset_page(
        statement,
        order_by=[Feedback.due_at, Feedback.id],
        key=lambda f: [f.due_at.isoformat(), f.id],
        cursor=cursor,
        limit=limit,
    )


def events(*, feedback: Feedback) -> list[FeedbackEvent]:
    return trails.entries(FeedbackEvent, owner="feedback_id", owner_id=feedback.id)


def attachment(*, feedback: Feedback, attachment_id: str) -> FeedbackAttachment:
    for candidate in feedback.attachments:
        if candidate.id == attachment_id:
            return candidate
    raise AttachmentNotFound(("Không có tài liệu này.", "No such file."))


def take_up(
    *, principal: Principal, feedback: Feedback, note: str | None, now: datetime
) -> Feedback:
    workflow.move(feedback, "start", officer=principal, note=note, now=now)
    db.session.flush()
    return feedback


def refuse(*, principal: Principal, feedback: Feedback, reason: str, now: datetime) -> Feedback:
    workflow.move(feedback, "refuse", officer=principal, note=reason, now=now)
    feedback.refusal_reason = reason
    db.session.flush()
    return feedback


def request_supplement(
    *, principal: Principal, feedback: Feedback, items: list[str], note: str | None, now: datetime
) -> Feedback:
    """Ask the sender for more (once); the deadlines wait until they answer."""
    if feedback.supplement_requested_at is not None:
        raise SupplementAlreadyAsked(
            (
                "Mỗi phản ánh chỉ được yêu cầu bổ sung một lần.",
                "A petition may be sent back for more only once.",
            )
        )
    workflow.move(feedback, "request_supplement", officer=principal, note=note, now=now)
    feedback.supplement_items = items
    db.session.flush()
    return feedback


def answer(*, principal: Principal, feedback: Feedback, text: str, now: datetime) -> Feedback:
    workflow.move(feedback, "answer", officer=principal, now=now)
    feedback.answer = text
    feedback.answered_by = principal.account_id
    _announce_answer(feedback)
    db.session.flush()
    return feedback


def publish(
    *, principal: Principal, feedback: Feedback, public_text: str | None, now: datetime
) -> Feedback:
    """Make the question and its answer readable by everyone, without the sender's identity."""
    workflow.move(feedback, "publish", officer=principal, now=now)
    feedback.public_text = public_text
    db.session.flush()
    return feedback


def _announce_answer(feedback: Feedback) -> None:
    """Tell the sender their petition has an answer, in the transaction that records it.

    A citizen hears on the channels they chose; an anonymous sender gets an SMS on the phone
    they proved. The short reference is the end of the petition's id, which the app shows.
    """
    data = {"feedback_id": feedback.id, "code": feedback.id[-8:]}
    if feedback.sender_id is not None:
        notify(feedback.sender_id, "feedback.answered", data)
    elif feedback.sender_phone is not None:
        notify_phone(phone=feedback.sender_phone, kind="feedback.answered_phone", data=data)
