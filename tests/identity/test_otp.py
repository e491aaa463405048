"""Phone codes: how they are sent, checked, limited and never leaked."""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
import time_machine

from backend import create_app, web
from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Account, OtpChallenge, SecurityEvent, Session
from backend.notifications import sweeps
from backend.notifications.models import Notification, NotificationStatus
from tests.helpers.signin import DEVICE, last_code, outbox_lines
from tests.helpers.stacks import app_config
from tests.helpers.work import statements_sent, unit_of_work

PHONE = "+84912345678"
START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def per_phone_limits_only(app, monkeypatch):
    """Lift the per-IP and per-device limits so a test meets the per-phone ones alone."""
    for name in ("RATELIMIT_OTP_PER_IP", "RATELIMIT_VERIFY_PER_IP", "RATELIMIT_VERIFY_PER_DEVICE"):
        monkeypatch.setitem(app.config, name, "10000/minute")


def ask(client, phone="0912345678", **extra):
    return client.post("/api/v1/auth/otp", json={"phone": phone, **extra})


def verify(client, challenge_id, code, **extra):
    body = {"challenge_id": challenge_id, "code": code, "device": DEVICE, **extra}
    return client.post("/api/v1/auth/otp/verify", json=body)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.mark.parametrize(
    "typed",
    ["0912345678", "+84912345678", "84912345678", "912345678", "0912 345 678", "(+84) 912-345-678"],
)
def test_phone_is_normalised_to_e164(client, app, typed):
    response = ask(client, typed)
    assert response.status_code == 202
    assert outbox_lines(app)[-1]["to"] == PHONE


@pytest.mark.parametrize("typed", ["12345", "0912", "abc", "+1 202 555 0100x", "0" * 40, ""])
def test_malformed_phone_is_422(client, typed):
    response = ask(client, typed)
    assert response.status_code == 422
    assert "phone" in response.get_json()["errors"]


def test_answer_is_the_same_for_known_and_unknown_phones(client, sign_in):
    sign_in("0912345678")
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2)):
        known = ask(client, "0912345678")
        unknown = ask(client, "0987000111")
    assert known.status_code == unknown.status_code == 202
    assert set(known.get_json()) == set(unknown.get_json())
    assert {k: v for k, v in known.get_json().items() if k != "challenge_id"} == {
        k: v for k, v in unknown.get_json().items() if k != "challenge_id"
    }


def test_first_sign_in_creates_a_level_0_citizen(client, app, clock):
    challenge = ask(client).get_json()
    response = verify(client, challenge["challenge_id"], last_code(app, PHONE))
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["acr"] == "0"
    assert body["expires_in"] <= 900
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.get_json()["phone"] == PHONE
    assert me.get_json()["assurance_level"] == 0


def test_code_is_kept_only_as_a_keyed_digest(client, app, clock):
    challenge_id = ask(client).get_json()["challenge_id"]
    code = last_code(app, PHONE)
    with unit_of_work(app):
        row = db.session.get(OtpChallenge, challenge_id)
    stored = json.dumps({c.name: str(getattr(row, c.name)) for c in OtpChallenge.__table__.c})
    assert code not in stored
    assert len(row.code_digest) == 64


def test_code_works_once(client, app, clock):
    challenge_id = ask(client).get_json()["challenge_id"]
    code = last_code(app, PHONE)
    assert verify(client, challenge_id, code).status_code == 200
    again = verify(client, challenge_id, code)
    assert again.status_code == 401
    assert again.get_json()["type"].endswith("otp-used")


def test_a_sign_in_writes_each_row_once_and_the_session_holds_the_device(client, app, clock):
    verify(client, ask(client).get_json()["challenge_id"], last_code(app, PHONE))
    clock.shift(timedelta(minutes=5))
    challenge_id = ask(client).get_json()["challenge_id"]
    device = {"name": "Bảo's phone", "platform": "android", "app_version": "2.1.0"}
    code = last_code(app, PHONE)
    response, sent = statements_sent(
        app,
        lambda: client.post(
            "/api/v1/auth/otp/verify",
            json={"challenge_id": challenge_id, "code": code, "device": device},
        ),
    )
    assert response.status_code == 200, response.get_json()
    writes = sorted(s.split(" (")[0].split(" SET ")[0] for s in sent if not s.startswith("SELECT"))
    assert writes == [
        "INSERT INTO refresh_tokens",
        "INSERT INTO security_events",
        "INSERT INTO sessions",
        "UPDATE otp_challenges",
    ]
    with unit_of_work(app):
        session = db.session.get(Session, response.get_json()["session_id"])
        assert (session.device_name, session.platform, session.app_version) == (
            "Bảo's phone",
            "android",
            "2.1.0",
        )
        assert session.account.phone == PHONE and session.amr == ["otp"]
        assert session.created_at == session.authenticated_at == START + timedelta(minutes=5)
        assert session.revoked_at is None and session.approved_by_session_id is None
        assert db.session.get(OtpChallenge, challenge_id).consumed_at is not None


