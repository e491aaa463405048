"""Who a provider identity is here, and what its verified claims change on the account.

Rules:
- An identity is (issuer, subject). It signs in as the one account it is linked to; the unique
  constraint on identity_links means two citizens can never share it, even when logins race.
- A first login with a new identity creates a citizen, or, when a signed-in citizen asked to
  link (``POST /api/v1/me/identities/link``), links it to that citizen. An identity already
  linked to someone else is refused, never moved.
- Verified claims (only from a provider login mapped to level 1 or more) fill the profile: name,
  national ID number, date of birth, and the address and phone when the account has none. The
  assurance level only goes up: max(current, mapped).
- A national ID number belongs to one citizen. If another citizen holds it, the login is refused
  (409 conflict) instead of merging the two accounts silently: merging would hand one person's
  dossiers to whoever controls the other account. If the account already holds a different
  verified number, it is refused too.
- Staff never get an account from a login: an administrator links a staff member to their
  identity at their agency's provider first, and the provider must vouch for a multi-factor
  sign-in (level 2, or ``mfa`` in ``amr``), since staff otherwise need an authenticator app.
"""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.agencies.services import with_descendants
from backend.crypto import vault
from backend.extensions import db
from backend.identity.access import Forbidden
from backend.identity.models import Account, AccountKind, AccountStatus, RoleGrant
from backend.identity.services.events import record_event
from backend.phones import InvalidPhone, to_e164
from backend.providers.models import IdentityLink, IdentityProvider
from backend.providers.services.remote import ProviderError

PROFILE_FIELDS = ("full_name", "national_id", "date_of_birth", "phone", "address")
NATIONAL_ID = re.compile(r"^(\d{9}|\d{12})$")


class LinkRefused(ProviderError):
    code = "identity-link-refused"
    kind = "conflict"
    title = ("Không liên kết được danh tính", "The identity cannot be linked")
    oauth_error = "access_denied"


class IdentityLinkedElsewhere(LinkRefused):
    code = "identity-linked-to-another-account"

    def __init__(self):
        super().__init__(
            (
                "Tài khoản định danh này đã được liên kết với một tài khoản khác.",
                "This identity is already linked to another account.",
            )
        )


class NationalIdHeldElsewhere(LinkRefused):
    code = "national-id-held-by-another-account"

    def __init__(self):
        super().__init__(
            (
                "Số định danh cá nhân này đã thuộc về một tài khoản khác; hãy đăng nhập tài khoản "
                "đó rồi liên kết, hoặc liên hệ tổng đài hỗ trợ.",
                "Another account already holds this national ID number; sign in to that account "
                "and link from there, or contact support.",
            )
        )


class NationalIdDiffers(LinkRefused):
    code = "national-id-differs"

    def __init__(self):
        super().__init__(
            (
                "Số định danh từ nhà cung cấp khác với số đã xác thực của tài khoản.",
                "The provider's national ID number differs from the account's verified one.",
            )
        )


class StaffNotLinked(LinkRefused):
    code = "staff-identity-not-linked"
    kind = "forbidden"

    def __init__(self):
        super().__init__(
            (
                "Tài khoản định danh này chưa được gắn với cán bộ nào của cơ quan.",
                "No staff member of the agency is linked to this identity.",
            )
        )


class StaffSignInTooWeak(LinkRefused):
    code = "staff-sign-in-too-weak"
    kind = "forbidden"

    def __init__(self):
        super().__init__(
            (
                "Cán bộ phải đăng nhập nhiều lớp (mức 2) tại nhà cung cấp định danh.",
                "Staff must sign in with several factors (level 2) at the identity provider.",
            )
        )


class StaffRolesBeyondProvider(LinkRefused):
    code = "staff-roles-beyond-provider"
    kind = "forbidden"

    def __init__(self):
        super().__init__(
            (
                "Cán bộ còn giữ vai trò ở cơ quan ngoài phạm vi của nhà cung cấp định danh này; "
                "hãy đăng nhập bằng số điện thoại và ứng dụng xác thực.",
                "This staff member holds roles outside this identity provider's agencies; sign "
                "in with the phone and the authenticator app.",
            )
        )


