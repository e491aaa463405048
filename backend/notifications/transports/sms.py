"""SMS through a generic HTTP gateway: a bearer token and a JSON body template."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from backend.notifications.transports.base import (
    Delivered,
    Message,
    Outcome,
    Retry,
    Undeliverable,
)


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
