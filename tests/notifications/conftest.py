"""Accounts, sessions and devices made directly, and apps that share the test's connection."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend import create_app
from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Account, AccountKind, Session
from backend.notifications.models import Device
from tests.conftest import app_config


@pytest.fixture
def sibling(app, stack, tmp_path_factory):
    """Another app (other channel settings) on the test's rolled-back connection."""

    def _make(**overrides):
        instance = tmp_path_factory.mktemp("sibling")
        # Same signing keys as the main app, so its tokens open this one.
        overrides.setdefault("SIGNING_KEYS_FILE", app.config["SIGNING_KEYS_FILE"])
        other = create_app(app_config(stack, instance, **overrides))
        with other.app_context():
            db.engines[None] = app.extensions["sqlalchemy"]._app_engines[app][None]
        return other

    return _make


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
        last_seen_at=now,
        expires_at=now + timedelta(days=30),
    )
    db.session.add(session)
    db.session.flush()
    device = Device(account_id=account.id, session_id=session.id, token=token, platform=platform)
    db.session.add(device)
    db.session.flush()
    return device


DOSSIER = {"code": "000.00.17.H56-261130-0001", "dossier_id": "01JDOSSIER0000000000000001"}