class AccountDisabled(LinkRefused):
    code = "account-disabled"
    kind = "forbidden"

    def __init__(self):
        super().__init__(("Tài khoản đã bị khóa.", "The account is disabled."))


def _address(value: Any) -> dict[str, str] | None:
    """An OpenID address claim (a string or the section 5.1.1 object) as our address shape."""
    if isinstance(value, str) and value.strip():
        return {"line": value.strip()[:200]}
    if not isinstance(value, dict):
        return None
    line = value.get("formatted") or value.get("street_address")
    if not isinstance(line, str) or not line.strip():
        return None
    address = {"line": line.strip()[:200]}
    if isinstance(value.get("locality"), str):
        address["district"] = value["locality"][:100]
    if isinstance(value.get("region"), str):
        address["province"] = value["region"][:100]
    return address


def mapped_profile(provider: IdentityProvider, claims: dict[str, Any]) -> dict[str, Any]:
    """Our profile fields from the provider's claims; values we cannot trust are left out."""
    raw = {
        field: claims.get(name)
        for field, name in provider.claim_mapping.items()
        if field in PROFILE_FIELDS and isinstance(name, str)
    }
    profile: dict[str, Any] = {}
    name = raw.get("full_name")
    if isinstance(name, str) and 0 < len(name.strip()) <= 200:
        profile["full_name"] = name.strip()
    national_id = raw.get("national_id")
    if isinstance(national_id, str) and NATIONAL_ID.match(national_id.strip()):
        profile["national_id"] = national_id.strip()
    birth = raw.get("date_of_birth")
    if isinstance(birth, str):
        with suppress(ValueError):
            profile["date_of_birth"] = date.fromisoformat(birth)
    phone = raw.get("phone")
    if isinstance(phone, str):
        with suppress(InvalidPhone):
            profile["phone"] = to_e164(phone)
    address = _address(raw.get("address"))
    if address:
        profile["address"] = address
    return profile


def _link(provider: IdentityProvider, *, subject: str, account: Account, now: datetime) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(
                IdentityLink(
                    account_id=account.id,
                    account_kind=account.kind,
                    provider_id=provider.id,
                    issuer=provider.issuer,
                    subject=subject,
                    created_at=now,
                    last_login_at=now,
                )
            )
    except IntegrityError as error:  # a concurrent login linked it first
        raise IdentityLinkedElsewhere() from error
    record_event("identity_linked", account_id=account.id, provider=provider.slug)


def find_link(*, issuer: str, subject: str, kind: AccountKind) -> IdentityLink | None:
    return db.session.scalar(
        sa.select(IdentityLink).where(
            IdentityLink.issuer == issuer,
            IdentityLink.subject == subject,
            IdentityLink.account_kind == kind,
        )
    )


def _phone_is_free(phone: str, kind: AccountKind) -> bool:
    taken = sa.select(Account.id).where(Account.kind == kind, Account.phone == phone)
    return db.session.scalar(taken) is None


def apply_verified_claims(*, account: Account, profile: dict[str, Any], level: int) -> None:
    account.assurance_level = max(account.assurance_level or 0, level)
    if level < 1:
        return  # a provider that vouches for nothing verifies nothing
    national_id = profile.get("national_id")
    if national_id:
        digest = vault().digest(national_id, purpose="national-id")
        if account.national_id_digest and account.national_id_digest != digest:
            raise NationalIdDiffers()
        holder = db.session.scalar(
            sa.select(Account.id).where(
                Account.kind == account.kind,
                Account.national_id_digest == digest,
                Account.id != account.id,
            )
        )
        if holder is not None:
            raise NationalIdHeldElsewhere()
        account.national_id_ciphertext = vault().encrypt(national_id, context=f"nid:{account.id}")
        account.national_id_digest = digest
        account.national_id_last4 = national_id[-4:]
    if "full_name" in profile:
        account.full_name = profile["full_name"]
    if "date_of_birth" in profile:
        account.date_of_birth = profile["date_of_birth"]
    if "address" in profile and account.address is None:
        account.address = profile["address"]
    phone = profile.get("phone")
    if phone and account.phone is None and _phone_is_free(phone, account.kind):
        account.phone = phone
    account.identity_verified = True


