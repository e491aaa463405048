"""Dossiers, their immutable timelines, attachments and the citizen's document library."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from backend.agencies.models import Agency
from backend.catalog.models import Procedure, ProcedureVersion
from backend.db import created_column, grouped, id_column, str_enum, updated_column
from backend.extensions import db
from backend.identity.models import Account
from backend.trails import TimelineEntry, never_changed


class DossierStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    FEES_DUE = "fees_due"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"
    DECIDED = "decided"
    RETURNED = "returned"


STATUS_LABELS: dict[DossierStatus, tuple[str, str]] = {
    DossierStatus.DRAFT: ("Bản nháp", "Draft"),
    DossierStatus.SUBMITTED: ("Mới đăng ký", "Submitted"),
    DossierStatus.ACCEPTED: ("Được tiếp nhận", "Accepted"),
    DossierStatus.REFUSED: ("Không được tiếp nhận", "Refused"),
    DossierStatus.PROCESSING: ("Đang xử lý", "Processing"),
    DossierStatus.SUPPLEMENT_REQUESTED: ("Yêu cầu bổ sung", "Supplement requested"),
    DossierStatus.FEES_DUE: ("Yêu cầu thực hiện nghĩa vụ tài chính", "Fees due"),
    DossierStatus.WITHDRAWN: ("Công dân yêu cầu rút hồ sơ", "Withdrawn"),
    DossierStatus.STOPPED: ("Dừng xử lý", "Stopped"),
    DossierStatus.DECIDED: ("Đã xử lý xong", "Decided"),
    DossierStatus.RETURNED: ("Đã trả kết quả", "Result returned"),
}
FINISHED = frozenset(
    {DossierStatus.REFUSED, DossierStatus.WITHDRAWN, DossierStatus.STOPPED, DossierStatus.RETURNED}
)
# The agency's clock runs: received and not yet decided, nor waiting for the citizen.
RUNNING = frozenset({DossierStatus.SUBMITTED, DossierStatus.ACCEPTED, DossierStatus.PROCESSING})
# Still to be worked on or handed back: neither a draft nor finished. Spelled out in SQL with
# literal values so the partial indexes below serve queries that use the same words.
_NOT_OPEN = sorted({DossierStatus.DRAFT, *FINISHED})
OPEN_SQL = "status NOT IN ({})".format(", ".join(f"'{status.value}'" for status in _NOT_OPEN))
# The clock stands still while the citizen has to act.
PAUSED = frozenset({DossierStatus.SUPPLEMENT_REQUESTED, DossierStatus.FEES_DUE})


class Channel(enum.StrEnum):
    ONLINE = "online"
    COUNTER = "counter"
    POST = "post"


# What the quality report reads of a dossier besides its agency and receipt (backend.reports).
REPORT_COLUMNS = [
    "procedure_id",
    "channel",
    "status",
    "submitted_acr",
    "due_at",
    "decided_at",
    "finished_at",
    "office_seconds_spent",
]


class Dossier(db.Model):
    __tablename__ = "dossiers"
    __table_args__ = (
        # My dossiers, newest change first, and delta sync by updated_at.
        sa.Index("ix_dossiers_citizen_id_updated_at", "citizen_id", "updated_at", "id"),
        # An agency's work queue by status and deadline, and the officers' daily digest.
        sa.Index("ix_dossiers_agency_id_status_due_at", "agency_id", "status", "due_at"),
        # The work queue of open dossiers in its own order (due_at, id) when no status is
        # picked: one agency's, and that of officers whose grants reach several agencies.
        # Partial: years of returned dossiers would otherwise sit in front of today's work.
        sa.Index(
            "ix_dossiers_open_agency_id_due_at_id",
            "agency_id",
            "due_at",
            "id",
            postgresql_where=sa.text(OPEN_SQL),
            sqlite_where=sa.text(OPEN_SQL),
        ),
        sa.Index(
            "ix_dossiers_open_due_at_id",
            "due_at",
            "id",
            postgresql_where=sa.text(OPEN_SQL),
            sqlite_where=sa.text(OPEN_SQL),
        ),
        # Reports per procedure over a period.
        sa.Index("ix_dossiers_procedure_id_submitted_at", "procedure_id", "submitted_at"),
        # Reports per agency over a period; on PostgreSQL the index carries every column the
        # quality report reads, so a commune's year is answered from the index alone.
        sa.Index(
            "ix_dossiers_agency_id_submitted_at",
            "agency_id",
            "submitted_at",
            postgresql_include=REPORT_COLUMNS,
        ),
    )

    id: Mapped[str] = id_column()
    code: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    procedure_id: Mapped[str] = mapped_column(sa.ForeignKey("procedures.id"))
    # The version in force when the dossier was submitted; until then, the one it was drafted on.
    procedure_version_id: Mapped[str] = mapped_column(sa.ForeignKey("procedure_versions.id"))
    agency_id: Mapped[str] = mapped_column(sa.ForeignKey("agencies.id"))
    citizen_id: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.ONLINE)
    status: Mapped[DossierStatus] = mapped_column(
        str_enum(DossierStatus), default=DossierStatus.DRAFT
    )
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Who the dossier is for, as given when filed (a counter dossier may have no account).
    applicant_name: Mapped[str | None] = mapped_column(sa.String(200))
    applicant_phone: Mapped[str | None] = mapped_column(sa.String(20))
    # Last four digits of the applicant's phone and ID number: the public tracking verifiers.
    verifier_digests: Mapped[list[Any]] = mapped_column(default=list)
    # The e-ID assurance level of the session that submitted it (reports count level 2).
    submitted_acr: Mapped[int | None] = mapped_column(sa.SmallInteger)
    version: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime | None] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # Office time from receipt to the decision (or the refusal, or the stop), less the time
    # the citizen was waited for. Kept when it is known, because reports average it over
    # many dossiers and the working-day calendar cannot be applied inside SQL.
    office_seconds_spent: Mapped[int | None] = mapped_column()
    supplement_requests: Mapped[int] = mapped_column(default=0)
    fee_amount: Mapped[int | None] = mapped_column()
    result_document_id: Mapped[str | None] = mapped_column(sa.ForeignKey("documents.id"))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()

    # The pinned version's number, read with the dossier: views show it, and loading the
    # version itself would bring its whole content (form, documents) along.
    procedure_version_number: Mapped[int] = column_property(
        sa.select(ProcedureVersion.number)
        .where(ProcedureVersion.id == procedure_version_id)
        .correlate_except(ProcedureVersion)
        .scalar_subquery()
    )

    procedure: Mapped[Procedure] = relationship(lazy="joined", innerjoin=True)
    procedure_version: Mapped[ProcedureVersion] = relationship(lazy="select")

    @property
    def version_number(self) -> int | None:
        """The pinned version's number, from the version itself when it is loaded already (a
        submission has just pinned it: the subquery would cost a reload of the row)."""
        loaded = self.__dict__.get("procedure_version")
        return loaded.number if loaded is not None else self.procedure_version_number

    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)
    # The citizen's account, read only where it is asked for (a submission reads it with the
    # locked row); citizen_id is what code sets.
    citizen: Mapped[Account | None] = relationship(lazy="select", viewonly=True)
    # Loaded when read (one query), so lists of dossiers, which never show them, skip it.
    attachments: Mapped[list[DossierAttachment]] = relationship(
        back_populates="dossier",
        lazy="select",
        cascade="all, delete-orphan",
        order_by="DossierAttachment.slot",
    )
    pauses: Mapped[list[DossierPause]] = relationship(
        lazy="select", cascade="all, delete-orphan", order_by="DossierPause.started_at"
    )


class DossierEvent(TimelineEntry, db.Model):
    """One step of a dossier's timeline. Never edited."""

    __tablename__ = "dossier_events"
    __table_args__ = (sa.UniqueConstraint("dossier_id", "seq"),)

    id: Mapped[str] = id_column()
    dossier_id: Mapped[str] = mapped_column(sa.ForeignKey("dossiers.id"))
    from_status: Mapped[DossierStatus | None] = mapped_column(str_enum(DossierStatus))
    to_status: Mapped[DossierStatus] = mapped_column(str_enum(DossierStatus))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


