"""What a sender does: file a petition, add files, supplement it, judge the answer; and the
answers everyone may read once published."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import sqlalchemy as sa
from flask import current_app

from backend.agencies.models import Agency
from backend.agencies.services import get_agency, with_descendants
from backend.catalog.models import Procedure
from backend.catalog.schemas import FILE_TYPES
from backend.catalog.services import get_public_version
from backend.dossiers.models import Dossier, DossierStatus
from backend.dossiers.services.access import DossierNotFound
from backend.engagement import workflow
from backend.engagement.models import (
    Feedback,
    FeedbackAttachment,
    FeedbackCategory,
    FeedbackStatus,
)
from backend.engagement.workflow import Sender
from backend.errors import Conflict, DomainError, NotFound
from backend.extensions import db
from backend.pagination import Page, keyset_page
from backend.storage import get_store
from backend.storage.intake import accept_upload
from backend.unitofwork import if_rolled_back

MEGABYTE = 1024 * 1024
ANSWERED = frozenset({FeedbackStatus.ANSWERED, FeedbackStatus.PUBLISHED})


class FeedbackNotFound(NotFound):
    code = "feedback-not-found"

    def __init__(self):
        super().__init__(("Không tìm thấy phản ánh, kiến nghị.", "No such petition."))


class FeedbackLimitReached(DomainError):
    code = "feedback-limit-reached"
    kind = "rate_limited"
    title = ("Đã gửi quá nhiều phản ánh", "Too many petitions")


class FeedbackClosedToSender(Conflict):
    code = "feedback-closed-to-sender"
    title = ("Phản ánh không nhận thêm tài liệu", "The petition takes no more files")


class NotAnsweredYet(Conflict):
    code = "feedback-not-answered"
    title = ("Phản ánh chưa được trả lời", "The petition has no answer yet")


def _mine(sender: Sender) -> sa.ColumnElement[bool]:
    if sender.account_id is not None:
        return Feedback.sender_id == sender.account_id
    return Feedback.sender_id.is_(None) & (Feedback.sender_phone == sender.phone)


def _check_daily_limit(sender: Sender, now: datetime) -> None:
    limit = current_app.config["FEEDBACK_PER_SENDER_PER_DAY"]
    recent = list(
        db.session.scalars(
            sa.select(Feedback.received_at)
            .where(_mine(sender), Feedback.received_at > now - timedelta(days=1))
            .order_by(Feedback.received_at)
        )
    )
    if len(recent) >= limit:
        wait = max(1, math.ceil((recent[0] + timedelta(days=1) - now).total_seconds()))
        raise FeedbackLimitReached(
            (
                f"Mỗi người gửi được tối đa {limit} phản ánh trong 24 giờ.",
                f"At most {limit} petitions may be sent in 24 hours.",
            ),
            headers={"Retry-After": str(wait)},
            extra={"retry_after": wait},
        )


def _subject(sender: Sender, subject: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(agency id, procedure id, dossier id) of what the petition is about."""
    if "dossier_id" in subject:
        dossier = None
        if sender.account_id is not None:
            dossier = db.session.scalar(
                sa.select(Dossier).where(
                    Dossier.id == subject["dossier_id"],
                    Dossier.citizen_id == sender.account_id,
                    Dossier.status != DossierStatus.DRAFT,
                )
            )
        if dossier is None:
            raise DossierNotFound()
        return dossier.agency_id, dossier.procedure_id, dossier.id
    if "procedure_code" in subject:
        version = get_public_version(code=subject["procedure_code"], viewer_id=sender.account_id)
        return version.procedure.agency_id, version.procedure_id, None
    return get_agency(code=subject["agency_code"]).id, None, None


def file_petition(
    *,
    sender: Sender,
    subject: dict[str, Any],
    category: FeedbackCategory,
    title: str,
    text: str,
    now: datetime,
) -> Feedback:
    """Receive a petition: its deadlines run from now (or the next opening of the office)."""
    _check_daily_limit(sender, now)
    agency_id, procedure_id, dossier_id = _subject(sender, subject)
    feedback = Feedback(
        sender_id=sender.account_id,
        sender_phone=sender.phone,
        agency_id=agency_id,
        procedure_id=procedure_id,
        dossier_id=dossier_id,
        category=category,
        title=title,
        text=text,
        status=FeedbackStatus.RECEIVED,
        received_at=now,
        updated_at=now,
    )
    workflow.set_receipt_deadlines(feedback)
    feedback.due_at = feedback.refuse_due_at
    db.session.add(feedback)
    db.session.flush()
    workflow.record(
        feedback,
        action="file",
        from_status=None,
        actor_id=sender.account_id,
        actor_kind=sender.kind,
        note=None,
        now=now,
    )
    db.session.flush()
    return feedback


