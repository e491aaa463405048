"""Catalog administration by staff with ``catalog.manage``, within their agencies.

A procedure is created as a draft, its working copy edited (checked like an imported one),
and moved along its lifecycle with ``move_procedure``: pilot (open to an allow-list), published,
suspended, retired (Article 21 steps 3 and 4e). Every act appends a ``CatalogAuditRecord`` in
the same transaction: who, what, when, and the status and version before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend import trails
from backend.catalog.models import (
    CatalogAuditRecord,
    PilotMember,
    Procedure,
    ProcedureStatus,
    ProcedureVersion,
)
from backend.catalog.services import (
    ProcedureNotFound,
    append_audit,
    copy_searchable,
    move_procedure,
)
from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.identity.access import Principal
from backend.identity.models import Account, AccountKind
from backend.pagination import Page, keyset_page

PERMISSION = "catalog.manage"


class ProcedureExists(Conflict):
    code = "procedure-exists"
    title = ("Mã thủ tục đã tồn tại", "The procedure code exists")


class ProcedureRetired(Conflict):
    code = "procedure-retired"
    title = ("Thủ tục đã bãi bỏ", "The procedure is retired")


class CitizenNotFound(NotFound):
    code = "citizen-not-found"


class PilotMemberNotFound(NotFound):
    code = "pilot-member-not-found"


def _scope(principal: Principal) -> frozenset[str]:
    return principal.agencies_for(PERMISSION)


def managed_procedure(*, principal: Principal, code: str, lock: bool = False) -> Procedure:
    """A procedure of the manager's agencies; any other looks like it does not exist."""
    statement = sa.select(Procedure).where(
        Procedure.code == code, Procedure.agency_id.in_(_scope(principal))
    )
    if lock:
        statement = statement.with_for_update(of=Procedure).execution_options(
            populate_existing=True
        )
    procedure = db.session.scalar(statement)
    if procedure is None:
        raise ProcedureNotFound(("Không có thủ tục mã này.", "No procedure has this code."))
    return procedure


def list_managed(
    *, principal: Principal, status: ProcedureStatus | None, cursor: str | None, limit: int
) -> Page:
    statement = sa.select(Procedure).where(Procedure.agency_id.in_(_scope(principal)))
    if status is not None:
        statement = statement.where(Procedure.status == status)
    return keyset_page(
        statement, order_by=[Procedure.code], key=lambda p: [p.code], cursor=cursor, limit=limit
    )


def versions(*, procedure: Procedure) -> list[ProcedureVersion]:
    return list(
        db.session.scalars(
            sa.select(ProcedureVersion)
            .where(ProcedureVersion.procedure_id == procedure.id)
            .order_by(ProcedureVersion.number)
        )
    )


def _audit(
    procedure: Procedure,
    *,
    principal: Principal,
    action: str,
    status_before: ProcedureStatus | None,
    version_before: int | None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime,
) -> None:
    append_audit(
        procedure,
        actor_id=principal.account_id,
        action=action,
        status_before=status_before,
        version_before=version_before,
        note=note,
        details=details,
        now=now,
    )


def create_procedure(
    *,
    principal: Principal,
    code: str,
    agency_code: str,
    content: dict[str, Any],
    note: str | None,
    now: datetime,
) -> Procedure:
    """A new procedure, as a draft nobody outside the agency sees."""
    agency = principal.agency(PERMISSION, agency_code)
    if db.session.scalar(sa.select(Procedure.id).where(Procedure.code == code)):
        raise ProcedureExists(("Đã có thủ tục mang mã này.", "A procedure has this code."))
    procedure = Procedure(
        code=code,
        agency=agency,
        status=ProcedureStatus.DRAFT,
        draft=content,
        created_at=now,
        updated_at=now,
    )
    copy_searchable(procedure, content, agency)
    db.session.add(procedure)
    db.session.flush()
    _audit(
        procedure,
        principal=principal,
        action="create",
        status_before=None,
        version_before=None,
        note=note,
        details={"after": content},
        now=now,
    )
    db.session.flush()
    return procedure


