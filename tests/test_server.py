"""The server we ship answers its own early errors as problem+json, tested on real gunicorn.

gunicorn refuses some requests before the app runs (an over-long request line or header, bytes
that are no HTTP). Sent over a raw socket to gunicorn with the worker class the container uses,
each must come back as ``application/problem+json`` with the right status.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tests.helpers.stacks import ROOT
from tests.test_deploy import free_port

pytestmark = pytest.mark.postgres_only  # one gunicorn for the run is enough


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    instance = tmp_path_factory.mktemp("server")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(INSTANCE_PATH=str(instance), APP_ENV="development")
    command = [
        sys.executable, "-m", "gunicorn",
        "-c", "python:backend.gunicorn_conf",
        "--workers", "1", "--threads", "2",
        "--bind", f"127.0.0.1:{port}",
        "backend.wsgi:app",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            try:
                status, _, _ = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer (the server closes), parse status and headers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {":reason": lines[0].split(" ", 2)[2]}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


HOST = b"Host: x\r\n"
EARLY = {
    "request line over 4094 bytes": (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "header over 8190 bytes": (
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
        431,
    ),
    "NUL in the request line": (b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "0xFF in the request line": (b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "not HTTP at all": (b"HELLO\r\n\r\n", 400),
    "an unknown HTTP version": (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    "too many headers": (
        b"GET / HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-%d: 1\r\n" % n for n in range(120))
        + b"\r\n",
        431,
    ),
    "a method that is no token": (b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "a header name with a space": (b"GET / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n", 400),
    "NUL in a header value": (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    "a folded header": (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", 400),
    "both Content-Length and Transfer-Encoding": (
        b"POST /api/v1/auth/otp HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "an unknown transfer coding": (
        b"POST /api/v1/auth/otp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n",
        501,
    ),
    "an expectation other than 100-continue": (
        b"POST /api/v1/auth/otp HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n"
        b"Content-Length: 2\r\n\r\n{}",
        417,
    ),
}
REASONS = {400: "Bad Request", 414: "Request-URI Too Long", 417: "Expectation Failed"}
REASONS |= {431: "Request Header Fields Too Large", 501: "Not Implemented"}


@pytest.mark.parametrize("name", sorted(EARLY))
def test_an_early_error_is_problem_json(server, name):
    raw, expected = EARLY[name]
    status, headers, body = exchange(server, raw)
    assert status == expected, (status, headers, body[:300])
    assert headers[":reason"] == REASONS[expected]
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == expected and problem["title"] and problem["detail"]
    assert problem["type"].startswith("urn:dvc-mobile:problem:")
    assert problem["request_id"] == headers["x-request-id"]
    assert b"<html" not in body


def test_the_detail_quotes_the_limits(server):
    _, _, body = exchange(server, EARLY["request line over 4094 bytes"][0])
    assert "4094" in json.loads(body)["detail"]
    _, _, body = exchange(server, EARLY["header over 8190 bytes"][0])
    assert "8190" in json.loads(body)["detail"] and "100" in json.loads(body)["detail"]


@pytest.mark.parametrize(
    "chunks",
    [b"zz\r\n{}\r\n0\r\n\r\n", b"2;\x01\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n"],
    ids=["size-not-hex", "control-byte-in-extension", "chunk-without-crlf"],
)
def test_a_broken_chunked_body_is_a_400_problem(server, chunks):
    """gunicorn reads the body while the app does: its refusal reaches the app, which must
    answer it as the client's fault, not as a 500."""
    status, headers, body = exchange(
        server,
        b"POST /api/v1/auth/otp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunks,
    )
    assert status == 400, (status, body[:300])
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["type"].endswith(":unreadable-body")


def test_the_app_still_answers(server):
    status, headers, _ = exchange(server, b"GET /api/v1/nothing HTTP/1.1\r\n" + HOST + b"\r\n")
    assert status == 404 and headers["content-type"] == "application/problem+json"
