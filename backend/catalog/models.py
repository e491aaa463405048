"""Procedures the immutable versions citizens file against."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.agencies.models import Agency
from backend.db import created_column, id_column, str_enum, updated_column
from backend.extensions import db
from backend.trails import never_changed


class ProcedureStatus(enum.StrEnum):
    DRAFT = "draft"
    PILOT = "pilot"
    PUBLISHED = "published"
    SUSPENDED = "suspended"
    RETIRED = "retired"


# The lifecycle in one place. Entering pilot or published freezes the working copy into a
# new version when it differs from the version in force.
STATUS_TRANSITIONS: dict[ProcedureStatus, frozenset[ProcedureStatus]] = {
    ProcedureStatus.DRAFT: frozenset({ProcedureStatus.PILOT, ProcedureStatus.PUBLISHED}),
    ProcedureStatus.PILOT: frozenset(
        {ProcedureStatus.PILOT, ProcedureStatus.PUBLISHED, ProcedureStatus.RETIRED}
    ),
    ProcedureStatus.PUBLISHED: frozenset(
        {ProcedureStatus.PUBLISHED, ProcedureStatus.SUSPENDED, ProcedureStatus.RETIRED}
    ),
    ProcedureStatus.SUSPENDED: frozenset({ProcedureStatus.PUBLISHED, ProcedureStatus.RETIRED}),
    ProcedureStatus.RETIRED: frozenset(),
}
FREEZING_STATUSES = frozenset({ProcedureStatus.PILOT, ProcedureStatus.PUBLISHED})
# What an anonymous visitor can see in the public catalog.
PUBLIC_STATUSES = frozenset({ProcedureStatus.PUBLISHED, ProcedureStatus.SUSPENDED})


class DeliveryMode(enum.StrEnum):
    FULL_ONLINE = "full_online"
    PARTIAL = "partial"


class Procedure(db.Model):
    """A procedure and the columns the catalog searches, copied from the version in force."""

    __tablename__ = "procedures"

    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    agency_id: Mapped[str] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    status: Mapped[ProcedureStatus] = mapped_column(
        str_enum(ProcedureStatus), default=ProcedureStatus.DRAFT
    )
    # The working copy an editor changes; citizens never see it until it is frozen. Loaded
    # only when read: every dossier loads its procedure, and none of them needs this.
    draft: Mapped[dict[str, Any]] = mapped_column(deferred=True)
    current_version: Mapped[int | None] = mapped_column()
    name: Mapped[str] = mapped_column(sa.String(500))
    field: Mapped[str] = mapped_column(sa.String(255))
    field_key: Mapped[str] = mapped_column(sa.String(255), index=True)
    delivery_mode: Mapped[DeliveryMode] = mapped_column(str_enum(DeliveryMode))
    min_assurance_level: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    search_text: Mapped[str] = mapped_column(sa.Text, deferred=True)  # searched, never shown
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()

    agency: Mapped[Agency] = relationship(lazy="joined", innerjoin=True)
    # The version in force, for a read that wants it with the procedure's row (a submission's
    # locked read: ``dossiers.services.access.SUBMISSION_LOAD``); ``version_in_force`` in
    # catalog.services reads it by itself otherwise.
    version_in_force: Mapped[ProcedureVersion | None] = relationship(
        primaryjoin="and_(ProcedureVersion.procedure_id == Procedure.id, "
        "ProcedureVersion.number == Procedure.current_version)",
        foreign_keys="[ProcedureVersion.procedure_id, ProcedureVersion.number]",
        uselist=False,
        viewonly=True,
        lazy="raise",
    )


class ProcedureVersion(db.Model):
    """A frozen copy of a procedure's content. Never updated: dossiers pin it."""

    __tablename__ = "procedure_versions"
    __table_args__ = (sa.UniqueConstraint("procedure_id", "number"),)

    id: Mapped[str] = id_column()
    procedure_id: Mapped[str] = mapped_column(sa.ForeignKey("procedures.id"))
    number: Mapped[int] = mapped_column()
    content: Mapped[dict[str, Any]] = mapped_column()
    frozen_at: Mapped[datetime] = created_column()

    procedure: Mapped[Procedure] = relationship(lazy="joined", innerjoin=True)


class PilotMember(db.Model):
    """A citizen allowed to see and file a procedure while it is in pilot."""

    __tablename__ = "procedure_pilot_members"

    procedure_id: Mapped[str] = mapped_column(sa.ForeignKey("procedures.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    created_at: Mapped[datetime] = created_column()


class CatalogAuditRecord(db.Model):
    """Who changed a procedure, how, when, and the versions and statuses before and after.

    Appended by every act of the catalog administration (create, edit the working copy, move
    along the lifecycle, change the pilot allow-list); never changed or deleted.
    """

    __tablename__ = "catalog_audit"
    __table_args__ = (sa.UniqueConstraint("procedure_id", "seq"),)

    id: Mapped[str] = id_column()
    procedure_id: Mapped[str] = mapped_column(sa.ForeignKey("procedures.id"))
    # The order of the acts on one procedure, even when two share a clock tick.
    seq: Mapped[int] = mapped_column()
    actor_id: Mapped[str | None] = mapped_column(sa.ForeignKey("accounts.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    status_before: Mapped[ProcedureStatus | None] = mapped_column(str_enum(ProcedureStatus))
    status_after: Mapped[ProcedureStatus] = mapped_column(str_enum(ProcedureStatus))
    version_before: Mapped[int | None] = mapped_column()
    version_after: Mapped[int | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(sa.Text)
    # What changed: the working copy before and after an edit, the citizen added to a pilot.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = created_column()


never_changed(CatalogAuditRecord)


# Dossiers pin a version, and its form's schema is kept by the version's id (catalog.forms).
@event.listens_for(ProcedureVersion, "before_update")
def _versions_are_immutable(mapper, connection, target):
    raise ValueError("procedure versions are immutable; freeze a new version instead")
