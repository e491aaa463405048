"""Catalog administration through the API: every act audited, within the manager's agencies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backend.catalog.models import CatalogAuditRecord
from backend.extensions import db
from tests.helpers.dossiers import refreshed
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work

pytestmark = pytest.mark.usefixtures("demo_catalog")

WARD, JUSTICE = "001.01.00.H56", "000.00.17.H56"
ADMIN = "/api/v1/admin/catalog/procedures"
CONTENT = {
    "name": "Đăng ký giám hộ",
    "field": "Hộ tịch",
    "delivery_mode": "partial",
    "min_assurance_level": 1,
    "processing_time": {"amount": 3, "unit": "working_days"},
}
NEW = {"code": "1.000999", "agency": WARD, "content": CONTENT}


@pytest.fixture
def manager(make_staff):
    return make_staff("0911300001", agency=WARD, role="catalog_manager")[0]


def _found(client, q: str, headers=None) -> list[str]:
    answer = client.get("/api/v1/procedures", query_string={"q": q}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return [procedure["code"] for procedure in answer.get_json()["items"]]


def test_a_procedure_goes_from_draft_through_pilot_to_publication(client, manager, sign_in):
    created = client.post(ADMIN, json=NEW, headers=bearer(manager))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "draft" and created.get_json()["versions"] == []
    assert client.get("/api/v1/procedures/1.000999").status_code == 404

    edited = client.put(
        f"{ADMIN}/1.000999/draft",
        json={"content": {**CONTENT, "name": "Đăng ký giám hộ (sửa)"}, "note": "Sửa tên"},
        headers=bearer(manager),
    )
    assert edited.get_json()["name"] == "Đăng ký giám hộ (sửa)"

    piloted = client.post(
        f"{ADMIN}/1.000999/status", json={"status": "pilot"}, headers=bearer(manager)
    )
    assert piloted.get_json()["status"] == "pilot" and piloted.get_json()["current_version"] == 1
    tester = sign_in("0912345670")
    assert client.get("/api/v1/procedures/1.000999", headers=bearer(tester)).status_code == 404
    assert "1.000999" not in _found(client, "giam ho", bearer(tester))
    added = client.post(
        f"{ADMIN}/1.000999/pilot-members", json={"phone": "0912345670"}, headers=bearer(manager)
    )
    assert added.status_code == 201 and added.get_json()["phone"] == "+84******670"
    assert client.get("/api/v1/procedures/1.000999", headers=bearer(tester)).status_code == 200
    assert "1.000999" in _found(client, "giam ho", bearer(tester))  # its testers find it
    assert "1.000999" not in _found(client, "giam ho")  # nobody else does

    published = client.post(
        f"{ADMIN}/1.000999/status",
        json={"status": "published", "note": "Thí điểm đạt"},
        headers=bearer(manager),
    )
    assert published.get_json()["status"] == "published"
    assert client.get("/api/v1/procedures/1.000999").get_json()["version"] == 1

    trail = client.get(f"{ADMIN}/1.000999/audit", headers=bearer(manager)).get_json()["items"]
    assert [
        (
            r["action"],
            r["status_before"],
            r["status_after"],
            r["version_before"],
            r["version_after"],
        )
        for r in trail
    ] == [
        ("create", None, "draft", None, None),
        ("edit_draft", "draft", "draft", None, None),
        ("move_to_pilot", "draft", "pilot", None, 1),
        ("pilot_add", "pilot", "pilot", 1, 1),
        ("move_to_published", "pilot", "published", 1, 1),
    ]
    assert trail[1]["details"]["before"]["name"] == "Đăng ký giám hộ"
    assert trail[1]["details"]["after"]["name"] == "Đăng ký giám hộ (sửa)"
    assert trail[4]["note"] == "Thí điểm đạt" and {r["actor_id"] for r in trail} != {None}


def test_editing_a_published_procedure_freezes_a_new_version_on_publishing(client, manager):
    client.post(ADMIN, json=NEW, headers=bearer(manager))
    client.post(f"{ADMIN}/1.000999/status", json={"status": "published"}, headers=bearer(manager))
    changed = {**CONTENT, "processing_time": {"amount": 2, "unit": "working_days"}}
    client.put(f"{ADMIN}/1.000999/draft", json={"content": changed}, headers=bearer(manager))
    assert client.get("/api/v1/procedures/1.000999").get_json()["processing_time"]["amount"] == 3

    again = client.post(
        f"{ADMIN}/1.000999/status", json={"status": "published"}, headers=bearer(manager)
    )
    assert again.get_json()["current_version"] == 2
    assert [v["number"] for v in again.get_json()["versions"]] == [1, 2]
    assert client.get("/api/v1/procedures/1.000999").get_json()["processing_time"]["amount"] == 2


def test_suspend_retire_and_nothing_after(client, manager):
    client.post(ADMIN, json=NEW, headers=bearer(manager))
    for status in ("published", "suspended", "retired"):
        moved = client.post(
            f"{ADMIN}/1.000999/status", json={"status": status}, headers=bearer(manager)
        )
        assert moved.get_json()["status"] == status
    back = client.post(
        f"{ADMIN}/1.000999/status", json={"status": "published"}, headers=bearer(manager)
    )
    assert back.status_code == 409 and back.get_json()["allowed"] == []
    edit = client.put(f"{ADMIN}/1.000999/draft", json={"content": CONTENT}, headers=bearer(manager))
    assert edit.status_code == 409


def test_a_draft_cannot_be_suspended(client, manager):
    client.post(ADMIN, json=NEW, headers=bearer(manager))
    moved = client.post(
        f"{ADMIN}/1.000999/status", json={"status": "suspended"}, headers=bearer(manager)
    )
    assert moved.status_code == 409
    assert (
        client.post(
            f"{ADMIN}/1.000999/status", json={"status": "draft"}, headers=bearer(manager)
        ).status_code
        == 422
    )


@pytest.mark.parametrize(
    "content",
    [
        {k: v for k, v in CONTENT.items() if k != "processing_time"},
        {**CONTENT, "delivery_mode": "somewhat_online"},
        {**CONTENT, "form": [{"name": "x", "label": "X", "type": "choice"}]},
    ],
)
def test_content_is_checked_like_an_import(client, manager, content):
    response = client.post(ADMIN, json={**NEW, "content": content}, headers=bearer(manager))
    assert response.status_code == 422


def test_codes_are_unique_and_agencies_scoped(client, manager):
    assert (
        client.post(ADMIN, json={**NEW, "code": "1.001193"}, headers=bearer(manager)).status_code
        == 409
    )
    assert (
        client.post(ADMIN, json={**NEW, "agency": JUSTICE}, headers=bearer(manager)).status_code
        == 404
    )


def test_another_agencys_manager_sees_nothing(client, manager, make_staff):
    other = make_staff("0911300002", agency=JUSTICE, role="catalog_manager")[0]
    client.post(ADMIN, json=NEW, headers=bearer(manager))

    assert client.get(f"{ADMIN}/1.000999", headers=bearer(other)).status_code == 404
    moved = client.post(
        f"{ADMIN}/1.000999/status", json={"status": "published"}, headers=bearer(other)
    )
    assert moved.status_code == 404
    assert [p["code"] for p in client.get(ADMIN, headers=bearer(other)).get_json()["items"]] == [
        "2.000488"
    ]


def test_without_catalog_manage_is_403(client, make_staff):
    leader = make_staff("0911300003", agency=WARD, role="leader")[0]
    assert client.post(ADMIN, json=NEW, headers=bearer(leader)).status_code == 403


def test_pilot_members_need_an_account_and_can_be_removed(client, manager, sign_in):
    unknown = client.post(
        f"{ADMIN}/1.000656/pilot-members", json={"phone": "0912345670"}, headers=bearer(manager)
    )
    assert unknown.status_code == 404
    tester = sign_in("0912345670")
    added = client.post(
        f"{ADMIN}/1.000656/pilot-members", json={"phone": "0912345670"}, headers=bearer(manager)
    ).get_json()
    members = client.get(f"{ADMIN}/1.000656/pilot-members", headers=bearer(manager)).get_json()
    assert [m["account_id"] for m in members["items"]] == [added["account_id"]]
    assert client.get("/api/v1/procedures/1.000656", headers=bearer(tester)).status_code == 200

    gone = client.delete(
        f"{ADMIN}/1.000656/pilot-members/{added['account_id']}", headers=bearer(manager)
    )
    assert gone.status_code == 204
    assert client.get("/api/v1/procedures/1.000656", headers=bearer(tester)).status_code == 404
    again = client.delete(
        f"{ADMIN}/1.000656/pilot-members/{added['account_id']}", headers=bearer(manager)
    )
    assert again.status_code == 404


def test_pilot_figures_cover_the_pilot(client, make_staff, app):
    monday = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
    with time_machine.travel(monday, tick=False) as clock:
        manager = make_staff("0911300004", agency=WARD, role="catalog_manager")[0]
        client.post(ADMIN, json=NEW, headers=bearer(manager))
        client.post(f"{ADMIN}/1.000999/status", json={"status": "pilot"}, headers=bearer(manager))
        _file_pilot_dossiers(app, online=3, counter=1)
        clock.shift(timedelta(days=2))
        manager = refreshed(client, manager)
        published = client.post(
            f"{ADMIN}/1.000999/status", json={"status": "published"}, headers=bearer(manager)
        )
        assert published.status_code == 200, published.get_json()
        clock.shift(timedelta(days=7))
        manager = refreshed(client, manager)

        figures = client.get(f"{ADMIN}/1.000999/pilot-figures", headers=bearer(manager))

    assert figures.status_code == 200, figures.get_json()
    body = figures.get_json()
    assert body["period"] == {"from": "2026-03-02", "to": "2026-03-04"}
    assert (body["totals"]["dossiers"], body["totals"]["online_share"]) == (4, 75.0)


def _file_pilot_dossiers(app, *, online, counter):
    from tests.helpers.reports import Builder

    with unit_of_work(app):
        builder = Builder()
        now = datetime.now(UTC)
        builder.dossiers("1.000999", online, received=now, status="submitted")
        builder.dossiers("1.000999", counter, received=now, channel="counter", status="accepted")
        db.session.commit()


def test_the_audit_is_append_only(client, manager, app):
    client.post(ADMIN, json=NEW, headers=bearer(manager))
    with unit_of_work(app):
        record = db.session.scalar(sa.select(CatalogAuditRecord))
        record.note = "rewritten"
        with pytest.raises(ValueError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        record = db.session.scalar(sa.select(CatalogAuditRecord))
        db.session.delete(record)
        with pytest.raises(ValueError, match="append-only"):
            db.session.flush()
        db.session.rollback()
