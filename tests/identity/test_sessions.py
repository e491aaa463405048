"""Device sessions: rotation, reuse detection, revocation, lifetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backend.extensions import db
from backend.identity.models import (
    Account,
    AccountKind,
    AccountStatus,
    RefreshToken,
    SecurityEvent,
    Session,
)
from backend.identity.services import sessions
from tests.helpers.signin import bearer
from tests.helpers.work import statements_sent, unit_of_work


def refresh(client, token, *, form=False):
    body = {"grant_type": "refresh_token", "refresh_token": token}
    if form:
        return client.post("/api/v1/auth/token", data=body)
    return client.post("/api/v1/auth/token", json=body)


def events(app) -> list[str]:
    with unit_of_work(app):
        return list(db.session.scalars(sa.select(SecurityEvent.kind).order_by(SecurityEvent.id)))


def test_refresh_rotates(client, citizen):
    rotated = refresh(client, citizen["refresh_token"])
    assert rotated.status_code == 200
    body = rotated.get_json()
    assert body["refresh_token"] != citizen["refresh_token"]
    assert body["session_id"] == citizen["session_id"]
    assert client.get("/api/v1/me", headers=bearer(body)).status_code == 200
    assert refresh(client, body["refresh_token"], form=True).status_code == 200


def _after_grace(app):
    seconds = app.config["REFRESH_REUSE_GRACE_SECONDS"] + 1
    return time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds))


def test_reused_refresh_token_revokes_the_whole_session(client, app, citizen):
    first = refresh(client, citizen["refresh_token"]).get_json()
    with _after_grace(app):
        replay = refresh(client, citizen["refresh_token"])
        assert replay.status_code == 401
        assert replay.get_json()["error"] == "invalid_grant"
        # The legitimate holder's newer tokens die with it.
        assert refresh(client, first["refresh_token"]).status_code == 401
        assert client.get("/api/v1/me", headers=bearer(first)).status_code == 401
    assert "refresh_reuse" in events(app)


def test_a_retry_within_the_grace_period_gets_the_same_pair(client, app, citizen):
    """The phone sent a refresh, lost the answer on a bad network, and sent it again."""
    first = refresh(client, citizen["refresh_token"]).get_json()
    retry = refresh(client, citizen["refresh_token"])
    assert retry.status_code == 200, retry.get_json()
    again = retry.get_json()
    assert (again["access_token"], again["refresh_token"]) == (
        first["access_token"],
        first["refresh_token"],
    )
    assert 0 < again["expires_in"] <= first["expires_in"]
    assert client.get("/api/v1/me", headers=bearer(again)).status_code == 200
    assert events(app).count("refresh_retry") == 1 and "refresh_reuse" not in events(app)
    # The session goes on from the pair it got.
    assert refresh(client, again["refresh_token"], form=True).status_code == 200


def test_a_retry_after_the_session_moved_on_is_reuse(client, app, citizen):
    """Within the grace period, but the new token was already used: the old one was copied."""
    first = refresh(client, citizen["refresh_token"]).get_json()
    second = refresh(client, first["refresh_token"]).get_json()
    replay = refresh(client, citizen["refresh_token"])
    assert replay.status_code == 401 and replay.get_json()["error"] == "invalid_grant"
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 401
    assert "refresh_reuse" in events(app)


def test_without_a_grace_period_a_retry_is_reuse(client, app, citizen, monkeypatch):
    monkeypatch.setitem(app.config, "REFRESH_REUSE_GRACE_SECONDS", 0)
    first = refresh(client, citizen["refresh_token"]).get_json()
    assert refresh(client, citizen["refresh_token"]).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 401


def test_unknown_refresh_token(client):
    assert refresh(client, "x" * 43).status_code == 401


def test_sessions_are_listed_per_device_and_revocable(client, sign_in):
    phone = sign_in("0912345678", device={"name": "Điện thoại của Lan", "platform": "android"})
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2)):
        tablet = sign_in(
            "0912345678", device={"name": "iPad", "platform": "ios", "app_version": "2.1.0"}
        )
    listed = client.get("/api/v1/me/sessions", headers=bearer(phone)).get_json()["items"]
    assert {(s["device_name"], s["current"]) for s in listed} == {
        ("Điện thoại của Lan", True),
        ("iPad", False),
    }
    gone = client.delete(f"/api/v1/me/sessions/{tablet['session_id']}", headers=bearer(phone))
    assert gone.status_code == 204
    # Revocation is immediate for both of the tablet's tokens.
    assert client.get("/api/v1/me", headers=bearer(tablet)).status_code == 401
    assert refresh(client, tablet["refresh_token"]).status_code == 401
    again = client.delete(f"/api/v1/me/sessions/{tablet['session_id']}", headers=bearer(phone))
    assert again.status_code == 404


def test_a_device_was_last_seen_at_its_latest_sign_in_or_refresh(client, app, sign_in):
    start = datetime.now(UTC).replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        phone = sign_in("0912345678", device={"name": "phone", "platform": "android"})
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        sign_in("0912345678", device={"name": "tablet", "platform": "ios"})
    later = start + timedelta(minutes=30)
    with time_machine.travel(later, tick=False):
        # The refresh writes no session row: the new token's time is the sighting.
        rotated, sent = statements_sent(app, lambda: refresh(client, phone["refresh_token"]))
        assert rotated.status_code == 200
        assert not [s for s in sent if s.startswith("UPDATE sessions")], sent
        mine = bearer(rotated.get_json())
        listed = client.get("/api/v1/me/sessions", headers=mine).get_json()["items"]
    assert [(s["device_name"], s["last_seen_at"]) for s in listed] == [
        ("phone", later.isoformat()),
        ("tablet", (start + timedelta(minutes=2)).isoformat()),
    ]


def test_cannot_revoke_someone_elses_session(client, citizen, citizen_b):
    response = client.delete(
        f"/api/v1/me/sessions/{citizen_b['session_id']}", headers=bearer(citizen)
    )
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(citizen_b)).status_code == 200


def test_logout(client, app, citizen):
    assert client.post("/api/v1/auth/logout", headers=bearer(citizen)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(citizen)).status_code == 401
    assert refresh(client, citizen["refresh_token"]).status_code == 401
    assert "session_revoked" in events(app)


def _live_tokens(app, session_id) -> int:
    with unit_of_work(app):
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.session_id == session_id, RefreshToken.used_at.is_(None))
        )


@pytest.mark.parametrize("ended", ["session revoked", "account disabled"])
def test_a_token_of_an_ended_session_or_account_is_refused_and_stays_as_it_was(
    client, app, citizen, ended
):
    with unit_of_work(app):
        session = db.session.get(Session, citizen["session_id"])
        if ended == "session revoked":
            session.revoked_at = datetime.now(UTC)  # its token left unused, as by an older build
        else:
            session.account.status = AccountStatus.DISABLED
        db.session.commit()
    answer = refresh(client, citizen["refresh_token"])
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_grant"
    assert _live_tokens(app, citizen["session_id"]) == 1


def test_idle_refresh_token_expires(client, app, citizen):
    idle = app.config["REFRESH_IDLE_SECONDS"]
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=idle + 1)):
        assert refresh(client, citizen["refresh_token"]).status_code == 401


def test_session_has_an_absolute_lifetime(client, app, citizen):
    """Refreshing every few days cannot keep a session alive past its maximum age."""
    token = citizen["refresh_token"]
    step = timedelta(seconds=app.config["REFRESH_IDLE_SECONDS"] // 2)
    moment = datetime.now(UTC)
    limit = moment + timedelta(seconds=app.config["SESSION_MAX_SECONDS"])
    while True:
        moment += step
        with time_machine.travel(moment):
            answer = refresh(client, token)
        if answer.status_code != 200:
            break
        token = answer.get_json()["refresh_token"]
    assert answer.status_code == 401
    assert moment <= limit + step
    assert moment > limit - step


def test_a_session_for_an_account_not_yet_written_is_written_after_it(app):
    with unit_of_work(app):
        account = Account(kind=AccountKind.CITIZEN, phone="+84912000111")
        db.session.add(account)
        pair = sessions.start_session(
            account=account, acr=0, amr=["otp"], mfa_complete=True, device={},
            now=datetime.now(UTC),
        )  # fmt: skip
    with unit_of_work(app):
        stored = db.session.get(Session, pair.session_id)
        assert stored.account.phone == "+84912000111"
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(RefreshToken.session_id == stored.id)
            )
            == 1
        )
