"""E-mail through an SMTP server (smtplib), one connection per batch.

The notification id becomes the Message-ID, so a message sent again after a crash carries the
same id and mail systems that deduplicate on it show it once. SMTP replies decide the outcome:
5xx for a recipient means the address can never work; 4xx and lost connections are retried.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from backend.notifications.transports.base import Delivered, Message, Outcome, Retry, Undeliverable


def _message_id(notification_id: str) -> str:
    return f"<{notification_id}@dvc-mobile>"


class SmtpTransport:
    batch_size = 20

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None,
        password: str | None,
        starttls: bool,
        timeout: float,
    ):
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: Any) -> SmtpTransport:
        if not config.get("SMTP_HOST"):
            raise RuntimeError("EMAIL_CHANNEL=smtp needs SMTP_HOST")
        return cls(
            host=config["SMTP_HOST"],
            port=config["SMTP_PORT"],
            sender=config["EMAIL_FROM"],
            username=config.get("SMTP_USERNAME"),
            password=config.get("SMTP_PASSWORD"),
            starttls=config["SMTP_STARTTLS"],
            timeout=config["SMTP_TIMEOUT"],
        )

    def _compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.title
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = _message_id(message.id)
        body = message.text if not message.link else f"{message.text}\n\n{message.link}"
        mail.set_content(body)
        return mail

    def _connect(self) -> smtplib.SMTP:
        server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            server.ehlo()
            if self.starttls and server.has_extn("starttls"):
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            if self.username:
                server.login(self.username, self.password or "")
        except BaseException:
            server.close()
            raise
        return server

    def send(self, messages: list[Message]) -> list[Outcome]:
        try:
            server = self._connect()
        except (smtplib.SMTPException, OSError) as error:
            return [Retry(f"smtp unreachable ({type(error).__name__})")] * len(messages)
        outcomes: list[Outcome] = []
        try:
            for message in messages:
                outcomes.append(self._send_one(server, message))
                if isinstance(outcomes[-1], Retry) and "connection" in outcomes[-1].reason:
                    break
        finally:
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()
        # Messages after a lost connection were not tried: they wait for the next attempt.
        outcomes += [Retry("smtp connection lost")] * (len(messages) - len(outcomes))
        return outcomes

    def _send_one(self, server: smtplib.SMTP, message: Message) -> Outcome:
        try:
            server.send_message(self._compose(message))
        except smtplib.SMTPRecipientsRefused as error:
            code = next(iter(error.recipients.values()))[0]
            if 500 <= code < 600:
                return Undeliverable(f"recipient refused ({code})")
            return Retry(f"recipient deferred ({code})")
        except smtplib.SMTPResponseException as error:
            if 500 <= error.smtp_code < 600 and not isinstance(error, smtplib.SMTPSenderRefused):
                return Undeliverable(f"message refused ({error.smtp_code})")
            return Retry(f"server answered {error.smtp_code}")
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            return Retry(f"smtp connection lost ({type(error).__name__})")
        except smtplib.SMTPException as error:
            return Retry(f"smtp error ({type(error).__name__})")
        return Delivered(reference=_message_id(message.id))
