"""Announced changes to the working calendar that the ``holidays`` package does not know."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import created_column, id_column, str_enum
from backend.extensions import db


class OverrideKind(enum.StrEnum):
    # An extra day off, e.g. the bridging weekday of a Tết or 30/4 swap.
    DAY_OFF = "day_off"
    # A weekend day worked to make up for it.
    WORKING_DAY = "working_day"


class CalendarOverride(db.Model):
    """One day whose status an authority announced; it wins over weekends and the holiday list."""

    __tablename__ = "calendar_overrides"

    id: Mapped[str] = id_column()
    day: Mapped[date] = mapped_column(sa.Date, unique=True)
    kind: Mapped[OverrideKind] = mapped_column(str_enum(OverrideKind))
    # Which announcement decided it (e.g. "Thông báo 6150/TB-BLĐTBXH"), for whoever checks later.
    note: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = created_column()
