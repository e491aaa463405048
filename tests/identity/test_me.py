"""The signed-in person's own profile."""

from __future__ import annotations

import sqlalchemy as sa

from backend.crypto import vault
from backend.extensions import db
from backend.identity.models import Account
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work


def verify_identity(app, account_id: str, national_id: str) -> None:
    """What an identity provider's verified claims do (the providers module calls this)."""
    with unit_of_work(app):
        account = db.session.get(Account, account_id)
        account.national_id_ciphertext = vault().encrypt(national_id, context=f"nid:{account_id}")
        account.national_id_digest = vault().digest(national_id, purpose="national-id")
        account.national_id_last4 = national_id[-4:]
        account.full_name = "Nguyễn Thị Lan"
        account.identity_verified = True
        account.assurance_level = 2
        db.session.commit()


def test_profile_and_etag(client, citizen):
    response = client.get("/api/v1/me", headers=bearer(citizen))
    assert response.status_code == 200
    body = response.get_json()
    assert body["kind"] == "citizen" and body["national_id"] is None and body["roles"] == []
    cached = client.get(
        "/api/v1/me", headers={**bearer(citizen), "If-None-Match": response.headers["ETag"]}
    )
    assert cached.status_code == 304


def test_patch_profile(client, citizen):
    response = client.patch(
        "/api/v1/me",
        headers=bearer(citizen),
        json={
            "full_name": "Nguyễn Thị Lan",
            "email": "lan@example.vn",
            "preferred_language": "en",
            "address": {"line": "12 Lê Thánh Tông", "ward": "Hồng Gai", "province": "Quảng Ninh"},
        },
    )
    assert response.status_code == 200
    assert response.get_json()["address"]["ward"] == "Hồng Gai"


def test_identity_fields_cannot_be_set_by_the_citizen(client, citizen):
    for field in (
        {"national_id": "001099012345"},
        {"date_of_birth": "1990-01-01"},
        {"assurance_level": 2},
        {"phone": "0987654321"},
    ):
        response = client.patch("/api/v1/me", headers=bearer(citizen), json=field)
        assert response.status_code == 422, field


def test_national_id_is_masked_and_verified_name_locked(client, app, citizen):
    me = client.get("/api/v1/me", headers=bearer(citizen)).get_json()
    verify_identity(app, me["id"], "001099012345")
    body = client.get("/api/v1/me", headers=bearer(citizen)).get_json()
    assert body["national_id"] == "********2345"
    assert "001099012345" not in str(body)
    locked = client.patch("/api/v1/me", headers=bearer(citizen), json={"full_name": "Khác"})
    assert locked.status_code == 409
    with unit_of_work(app):
        stored = db.session.scalar(sa.select(Account.national_id_ciphertext))
        assert "001099012345" not in stored


def test_bad_patch_values(client, citizen):
    for body in (
        {"email": "not-an-email"},
        {"preferred_language": "fr"},
        {"address": {"ward": "no line"}},
        {"full_name": ""},
    ):
        assert client.patch("/api/v1/me", headers=bearer(citizen), json=body).status_code == 422
