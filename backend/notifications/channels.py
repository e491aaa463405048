"""SMS channels behind one interface, chosen by ``SMS_CHANNEL``.

``file`` appends JSON lines to ``instance/outbox.jsonl`` (the development default: a newcomer
reads their code there). ``http`` posts to a generic SMS gateway with a bearer token and a JSON
body template whose ``"{to}"`` and ``"{text}"`` string values are replaced. No channel logs the
text of a message: it may hold a one-time code.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app

from backend.db import new_id, utcnow
from backend.errors import DomainError


class DeliveryFailed(DomainError):
    code = "delivery-failed"
    kind = "unavailable"
    title = ("Không gửi được tin nhắn", "The message could not be sent")

    def __init__(self, reason: str):
        super().__init__(
            (
                "Hệ thống chưa gửi được tin nhắn; hãy thử lại sau ít phút.",
                "The message could not be sent; try again in a few minutes.",
            ),
            headers={"Retry-After": "30"},
        )
        self.reason = reason


class SmsChannel(Protocol):
    def send(self, *, to: str, text: str, kind: str) -> str:
        """Send ``text`` to ``to`` (E.164); return the provider's reference."""


class FileSmsChannel:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def send(self, *, to: str, text: str, kind: str) -> str:
        reference = new_id()
        line = {
            "id": reference,
            "time": utcnow().isoformat(),
            "channel": "sms",
            "kind": kind,
            "to": to,
            "text": text,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(json.dumps(line, ensure_ascii=False) + "\n")
        return reference


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return values.get(template, template)
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, values) for value in template]
    return template


class HttpSmsChannel:
    def __init__(self, *, url: str, token: str | None, body_template: str, timeout: float):
        self.url = url
        self.token = token
        self.template = json.loads(body_template)
        self.timeout = timeout

    def send(self, *, to: str, text: str, kind: str) -> str:
        body = _fill(self.template, {"{to}": to, "{text}": text, "{kind}": kind})
        request = urllib.request.Request(  # noqa: S310 (the gateway URL is configuration)
            self.url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = response.read(65536)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise DeliveryFailed(f"{type(error).__name__}") from error
        try:
            reference = json.loads(payload or b"{}").get("id")
        except (ValueError, AttributeError):
            reference = None
        return str(reference or new_id())


def sms_channel() -> SmsChannel:
    return current_app.extensions["sms_channel"]


def init_app(app: Flask) -> None:
    config = app.config
    if config["SMS_CHANNEL"] == "http":
        if not config.get("SMS_GATEWAY_URL"):
            raise RuntimeError("SMS_CHANNEL=http needs SMS_GATEWAY_URL")
        channel: SmsChannel = HttpSmsChannel(
            url=config["SMS_GATEWAY_URL"],
            token=config.get("SMS_GATEWAY_TOKEN"),
            body_template=config["SMS_GATEWAY_BODY"],
            timeout=config["SMS_GATEWAY_TIMEOUT"],
        )
    elif config["SMS_CHANNEL"] == "file":
        channel = FileSmsChannel(Path(config["SMS_OUTBOX_FILE"]))
    else:
        raise RuntimeError(f"unknown SMS_CHANNEL {config['SMS_CHANNEL']!r}")
    app.extensions["sms_channel"] = channel
