"""The quality indicators of Article 21 step 5 and the upgrade rule of step 1, from the dossiers.

Which dossiers
    Those of the agency and every agency below it (and of one procedure, when asked) whose
    receipt (``submitted_at``) falls in the period, counted in Vietnam days: 1/1 to 31/12 is
    from 00:00 on 1/1 to 24:00 on 31/12, Vietnam time. Counter and post dossiers count like
    online ones; drafts were never received and never count. A dossier stays in the period of
    its receipt whatever happens to it later; what happened is read as of ``now``.

The indicators (shares are percentages, cut, not rounded, to one decimal: 29.96 % shows as
29.9 %, so a share never reads higher than it is; 0 when there is nothing to divide)
    online share        dossiers filed online / all dossiers.
    on-time share       resolved on time / (resolved + still running past the due date).
                        Resolved: decided (the result is ready: ``decided_at``), or stopped by
                        the authority (``finished_at``). On time: resolved on or before
                        ``due_at``, which already gives back the time the citizen was asked for
                        a supplement or fees. A dossier still submitted, accepted or processing
                        after its due date counts as late already; one waiting for the citizen
                        does not count until it resumes. Refused at the desk and withdrawn
                        dossiers were not processed and are left out.
    average processing  mean, over resolved dossiers, of the office time from receipt to the
    time                decision or stop without the waits for the citizen
                        (``office_seconds_spent``), in working days of ``OFFICE_HOURS``.
    satisfaction share  satisfied ratings / ratings, of the dossiers in the period (levels:
                        ``backend.engagement.services.ratings``).
    level-2 share       online dossiers submitted in a session of e-ID assurance level 2 /
                        online dossiers (counter dossiers have no session to measure).
    feedback on time    petitions received in the period and answered by their answer deadline
                        / petitions answered or past that deadline (refused ones, those still
                        within their time, and those waiting for the sender are left out).
    upgrade eligibility for each procedure delivered ``partial``, in force (published,
                        suspended or in pilot) in the scope: online dossiers * 100 >=
                        ``UPGRADE_ONLINE_SHARE_PERCENT`` * all dossiers (exactly, in whole
                        numbers and Decimals: 299 of 1000 is not 30 %), and at least
                        ``UPGRADE_MIN_DOSSIERS`` dossiers so that the share means something.

Every figure is a SQL aggregate (GROUP BY procedure and month); Python only adds up the
groups, at most procedures x months rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import load_only, noload

from backend.agencies.models import Agency
from backend.catalog.models import DeliveryMode, Procedure, ProcedureStatus
from backend.dossiers.models import Channel, Dossier, DossierStatus
from backend.engagement.models import DossierRating, Feedback, FeedbackStatus
from backend.engagement.services.ratings import NEUTRAL_MIN_SUM, SATISFIED_MIN_SUM, total_of
from backend.extensions import db
from backend.reports.periods import day_bounds, month_key, month_of, months_between
from backend.workdays.services import current_calendar

RUNNING = (DossierStatus.SUBMITTED, DossierStatus.ACCEPTED, DossierStatus.PROCESSING)
IN_FORCE = (ProcedureStatus.PUBLISHED, ProcedureStatus.SUSPENDED, ProcedureStatus.PILOT)
TENTH = Decimal("0.1")


def share(part: int, whole: int) -> Decimal:
    """``part`` of ``whole`` in percent, cut to one decimal; 0 when ``whole`` is 0."""
    if not whole:
        return Decimal("0.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TENTH, rounding=ROUND_DOWN)


@dataclass
class Figures:
    """Counts for one slice (all, a procedure, a month); the shares derive from them."""

    dossiers: int = 0
    online: int = 0
    level2: int = 0
    on_time: int = 0
    late: int = 0
    open_overdue: int = 0
    timed: int = 0
    office_seconds: int = 0
    ratings: int = 0
    satisfied: int = 0
    neutral: int = 0
    dissatisfied: int = 0
    feedback: int = 0
    feedback_refused: int = 0
    feedback_due: int = 0
    feedback_on_time: int = 0
    office_day_seconds: int = field(default=8 * 3600, repr=False, compare=False)

    def add(self, other: Figures) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def counter(self) -> int:
        return self.dossiers - self.online

    @property
    def online_share(self) -> Decimal:
        return share(self.online, self.dossiers)

    @property
    def judged(self) -> int:
        """Dossiers whose timeliness is known: resolved, or running past their due date."""
        return self.on_time + self.late + self.open_overdue

    @property
    def on_time_share(self) -> Decimal:
        return share(self.on_time, self.judged)

    @property
    def average_processing_days(self) -> Decimal:
        if not self.timed:
            return Decimal("0.00")
        days = Decimal(self.office_seconds) / (self.timed * self.office_day_seconds)
        return days.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def level2_share(self) -> Decimal:
        return share(self.level2, self.online)

    @property
    def satisfaction_share(self) -> Decimal:
        return share(self.satisfied, self.ratings)

    @property
    def feedback_on_time_share(self) -> Decimal:
        return share(self.feedback_on_time, self.feedback_due)


COUNTS = tuple(item.name for item in dataclasses.fields(Figures) if item.compare)


@dataclass
class ProcedureFigures:
    procedure: Procedure
    figures: Figures


@dataclass
class MonthFigures:
    month: str
    figures: Figures


@dataclass
class UpgradeCheck:
    procedure: Procedure
    dossiers: int
    online: int
    eligible: bool
    reason: str | None  # why not: too_few_dossiers, online_share_below_threshold

    @property
    def online_share(self) -> Decimal:
        return share(self.online, self.dossiers)


@dataclass
class QualityReport:
    agency: Agency
    procedure: Procedure | None
    start: date
    end: date
    generated_at: datetime
    totals: Figures
    by_procedure: list[ProcedureFigures]
    monthly: list[MonthFigures]
    threshold_percent: Decimal
    min_dossiers: int
    upgrade_checks: list[UpgradeCheck]

    @property
    def period(self) -> dict[str, date]:
        return {"from": self.start, "to": self.end}

    @property
    def upgrade(self) -> dict:
        return {
            "threshold_percent": self.threshold_percent,
            "min_dossiers": self.min_dossiers,
            "procedures": self.upgrade_checks,
        }


def _count_if(condition) -> sa.ColumnElement[int]:
    # FILTER (PostgreSQL, SQLite 3.30+) skips the rows outright: cheaper than SUM(CASE ...).
    return sa.func.count().filter(condition)


def _grouped(statement: sa.Select, rows, month, scope, procedure_id, start, end) -> sa.Select:
    """``rows`` (dossiers or ratings) of the scope and period, by procedure and month."""
    statement = statement.where(
        rows.agency_id.in_(scope), rows.submitted_at >= start, rows.submitted_at < end
    ).group_by(rows.procedure_id, month)
    if procedure_id is not None:
        statement = statement.where(rows.procedure_id == procedure_id)
    return statement


def dossier_groups(scope, procedure_id, start, end, now, months) -> sa.Select:
    d = Dossier
    resolved = d.decided_at.is_not(None) | (d.status == DossierStatus.STOPPED)
    resolved_at = sa.func.coalesce(d.decided_at, d.finished_at)
    online = d.channel == Channel.ONLINE
    month = month_of(d.submitted_at, months)
    statement = sa.select(
        d.procedure_id,
        month.label("month"),
        sa.func.count().label("dossiers"),
        _count_if(online).label("online"),
        _count_if(online & (d.submitted_acr >= 2)).label("level2"),
        _count_if(resolved & (resolved_at <= d.due_at)).label("on_time"),
        _count_if(resolved & (resolved_at > d.due_at)).label("late"),
        _count_if(~resolved & d.status.in_(RUNNING) & (d.due_at < now)).label("open_overdue"),
        sa.func.count(d.office_seconds_spent).filter(resolved).label("timed"),
        sa.func.sum(d.office_seconds_spent).filter(resolved).label("office_seconds"),
    )
    return _grouped(statement, d, month, scope, procedure_id, start, end)


def rating_groups(scope, procedure_id, start, end, months) -> sa.Select:
    """Ratings, placed like their dossiers (by the dossier's receipt, kept on the rating)."""
    rating = DossierRating
    total = total_of(rating)
    month = month_of(rating.submitted_at, months)
    statement = sa.select(
        rating.procedure_id,
        month.label("month"),
        sa.func.count().label("ratings"),
        _count_if(total >= SATISFIED_MIN_SUM).label("satisfied"),
        _count_if((total >= NEUTRAL_MIN_SUM) & (total < SATISFIED_MIN_SUM)).label("neutral"),
        _count_if(total < NEUTRAL_MIN_SUM).label("dissatisfied"),
    )
    return _grouped(statement, rating, month, scope, procedure_id, start, end)


def _feedback_groups(scope, procedure_id, start, end, now) -> sa.Select:
    f = Feedback
    refused = f.status == FeedbackStatus.REFUSED
    answered = f.answered_at.is_not(None)
    waiting = f.status.in_((FeedbackStatus.RECEIVED, FeedbackStatus.PROCESSING))
    statement = (
        sa.select(
            f.procedure_id,
            sa.func.count().label("feedback"),
            _count_if(refused).label("feedback_refused"),
            _count_if(~refused & (answered | (waiting & (f.answer_due_at < now)))).label(
                "feedback_due"
            ),
            _count_if(~refused & answered & (f.answered_at <= f.answer_due_at)).label(
                "feedback_on_time"
            ),
        )
        .where(f.agency_id.in_(scope), f.received_at >= start, f.received_at < end)
        .group_by(f.procedure_id)
    )
    if procedure_id is not None:
        statement = statement.where(f.procedure_id == procedure_id)
    return statement


DOSSIER_COUNTS = (
    "dossiers",
    "online",
    "level2",
    "on_time",
    "late",
    "open_overdue",
    "timed",
    "office_seconds",
)
RATING_COUNTS = ("ratings", "satisfied", "neutral", "dissatisfied")
FEEDBACK_COUNTS = ("feedback", "feedback_refused", "feedback_due", "feedback_on_time")


def build(
    *,
    agency: Agency,
    scope: set[str] | frozenset[str],
    procedure: Procedure | None,
    start: date,
    end: date,
    now: datetime,
) -> QualityReport:
    """Every indicator for ``scope`` (agency ids) and the period [start, end], as of ``now``."""
    office_day = int(current_calendar().office_day.total_seconds())

    def empty() -> Figures:
        return Figures(office_day_seconds=office_day)

    def figures_of(row, names) -> Figures:
        return Figures(office_day_seconds=office_day, **{n: int(row[n] or 0) for n in names})

    first, after = day_bounds(start, end)
    procedure_id = procedure.id if procedure is not None else None
    if db.session.get_bind().dialect.name == "postgresql":
        # The planner cannot tell that the groups are only procedures x months, and takes
        # them for as many as the rows: with the default work_mem it would sort a million
        # rows on disk instead of hashing a few hundred groups in memory. Only this
        # transaction gets more room; the memory actually used stays that of the groups.
        db.session.execute(sa.text("SET LOCAL work_mem = '256MB'"))
    totals, per_procedure = empty(), {}
    months = months_between(start, end)
    per_month = {month: empty() for month in months}
    grouped = (
        (dossier_groups(scope, procedure_id, first, after, now, months), DOSSIER_COUNTS),
        (rating_groups(scope, procedure_id, first, after, months), RATING_COUNTS),
    )
    for statement, counts in grouped:
        for row in db.session.execute(statement).mappings():
            figures = figures_of(row, counts)
            totals.add(figures)
            per_procedure.setdefault(row["procedure_id"], empty()).add(figures)
            per_month[month_key(row["month"], months)].add(figures)
    feedback_rows = db.session.execute(_feedback_groups(scope, procedure_id, first, after, now))
    for row in feedback_rows.mappings():
        figures = figures_of(row, FEEDBACK_COUNTS)
        totals.add(figures)
        if row["procedure_id"] is not None:
            per_procedure.setdefault(row["procedure_id"], empty()).add(figures)

    procedures = _procedures(scope, procedure_id)
    threshold = current_app.config["UPGRADE_ONLINE_SHARE_PERCENT"]
    min_dossiers = current_app.config["UPGRADE_MIN_DOSSIERS"]
    return QualityReport(
        agency=agency,
        procedure=procedure,
        start=start,
        end=end,
        generated_at=now,
        totals=totals,
        by_procedure=[
            ProcedureFigures(procedure=p, figures=per_procedure[p.id])
            for p in procedures
            if p.id in per_procedure
        ],
        monthly=[MonthFigures(month=m, figures=f) for m, f in sorted(per_month.items())],
        threshold_percent=threshold,
        min_dossiers=min_dossiers,
        upgrade_checks=[
            upgrade_check(p, per_procedure.get(p.id) or empty(), threshold, min_dossiers)
            for p in procedures
            if p.delivery_mode is DeliveryMode.PARTIAL and p.status in IN_FORCE
        ],
    )


def upgrade_check(
    procedure: Procedure, figures: Figures, threshold: Decimal, min_dossiers: int
) -> UpgradeCheck:
    """Article 21(1)(c): online dossiers at least ``threshold`` % of all, compared exactly."""
    reason = None
    if figures.dossiers < min_dossiers:
        reason = "too_few_dossiers"
    elif Decimal(figures.online) * 100 < threshold * figures.dossiers:
        reason = "online_share_below_threshold"
    return UpgradeCheck(
        procedure=procedure,
        dossiers=figures.dossiers,
        online=figures.online,
        eligible=reason is None,
        reason=reason,
    )


def _procedures(scope, procedure_id) -> list[Procedure]:
    statement = (
        sa.select(Procedure)
        .options(
            # Names and modes only: the working copies and agencies are not reported.
            load_only(Procedure.code, Procedure.name, Procedure.delivery_mode, Procedure.status),
            noload(Procedure.agency),
        )
        .where(Procedure.agency_id.in_(scope))
        .order_by(Procedure.code)
    )
    if procedure_id is not None:
        statement = statement.where(Procedure.id == procedure_id)
    return list(db.session.scalars(statement))
