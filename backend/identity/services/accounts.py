"""Profiles, and the staff accounts an administrator manages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.agencies.services import get_agency
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.identity.models import Account, AccountKind, RoleGrant
from backend.identity.roles import ROLES
from backend.identity.services.events import record_event


class ProfileFieldLocked(Conflict):
    code = "profile-field-verified"


class StaffNotFound(NotFound):
    code = "staff-not-found"


class GrantNotFound(NotFound):
    code = "role-grant-not-found"


class StaffExists(Conflict):
    code = "staff-exists"


def masked_national_id(account: Account) -> str | None:
    return f"********{account.national_id_last4}" if account.national_id_last4 else None


def update_profile(*, account: Account, changes: dict[str, Any]) -> Account:
    """Change what a person may change themselves. Verified identity fields are not among it."""
    if "full_name" in changes and account.identity_verified:
        raise ProfileFieldLocked(
            (
                "Họ tên đã được xác thực bởi định danh điện tử, không sửa được.",
                "The name was verified by your e-ID and cannot be changed here.",
            ),
            errors={"full_name": ["Verified by an identity provider."]},
        )
    for name, value in changes.items():
        setattr(account, name, value)
    db.session.flush()
    return account


# --- staff ------------------------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed(errors={"role": [f"Unknown role; one of {sorted(ROLES)}."]})


def create_staff(
    *, phone: str, full_name: str, agency_code: str, role: str, granted_by: str | None
) -> Account:
    _check_role(role)
    agency = get_agency(code=agency_code)
    existing = db.session.scalar(
        sa.select(Account).where(Account.kind == AccountKind.STAFF, Account.phone == phone)
    )
    if existing is not None:
        raise StaffExists(("Đã có cán bộ với số điện thoại này.", "Staff with this phone exist."))
    account = Account(kind=AccountKind.STAFF, phone=phone, full_name=full_name)
    db.session.add(account)
    db.session.flush()
    account.grants.append(RoleGrant(role=role, agency_id=agency.id, granted_by=granted_by))
    record_event("staff_created", account_id=account.id, by=granted_by)
    record_event(
        "role_granted", account_id=account.id, role=role, agency=agency.code, by=granted_by
    )
    db.session.flush()
    return account


def staff_by_phone(phone: str) -> Account:
    account = db.session.scalar(
        sa.select(Account).where(Account.kind == AccountKind.STAFF, Account.phone == phone)
    )
    if account is None:
        raise StaffNotFound()
    return account


def get_staff(*, account_id: str, visible_agencies: frozenset[str] | None) -> Account:
    """A staff account, if it holds a role somewhere the viewer manages (None: anywhere)."""
    account = db.session.get(Account, account_id)
    if account is None or account.kind is not AccountKind.STAFF:
        raise StaffNotFound()
    if visible_agencies is not None and not any(
        g.agency_id in visible_agencies for g in account.grants
    ):
        raise StaffNotFound()
    return account


def list_staff(*, visible_agencies: frozenset[str]) -> list[Account]:
    return list(
        db.session.scalars(
            sa.select(Account)
            .where(
                Account.kind == AccountKind.STAFF,
                Account.id.in_(
                    sa.select(RoleGrant.account_id).where(RoleGrant.agency_id.in_(visible_agencies))
                ),
            )
            .order_by(Account.full_name, Account.id)
        )
    )


def grant_role(*, account: Account, role: str, agency_id: str, granted_by: str) -> RoleGrant:
    _check_role(role)
    if any(g.role == role and g.agency_id == agency_id for g in account.grants):
        raise Conflict(("Cán bộ đã có vai trò này.", "The role is already held there."))
    grant = RoleGrant(role=role, agency_id=agency_id, granted_by=granted_by)
    account.grants.append(grant)
    record_event(
        "role_granted", account_id=account.id, role=role, agency_id=agency_id, by=granted_by
    )
    db.session.flush()
    return grant


def revoke_role(
    *, account: Account, grant_id: str, revoked_by: str, visible_agencies: frozenset[str]
) -> None:
    grant = next((g for g in account.grants if g.id == grant_id), None)
    if grant is None or grant.agency_id not in visible_agencies:
        raise GrantNotFound()
    account.grants.remove(grant)
    record_event(
        "role_revoked",
        account_id=account.id,
        role=grant.role,
        agency_id=grant.agency_id,
        by=revoked_by,
    )
    db.session.flush()