@pytest.mark.parametrize("body", ["good", "malformed"])
def test_the_body_is_parsed_once_though_the_limit_and_the_arguments_both_read_it(
    client, app, clock, monkeypatch, body
):
    """The per-device limit keys on the body's device; the arguments read it again."""
    challenge_id = ask(client).get_json()["challenge_id"]
    parsed: list[bytes] = []
    parse = web.parse_json_body
    monkeypatch.setattr(web, "parse_json_body", lambda raw: parsed.append(raw) or parse(raw))
    if body == "good":
        answer = verify(client, challenge_id, last_code(app, PHONE))
        assert answer.status_code == 200
    else:
        answer = client.post(
            "/api/v1/auth/otp/verify", data='{"challenge_id": "x",', content_type="application/json"
        )
        assert answer.status_code == 400
    assert len(parsed) == 1


def test_expired_code_is_refused(client, app, clock):
    challenge_id = ask(client).get_json()["challenge_id"]
    code = last_code(app, PHONE)
    clock.shift(timedelta(seconds=301))
    response = verify(client, challenge_id, code)
    assert response.status_code == 401
    assert response.get_json()["type"].endswith("otp-expired")


def test_a_code_opens_only_its_own_challenge(client, app, clock):
    first = ask(client).get_json()["challenge_id"]
    first_code = last_code(app, PHONE)
    other = ask(client, "0987654321").get_json()["challenge_id"]
    response = verify(client, other, first_code)
    assert response.status_code == 401
    assert verify(client, first, first_code).status_code == 200


def test_unknown_challenge(client):
    response = verify(client, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "123456")
    assert response.status_code == 401
    assert response.get_json()["type"].endswith("otp-unknown-challenge")


def test_a_wrong_code_does_not_ask_the_app_to_refresh(client, app, clock, citizen):
    """Only a token the app should refresh says invalid_token; a wrong code's 401 is final."""
    challenge_id = ask(client, "0987654321").get_json()["challenge_id"]
    refused = verify(client, challenge_id, wrong(last_code(app, "+84987654321")))
    assert refused.status_code == 401
    assert "invalid_token" not in refused.headers["WWW-Authenticate"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer ")
    clock.shift(timedelta(hours=1))
    expired = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {citizen['access_token']}"}
    )
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_five_wrong_codes_kill_the_challenge(client, app, clock):
    challenge_id = ask(client).get_json()["challenge_id"]
    code = last_code(app, PHONE)
    left = [
        verify(client, challenge_id, wrong(code)).get_json().get("attempts_left") for _ in range(5)
    ]
    assert left == [4, 3, 2, 1, 0]
    locked = verify(client, challenge_id, code)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0


def test_resend_cooldown_and_hourly_limit(client, clock):
    assert ask(client).status_code == 202
    too_soon = ask(client)
    assert too_soon.status_code == 429
    assert too_soon.headers["Retry-After"] == "60"
    for _ in range(4):
        clock.shift(timedelta(seconds=61))
        assert ask(client).status_code == 202
    clock.shift(timedelta(seconds=61))
    limited = ask(client)
    assert limited.status_code == 429
    assert limited.get_json()["type"].endswith("otp-rate-limited")
    clock.shift(timedelta(hours=1))
    assert ask(client).status_code == 202


