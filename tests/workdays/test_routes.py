"""The calendar's overrides through the admin API."""

from __future__ import annotations

import pytest

from tests.helpers.signin import bearer

pytestmark = pytest.mark.usefixtures("demo_catalog")
URL = "/api/v1/admin/calendar/overrides"
SWAP = {"day": "2026-01-02", "kind": "day_off", "note": "Thông báo nghỉ bù Tết Dương lịch"}


def test_province_admin_manages_overrides(client, make_staff):
    admin, _ = make_staff("0911200001", agency="000.00.00.H56", role="agency_admin")
    added = client.post(URL, json=SWAP, headers=bearer(admin))
    assert added.status_code == 201, added.get_json()
    assert client.post(URL, json=SWAP, headers=bearer(admin)).status_code == 409
    listed = client.get(URL, query_string={"year": 2026}, headers=bearer(admin)).get_json()
    assert [o["day"] for o in listed["items"]] == ["2026-01-02"]
    assert client.delete(f"{URL}/2026-01-02", headers=bearer(admin)).status_code == 204
    assert client.delete(f"{URL}/2026-01-02", headers=bearer(admin)).status_code == 404
    assert client.delete(f"{URL}/02-01-2026", headers=bearer(admin)).status_code == 422


def test_ward_admin_cannot_change_the_national_calendar(client, make_staff):
    ward_admin, _ = make_staff("0911200002", agency="001.01.00.H56", role="agency_admin")
    assert client.post(URL, json=SWAP, headers=bearer(ward_admin)).status_code == 403
    officer, _ = make_staff("0911200003", agency="000.00.00.H56", role="leader")
    assert client.post(URL, json=SWAP, headers=bearer(officer)).status_code == 403
    assert client.get(URL, headers=bearer(officer)).status_code == 200


def test_an_override_that_changes_nothing_is_refused(client, make_staff):
    admin, _ = make_staff("0911200004", agency="000.00.00.H56", role="agency_admin")
    wednesday = {**SWAP, "day": "2026-01-07", "kind": "working_day"}
    assert client.post(URL, json=wednesday, headers=bearer(admin)).status_code == 422
