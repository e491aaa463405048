"""The transports, the things that send, and which one each channel uses.

A transport takes a list of messages and answers one outcome per message: delivered (with the
provider's reference), retry later, or undeliverable (the address can never work; for push,
forget the device). Which transport a channel uses comes from configuration:

- SMS: ``file`` (JSON lines in ``SMS_OUTBOX_FILE``; the development default, where a newcomer
  reads their code) or ``http`` (a generic gateway: bearer token and a JSON body template whose
  ``"{to}"``, ``"{text}"``, ``"{kind}"`` and ``"{id}"`` string values are replaced);
- push: ``fcm`` (backend.notifications.transports.fcm), ``file`` or ``off``;
- e-mail: ``smtp`` (backend.notifications.transports.email), ``file`` or ``off``.

Each message carries the notification id; transports pass it on as the provider's idempotency
key where the provider has one. No transport logs the text of a message: it may hold a code.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from backend.notifications.models import Channel
from backend.notifications.transports.base import FileTransport, Transport
from backend.notifications.transports.sms import HttpSmsTransport


def transport_for(channel: Channel) -> Transport | None:
    """The transport of a channel, or None when the channel is off."""
    return current_app.extensions["notification_transports"].get(channel)


def _sms_transport(config) -> Transport:
    if config["SMS_CHANNEL"] == "http":
        if not config.get("SMS_GATEWAY_URL"):
            raise RuntimeError("SMS_CHANNEL=http needs SMS_GATEWAY_URL")
        return HttpSmsTransport(
            url=config["SMS_GATEWAY_URL"],
            token=config.get("SMS_GATEWAY_TOKEN"),
            body_template=config["SMS_GATEWAY_BODY"],
            timeout=config["SMS_GATEWAY_TIMEOUT"],
        )
    if config["SMS_CHANNEL"] == "file":
        return FileTransport(Path(config["SMS_OUTBOX_FILE"]), Channel.SMS)
    raise RuntimeError(f"unknown SMS_CHANNEL {config['SMS_CHANNEL']!r}")


def init_app(app: Flask) -> None:
    config = app.config
    outbox = Path(config["SMS_OUTBOX_FILE"])
    transports: dict[Channel, Transport] = {Channel.SMS: _sms_transport(config)}
    if config["PUSH_CHANNEL"] == "fcm":
        # google-auth, likewise: loaded only where push goes through FCM.
        from backend.notifications.transports import fcm

        transports[Channel.PUSH] = fcm.FcmTransport.from_config(config)
    elif config["PUSH_CHANNEL"] == "file":
        transports[Channel.PUSH] = FileTransport(outbox, Channel.PUSH)
    if config["EMAIL_CHANNEL"] == "smtp":
        # smtplib and the e-mail package, likewise: only where e-mail goes through SMTP.
        from backend.notifications.transports import email

        transports[Channel.EMAIL] = email.SmtpTransport.from_config(config)
    elif config["EMAIL_CHANNEL"] == "file":
        transports[Channel.EMAIL] = FileTransport(outbox, Channel.EMAIL)
    app.extensions["notification_transports"] = transports
