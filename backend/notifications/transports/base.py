"""What every transport takes and answers, and the file transport development reads."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