def list_mine(*, sender: Sender, cursor: str | None, limit: int) -> Page:
    return keyset_page(
        sa.select(Feedback).where(_mine(sender)),
        order_by=[Feedback.received_at, Feedback.id],
        key=lambda f: [f.received_at.isoformat(), f.id],
        cursor=cursor,
        limit=limit,
        descending=True,
    )


def sender_feedback(*, sender: Sender, feedback_id: str, lock: bool = False) -> Feedback:
    statement = sa.select(Feedback).where(Feedback.id == feedback_id, _mine(sender))
    if lock:
        statement = statement.with_for_update(of=Feedback).execution_options(populate_existing=True)
    feedback = db.session.scalar(statement)
    if feedback is None:
        raise FeedbackNotFound()
    return feedback


def attach(
    *, feedback: Feedback, stream: BinaryIO, filename: str | None, now: datetime
) -> FeedbackAttachment:
    """A file for the petition, checked by content like a dossier's documents."""
    if feedback.status not in workflow.OPEN_TO_SENDER:
        raise FeedbackClosedToSender(
            (
                "Chỉ gửi thêm tài liệu khi phản ánh mới tiếp nhận hoặc đang được yêu cầu bổ sung.",
                "Files may be added only while the petition is new or a supplement is asked.",
            )
        )
    most = current_app.config["FEEDBACK_MAX_ATTACHMENTS"]
    if len(feedback.attachments) >= most:
        raise FeedbackClosedToSender(
            (f"Tối đa {most} tài liệu cho mỗi phản ánh.", f"At most {most} files per petition.")
        )
    accepted = accept_upload(
        stream=stream,
        filename=filename,
        allowed_types=FILE_TYPES,
        max_size=current_app.config["FEEDBACK_ATTACHMENT_MAX_MB"] * MEGABYTE,
    )
    attachment = FeedbackAttachment(
        blob_key=accepted.key,
        file_name=accepted.file_name,
        file_type=accepted.file_type.value,
        size=accepted.size,
        sha256=accepted.sha256,
        created_at=now,
    )
    feedback.attachments.append(attachment)
    feedback.version += 1
    feedback.updated_at = now
    if_rolled_back(lambda: get_store().delete(accepted.key))
    db.session.flush()
    return attachment


def supplement(*, sender: Sender, feedback: Feedback, note: str, now: datetime) -> Feedback:
    """The sender gives what the officer asked for; the deadlines run again."""
    workflow.move(feedback, "supplement", sender=sender, note=note, now=now)
    db.session.flush()
    return feedback


def judge_answer(*, feedback: Feedback, helpful: bool, now: datetime) -> Feedback:
    if feedback.status not in ANSWERED:
        raise NotAnsweredYet(("Phản ánh chưa có câu trả lời.", "There is no answer yet."))
    feedback.helpful = helpful
    feedback.version += 1
    feedback.updated_at = now
    db.session.flush()
    return feedback


# --- published answers --------------------------------------------------------------------


def list_published(
    *,
    agency_code: str | None,
    procedure_code: str | None,
    category: FeedbackCategory | None,
    cursor: str | None,
    limit: int,
) -> Page:
    """Published answers, newest first; an agency's include those of the agencies below it."""
    statement = sa.select(Feedback).where(Feedback.status == FeedbackStatus.PUBLISHED)
    if agency_code is not None:
        agency = db.session.scalar(sa.select(Agency.id).where(Agency.code == agency_code))
        statement = statement.where(Feedback.agency_id.in_(with_descendants({agency} - {None})))
    if procedure_code is not None:
        statement = statement.join(Procedure, Procedure.id == Feedback.procedure_id).where(
            Procedure.code == procedure_code
        )
    if category is not None:
        statement = statement.where(Feedback.category == category)
    return keyset_page(
        statement,
        order_by=[Feedback.published_at, Feedback.id],
        key=lambda f: [f.published_at.isoformat(), f.id],
        cursor=cursor,
        limit=limit,
        descending=True,
    )


def published(*, feedback_id: str) -> Feedback:
    feedback = db.session.scalar(
        sa.select(Feedback).where(
            Feedback.id == feedback_id, Feedback.status == FeedbackStatus.PUBLISHED
        )
    )
    if feedback is None:
        raise FeedbackNotFound()
    return feedback
