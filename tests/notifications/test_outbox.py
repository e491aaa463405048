"""notify(): rows join the caller's transaction, for the chosen channels, and leave after commit."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.notifications.models import Channel, Notification, NotificationStatus
from backend.notifications.models import NotificationPreference as Preference
from backend.notifications.services import notify, notify_phone
from backend.notifications.templates import MissingData, UnknownKind
from tests.helpers.notifications import DOSSIER, add_citizen, add_device
from tests.helpers.signin import outbox_lines
from tests.helpers.work import unit_of_work


@pytest.fixture
def sent(app):
    """Lines the file channel writes from now on (the file is shared by the whole run)."""
    already = len(outbox_lines(app))

    def _sent(channel: str) -> list[dict]:
        return [line for line in outbox_lines(app)[already:] if line["channel"] == channel]

    return _sent


def _rows() -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).order_by(Notification.channel)))


def test_defaults_inbox_and_push_per_device_for_a_dossier_event(sent, ctx):
    account = add_citizen()
    first, second = (
        add_device(account, "token-" + "a" * 20),
        add_device(account, "token-" + "b" * 20),
    )
    rows = notify(account.id, "dossier.accepted", DOSSIER)
    db.session.commit()
    assert sorted((r.channel.value, r.address) for r in rows) == sorted(
        [("inbox", None), ("push", first.id), ("push", second.id)]
    )
    pushed = sent("push")
    assert {line["to"] for line in pushed} == {first.token, second.token}
    assert pushed[0]["link"] == f"dvc://dossiers/{DOSSIER['dossier_id']}"
    assert all(r.status is NotificationStatus.DELIVERED for r in _rows())


def test_sms_too_for_the_kinds_a_citizen_must_act_on(sent, ctx):
    account = add_citizen()
    notify(account.id, "dossier.supplement_requested", DOSSIER)
    db.session.commit()
    [sms] = sent("sms")
    assert sms["to"] == account.phone and DOSSIER["code"] in sms["text"]
    assert sms["text"].isascii() and len(sms["text"]) <= 160


def test_a_rolled_back_change_sends_nothing(app, ctx):
    account = add_citizen()
    db.session.commit()
    before = len(outbox_lines(app))
    notify(account.id, "dossier.decided", DOSSIER)
    db.session.rollback()
    db.session.add(add_citizen("+84987654321"))  # a later, unrelated commit
    db.session.commit()
    assert len(outbox_lines(app)) == before
    assert _rows() == []


def test_unknown_kind_and_missing_data_are_programming_errors(ctx):
    account = add_citizen()
    with pytest.raises(UnknownKind):
        notify(account.id, "dossier.teleported", DOSSIER)
    with pytest.raises(MissingData, match="new_due_date"):
        notify(account.id, "dossier.due_date_extended", DOSSIER)
    with pytest.raises(ValueError, match="notify_phone"):
        notify(account.id, "otp", {"code": "123456", "minutes": 5})


def test_chosen_channels_replace_the_defaults_but_keep_the_inbox(sent, ctx):
    account = add_citizen(email="an@example.vn", language="en")
    add_device(account, "token-" + "c" * 20)
    db.session.add(Preference(account_id=account.id, kind="dossier.decided", channels=["email"]))
    notify(account.id, "dossier.decided", DOSSIER)
    db.session.commit()
    assert sorted(r.channel for r in _rows()) == [Channel.EMAIL, Channel.INBOX]
    [mail] = sent("email")
    assert mail["to"] == "an@example.vn" and mail["title"] == "Result ready"


def test_channels_without_an_address_get_no_row(ctx):
    account = add_citizen(phone=None)
    db.session.add(
        Preference(account_id=account.id, kind="dossier.refused", channels=["sms", "email"])
    )
    rows = notify(account.id, "dossier.refused", DOSSIER)
    assert [r.channel for r in rows] == [Channel.INBOX]


def test_push_switched_off_in_configuration_gets_no_row(sibling):
    other = sibling(PUSH_CHANNEL="off")
    with unit_of_work(other):
        account = add_citizen()
        add_device(account, "token-" + "d" * 20)
        rows = notify(account.id, "dossier.accepted", DOSSIER)
        assert [r.channel for r in rows] == [Channel.INBOX]
        db.session.rollback()


def test_a_sign_in_code_is_sealed_and_cleared_once_sent(app, ctx):
    row = notify_phone(phone="+84912345678", kind="otp", data={"code": "246810", "minutes": 5})
    db.session.flush()
    stored = db.session.execute(sa.select(Notification.__table__).where(Notification.id == row.id))
    assert "246810" not in json.dumps([str(v) for v in stored.one()])
    db.session.commit()
    assert "246810" in outbox_lines(app)[-1]["text"]
    db.session.refresh(row)
    assert row.status is NotificationStatus.DELIVERED and row.sealed_data is None
    assert row.provider_reference


def test_data_that_is_not_json_is_refused_at_once(ctx):
    account = add_citizen()
    with pytest.raises(TypeError):
        notify(account.id, "dossier.accepted", {**DOSSIER, "when": object()})