@pytest.mark.usefixtures("per_phone_limits_only")
def test_brute_force_lockout_holds_across_new_challenges(client, app, clock):
    """Guess as many codes as the limits allow; the phone stays locked, new challenge or not."""
    guesses = 0
    while True:
        sent = ask(client)
        if sent.status_code == 429:
            assert sent.get_json()["type"].endswith("otp-locked")
            break
        challenge_id = sent.get_json()["challenge_id"]
        code = last_code(app, PHONE)
        while True:
            answer = verify(client, challenge_id, wrong(code))
            if answer.status_code != 401:
                assert answer.status_code == 429
                break
            guesses += 1
        clock.shift(timedelta(minutes=10))  # past the hourly limit's pace
    assert guesses == app.config["OTP_FAILURES_PER_PHONE_PER_DAY"]
    with unit_of_work(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == 0
    clock.shift(timedelta(hours=23))
    assert ask(client).status_code == 429
    clock.shift(timedelta(hours=2))
    assert ask(client).status_code == 202


@pytest.mark.usefixtures("per_phone_limits_only")
def test_right_code_refused_while_the_phone_is_locked(client, app, clock):
    fresh = ask(client).get_json()["challenge_id"]
    good = last_code(app, PHONE)
    for _ in range(3):
        clock.shift(timedelta(seconds=61))
        challenge_id = ask(client).get_json()["challenge_id"]
        code = last_code(app, PHONE)
        for _ in range(5):
            verify(client, challenge_id, wrong(code))
    response = verify(client, fresh, good)
    assert response.status_code == 429


def test_per_ip_limit_on_asking(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_OTP_PER_IP", "10/minute;60/hour")
    statuses = [ask(client, f"09123400{i:02d}").status_code for i in range(11)]
    assert statuses[:10] == [202] * 10
    assert statuses[10] == 429
    assert ask(client, "0912340099").headers.get("Retry-After")


def test_per_device_limit_on_verifying(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_VERIFY_PER_DEVICE", "10/minute")
    device = {**DEVICE, "id": "install-0001"}
    statuses = [
        client.post(
            "/api/v1/auth/otp/verify",
            json={
                "challenge_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
                "code": "000000",
                "device": device,
            },
        ).status_code
        for _ in range(11)
    ]
    assert statuses == [401] * 10 + [429]


def test_staff_codes_go_only_to_staff_phones(client, app):
    before = len(outbox_lines(app))
    response = ask(client, "0911000222", audience="staff")
    assert response.status_code == 202
    assert len(outbox_lines(app)) == before


def test_failures_are_security_events_without_the_code(client, app, clock):
    challenge_id = ask(client).get_json()["challenge_id"]
    code = last_code(app, PHONE)
    verify(client, challenge_id, wrong(code))
    with unit_of_work(app):
        events = db.session.scalars(sa.select(SecurityEvent)).all()
    assert [e.kind for e in events] == ["login_failed"]
    assert code not in json.dumps(events[0].detail) and PHONE not in json.dumps(events[0].detail)


def test_the_code_never_reaches_the_logs(client, app, caplog, clock):
    with caplog.at_level(logging.DEBUG):
        challenge_id = ask(client).get_json()["challenge_id"]
        code = last_code(app, PHONE)
        verify(client, challenge_id, code)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert code not in text
    assert PHONE not in text and "912345678" not in text


class _Gateway(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).received.append(
            {
                "auth": self.headers.get("Authorization"),
                "key": self.headers.get("Idempotency-Key"),
                "body": json.loads(self.rfile.read(length)),
            }
        )
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "gw-123"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    _Gateway.received = []
    _Gateway.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def gateway_client(stack, tmp_path, gateway, app):
    config = app_config(
        stack,
        tmp_path,
        SMS_CHANNEL="http",
        SMS_GATEWAY_URL=f"http://127.0.0.1:{gateway.server_port}/send",
        SMS_GATEWAY_TOKEN="gw-secret",
        SMS_GATEWAY_BODY='{"msisdn": "{to}", "message": {"text": "{text}"}, "brand": "DVC"}',
    )
    other = create_app(config)
    with unit_of_work(other):
        # Share the test's rolled-back connection.
        db.engines[None] = app.extensions["sqlalchemy"]._app_engines[app][None]
    return other.test_client()


def test_http_gateway_receives_the_filled_template(gateway_client):
    response = ask(gateway_client)
    assert response.status_code == 202
    [sent] = _Gateway.received
    assert sent["auth"] == "Bearer gw-secret"
    assert sent["body"]["msisdn"] == PHONE and sent["body"]["brand"] == "DVC"
    assert "ma xac thuc" in sent["body"]["message"]["text"]


def test_gateway_failure_is_retried_and_the_answer_does_not_change(gateway_client, app):
    """A failed send still answers 202 (see backend.identity.services.otp): the outbox retries
    within seconds, the code stays sealed meanwhile, and the gateway can tell the repeat."""
    _Gateway.status = 500
    response = ask(gateway_client)
    assert response.status_code == 202
    assert set(response.get_json()) == {"challenge_id", "expires_in", "resend_after"}
    code = re.search(r"\b(\d{6})\b", _Gateway.received[0]["body"]["message"]["text"]).group(1)
    with unit_of_work(app):
        [row] = db.session.scalars(sa.select(Notification)).all()
        stored = json.dumps({c.name: str(getattr(row, c.name)) for c in Notification.__table__.c})
        assert row.status is NotificationStatus.TEMPORARY_FAILURE
        assert row.sealed_data and code not in stored
        # Retried within seconds of the failure (the send itself may take a while on a busy host).
        assert row.next_attempt_at <= row.updated_at + timedelta(seconds=2)

    _Gateway.status = 200
    later = datetime.now(UTC) + timedelta(seconds=3)
    with time_machine.travel(later), unit_of_work(gateway_client.application):
        sweeps.sweep(now=utcnow())
    first, second = _Gateway.received
    assert second["body"] == first["body"] and second["key"] == first["key"] == row.id
    with unit_of_work(app):
        row = db.session.get(Notification, row.id)
        assert row.status is NotificationStatus.DELIVERED and row.attempts == 2
        assert row.provider_reference == "gw-123" and row.sealed_data is None


def test_a_code_is_not_sent_after_it_expires(gateway_client, app):
    _Gateway.status = 503
    challenge_id = ask(gateway_client).get_json()["challenge_id"]
    expired = datetime.now(UTC) + timedelta(seconds=301)
    with time_machine.travel(expired), unit_of_work(gateway_client.application):
        sweeps.sweep(now=utcnow())
    assert len(_Gateway.received) == 1
    with unit_of_work(app):
        [row] = db.session.scalars(sa.select(Notification)).all()
        assert row.status is NotificationStatus.TECHNICAL_FAILURE and row.sealed_data is None
        assert db.session.get(OtpChallenge, challenge_id) is not None
