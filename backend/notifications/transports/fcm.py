"""Push through Firebase Cloud Messaging, HTTP v1 API, with a small client of our own.

firebase-admin's ``messaging.send_each_for_multicast`` does what this does: one HTTP v1
``messages:send`` request per token, in parallel, one result per token. We do not use the SDK
because it cannot be pointed at another endpoint (its FCM URL is a private constant, and its
maintainers decline to make it configurable), so it could be tested only by patching its
internals. This client speaks the same public protocol: an OAuth 2 access token obtained with
the service account's key (google-auth, from the ``token_uri`` of the key file), and
``POST {FCM_ENDPOINT}/v1/projects/{project}/messages:send``.

Errors follow Firebase's token-management advice: ``UNREGISTERED`` and ``INVALID_ARGUMENT``
(and ``SENDER_ID_MISMATCH``: a token of another project) mean the token is dead, so its device
is forgotten; ``UNAVAILABLE``, ``INTERNAL``, ``QUOTA_EXCEEDED`` and connection failures are
retried. The notification id is the collapse key on Android and iOS: a push sent again after a
crash replaces the first one on the phone instead of showing twice.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from google.auth.transport.requests import Request as GoogleAuthRequest
from google.oauth2 import service_account

from backend.notifications.transports.base import Delivered, Message, Outcome, Retry, Undeliverable

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
_DEAD_TOKEN = frozenset({"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH"})
_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def _error_code(response: requests.Response) -> str:
    """FCM's own error code if it gave one, else the Google API status."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return f"HTTP_{response.status_code}"
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("@type") == _FCM_ERROR:
            return str(detail.get("errorCode") or error.get("status"))
    return str(error.get("status") or f"HTTP_{response.status_code}")


class FcmTransport:
    # send_each_for_multicast takes at most 500 tokens; one claim batch stays well under it.
    batch_size = 100

    def __init__(self, *, credentials: service_account.Credentials, endpoint: str, timeout: float):
        self.credentials = credentials
        self.url = f"{endpoint.rstrip('/')}/v1/projects/{credentials.project_id}/messages:send"
        self.timeout = timeout
        self._http = requests.Session()
        self._token_lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Any) -> FcmTransport:
        path = config.get("FCM_CREDENTIALS_FILE")
        if not path:
            raise RuntimeError("PUSH_CHANNEL=fcm needs FCM_CREDENTIALS_FILE (a service account)")
        credentials = service_account.Credentials.from_service_account_file(path, scopes=[SCOPE])
        return cls(
            credentials=credentials, endpoint=config["FCM_ENDPOINT"], timeout=config["FCM_TIMEOUT"]
        )

    def _access_token(self) -> str:
        with self._token_lock:
            if not self.credentials.valid:
                self.credentials.refresh(GoogleAuthRequest(self._http))
            return self.credentials.token

    @staticmethod
    def _payload(message: Message) -> dict[str, Any]:
        data = {"kind": message.kind, "notification_id": message.id}
        if message.link:
            data["link"] = message.link
        return {
            "message": {
                "token": message.to,
                "notification": {"title": message.title, "body": message.text},
                "data": data,
                "android": {"collapse_key": message.id, "priority": "high"},
                "apns": {"headers": {"apns-collapse-id": message.id}},
            }
        }

    def send(self, messages: list[Message]) -> list[Outcome]:
        """send_each_for_multicast: one request per token, in parallel, one outcome each."""
        if not messages:
            return []
        try:
            token = self._access_token()
        except Exception as error:  # google-auth raises its own and requests' errors
            return [Retry(f"fcm sign-in failed ({type(error).__name__})")] * len(messages)
        with ThreadPoolExecutor(max_workers=min(16, len(messages))) as pool:
            return list(pool.map(lambda message: self._send_one(message, token), messages))

    def _send_one(self, message: Message, token: str) -> Outcome:
        try:
            response = self._http.post(
                self.url,
                json=self._payload(message),
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            return Retry(f"fcm unreachable ({type(error).__name__})")
        if response.ok:
            return Delivered(reference=str(response.json().get("name") or message.id))
        code = _error_code(response)
        if response.status_code == 401:
            self.credentials.token = None  # expired early: sign in again on the next try
        if code in _DEAD_TOKEN:
            return Undeliverable(f"fcm {code}", forget_address=True)
        return Retry(f"fcm {code}")
