"""People and phones to notify, made straight in the database."""

from __future__ import annotations

from datetime import timedelta

from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Account, AccountKind, Session
from backend.notifications.models import Device


def add_citizen(phone="+84912345678", *, email=None, language="vi") -> Account:
    account = Account(
        kind=AccountKind.CITIZEN, phone=phone, email=email, preferred_language=language
    )
    db.session.add(account)
    db.session.flush()
    return account


def add_device(account: Account, token: str, *, platform="android") -> Device:
    now = utcnow()
    session = Session(
        account=account,
        acr=0,
        amr=["otp"],
        mfa_complete=True,
        created_at=now,
        expires_at=now + timedelta(days=30),
    )
    db.session.add(session)
    db.session.flush()
    device = Device(account_id=account.id, session_id=session.id, token=token, platform=platform)
    db.session.add(device)
    db.session.flush()
    return device


DOSSIER = {"code": "000.00.17.H56-261130-0001", "dossier_id": "01JDOSSIER0000000000000001"}
