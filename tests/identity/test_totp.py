"""Authenticator apps: enrolment, one use per code, the +-1 step window, recovery codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
import time_machine

from backend.crypto import CannotDecrypt, vault
from backend.extensions import db
from backend.identity.models import RecoveryCode, TotpCredential
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work

START = datetime(2026, 11, 30, 2, 0, 5, tzinfo=UTC)  # 5 s into a 30 s step


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def enrol(client, tokens) -> pyotp.TOTP:
    started = client.post("/api/v1/me/totp", headers=bearer(tokens))
    assert started.status_code == 201
    body = started.get_json()
    assert body["otpauth_uri"].startswith("otpauth://totp/DVC%20Mobile:")
    assert body["qr_svg"].startswith("data:image/svg+xml")
    return pyotp.TOTP(body["secret"])


def confirm(client, tokens, code):
    return client.post("/api/v1/me/totp/confirm", json={"code": code}, headers=bearer(tokens))


def step_up(client, tokens, code):
    return client.post("/api/v1/auth/step-up", json={"code": code}, headers=bearer(tokens))


def test_enrolment_needs_a_valid_first_code(clock, client, citizen):
    totp = enrol(client, citizen)
    wrong = confirm(client, citizen, f"{(int(totp.now()) + 1) % 10**6:06d}")
    assert wrong.status_code == 401
    right = confirm(client, citizen, totp.now())
    assert right.status_code == 200
    body = right.get_json()
    assert len(body["recovery_codes"]) == 10 == len(set(body["recovery_codes"]))
    assert body["tokens"]["acr"] == "0"
    assert enrol_again(client, citizen).status_code == 409


def enrol_again(client, tokens):
    return client.post("/api/v1/me/totp", headers=bearer(tokens))


def test_a_code_is_accepted_once(clock, client, citizen):
    totp = enrol(client, citizen)
    assert confirm(client, citizen, totp.now()).status_code == 200
    clock.shift(timedelta(seconds=30))
    code = totp.now()
    assert step_up(client, citizen, code).status_code == 200
    replay = step_up(client, citizen, code)
    assert replay.status_code == 401
    assert replay.get_json()["type"].endswith("totp-wrong")


def test_window_is_one_step_either_side(clock, client, citizen):
    totp = enrol(client, citizen)
    assert confirm(client, citizen, totp.now()).status_code == 200
    clock.shift(timedelta(minutes=5))
    now = datetime.now(UTC)
    assert step_up(client, citizen, totp.at(now - timedelta(seconds=60))).status_code == 401
    assert step_up(client, citizen, totp.at(now - timedelta(seconds=30))).status_code == 200
    assert step_up(client, citizen, totp.at(now + timedelta(seconds=30))).status_code == 200
    # An older step than one already used is refused even inside the window.
    assert step_up(client, citizen, totp.at(now)).status_code == 401


def test_step_up_puts_totp_in_the_token(clock, client, citizen):
    totp = enrol(client, citizen)
    confirm(client, citizen, totp.now())
    clock.shift(timedelta(seconds=30))
    upgraded = step_up(client, citizen, totp.now()).get_json()
    import base64
    import json

    payload = upgraded["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["amr"] == ["otp", "totp"]


def test_step_up_without_an_authenticator_is_409(client, citizen):
    assert step_up(client, citizen, "123456").status_code == 409


def test_secret_is_encrypted_and_bound_to_its_account(clock, client, app, citizen, citizen_b):
    totp = enrol(client, citizen)
    enrol(client, citizen_b)
    with unit_of_work(app):
        rows = db.session.scalars(sa.select(TotpCredential)).all()
        mine = next(
            r
            for r in rows
            if vault().decrypt(r.secret_ciphertext, context=f"totp:{r.account_id}") == totp.secret
        )
        other = next(r for r in rows if r is not mine)
        assert totp.secret not in mine.secret_ciphertext
        with pytest.raises(CannotDecrypt):
            vault().decrypt(mine.secret_ciphertext, context=f"totp:{other.account_id}")


def test_recovery_codes_are_stored_hashed_and_replaceable(clock, client, app, citizen):
    totp = enrol(client, citizen)
    codes = confirm(client, citizen, totp.now()).get_json()["recovery_codes"]
    with unit_of_work(app):
        digests = db.session.scalars(sa.select(RecoveryCode.digest)).all()
    assert len(digests) == 10
    assert not {c.replace("-", "") for c in codes} & set(digests)
    clock.shift(timedelta(seconds=30))
    new = client.post(
        "/api/v1/me/totp/recovery-codes", json={"code": totp.now()}, headers=bearer(citizen)
    )
    assert new.status_code == 200
    assert not set(new.get_json()["recovery_codes"]) & set(codes)


def test_citizen_can_remove_the_authenticator(clock, client, citizen):
    totp = enrol(client, citizen)
    confirm(client, citizen, totp.now())
    clock.shift(timedelta(seconds=30))
    removed = client.post(
        "/api/v1/me/totp/disable", json={"code": totp.now()}, headers=bearer(citizen)
    )
    assert removed.status_code == 204
    assert step_up(client, citizen, totp.now()).status_code == 409
