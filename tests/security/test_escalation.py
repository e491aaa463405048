"""An agency's administrator must not reach, through its own identity provider, what a staff
member holds at agencies it does not manage.

An administrator with ``providers.manage`` names the identity a staff member signs in with at
the agency's provider; whoever controls that identity then signs in as that staff member,
with every role they hold anywhere. So the administrator may name identities only for staff
whose every role lies within the agencies it manages.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Account
from backend.identity.services import accounts
from backend.phones import to_e164
from backend.providers.models import ClientAuthMethod, IdentityLink
from backend.providers.services import registry
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work

pytestmark = pytest.mark.usefixtures("demo_catalog")

WARD, JUSTICE, PROVINCE = "001.01.00.H56", "000.00.17.H56", "000.00.00.H56"


@pytest.fixture
def ward_provider(app):
    with unit_of_work(app):
        registry.create_provider(
            data={
                "slug": "ward_idp",
                "agency": WARD,
                "name": "Định danh của phường",
                "issuer": "https://idp.ward.example",
                "client_id": "dvc-mobile",
                "client_auth_method": ClientAuthMethod.CLIENT_SECRET_BASIC,
                "scopes": ["openid"],
                "signing_algorithms": ["RS256"],
            },
            client_secret="ward-secret",
            enable=False,
            by=None,
            now=utcnow(),
        )
    return "ward_idp"


def _staff(app, phone: str, *grants: tuple[str, str]) -> str:
    with unit_of_work(app):
        (agency, role), *others = grants
        account = accounts.create_staff(
            phone=to_e164(phone),
            full_name="Cán bộ",
            agency_code=agency,
            role=role,
            granted_by=None,
        )
        from backend.agencies.services import get_agency

        for agency, role in others:
            accounts.grant_role(
                account=account, role=role, agency_id=get_agency(code=agency).id, granted_by=None
            )
        account_id = account.id
    return account_id


def _links(app) -> int:
    with unit_of_work(app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(IdentityLink))


def _link(client, admin, provider, account_id, subject="subject-at-the-ward"):
    return client.post(
        f"/api/v1/admin/identity-providers/{provider}/staff-links",
        json={"account_id": account_id, "subject": subject},
        headers=bearer(admin),
    )


def test_a_ward_admin_cannot_bind_an_identity_to_staff_who_also_work_elsewhere(
    app, client, make_staff, ward_provider
):
    ward_admin = make_staff("0911100001", agency=WARD, role="agency_admin")[0]
    # Receives dossiers at the ward, and leads the justice department.
    both = _staff(app, "0911100006", (WARD, "receiving_officer"), (JUSTICE, "leader"))
    refused = _link(client, ward_admin, ward_provider, both)
    assert refused.status_code == 403, refused.get_json()
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["type"].endswith("staff-beyond-your-agencies")
    assert _links(app) == 0


def test_the_ward_admin_binds_its_own_staff_and_the_province_admin_anyone_below(
    app, client, make_staff, ward_provider
):
    ward_admin = make_staff("0911100001", agency=WARD, role="agency_admin")[0]
    province_admin = make_staff("0911100002", agency=PROVINCE, role="agency_admin")[0]
    own = _staff(app, "0911100007", (WARD, "receiving_officer"))
    both = _staff(app, "0911100006", (WARD, "receiving_officer"), (JUSTICE, "leader"))
    assert _link(client, ward_admin, ward_provider, own).status_code == 201
    assert _link(client, province_admin, ward_provider, both, "another").status_code == 201
    with unit_of_work(app):
        linked = set(db.session.scalars(sa.select(IdentityLink.account_id)))
        assert linked == {own, both}
        assert db.session.get(Account, both) is not None
