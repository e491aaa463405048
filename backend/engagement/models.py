"""Petitions (phản ánh, kiến nghị) with their timelines and files, phone proofs, and ratings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.agencies.models import Agency
from backend.catalog.models import Procedure
from backend.db import created_column, id_column, str_enum, updated_column
from backend.extensions import db
from backend.trails import TimelineEntry, never_changed


class FeedbackStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    ANSWERED = "answered"
    PUBLISHED = "published"
    REFUSED = "refused"


FEEDBACK_STATUS_LABELS: dict[FeedbackStatus, tuple[str, str]] = {
    FeedbackStatus.RECEIVED: ("Đã tiếp nhận", "Received"),
    FeedbackStatus.PROCESSING: ("Đang xử lý", "Processing"),
    FeedbackStatus.SUPPLEMENT_REQUESTED: ("Yêu cầu bổ sung thông tin", "Supplement requested"),
    FeedbackStatus.ANSWERED: ("Đã trả lời", "Answered"),
    FeedbackStatus.PUBLISHED: ("Đã công khai", "Published"),
    FeedbackStatus.REFUSED: ("Từ chối tiếp nhận", "Refused"),
}


class FeedbackCategory(enum.StrEnum):
    PROCEDURE_RULES = "procedure_rules"
    DELAY = "delay"
    STAFF_CONDUCT = "staff_conduct"
    ONLINE_SERVICE = "online_service"
    SUGGESTION = "suggestion"
    OTHER = "other"


FEEDBACK_CATEGORY_LABELS: dict[FeedbackCategory, tuple[str, str]] = {
    FeedbackCategory.PROCEDURE_RULES: ("Quy định hành chính", "Administrative rules"),
    FeedbackCategory.DELAY: ("Chậm trễ giải quyết hồ sơ", "Late handling of a dossier"),
    FeedbackCategory.STAFF_CONDUCT: ("Thái độ, hành vi của cán bộ", "Staff conduct"),
    FeedbackCategory.ONLINE_SERVICE: ("Lỗi dịch vụ công trực tuyến", "Online service fault"),
    FeedbackCategory.SUGGESTION: ("Kiến nghị, đề xuất", "Suggestion"),
    FeedbackCategory.OTHER: ("Khác", "Other"),
}


class Feedback(db.Model):
    """A petition about a procedure, an agency or one of the sender's dossiers."""

    __tablename__ = "feedback"
    __table_args__ = (
        # An agency's queue, most urgent first.
        sa.Index("ix_feedback_agency_id_status_due_at", "agency_id", "status", "due_at"),
        # Reports per agency over a period.
        sa.Index("ix_feedback_agency_id_received_at", "agency_id", "received_at"),
        # The sender's own list, and the per-day limit.
        sa.Index("ix_feedback_sender_id_received_at", "sender_id", "received_at"),
        sa.Index("ix_feedback_sender_phone_received_at", "sender_phone", "received_at"),
        # The public list of answers.
        sa.Index("ix_feedback_status_published_at", "status", "published_at"),
    )

    id: Mapped[str] = id_column()
    # A signed-in citizen, or None for an anonymous sender known only by a proven phone.
    sender_id: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))
    sender_phone: Mapped[str | None] = mapped_column(sa.String(20))
    agency_id: Mapped[str] = mapped_column(sa.ForeignKey("agencies.id"))
    procedure_id: Mapped[str | None] = mapped_column(sa.ForeignKey("procedures.id"))
    dossier_id: Mapped[str | None] = mapped_column(sa.ForeignKey("dossiers.id"))
    category: Mapped[FeedbackCategory] = mapped_column(str_enum(FeedbackCategory))
    title: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[FeedbackStatus] = mapped_column(
        str_enum(FeedbackStatus), default=FeedbackStatus.RECEIVED
    )
    received_at: Mapped[datetime] = mapped_column()
    # The deadline of the step the agency owes now (None while the sender has to act or
    # once nothing is owed): refuse-or-start, answer, publish.
    due_at: Mapped[datetime | None] = mapped_column()
    refuse_due_at: Mapped[datetime] = mapped_column()
    answer_due_at: Mapped[datetime] = mapped_column()
    publish_due_at: Mapped[datetime | None] = mapped_column()
    supplement_requested_at: Mapped[datetime | None] = mapped_column()
    supplement_items: Mapped[list[Any] | None] = mapped_column()
    supplement_returned_at: Mapped[datetime | None] = mapped_column()
    # Where the petition goes back to once the sender has supplied what was asked.
    resume_to: Mapped[FeedbackStatus | None] = mapped_column(str_enum(FeedbackStatus))
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None] = mapped_column()
    answered_by: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))
    # The question as published: the officer may leave out personal details of the sender.
    public_text: Mapped[str | None] = mapped_column(sa.Text)
    published_at: Mapped[datetime | None] = mapped_column()
    refusal_reason: Mapped[str | None] = mapped_column(sa.Text)
    refused_at: Mapped[datetime | None] = mapped_column()
    helpful: Mapped[bool | None] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = updated_column()

    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)
    procedure: Mapped[Procedure | None] = relationship(lazy="joined")
    attachments: Mapped[list[FeedbackAttachment]] = relationship(
        lazy="selectin", order_by="FeedbackAttachment.created_at", cascade="all, delete-orphan"
    )


