"""Guessing an authenticator code with a signed-in session (a stolen token, an unlocked phone).

The authenticator's three live codes hide among a million; a session that may try without a
count finds one in hours and then replaces the recovery codes or switches the app off. Wrong
codes are counted per account across step-up, confirmation, recovery codes and disabling.
"""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work

ENDPOINTS = [
    "/api/v1/auth/step-up",
    "/api/v1/me/totp/recovery-codes",
    "/api/v1/me/totp/disable",
]


@pytest.fixture
def enrolled(client, citizen) -> tuple[dict, pyotp.TOTP]:
    secret = client.post("/api/v1/me/totp", headers=bearer(citizen)).get_json()["secret"]
    authenticator = pyotp.TOTP(secret)
    confirmed = client.post(
        "/api/v1/me/totp/confirm", json={"code": authenticator.now()}, headers=bearer(citizen)
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    return confirmed.get_json()["tokens"], authenticator


def _me(client, tokens) -> str:
    return client.get("/api/v1/me", headers=bearer(tokens)).get_json()["id"]


def _wrong(authenticator: pyotp.TOTP) -> str:
    live = {authenticator.at(time.time() + delta) for delta in (-30, 0, 30)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in live)


def test_wrong_codes_are_counted_across_endpoints_then_refused(app, client, enrolled, citizen_b):
    tokens, authenticator = enrolled
    allowed = int(app.config["RATELIMIT_TOTP_PER_ACCOUNT"].split("/")[0])
    wrong = _wrong(authenticator)
    answers = [
        client.post(ENDPOINTS[n % len(ENDPOINTS)], json={"code": wrong}, headers=bearer(tokens))
        for n in range(allowed)
    ]
    assert [a.status_code for a in answers] == [401] * allowed
    # Now even the right code waits: the guesser cannot tell it from a wrong one.
    stopped = client.post(
        "/api/v1/auth/step-up",
        json={"code": authenticator.at(time.time() + 30)},
        headers=bearer(tokens),
    )
    assert stopped.status_code == 429, stopped.get_json()
    assert stopped.mimetype == "application/problem+json" and stopped.headers["Retry-After"]
    # Nothing was changed meanwhile: the app is still set up.
    account_id = _me(client, tokens)
    with unit_of_work(app):
        from backend.identity.services.totp import has_confirmed_totp

        assert has_confirmed_totp(account_id)
    # Another account is not slowed down by it.
    other = client.post("/api/v1/auth/step-up", json={"code": wrong}, headers=bearer(citizen_b))
    assert other.status_code == 409  # B has no authenticator: refused for that, not limited


def test_right_codes_are_not_counted(app, client, enrolled):
    tokens, authenticator = enrolled
    allowed = int(app.config["RATELIMIT_TOTP_PER_ACCOUNT"].split("/")[0])
    right = client.post(
        "/api/v1/auth/step-up",
        json={"code": authenticator.at(time.time() + 30)},
        headers=bearer(tokens),
    )
    assert right.status_code == 200, right.get_json()
    tokens = right.get_json()
    wrong = _wrong(authenticator)
    statuses = [
        client.post(
            "/api/v1/auth/step-up", json={"code": wrong}, headers=bearer(tokens)
        ).status_code
        for _ in range(allowed + 1)
    ]
    assert statuses == [401] * allowed + [429]
