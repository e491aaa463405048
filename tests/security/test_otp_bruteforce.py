"""Guessing phone codes from many clients at once, on PostgreSQL with real commits.

``check_code`` locks every challenge of the phone from the last day (in one order) before it
reads a challenge's failures, so parallel guesses are counted one at a time: a challenge takes
at most ``OTP_MAX_ATTEMPTS`` wrong codes and a phone at most ``OTP_FAILURES_PER_PHONE_PER_DAY``,
however many arrive together, and a dead challenge refuses even its right code.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Account, AccountKind, OtpChallenge, SecurityEvent, Session
from backend.identity.services import otp
from backend.phones import to_e164
from tests.helpers.signin import DEVICE, last_code, outbox_lines
from tests.helpers.work import unit_of_work

pytestmark = [pytest.mark.committing, pytest.mark.postgres_only]

PHONE = "0912345678"
THREADS = 8


def _wrong_codes(right: str, count: int, offset: int) -> list[str]:
    codes = (f"{(int(right) + offset + 1 + n) % 1_000_000:06d}" for n in range(count * 2))
    return [c for c in codes if c != right][:count]


def _guess_in_parallel(app, attempts: list[tuple[str, str]]) -> list:
    """Send every (challenge, code) pair from THREADS clients released together."""
    start = threading.Barrier(THREADS)
    chunks = [attempts[n::THREADS] for n in range(THREADS)]

    def hammer(chunk):
        client = app.test_client()
        start.wait()
        return [
            client.post(
                "/api/v1/auth/otp/verify",
                json={"challenge_id": challenge, "code": code, "device": DEVICE},
            )
            for challenge, code in chunk
        ]

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return [answer for answers in pool.map(hammer, chunks) for answer in answers]


def _code_in(line: dict) -> str:
    return re.search(r"\b(\d{6})\b", line["text"]).group(1)


def _live_challenges(app, phone: str, count: int) -> dict[str, str]:
    """``count`` sign-in challenges of ``phone``, asked a minute apart (the resend cooldown)
    and all still alive: their right codes, by challenge id."""
    now = utcnow()
    already = len(outbox_lines(app))
    with unit_of_work(app):
        challenges = [
            otp.request_code(
                phone=phone, audience=AccountKind.CITIZEN, now=now - timedelta(minutes=count - n)
            ).challenge.id
            for n in range(count)
        ]
    codes = [_code_in(line) for line in outbox_lines(app)[already:] if line["to"] == phone]
    return dict(zip(challenges, codes, strict=True))


def _kinds(answers) -> Counter:
    return Counter(a.get_json()["type"].rsplit(":", 1)[-1] for a in answers)


def _failures(app) -> dict[str, int]:
    with unit_of_work(app):
        rows = db.session.execute(sa.select(OtpChallenge.id, OtpChallenge.failed_attempts)).all()
    return dict(rows)


def _count(app, model, *where) -> int:
    with unit_of_work(app):
        found = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
    return found


def test_one_challenge_takes_five_wrong_codes_whatever_the_parallelism(app):
    client = app.test_client()
    sent = client.post("/api/v1/auth/otp", json={"phone": PHONE})
    assert sent.status_code == 202
    challenge = sent.get_json()["challenge_id"]
    right = last_code(app, to_e164(PHONE))

    answers = _guess_in_parallel(app, [(challenge, c) for c in _wrong_codes(right, 40, 0)])

    limit = app.config["OTP_MAX_ATTEMPTS"]
    assert all(a.mimetype == "application/problem+json" for a in answers)
    assert _kinds(answers) == {"otp-wrong": limit, "otp-locked": 40 - limit}
    left = sorted(a.get_json()["attempts_left"] for a in answers if a.status_code == 401)
    assert left == list(range(limit))  # 4, 3, 2, 1, 0: each wrong code counted once
    assert _failures(app) == {challenge: limit}
    assert _count(app, SecurityEvent, SecurityEvent.kind == "login_failed") == limit

    # The challenge is dead: its right code opens nothing.
    late = client.post(
        "/api/v1/auth/otp/verify", json={"challenge_id": challenge, "code": right, "device": DEVICE}
    )
    assert late.status_code == 429 and late.get_json()["type"].endswith("otp-locked")
    assert _count(app, Session) == 0


def test_one_phone_takes_its_daily_limit_across_challenges(app):
    """Four live challenges guessed at together: the phone's 15 failures, never more."""
    rights = _live_challenges(app, to_e164(PHONE), 4)
    challenges = list(rights)

    attempts = [
        (challenge, code)
        for n, challenge in enumerate(challenges)
        for code in _wrong_codes(rights[challenge], 12, n * 100)
    ]
    answers = _guess_in_parallel(app, attempts)

    daily = app.config["OTP_FAILURES_PER_PHONE_PER_DAY"]
    per_challenge = app.config["OTP_MAX_ATTEMPTS"]
    kinds = _kinds(answers)
    assert kinds["otp-wrong"] == daily and kinds["otp-locked"] == len(attempts) - daily
    failures = _failures(app)
    assert sum(failures.values()) == daily
    assert max(failures.values()) <= per_challenge
    assert _count(app, SecurityEvent, SecurityEvent.kind == "login_failed") == daily

    # Every challenge is dead now, even one that took fewer than five wrong codes.
    client = app.test_client()
    for challenge in challenges:
        late = client.post(
            "/api/v1/auth/otp/verify",
            json={"challenge_id": challenge, "code": rights[challenge], "device": DEVICE},
        )
        assert late.status_code == 429, late.get_json()
    # And no new code can be asked for to start over.
    again = client.post("/api/v1/auth/otp", json={"phone": PHONE})
    assert again.status_code == 429 and again.get_json()["type"].endswith("otp-locked")
    assert _count(app, Session) == 0


def test_two_first_sign_ins_of_one_phone_at_once_make_one_citizen(app):
    """The second waits for the first's lock on the phone, then finds the citizen it made."""
    phone = to_e164("0987654321")
    rights = _live_challenges(app, phone, 2)
    start = threading.Barrier(2)

    def sign_in(challenge_and_code):
        start.wait()
        challenge, code = challenge_and_code
        return app.test_client().post(
            "/api/v1/auth/otp/verify",
            json={"challenge_id": challenge, "code": code, "device": DEVICE},
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(sign_in, rights.items()))
    assert [a.status_code for a in answers] == [200, 200], [a.get_json() for a in answers]
    with unit_of_work(app):
        owners = set(db.session.scalars(sa.select(Session.account_id)))
        citizens = db.session.scalar(
            sa.select(sa.func.count()).select_from(Account).where(Account.phone == phone)
        )
    assert citizens == 1 and len(owners) == 1