class FeedbackEvent(TimelineEntry, db.Model):
    """One step of a petition's timeline. Never edited."""

    __tablename__ = "feedback_events"
    __table_args__ = (sa.UniqueConstraint("feedback_id", "seq"),)

    id: Mapped[str] = id_column()
    feedback_id: Mapped[str] = mapped_column(sa.ForeignKey("feedback.id"))
    from_status: Mapped[FeedbackStatus | None] = mapped_column(str_enum(FeedbackStatus))
    to_status: Mapped[FeedbackStatus] = mapped_column(str_enum(FeedbackStatus))


never_changed(FeedbackEvent)


class FeedbackAttachment(db.Model):
    """A file given with a petition. Anonymous senders have no document library to keep it in."""

    __tablename__ = "feedback_attachments"

    id: Mapped[str] = id_column()
    feedback_id: Mapped[str] = mapped_column(sa.ForeignKey("feedback.id"), index=True)
    blob_key: Mapped[str] = mapped_column(sa.String(600), unique=True)
    file_name: Mapped[str] = mapped_column(sa.String(300))
    file_type: Mapped[str] = mapped_column(sa.String(10))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_column()


class PhoneProof(db.Model):
    """A phone that answered a code: it may file and follow anonymous petitions for a while."""

    __tablename__ = "feedback_phone_proofs"

    id: Mapped[str] = id_column()
    phone: Mapped[str] = mapped_column(sa.String(20))
    # Only a keyed digest of the proof is kept; the proof itself goes to the phone once.
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = created_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SatisfactionLevel(enum.StrEnum):
    SATISFIED = "satisfied"
    NEUTRAL = "neutral"
    DISSATISFIED = "dissatisfied"


# The four criteria a citizen answers from 1 to 5 (the API's names and the columns' alike).
RATING_CRITERIA = ("time", "staff_attitude", "clarity", "online_ease")


class DossierRating(db.Model):
    """A citizen's one rating of a finished dossier."""

    __tablename__ = "dossier_ratings"
    __table_args__ = (
        # Reports per agency over a period, without going through the dossiers.
        sa.Index("ix_dossier_ratings_agency_id_submitted_at", "agency_id", "submitted_at"),
    )

    id: Mapped[str] = id_column()
    dossier_id: Mapped[str] = mapped_column(sa.ForeignKey("dossiers.id"), unique=True)
    citizen_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    # Copied from the dossier, which never changes them, so that reports read ratings alone.
    agency_id: Mapped[str] = mapped_column(sa.ForeignKey("agencies.id"))
    procedure_id: Mapped[str] = mapped_column(sa.ForeignKey("procedures.id"))
    submitted_at: Mapped[datetime] = mapped_column()
    time: Mapped[int] = mapped_column(sa.SmallInteger)
    staff_attitude: Mapped[int] = mapped_column(sa.SmallInteger)
    clarity: Mapped[int] = mapped_column(sa.SmallInteger)
    online_ease: Mapped[int] = mapped_column(sa.SmallInteger)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_column()


def _append_only(mapper, connection, target):
    raise ValueError(f"{type(target).__name__} rows are never changed")


event.listen(FeedbackEvent, "before_update", _append_only)
event.listen(DossierRating, "before_update", _append_only)
