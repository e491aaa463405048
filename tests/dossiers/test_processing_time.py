"""The office time a dossier took is kept when the agency's work on it ends (for reports)."""

from __future__ import annotations

from datetime import timedelta

from backend.dossiers.models import Dossier
from backend.extensions import db
from tests.helpers.dossiers import officer_post, refreshed, upload_result
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work


def spent(app, dossier_id) -> int | None:
    with unit_of_work(app):
        return db.session.get(Dossier, dossier_id).office_seconds_spent


def test_office_time_to_the_decision_leaves_out_the_wait(
    filing, client, receiver, leader, app, clock
):
    dossier_id = filing.filed()["id"]  # Monday 09:00
    officer_post(client, receiver, dossier_id, "accept")
    officer_post(client, leader, dossier_id, "start")
    clock.shift(timedelta(hours=2))  # Monday 11:00
    leader = refreshed(client, leader)
    asked = client.post(
        f"/api/v1/agency/dossiers/{dossier_id}/request-supplement",
        json={"items": ["Bản sao giấy chứng nhận kết hôn"]},
        headers=bearer(leader),
    )
    assert asked.status_code == 200
    clock.shift(timedelta(hours=22))  # Tuesday 09:00
    filing.refresh()
    resubmitted = client.post(
        f"/api/v1/dossiers/{dossier_id}/resubmit", json={}, headers=filing.headers
    )
    assert resubmitted.status_code == 200
    assert spent(app, dossier_id) is None
    clock.shift(timedelta(hours=6))  # Tuesday 15:00
    leader = refreshed(client, leader)
    assert upload_result(client, leader, dossier_id).status_code == 201
    assert officer_post(client, leader, dossier_id, "decide").status_code == 200

    # Office time Monday 09:00 - Tuesday 15:00 is 12.5 h; the wait (Monday 11:00 - Tuesday
    # 09:00) covered 6 h of it: 6.5 h spent.
    assert spent(app, dossier_id) == int(6.5 * 3600)
    receiver = refreshed(client, receiver)
    officer_post(client, receiver, dossier_id, "return")
    assert spent(app, dossier_id) == int(6.5 * 3600)  # handing the result over is not work


def test_a_refusal_keeps_the_time_it_took(filing, client, receiver, app, clock):
    dossier_id = filing.filed()["id"]
    clock.shift(timedelta(minutes=30))
    receiver = refreshed(client, receiver)
    officer_post(client, receiver, dossier_id, "refuse", {"reason": "Thiếu giấy tờ"})
    assert spent(app, dossier_id) == 30 * 60


def test_a_withdrawal_is_not_the_agencys_work(filing, client, app):
    dossier_id = filing.filed()["id"]
    client.post(
        f"/api/v1/dossiers/{dossier_id}/withdraw",
        json={"reason": "Nộp nhầm"},
        headers=filing.headers,
    )
    assert spent(app, dossier_id) is None
