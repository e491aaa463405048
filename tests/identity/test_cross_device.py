"""Cross-device sign-in: a registered screen shows a QR and a code, the phone approves."""

from __future__ import annotations

import base64
import hashlib
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backend.extensions import db
from backend.identity.models import (
    Account,
    AccountKind,
    CrossDeviceRequest,
    CrossDeviceStatus,
    SecurityEvent,
    Session,
)
from backend.identity.services import sessions
from tests.helpers.dpop import DeviceKey, authorized, bound_sign_in
from tests.helpers.signin import DEVICE, bearer, sign_in_with_code
from tests.helpers.work import unit_of_work

WARD = "001.01.00.H56"
JUSTICE = "000.00.17.H56"
API = "/api/v1"


@pytest.fixture
def clock():
    """Time stands still from now on (tokens made before stay valid); tests move it on."""
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def citizen(app, client) -> dict:
    """Citizen A's phone: signed in with its key (DPoP), as a phone that approves must be."""
    return bound_sign_in(app, client, DeviceKey(), "0912345678")


@pytest.fixture
def citizen_b(app, client) -> dict:
    return bound_sign_in(app, client, DeviceKey(), "0987654321")


@pytest.fixture
def ward_admin(demo_catalog, make_staff):
    return make_staff("0911200001", agency=WARD, role="agency_admin")[0]


@pytest.fixture
def kiosk(client, ward_admin) -> dict:
    registered = client.post(
        f"{API}/admin/signin-clients",
        json={
            "agency": WARD,
            "kind": "kiosk",
            "name": "Ki-ốt bộ phận một cửa",
            "name_en": "One-stop counter kiosk",
            "place": "UBND phường Hồng Gai, tầng 1",
        },
        headers=bearer(ward_admin),
    )
    assert registered.status_code == 201, registered.get_json()
    return registered.get_json()


class Screen:
    """The other screen: it keeps its PKCE verifier and polls."""

    def __init__(self, client, client_id: str, acr: int = 0):
        self.client = client
        self.verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest())
        self.started = client.post(
            f"{API}/auth/cross-device",
            json={"client_id": client_id, "code_challenge": challenge.rstrip(b"=").decode(),
                  "acr": acr},
        )  # fmt: skip
        assert self.started.status_code == 201, self.started.get_json()
        self.body = self.started.get_json()
        self.request_id = self.body["request_id"]

    def poll(self, verifier: str | None = None):
        return self.poll_with(self.client, self, verifier)

    @staticmethod
    def poll_with(client, screen: Screen, verifier: str | None = None):
        return client.post(
            f"{API}/auth/cross-device/{screen.request_id}/token",
            json={"code_verifier": verifier or screen.verifier},
        )


def show(client, screen: Screen, tokens: dict):
    path = f"{API}/me/cross-device/{screen.request_id}"
    return client.get(path, headers=authorized(tokens, "GET", path))


def pick(client, screen: Screen, tokens: dict, code: str):
    path = f"{API}/me/cross-device/{screen.request_id}/approve"
    return client.post(path, json={"code": code}, headers=authorized(tokens, "POST", path))


def wrong_code(screen: Screen, shown: list[str]) -> str:
    return next(c for c in shown if c != screen.body["display_code"])


def error_of(response) -> str:
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json().get("error")


def level_2_citizen(app, phone: str) -> dict:
    """A citizen whose session is level 2, as after a national e-ID sign-in."""
    with unit_of_work(app):
        account = Account(kind=AccountKind.CITIZEN, phone=phone, assurance_level=2)
        db.session.add(account)
        db.session.flush()
        pair = sessions.start_session(
            account=account, acr=2, amr=["fed"], mfa_complete=True, device=DEVICE,
            now=datetime.now(UTC),
        )  # fmt: skip
        key = DeviceKey()
        session = db.session.get(Session, pair.session_id)
        session.dpop_jkt = key.jkt  # the app signed in with its key
        pair = sessions.reissue_access(session, now=datetime.now(UTC))
        db.session.commit()
        tokens = {"access_token": pair.access_token, "device_key": key}
    return tokens


def events(app, kind: str) -> list[SecurityEvent]:
    with unit_of_work(app):
        rows = list(db.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind)))
        db.session.expunge_all()
    return rows


