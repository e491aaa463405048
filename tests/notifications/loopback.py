"""HTTP servers on 127.0.0.1 that speak the providers' protocols, for the channel tests."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt as google_jwt

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
# (status, JSON body) for a request (method, path, headers, body bytes)
Responder = Callable[[str, str, dict, bytes], tuple[int, dict]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload = self.server.responder(self.command, self.path, dict(self.headers), body)
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_POST = _answer

    def log_message(self, *args):
        pass


@contextmanager
def serve(responder: Responder) -> Iterator[str]:
    """Serve ``responder`` on a free loopback port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.responder = responder
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class SmsGateway:
    """An SMS gateway that honours ``Idempotency-Key``: a repeat is answered, not sent again.

    ``sent`` counts messages handed on to phones, by notification id; ``requests`` counts every
    call, repeats included. ``delay`` makes each call take that long (a batch in flight).
    """

    def __init__(self, *, delay: float = 0.0):
        self.delay = delay
        self.sent: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.bodies: dict[str, dict] = {}
        self.failures: list[int] = []  # statuses to answer first, one per call
        self._lock = threading.Lock()

    def __call__(self, method, path, headers, body):
        import time

        if self.delay:
            time.sleep(self.delay)
        key = headers.get("Idempotency-Key", "")
        with self._lock:
            self.requests[key] += 1
            if self.failures:
                return self.failures.pop(0), {"error": "try later"}
            if key not in self.sent:
                self.sent[key] += 1
                self.bodies[key] = json.loads(body)
        return 200, {"id": f"gw-{key}"}


class FakeFcm:
    """Google's token endpoint and FCM HTTP v1 ``messages:send``, with scripted errors.

    ``errors[token]`` lists (HTTP status, FCM error code) answers to give, one per send, before
    that token succeeds; an empty code gives a Google API error without FCM details.
    """

    PROJECT = "dvc-test"

    def __init__(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.base_url = ""
        self.tokens_issued: list[str] = []
        self.sent: list[dict] = []
        self.errors: dict[str, list[tuple[int, str]]] = {}
        self.unauthorized: list[str] = []

    def service_account(self) -> dict:
        return {
            "type": "service_account",
            "project_id": self.PROJECT,
            "private_key_id": "test-key",
            "private_key": self.private_pem,
            "client_email": f"push@{self.PROJECT}.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": f"{self.base_url}/token",
        }

    def __call__(self, method, path, headers, body):
        if path == "/token":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
            # The assertion names Google's token endpoint whatever token_uri it is posted to.
            claims = google_jwt.decode(
                form["assertion"], certs=self.public_pem, audience=GOOGLE_TOKEN_AUDIENCE
            )
            assert "firebase.messaging" in claims["scope"]
            token = f"ya29.test-{len(self.tokens_issued)}"
            self.tokens_issued.append(token)
            return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        assert path == f"/v1/projects/{self.PROJECT}/messages:send", path
        bearer = headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.tokens_issued or bearer in self.unauthorized:
            return 401, _google_error(401, "UNAUTHENTICATED", None)
        message = json.loads(body)["message"]
        pending = self.errors.get(message["token"])
        if pending:
            status, code = pending.pop(0)
            return status, _google_error(status, _STATUS_NAMES[status], code or None)
        self.sent.append(message)
        return 200, {"name": f"projects/{self.PROJECT}/messages/{len(self.sent)}"}


_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    401: "UNAUTHENTICATED",
}


def _google_error(status: int, status_name: str, fcm_code: str | None) -> dict:
    error = {"code": status, "message": "scripted", "status": status_name}
    if fcm_code:
        error["details"] = [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}
        ]
    return {"error": error}
