"""The agencies of the administration, each under at most one parent."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import created_column, id_column, str_enum, updated_column
from backend.extensions import db


class AgencyLevel(enum.StrEnum):
    MINISTRY = "ministry"
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


class Agency(db.Model):
    __tablename__ = "agencies"

    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    name_en: Mapped[str | None] = mapped_column(sa.String(255))
    level: Mapped[AgencyLevel] = mapped_column(str_enum(AgencyLevel))
    parent_id: Mapped[str | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()

    parent: Mapped[Agency | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)