def citizen_for_login(
    *,
    provider: IdentityProvider,
    subject: str,
    claims: dict[str, Any],
    level: int,
    link_account_id: str | None,
    now: datetime,
) -> Account:
    """The citizen this login signs in as (found, linked or created); the unit of work commits."""
    existing = find_link(issuer=provider.issuer, subject=subject, kind=AccountKind.CITIZEN)
    if link_account_id is not None:
        account = db.session.get(Account, link_account_id)
        if existing is not None and existing.account_id != link_account_id:
            raise IdentityLinkedElsewhere()
    elif existing is not None:
        account = db.session.get(Account, existing.account_id)
    else:
        account = Account(kind=AccountKind.CITIZEN, created_at=now)
        db.session.add(account)
        db.session.flush()
        record_event("account_created", account_id=account.id, method="oidc")
    if account is None or account.status is not AccountStatus.ACTIVE:
        raise AccountDisabled()
    if existing is None:
        _link(provider, subject=subject, account=account, now=now)
    else:
        existing.last_login_at = now
    apply_verified_claims(account=account, profile=mapped_profile(provider, claims), level=level)
    db.session.flush()
    return account


def staff_for_login(
    *, provider: IdentityProvider, subject: str, level: int, amr: list[str], now: datetime
) -> Account:
    """The staff member an administrator linked to this identity at this very provider."""
    link = find_link(issuer=provider.issuer, subject=subject, kind=AccountKind.STAFF)
    if link is None or link.provider_id != provider.id:
        raise StaffNotLinked()
    if level < 2 and "mfa" not in amr:
        raise StaffSignInTooWeak()
    account = db.session.get(Account, link.account_id)
    if account is None or account.status is not AccountStatus.ACTIVE:
        raise AccountDisabled()
    # An agency's provider vouches for its own people: roles granted since at agencies outside
    # its tree were never that agency's to open, so such a sign-in takes the app's own factors.
    grant_agencies = set(
        db.session.scalars(sa.select(RoleGrant.agency_id).where(RoleGrant.account_id == account.id))
    )
    if not grant_agencies <= with_descendants({provider.agency_id}):
        raise StaffRolesBeyondProvider()
    link.last_login_at = now
    return account


def identities_of(*, account_id: str) -> list[IdentityLink]:
    return list(
        db.session.scalars(
            sa.select(IdentityLink)
            .where(IdentityLink.account_id == account_id)
            .order_by(IdentityLink.created_at, IdentityLink.id)
        )
    )


class StaffBeyondYourAgencies(Forbidden):
    code = "staff-beyond-your-agencies"

    def __init__(self):
        super().__init__(
            (
                "Cán bộ này còn giữ vai trò ở cơ quan bạn không quản lý; chỉ quản trị cấp trên "
                "của các cơ quan đó gắn được danh tính đăng nhập cho họ.",
                "This staff member also holds roles at agencies you do not manage; only an "
                "administrator above all of them can name their sign-in identity.",
            )
        )


def link_staff(
    *,
    provider: IdentityProvider,
    account: Account,
    subject: str,
    visible_agencies: frozenset[str] | None = None,
) -> IdentityLink:
    """An administrator names the identity a staff member signs in with at this provider.

    Whoever holds the identity signs in with every role the staff member holds anywhere: an
    administrator (``visible_agencies``) must manage every agency of those roles.
    """
    if visible_agencies is not None and any(
        grant.agency_id not in visible_agencies for grant in account.grants
    ):
        raise StaffBeyondYourAgencies()
    link = IdentityLink(
        account_id=account.id,
        account_kind=AccountKind.STAFF,
        provider_id=provider.id,
        issuer=provider.issuer,
        subject=subject,
    )
    try:
        with db.session.begin_nested():
            db.session.add(link)
    except IntegrityError as error:
        raise IdentityLinkedElsewhere() from error
    record_event("staff_identity_linked", account_id=account.id, provider=provider.slug)
    db.session.flush()
    return link
