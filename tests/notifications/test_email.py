"""E-mail through SMTP, against an aiosmtpd server on loopback."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from backend.extensions import db
from backend.notifications.models import Notification, NotificationPreference, NotificationStatus
from backend.notifications.services import notify
from tests.helpers.notifications import DOSSIER, add_citizen
from tests.helpers.work import unit_of_work

Status = NotificationStatus


class Mailbox:
    """Accepts mail, except for addresses that start with "gone" (550) or "full" (452)."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("gone"):
            return "550 5.1.1 No such user"
        if address.startswith("full"):
            return "452 4.2.2 Mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK queued"


@pytest.fixture
def smtp():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port
    yield mailbox
    controller.stop()


@pytest.fixture
def mail_app(sibling, smtp):
    return sibling(EMAIL_CHANNEL="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port)


def _email_to(address: str, phone: str = "+84912345678") -> Notification:
    account = add_citizen(phone, email=address)
    db.session.add(
        NotificationPreference(account_id=account.id, kind="dossier.returned", channels=["email"])
    )
    notify(account.id, "dossier.returned", DOSSIER)
    db.session.commit()
    return db.session.scalars(sa.select(Notification).where(Notification.channel == "email")).one()


def test_an_email_reaches_the_server_with_the_notification_as_message_id(mail_app, smtp):
    with unit_of_work(mail_app):
        row = _email_to("an@example.vn")
        assert row.status is Status.DELIVERED
        assert row.provider_reference == f"<{row.id}@dvc-mobile>"
    [mail] = smtp.messages
    assert mail["To"] == "an@example.vn" and mail["Message-ID"] == row.provider_reference
    assert str(make_header(decode_header(mail["Subject"]))) == "Đã trả kết quả"
    body = mail.get_payload(decode=True).decode()
    assert DOSSIER["code"] in body and f"dvc://dossiers/{DOSSIER['dossier_id']}" in body


def test_a_refused_address_is_permanent_and_a_full_mailbox_is_retried(mail_app, smtp):
    with unit_of_work(mail_app):
        gone = _email_to("gone@example.vn")
        assert gone.status is Status.PERMANENT_FAILURE and "550" in gone.last_error
        db.session.execute(sa.delete(Notification))
        full = _email_to("full@example.vn", "+84987654321")
        assert full.status is Status.TEMPORARY_FAILURE and "452" in full.last_error
    assert smtp.messages == []


def test_an_unreachable_server_is_retried(sibling):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = sibling(EMAIL_CHANNEL="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=closed_port)
    with unit_of_work(app):
        row = _email_to("an@example.vn")
        assert row.status is Status.TEMPORARY_FAILURE and "unreachable" in row.last_error