def test_the_phone_approves_and_the_screen_gets_a_session_of_its_own(
    app, client, kiosk, citizen, clock
):
    screen = Screen(client, kiosk["id"])
    assert screen.body["link"].endswith(screen.request_id)
    assert screen.body["expires_in"] == 120 and screen.body["interval"] == 2
    waiting = screen.poll()
    assert waiting.status_code == 400 and error_of(waiting) == "authorization_pending"

    shown = show(client, screen, citizen)
    assert shown.status_code == 200
    request = shown.get_json()
    assert request["client"]["name"] == "Ki-ốt bộ phận một cửa"
    assert request["client"]["place"] == "UBND phường Hồng Gai, tầng 1"
    assert request["agency"]["code"] == WARD
    assert request["requested_acr"] == 0 and request["status"] == "pending"
    assert len(set(request["choices"])) == 3 and screen.body["display_code"] in request["choices"]

    approved = pick(client, screen, citizen, screen.body["display_code"])
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"

    clock.shift(timedelta(seconds=2))
    signed_in = screen.poll()
    assert signed_in.status_code == 200, signed_in.get_json()
    screen_tokens = signed_in.get_json()
    assert screen_tokens["session_id"] != citizen["session_id"]
    me = client.get(f"{API}/me", headers=bearer(screen_tokens))
    assert me.status_code == 200 and me.get_json()["phone"] == "+84912345678"

    mine = f"{API}/me/sessions"
    listed = client.get(mine, headers=authorized(citizen, "GET", mine)).get_json()["items"]
    on_screen = next(s for s in listed if s["id"] == screen_tokens["session_id"])
    assert on_screen["approved_by"]["id"] == citizen["session_id"]
    assert on_screen["device_name"] == "Ki-ốt bộ phận một cửa" and on_screen["platform"] == "kiosk"
    with unit_of_work(app):
        session = db.session.get(sessions.Session, screen_tokens["session_id"])
        assert session.amr[0] == "mca"
        assert session.expires_at - session.created_at == timedelta(hours=1)

    assert screen.poll().status_code == 401  # single use
    screen_session = f"{API}/me/sessions/{screen_tokens['session_id']}"
    revoked = client.delete(screen_session, headers=authorized(citizen, "DELETE", screen_session))
    assert revoked.status_code == 204
    assert client.get(f"{API}/me", headers=bearer(screen_tokens)).status_code == 401
    for kind in ("cross_device_started", "cross_device_approved", "cross_device_signed_in"):
        assert len(events(app, kind)) == 1, kind


