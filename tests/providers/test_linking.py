"""Account linking: (issuer, sub) is one account's, never two; staff need a link made for them."""

from __future__ import annotations

import sqlalchemy as sa

from backend.extensions import db
from backend.identity.models import Account, AccountKind
from backend.providers.models import IdentityLink
from tests.helpers.providers import (
    APP_REDIRECT,
    BrowserLeg,
    browser_login,
    come_back,
    follow_provider,
    pkce,
    query_of,
    redeem,
    register,
    session_count,
    start,
)
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work


def link_leg(client, tokens: dict, slug: str = "testidp") -> BrowserLeg:
    verifier, challenge = pkce()
    started = client.post(
        "/api/v1/me/identities/link",
        json={
            "provider": slug,
            "redirect_uri": APP_REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "app-state-1",
        },
        headers=bearer(tokens),
    )
    assert started.status_code == 201, started.get_json()
    leg = BrowserLeg(verifier=verifier, provider_url=started.get_json()["authorize_url"])
    leg.callback_url = follow_provider(leg.provider_url)
    back = come_back(client, leg.callback_url)
    assert back.status_code == 302
    leg.app_url = back.headers["Location"]
    return leg


def me(client, tokens: dict) -> dict:
    return client.get("/api/v1/me", headers=bearer(tokens)).get_json()


def test_signed_in_citizen_links_the_identity_explicitly(app, client, citizen, registered):
    before = me(client, citizen)
    assert before["assurance_level"] == 0
    leg = link_leg(client, citizen)
    tokens = redeem(client, leg)
    assert tokens.status_code == 200
    after = me(client, tokens.get_json())
    assert after["id"] == before["id"] and after["phone"] == before["phone"]
    assert after["assurance_level"] == 2 and after["identity_verified"] is True
    listed = client.get("/api/v1/me/identities", headers=bearer(citizen)).get_json()["items"]
    assert [item["provider"]["slug"] for item in listed] == ["testidp"]
    # From now on a plain provider login signs in as this citizen.
    again = redeem(client, browser_login(client, "testidp"))
    assert me(client, again.get_json())["id"] == before["id"]


def test_an_identity_linked_to_someone_else_is_not_moved(app, client, citizen, registered):
    first = redeem(client, browser_login(client, "testidp")).get_json()  # creates citizen B
    owner = me(client, first)["id"]
    sessions_before = session_count(app)
    leg = link_leg(client, citizen)
    assert leg.answer["error_code"] == "identity-linked-to-another-account"
    assert leg.answer["error"] == "access_denied"
    assert session_count(app) == sessions_before
    with unit_of_work(app):
        links = db.session.scalars(sa.select(IdentityLink)).all()
        assert [link.account_id for link in links] == [owner]


def test_a_national_id_held_by_another_citizen_is_refused(app, client, op, registered):
    assert redeem(client, browser_login(client, "testidp")).status_code == 200
    op.subject = "another-subject"  # a second identity claiming the same national ID
    leg = browser_login(client, "testidp")
    assert leg.answer["error_code"] == "national-id-held-by-another-account"
    with unit_of_work(app):
        citizens = db.session.scalar(
            sa.select(sa.func.count()).select_from(Account).where(Account.kind == "citizen")
        )
        assert citizens == 1  # nothing half-created


def test_a_verified_national_id_is_not_replaced(app, client, op, citizen, registered):
    assert redeem(client, link_leg(client, citizen)).status_code == 200
    register(app, slug="second", issuer=op.issuer)
    op.claims["cccd"] = "001195999999"
    leg = link_leg(client, citizen, slug="second")
    assert leg.answer["error_code"] == "national-id-differs"


def test_linking_is_for_citizens(client, registered, make_staff):
    staff, _ = make_staff("0911000222", agency="000.00.00.H56", role="agency_admin")
    _, challenge = pkce()
    refused = client.post(
        "/api/v1/me/identities/link",
        json={
            "provider": "testidp",
            "redirect_uri": APP_REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        headers=bearer(staff),
    )
    assert refused.status_code == 403


def test_staff_sign_in_through_their_agencys_provider(app, client, op, registered, make_staff):
    admin, _ = make_staff("0911000222", agency="000.00.00.H56", role="agency_admin")
    officer, _ = make_staff("0911000333", agency="000.00.00.H56", role="receiving_officer")
    officer_id = me(client, officer)["id"]
    op.subject = "officer-at-idp"
    op.claims["amr"] = ["pwd", "otp"]

    response, _ = start(client, "testidp", audience="staff")
    callback = follow_provider(response.headers["Location"])
    refused = query_of(come_back(client, callback).headers["Location"])
    assert refused["error_code"] == "staff-identity-not-linked"

    linked = client.post(
        "/api/v1/admin/identity-providers/testidp/staff-links",
        json={"account_id": officer_id, "subject": "officer-at-idp"},
        headers=bearer(admin),
    )
    assert linked.status_code == 201, linked.get_json()
    leg = browser_login(client, "testidp", audience="staff")
    tokens = redeem(client, leg)
    assert tokens.status_code == 200, leg.answer
    body = tokens.get_json()
    assert me(client, body)["id"] == officer_id and me(client, body)["kind"] == "staff"
    assert body["mfa_enrollment_required"] is False
    with unit_of_work(app):
        link = db.session.scalar(
            sa.select(IdentityLink).where(IdentityLink.account_kind == AccountKind.STAFF)
        )
        assert link.last_login_at is not None


def test_a_provider_opens_no_roles_outside_its_agencies(app, client, op, registered, make_staff):
    from backend.agencies.services import get_agency
    from backend.identity.services.accounts import grant_role

    admin, _ = make_staff("0911000222", agency="000.00.00.H56", role="agency_admin")
    officer, _ = make_staff("0911000333", agency="000.00.00.H56", role="receiving_officer")
    officer_id = me(client, officer)["id"]
    op.subject = "officer-at-idp"
    op.claims["amr"] = ["pwd", "otp"]
    client.post(
        "/api/v1/admin/identity-providers/testidp/staff-links",
        json={"account_id": officer_id, "subject": "officer-at-idp"},
        headers=bearer(admin),
    )
    assert redeem(client, browser_login(client, "testidp", audience="staff")).status_code == 200
    # Later, a ministry outside the province's tree gives the officer a role of its own.
    admin_id = me(client, admin)["id"]
    with unit_of_work(app):
        grant_role(
            account=db.session.get(Account, officer_id),
            role="receiving_officer",
            agency_id=get_agency(code="000.00.00.G12").id,
            granted_by=admin_id,
        )
    leg = browser_login(client, "testidp", audience="staff")
    assert leg.answer["error_code"] == "staff-roles-beyond-provider"


def test_staff_need_a_strong_sign_in_at_the_provider(app, client, op, registered, make_staff):
    admin, _ = make_staff("0911000222", agency="000.00.00.H56", role="agency_admin")
    officer_id = me(client, admin)["id"]
    client.post(
        "/api/v1/admin/identity-providers/testidp/staff-links",
        json={"account_id": officer_id, "subject": "subject-0001"},
        headers=bearer(admin),
    )
    op.claims["acr"] = "urn:test:loa1"
    leg = browser_login(client, "testidp", audience="staff")
    assert leg.answer["error_code"] == "staff-sign-in-too-weak"