never_changed(DossierEvent)


class DossierPause(db.Model):
    """Time the clock stood still: waiting for a supplement or for fees."""

    __tablename__ = "dossier_pauses"

    id: Mapped[str] = id_column()
    dossier_id: Mapped[str] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    reason: Mapped[DossierStatus] = mapped_column(str_enum(DossierStatus))
    # Where the dossier goes back to when the citizen has done their part.
    resume_to: Mapped[DossierStatus] = mapped_column(str_enum(DossierStatus))
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()


class Document(db.Model):
    """A file a citizen (or an officer, for results) gave once; dossiers point at it."""

    __tablename__ = "documents"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    blob_key: Mapped[str] = mapped_column(sa.String(600), unique=True)
    file_name: Mapped[str] = mapped_column(sa.String(300))
    file_type: Mapped[str] = mapped_column(sa.String(10))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_column()


class DossierAttachment(db.Model):
    """The document given for one required-document slot of a dossier."""

    __tablename__ = "dossier_attachments"
    __table_args__ = (sa.UniqueConstraint("dossier_id", "slot"),)

    id: Mapped[str] = id_column()
    dossier_id: Mapped[str] = mapped_column(sa.ForeignKey("dossiers.id"))
    slot: Mapped[str] = mapped_column(sa.String(40))
    document_id: Mapped[str] = mapped_column(sa.ForeignKey("documents.id"), index=True)
    created_at: Mapped[datetime] = created_column()

    dossier: Mapped[Dossier] = relationship(back_populates="attachments")
    document: Mapped[Document] = relationship(lazy="joined", innerjoin=True)


class DirectUploadSlot(db.Model):
    """A presigned upload handed to a phone, waiting for its confirmation."""

    __tablename__ = "direct_uploads"

    id: Mapped[str] = id_column()
    dossier_id: Mapped[str] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    slot: Mapped[str] = mapped_column(sa.String(40))
    upload_key: Mapped[str] = mapped_column(sa.String(600))
    file_name: Mapped[str] = mapped_column(sa.String(300))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DailyCounter(db.Model):
    """The last dossier number issued by an agency on a day (Circular 01/2018 Art. 19)."""

    __tablename__ = "dossier_counters"

    agency_id: Mapped[str] = mapped_column(sa.ForeignKey("agencies.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


# What a list shows of each dossier (DossierSummarySchema), and nothing more: not the form data,
# not the agency. Plain rows, the procedure's two columns grouped as ``item.procedure``
# (``db.grouped``): a page of twenty builds no ORM objects and fills no identity map. A
# citizen's list and an officer's queue start from it.
SUMMARY = sa.select(
    Dossier.id,
    Dossier.code,
    Dossier.status,
    Dossier.channel,
    Dossier.submitted_at,
    Dossier.due_at,
    Dossier.updated_at,
    *grouped("procedure", Procedure.code, Procedure.name),
).join(Procedure, Procedure.id == Dossier.procedure_id)
