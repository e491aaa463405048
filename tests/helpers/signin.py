"""Signing in through the real API: phone codes read off the outbox, staff with authenticators."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.work import unit_of_work

DEVICE = {"name": "Test phone", "platform": "android", "app_version": "1.0.0"}


def outbox_lines(app) -> list[dict]:
    import json

    path = Path(app.config["SMS_OUTBOX_FILE"])
    if not path.exists():
        return []
    # JSON Lines are split on "\n" only: str.splitlines() would also cut at U+2028, U+0085...,
    # which json.dumps(ensure_ascii=False) leaves unescaped inside strings.
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def last_code(app, phone_e164: str) -> str:
    import re

    for line in reversed(outbox_lines(app)):
        if line["to"] == phone_e164:
            return re.search(r"\b(\d{6})\b", line["text"]).group(1)
    raise AssertionError(f"no code was sent to {phone_e164}")


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def sign_in_with_code(
    app, client, phone="0912345678", *, audience="citizen", device=None, **extra
) -> dict:
    """Sign in through /auth/otp and /auth/otp/verify, reading the code from the outbox."""
    from backend.phones import to_e164

    sent = client.post("/api/v1/auth/otp", json={"phone": phone, "audience": audience})
    assert sent.status_code == 202, sent.get_json()
    body = {
        "challenge_id": sent.get_json()["challenge_id"],
        "code": last_code(app, to_e164(phone)),
        "device": device or DEVICE,
        **extra,
    }
    verified = client.post("/api/v1/auth/otp/verify", json=body)
    assert verified.status_code == 200, verified.get_json()
    return verified.get_json()


def staff_with_authenticator(app, client, phone: str, *, agency: str, role: str):
    """Create a staff member, set up their authenticator through the API, sign them in.

    Returns ``(tokens, totp)`` where ``totp`` is a pyotp.TOTP for later codes.
    """
    import pyotp

    from backend.db import utcnow
    from backend.identity.services import enrolment
    from backend.identity.services.accounts import create_staff
    from backend.phones import to_e164

    with unit_of_work(app):
        account = create_staff(
            phone=to_e164(phone),
            full_name=f"Cán bộ {phone[-4:]}",
            agency_code=agency,
            role=role,
            granted_by=None,
        )
        code = enrolment.issue(account=account, issued_by=None, now=utcnow()).code
    first = sign_in_with_code(app, client, phone, audience="staff")
    assert first["mfa_enrollment_required"] is True
    begun = client.post("/api/v1/me/totp", json={"enrolment_code": code}, headers=bearer(first))
    assert begun.status_code == 201, begun.get_json()
    secret = begun.get_json()["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = client.post(
        "/api/v1/me/totp/confirm", json={"code": totp.now()}, headers=bearer(first)
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    return confirmed.get_json()["tokens"], totp