def edit_draft(
    *,
    principal: Principal,
    procedure: Procedure,
    content: dict[str, Any],
    note: str | None,
    now: datetime,
) -> Procedure:
    """Replace the working copy; citizens see it only once it is frozen into a version."""
    if procedure.status is ProcedureStatus.RETIRED:
        raise ProcedureRetired(
            ("Không sửa được thủ tục đã bãi bỏ.", "A retired procedure cannot be edited.")
        )
    before = procedure.draft
    procedure.draft = content
    procedure.updated_at = now
    if procedure.current_version is None:
        copy_searchable(procedure, content, procedure.agency)
    _audit(
        procedure,
        principal=principal,
        action="edit_draft",
        status_before=procedure.status,
        version_before=procedure.current_version,
        note=note,
        details={"before": before, "after": content},
        now=now,
    )
    db.session.flush()
    return procedure


def move(
    *,
    principal: Principal,
    procedure: Procedure,
    to: ProcedureStatus,
    note: str | None,
    now: datetime,
) -> Procedure:
    """Pilot, publish, suspend or retire; entering pilot or published freezes a new version."""
    status_before, version_before = procedure.status, procedure.current_version
    move_procedure(procedure, to)
    procedure.updated_at = now
    _audit(
        procedure,
        principal=principal,
        action=f"move_to_{to.value}",
        status_before=status_before,
        version_before=version_before,
        note=note,
        now=now,
    )
    db.session.flush()
    return procedure


@dataclass(frozen=True)
class PilotMembership:
    member: PilotMember
    account: Account


def pilot_members(*, procedure: Procedure) -> list[PilotMembership]:
    rows = db.session.execute(
        sa.select(PilotMember, Account)
        .join(Account, Account.id == PilotMember.account_id)
        .where(PilotMember.procedure_id == procedure.id)
        .order_by(PilotMember.created_at, PilotMember.account_id)
    )
    return [PilotMembership(member, account) for member, account in rows]


def add_pilot_member(
    *, principal: Principal, procedure: Procedure, phone: str, now: datetime
) -> PilotMembership:
    """Let a citizen (who has signed in once) see and file the procedure while in pilot."""
    account = db.session.scalar(
        sa.select(Account).where(Account.kind == AccountKind.CITIZEN, Account.phone == phone)
    )
    if account is None:
        raise CitizenNotFound(
            (
                "Chưa có công dân nào dùng số điện thoại này; họ cần đăng nhập một lần trước.",
                "No citizen has this phone yet: they sign in once first.",
            )
        )
    key = {"procedure_id": procedure.id, "account_id": account.id}
    member = db.session.get(PilotMember, key)
    if member is None:
        member = PilotMember(**key, created_at=now)
        db.session.add(member)
        _audit(
            procedure,
            principal=principal,
            action="pilot_add",
            status_before=procedure.status,
            version_before=procedure.current_version,
            details={"account_id": account.id},
            now=now,
        )
    db.session.flush()
    return PilotMembership(member, account)


def remove_pilot_member(
    *, principal: Principal, procedure: Procedure, account_id: str, now: datetime
) -> None:
    member = db.session.get(PilotMember, {"procedure_id": procedure.id, "account_id": account_id})
    if member is None:
        raise PilotMemberNotFound(("Người này không tham gia thí điểm.", "Not in the pilot."))
    db.session.delete(member)
    _audit(
        procedure,
        principal=principal,
        action="pilot_remove",
        status_before=procedure.status,
        version_before=procedure.current_version,
        details={"account_id": account_id},
        now=now,
    )
    db.session.flush()


def audit_trail(*, procedure: Procedure) -> list[CatalogAuditRecord]:
    return trails.entries(CatalogAuditRecord, owner="procedure_id", owner_id=procedure.id)


def pilot_period(*, procedure: Procedure, now: datetime) -> tuple[datetime, datetime]:
    """From the last time the procedure entered pilot to when it next left it (or now).

    Imports leave a record too; a procedure with none (imported before they did) began its
    pilot when it was created.
    """
    trail = audit_trail(procedure=procedure)
    pilot = ProcedureStatus.PILOT
    entries = [
        i for i, r in enumerate(trail) if r.status_after is pilot and r.status_before is not pilot
    ]
    if not entries:
        return procedure.created_at, now
    entered = entries[-1]
    left = next(
        (
            r
            for r in trail[entered + 1 :]
            if r.status_before is pilot and r.status_after is not pilot
        ),
        None,
    )
    return trail[entered].created_at, left.created_at if left is not None else now
