"""The signed-in person's devices, inbox and channel preferences, through the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from backend.extensions import db
from backend.notifications.models import Device
from backend.notifications.services import notify
from tests.helpers.notifications import DOSSIER
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work

TOKEN = "fcm-token-" + "x" * 40


def _account_id(client, tokens) -> str:
    return client.get("/api/v1/me", headers=bearer(tokens)).get_json()["id"]


def _devices(app) -> list[Device]:
    with unit_of_work(app):
        return list(db.session.scalars(sa.select(Device)))


def _notify(app, account_id, count=1, kind="dossier.accepted"):
    with unit_of_work(app):
        for i in range(count):
            notify(account_id, kind, {**DOSSIER, "code": f"H56-261130-{i:04d}"})
        db.session.commit()


def test_a_device_is_registered_once_for_the_session(client, app, citizen):
    body = {"token": TOKEN, "platform": "android"}
    first = client.post("/api/v1/me/devices", json=body, headers=bearer(citizen))
    again = client.post("/api/v1/me/devices", json=body, headers=bearer(citizen))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["session_id"] == citizen["session_id"]
    assert "token" not in first.get_json()
    [device] = _devices(app)
    assert device.token == TOKEN


def test_a_token_moves_to_whoever_signs_in_on_the_phone(client, app, citizen, citizen_b):
    body = {"token": TOKEN, "platform": "ios"}
    client.post("/api/v1/me/devices", json=body, headers=bearer(citizen))
    client.post("/api/v1/me/devices", json=body, headers=bearer(citizen_b))
    [device] = _devices(app)
    assert device.session_id == citizen_b["session_id"]


def test_logout_forgets_the_device(client, app, citizen):
    client.post(
        "/api/v1/me/devices", json={"token": TOKEN, "platform": "android"}, headers=bearer(citizen)
    )
    assert client.post("/api/v1/auth/logout", headers=bearer(citizen)).status_code == 204
    assert _devices(app) == []


def test_revoking_a_session_forgets_its_device_only(client, app, sign_in):
    with time_machine.travel(datetime.now(UTC)) as clock:
        phone_a = sign_in()
        clock.shift(timedelta(seconds=61))  # past the resend cooldown
        phone_b = sign_in(device={"name": "Tablet", "platform": "ios"})
    for tokens, token in ((phone_a, TOKEN), (phone_b, TOKEN + "-b")):
        client.post(
            "/api/v1/me/devices", json={"token": token, "platform": "ios"}, headers=bearer(tokens)
        )
    response = client.delete(
        f"/api/v1/me/sessions/{phone_b['session_id']}", headers=bearer(phone_a)
    )
    assert response.status_code == 204
    assert [d.token for d in _devices(app)] == [TOKEN]


def test_bad_device_registration_is_422(client, citizen):
    response = client.post(
        "/api/v1/me/devices", json={"token": "short", "platform": "nokia"}, headers=bearer(citizen)
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"token", "platform"}


def test_inbox_pages_newest_first_and_filters_unread(client, app, citizen):
    _notify(app, _account_id(client, citizen), count=5)
    headers = bearer(citizen)
    first = client.get("/api/v1/me/notifications?limit=3", headers=headers).get_json()
    second = client.get(
        f"/api/v1/me/notifications?limit=3&cursor={first['next_cursor']}", headers=headers
    ).get_json()
    codes = [item["data"]["code"] for item in first["items"] + second["items"]]
    assert codes == [f"H56-261130-{i:04d}" for i in (4, 3, 2, 1, 0)]
    assert second["next_cursor"] is None
    item = first["items"][0]
    assert item["title"] == "Hồ sơ được tiếp nhận" and item["read_at"] is None
    assert item["link"] == f"dvc://dossiers/{DOSSIER['dossier_id']}"

    read = client.post(f"/api/v1/me/notifications/{item['id']}/read", headers=headers)
    assert read.status_code == 200 and read.get_json()["read_at"]
    unread = client.get("/api/v1/me/notifications?unread=true", headers=headers).get_json()
    assert len(unread["items"]) == 4 and item["id"] not in {i["id"] for i in unread["items"]}
    count = client.get("/api/v1/me/notifications/unread-count", headers=headers).get_json()
    assert count == {"unread": 4}
    marked = client.post("/api/v1/me/notifications/read-all", headers=headers).get_json()
    assert marked == {"marked": 4}
    assert client.get("/api/v1/me/notifications/unread-count", headers=headers).get_json() == {
        "unread": 0
    }


def test_inbox_speaks_english_when_asked(client, app, citizen):
    _notify(app, _account_id(client, citizen), kind="dossier.decided")
    headers = {**bearer(citizen), "Accept-Language": "en"}
    [item] = client.get("/api/v1/me/notifications", headers=headers).get_json()["items"]
    assert item["title"] == "Result ready" and "H56-261130-0000" in item["body"]


def test_nobody_sees_or_marks_another_persons_notifications(client, app, citizen, citizen_b):
    _notify(app, _account_id(client, citizen))
    [item] = client.get("/api/v1/me/notifications", headers=bearer(citizen)).get_json()["items"]
    other = bearer(citizen_b)
    assert client.get("/api/v1/me/notifications", headers=other).get_json()["items"] == []
    response = client.post(f"/api/v1/me/notifications/{item['id']}/read", headers=other)
    assert response.status_code == 404
    assert client.post("/api/v1/me/notifications/read-all", headers=other).get_json() == {
        "marked": 0
    }
    mine = client.get("/api/v1/me/notifications/unread-count", headers=bearer(citizen))
    assert mine.get_json() == {"unread": 1}


def test_preferences_list_defaults_and_take_choices(client, app, citizen):
    headers = bearer(citizen)
    listed = client.get("/api/v1/me/notification-preferences", headers=headers).get_json()["items"]
    by_kind = {item["kind"]: item for item in listed}
    assert "otp" not in by_kind and "officer.digest" not in by_kind
    assert by_kind["dossier.decided"]["channels"] == ["inbox", "push", "sms"]
    assert by_kind["dossier.accepted"]["always"] == ["inbox"]

    response = client.put(
        "/api/v1/me/notification-preferences",
        json={"items": [{"kind": "dossier.decided", "channels": ["email"]}]},
        headers=headers,
    )
    assert response.status_code == 200
    by_kind = {item["kind"]: item for item in response.get_json()["items"]}
    assert by_kind["dossier.decided"]["channels"] == ["email", "inbox"]
    assert by_kind["dossier.accepted"]["channels"] == ["inbox", "push"]  # untouched

    account_id = _account_id(client, citizen)
    with unit_of_work(app):
        rows = notify(account_id, "dossier.decided", DOSSIER)
        assert sorted(r.channel.value for r in rows) == ["inbox"]  # no e-mail address yet
        db.session.rollback()


def test_codes_cannot_be_rerouted_and_unknown_channels_are_refused(client, citizen):
    headers = bearer(citizen)
    for items in (
        [{"kind": "otp", "channels": ["email"]}],
        [{"kind": "dossier.decided", "channels": ["fax"]}],
        [{"kind": "dossier.decided", "channels": []}, {"kind": "dossier.decided", "channels": []}],
    ):
        response = client.put(
            "/api/v1/me/notification-preferences", json={"items": items}, headers=headers
        )
        assert response.status_code == 422, items


def test_a_push_token_with_spaces_or_control_characters_is_refused(client, app, citizen):
    for token in ["a" * 20 + " " + "b" * 20, "a" * 20 + "\u2028" + "b" * 20, "é" * 40]:
        answer = client.post(
            "/api/v1/me/devices",
            json={"token": token, "platform": "android"},
            headers=bearer(citizen),
        )
        assert answer.status_code == 422, token
        assert answer.mimetype == "application/problem+json"
    assert _devices(app) == []
