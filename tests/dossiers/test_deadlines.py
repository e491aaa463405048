"""Due dates through the API across Tết 2026 and the 30/4-1/5 holidays, with a pause.

Office hours 07:30-11:30 and 13:00-17:00 (Hà Nội time). Working days: the receiving day is not
counted and the dossier is due at 17:00 of the last day. Working hours run in office time only.
Every expected value below was worked out by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import time_machine

from tests.helpers.dossiers import BIRTH_DATA, Filing, officer_post, refreshed
from tests.helpers.signin import bearer

VN = timezone(timedelta(hours=7))
BIRTH = "1.001193"  # 8 working hours
COPY = "2.000815"  # 1 working day (certified copy)
COPY_DATA = {
    "document_title": "Bằng tốt nghiệp",
    "pages": 2,
    "copies": 3,
    "requester_full_name": "Trần Thị Lan",
    "requester_national_id": "022199001234",
}


# A child born before every submission date in the table.
EARLY_BIRTH_DATA = {**BIRTH_DATA, "child_date_of_birth": "2026-01-20"}


def vn(*parts) -> datetime:
    return datetime(*parts, tzinfo=VN)


@pytest.mark.parametrize(
    "submitted, procedure, due",
    [
        # Thu 12/02 14:00 + 8 h: 3 h Thursday, 4 h Friday morning, 1 h after lunch.
        (vn(2026, 2, 12, 14, 0), BIRTH, vn(2026, 2, 13, 14, 0)),
        # Fri 13/02, 1 day: weekend, then Tết 16-20/02; Monday 23/02 is the day.
        (vn(2026, 2, 13, 15, 0), COPY, vn(2026, 2, 23, 17, 0)),
        # Fri 13/02 at 17:30, after hours: counts from Mon 23/02 07:30, so 8 h end at 17:00.
        (vn(2026, 2, 13, 17, 30), BIRTH, vn(2026, 2, 23, 17, 0)),
        # Wed 29/04, 1 day: 30/4 and 1/5 are holidays, then the weekend: Monday 4/5.
        (vn(2026, 4, 29, 10, 0), COPY, vn(2026, 5, 4, 17, 0)),
        # Sat 25/04: Hùng Kings (26/4, a Sunday) is observed Mon 27/4; received Tue 28/4,
        # which is not counted; due Wed 29/4.
        (vn(2026, 4, 25, 10, 0), COPY, vn(2026, 4, 29, 17, 0)),
        # Wed 29/04 at 11:45 (lunch): counts from 13:00; 4 h Wednesday, then Mon 4/5 07:30-11:30.
        (vn(2026, 4, 29, 11, 45), BIRTH, vn(2026, 5, 4, 11, 30)),
    ],
    ids=["tet-hours", "tet-day", "tet-after-hours", "april30-day", "hung-kings", "lunch"],
)
def test_due_dates(client, sign_in, submitted, procedure, due):
    with time_machine.travel(submitted, tick=False):
        filing = Filing(client, sign_in("0912345678"))
        data = EARLY_BIRTH_DATA if procedure == BIRTH else COPY_DATA
        slot = "giay_chung_sinh" if procedure == BIRTH else "ban_chinh"
        draft = filing.draft(procedure, data).get_json()
        assert filing.attach(draft["id"], slot=slot).status_code == 201
        receipt = filing.submit(draft["id"]).get_json()
    assert datetime.fromisoformat(receipt["due_at"]) == due.astimezone(UTC)


def test_supplement_pause_across_tet(client, sign_in, make_staff):
    """Thu 12/02 10:00, 8 h; waiting from Thu 11:00 to Mon 23/02 09:00.

    Without the wait: 1.5 h Thursday morning, 4 h afternoon, 2.5 h Friday -> Fri 10:00.
    The wait covers 0.5 + 4 h Thursday, 8 h Friday, Tết, 1.5 h Monday = 14 office hours,
    added to Fri 10:00: 5.5 h Friday, 8 h Monday 23/02, 0.5 h Tuesday -> Tue 24/02 08:00.
    """
    with time_machine.travel(vn(2026, 2, 12, 10, 0), tick=False) as clock:
        officer, _ = make_staff("0911100009", agency="001.01.00.H56", role="leader")
        receiver, _ = make_staff("0911100010", agency="001.01.00.H56", role="receiving_officer")
        filing = Filing(client, sign_in("0912345678"))
        receipt = filing.filed(data=EARLY_BIRTH_DATA)
        assert receipt["due_at"] == vn(2026, 2, 13, 10, 0).astimezone(UTC).isoformat()
        officer_post(client, receiver, receipt["id"], "accept")
        officer_post(client, officer, receipt["id"], "start")
        clock.move_to(vn(2026, 2, 12, 11, 0))
        asked = client.post(
            f"/api/v1/agency/dossiers/{receipt['id']}/request-supplement",
            json={"items": ["Giấy chứng nhận kết hôn"]},
            headers=bearer(refreshed(client, officer)),
        )
        assert asked.status_code == 200
        clock.move_to(vn(2026, 2, 23, 9, 0))
        filing.refresh()
        back = client.post(
            f"/api/v1/dossiers/{receipt['id']}/resubmit", json={}, headers=filing.headers
        )
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["due_at"] == vn(2026, 2, 24, 8, 0).astimezone(UTC).isoformat()


def test_an_unchanged_poll_stops_matching_once_the_dossier_is_overdue(client, sign_in):
    """The deadline moves with the clock, not the version: the ETag follows it."""
    with time_machine.travel(vn(2026, 2, 12, 14, 0), tick=False) as clock:
        filing = Filing(client, sign_in("0912345678"))
        receipt = filing.filed(data=EARLY_BIRTH_DATA)
        url = f"/api/v1/dossiers/{receipt['id']}"
        seen = client.get(url, headers=filing.headers)
        assert seen.get_json()["deadline"] in ("on_time", "due_soon")
        poll = {**filing.headers, "If-None-Match": seen.headers["ETag"]}
        assert client.get(url, headers=poll).status_code == 304
        clock.move_to(vn(2026, 2, 13, 14, 30))  # due at 14:00
        again = bearer(sign_in("0912345678"))  # yesterday's access token has expired
        late = client.get(url, headers={**again, "If-None-Match": seen.headers["ETag"]})
    assert late.status_code == 200
    assert late.get_json()["deadline"] == "overdue"
    assert late.get_json()["version"] == seen.get_json()["version"]
    assert late.headers["ETag"] != seen.headers["ETag"]