def test_an_unregistered_or_retired_screen_cannot_start(client, kiosk, ward_admin):
    with pytest.raises(AssertionError):
        Screen(client, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
    retired = client.delete(f"{API}/admin/signin-clients/{kiosk['id']}", headers=bearer(ward_admin))
    assert retired.status_code == 204
    refused = client.post(
        f"{API}/auth/cross-device",
        json={"client_id": kiosk["id"], "code_challenge": "A" * 43},
    )
    assert refused.status_code == 400
    assert refused.get_json()["type"].endswith("signin-client-unknown")


def test_polling_faster_than_the_interval_slows_the_screen_down(client, kiosk, clock):
    screen = Screen(client, kiosk["id"])
    assert error_of(screen.poll()) == "authorization_pending"
    hurried = screen.poll()
    assert error_of(hurried) == "slow_down" and hurried.get_json()["interval"] == 7
    clock.shift(timedelta(seconds=3))
    assert error_of(screen.poll()) == "slow_down"  # the interval is 12 now
    clock.shift(timedelta(seconds=12))
    assert error_of(screen.poll()) == "authorization_pending"


def test_without_the_verifier_a_request_id_is_worth_nothing(app, client, kiosk, citizen, clock):
    screen = Screen(client, kiosk["id"])
    assert pick(client, screen, citizen, screen.body["display_code"]).status_code == 200
    clock.shift(timedelta(seconds=2))
    stolen = screen.poll(secrets.token_urlsafe(48))
    assert stolen.status_code == 401 and stolen.get_json()["error"] == "invalid_grant"
    assert screen.poll().status_code == 200  # the screen that holds the verifier still can


def test_an_expired_request_can_be_neither_approved_nor_redeemed(client, kiosk, citizen, clock):
    screen = Screen(client, kiosk["id"])
    clock.shift(timedelta(seconds=121))
    assert error_of(screen.poll()) == "expired_token"
    assert show(client, screen, citizen).status_code == 404
    assert pick(client, screen, citizen, screen.body["display_code"]).status_code == 404


def test_three_wrong_picks_deny_the_request(app, client, kiosk, citizen, clock):
    screen = Screen(client, kiosk["id"])
    choices = show(client, screen, citizen).get_json()["choices"]
    left = []
    for _ in range(3):
        answer = pick(client, screen, citizen, wrong_code(screen, choices))
        assert answer.status_code == 422
        left.append(answer.get_json()["attempts_left"])
    assert left == [2, 1, 0]
    assert pick(client, screen, citizen, screen.body["display_code"]).status_code == 409
    clock.shift(timedelta(seconds=2))
    assert error_of(screen.poll()) == "access_denied"
    assert len(events(app, "cross_device_wrong_code")) == 3


def test_a_denied_request_stays_denied(client, kiosk, citizen, clock):
    screen = Screen(client, kiosk["id"])
    deny = f"{API}/me/cross-device/{screen.request_id}/deny"
    denied = client.post(deny, headers=authorized(citizen, "POST", deny))
    assert denied.status_code == 204
    assert pick(client, screen, citizen, screen.body["display_code"]).status_code == 409
    clock.shift(timedelta(seconds=2))
    assert error_of(screen.poll()) == "access_denied"


def test_another_citizen_cannot_approve_after_approval(client, kiosk, citizen, citizen_b, clock):
    screen = Screen(client, kiosk["id"])
    assert pick(client, screen, citizen, screen.body["display_code"]).status_code == 200
    late = pick(client, screen, citizen_b, screen.body["display_code"])
    assert late.status_code == 409
    clock.shift(timedelta(seconds=2))
    tokens = screen.poll().get_json()
    me = client.get(f"{API}/me", headers=bearer(tokens)).get_json()
    assert me["phone"] == "+84912345678"


def test_a_level_2_request_needs_a_level_2_session_on_the_phone(app, client, kiosk, citizen, clock):
    screen = Screen(client, kiosk["id"], acr=2)
    weak = pick(client, screen, citizen, screen.body["display_code"])
    assert weak.status_code == 401
    assert weak.get_json()["acr_values"] == "2"
    assert 'error="insufficient_user_authentication"' in weak.headers["WWW-Authenticate"]
    strong = level_2_citizen(app, "+84933000222")
    assert pick(client, screen, strong, screen.body["display_code"]).status_code == 200
    clock.shift(timedelta(seconds=2))
    assert screen.poll().get_json()["acr"] == "2"


def test_a_phone_signed_out_before_the_screen_redeems_signs_nobody_in(
    client, kiosk, citizen, clock
):
    screen = Screen(client, kiosk["id"])
    assert pick(client, screen, citizen, screen.body["display_code"]).status_code == 200
    logout = f"{API}/auth/logout"
    assert client.post(logout, headers=authorized(citizen, "POST", logout)).status_code == 204
    clock.shift(timedelta(seconds=2))
    assert screen.poll().status_code == 401


def test_a_phone_whose_token_is_not_bound_to_its_key_approves_nothing(app, client, kiosk, clock):
    bearer_only = sign_in_with_code(app, client, "0912345678")
    screen = Screen(client, kiosk["id"])
    refused = pick(client, screen, bearer_only, screen.body["display_code"])
    assert refused.status_code == 401 and refused.get_json()["type"].endswith("dpop-required")
    assert refused.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    assert show(client, screen, bearer_only).status_code == 200  # still pending, untouched
    assert screen.poll().get_json()["error"] == "authorization_pending"


def test_staff_sessions_do_not_approve(client, kiosk, ward_admin):
    screen = Screen(client, kiosk["id"])
    assert pick(client, screen, ward_admin, screen.body["display_code"]).status_code == 403


def test_screens_are_registered_within_the_administrators_agencies(client, kiosk, make_staff):
    other, _ = make_staff("0911200002", agency=JUSTICE, role="agency_admin")
    foreign = client.post(
        f"{API}/admin/signin-clients",
        json={"agency": WARD, "kind": "portal", "name": "Cổng"},
        headers=bearer(other),
    )
    assert foreign.status_code == 404
    assert client.get(f"{API}/admin/signin-clients", headers=bearer(other)).get_json() == {
        "items": []
    }
    assert (
        client.delete(
            f"{API}/admin/signin-clients/{kiosk['id']}", headers=bearer(other)
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    "body",
    [
        {"client_id": "x", "code_challenge": "short"},
        {"client_id": "x", "code_challenge": "A" * 43, "code_challenge_method": "plain"},
        {"client_id": "x", "code_challenge": "A" * 43, "acr": 3},
        {"code_challenge": "A" * 43},
    ],
)
def test_malformed_starts_are_422(client, body):
    answer = client.post(f"{API}/auth/cross-device", json=body)
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_malformed_picks_and_verifiers_are_422_and_change_nothing(app, client, kiosk, citizen):
    screen = Screen(client, kiosk["id"])
    for code in ("abc", "123", "", "4"):
        assert pick(client, screen, citizen, code).status_code == 422
    assert screen.poll("too-short").status_code == 422
    with unit_of_work(app):
        row = db.session.get(CrossDeviceRequest, screen.request_id)
        assert row.status is CrossDeviceStatus.PENDING and row.wrong_picks == 0


@pytest.mark.committing
@pytest.mark.postgres_only
def test_racing_phones_and_racing_polls_each_win_once(app, client, kiosk, citizen, citizen_b):
    """Two phones approving at once: one approval. Two polls at once: one session."""
    screen = Screen(client, kiosk["id"])
    code = screen.body["display_code"]
    phones = [citizen, citizen_b] * 5

    def approve(tokens):
        return pick(app.test_client(), screen, tokens, code).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        approvals = list(pool.map(approve, phones))
    assert sorted(approvals) == [200] + [409] * 9

    def poll(_):
        answer = Screen.poll_with(app.test_client(), screen)
        return answer.status_code, answer.get_json()

    later = datetime.now(UTC) + timedelta(seconds=3)  # past the polling interval
    with time_machine.travel(later, tick=False), ThreadPoolExecutor(max_workers=8) as pool:
        polls = list(pool.map(poll, range(8)))
    assert sorted(status for status, _ in polls) == [200] + [401] * 7
    assert len(events(app, "cross_device_signed_in")) == 1
