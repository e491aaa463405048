"""The one adapter every channel sits behind, and the file and HTTP SMS gateway transports.

A transport takes a list of messages and answers one outcome per message: delivered (with the
provider's reference), retry later, or undeliverable (the address can never work; for push,
forget the device). Which transport a channel uses comes from configuration:

- SMS: ``file`` (JSON lines in ``SMS_OUTBOX_FILE``; the development default, where a newcomer
  reads their code) or ``http`` (a generic gateway: bearer token and a JSON body template whose
  ``"{to}"``, ``"{text}"``, ``"{kind}"`` and ``"{id}"`` string values are replaced);
- push: ``fcm`` (backend.notifications.fcm), ``file`` or ``off``;
- e-mail: ``smtp`` (backend.notifications.email), ``file`` or ``off``.

Each message carries the notification id; transports pass it on as the provider's idempotency
key where the provider has one. No transport logs the text of a message: it may hold a code.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app

from backend.db import utcnow
from backend.notifications.models import Channel


@dataclass(frozen=True)
class Message:
    id: str  # the notification id: idempotency key and collapse key at the provider
    kind: str
    to: str  # phone number (E.164), e-mail address or push token
    title: str
    text: str  # the SMS text, or the body of a push or an e-mail
    link: str | None = None


@dataclass(frozen=True)
class Delivered:
    reference: str


@dataclass(frozen=True)
class Retry:
    reason: str


@dataclass(frozen=True)
class Undeliverable:
    reason: str
    forget_address: bool = False  # a push token the provider says is dead


Outcome = Delivered | Retry | Undeliverable


class Transport(Protocol):
    # How many messages one call takes; the worker records outcomes after each call.
    batch_size: int

    def send(self, messages: list[Message]) -> list[Outcome]: ...


class FileTransport:
    """Appends one JSON line per message: development and tests read messages there."""

    batch_size = 1
    _lock = threading.Lock()

    def __init__(self, path: Path, channel: Channel):
        self.path = path
        self.channel = channel

    def send(self, messages: list[Message]) -> list[Outcome]:
        lines = [
            json.dumps(
                {
                    "id": message.id,
                    "time": utcnow().isoformat(),
                    "channel": self.channel.value,
                    "kind": message.kind,
                    "to": message.to,
                    "title": message.title,
                    "text": message.text,
                    "link": message.link,
                },
                ensure_ascii=False,
            )
            for message in messages
        ]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as outbox:
            outbox.write("".join(line + "\n" for line in lines))
        return [Delivered(reference=message.id) for message in messages]


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return values.get(template, template)
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, values) for value in template]
    return template


# The gateway's answers that a later try can cure: its own trouble, or it asks us to slow down.
# 401/403 are our configuration, not the recipient's fault: retried until fixed or dead-lettered.
_RETRY_STATUSES = frozenset({401, 403, 408, 409, 425, 429})


class HttpSmsTransport:
    batch_size = 1

    def __init__(self, *, url: str, token: str | None, body_template: str, timeout: float):
        self.url = url
        self.token = token
        self.template = json.loads(body_template)
        self.timeout = timeout

    def send(self, messages: list[Message]) -> list[Outcome]:
        return [self._send_one(message) for message in messages]

    def _send_one(self, message: Message) -> Outcome:
        values = {"{to}": message.to, "{text}": message.text, "{kind}": message.kind}
        body = _fill(self.template, {**values, "{id}": message.id})
        request = urllib.request.Request(  # noqa: S310 (the gateway URL is configuration)
            self.url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                # A gateway that honours it sends a message retried after a crash only once.
                "Idempotency-Key": message.id,
            },
        )
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = response.read(65536)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code >= 500 or error.code in _RETRY_STATUSES:
                return Retry(f"gateway answered {error.code}")
            return Undeliverable(f"gateway refused the message ({error.code})")
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            return Retry(f"gateway unreachable ({type(error).__name__})")
        try:
            reference = json.loads(payload or b"{}").get("id")
        except (ValueError, AttributeError):
            reference = None
        return Delivered(reference=str(reference or message.id))


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
    from backend.notifications import email, fcm

    config = app.config
    outbox = Path(config["SMS_OUTBOX_FILE"])
    transports: dict[Channel, Transport] = {Channel.SMS: _sms_transport(config)}
    if config["PUSH_CHANNEL"] == "fcm":
        transports[Channel.PUSH] = fcm.FcmTransport.from_config(config)
    elif config["PUSH_CHANNEL"] == "file":
        transports[Channel.PUSH] = FileTransport(outbox, Channel.PUSH)
    if config["EMAIL_CHANNEL"] == "smtp":
        transports[Channel.EMAIL] = email.SmtpTransport.from_config(config)
    elif config["EMAIL_CHANNEL"] == "file":
        transports[Channel.EMAIL] = FileTransport(outbox, Channel.EMAIL)
    app.extensions["notification_transports"] = transports
