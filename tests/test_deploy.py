"""The container's own commands, run here: the entrypoint migrates, then gunicorn serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.stacks import ROOT, create_postgres_database, drop_postgres_database

pytestmark = pytest.mark.postgres_only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_entrypoint_migrates_then_gunicorn_serves(stack, tmp_path):
    url = create_postgres_database("dvc_deploy")
    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FLASK_APP": "backend",
        "APP_ENV": "production",
        "SECRET_KEY": "deploy-test-secret",
        "DATABASE_URL": url,
        "REDIS_URL": stack.redis_url,
        "INSTANCE_PATH": str(tmp_path),
    }
    # Production refuses to start without signing keys; an operator makes them once.
    made = subprocess.run(
        ["flask", "keys", "rotate"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    command = [
        str(ROOT / "docker" / "entrypoint.sh"),
        "gunicorn",
        "-c",
        "python:backend.gunicorn_conf",
        "--workers",
        "1",
        "--threads",
        "4",
        "--bind",
        f"127.0.0.1:{port}",
        "backend.wsgi:app",
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            try:
                if get(base + "/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not become ready")
        seeded = subprocess.run(
            ["flask", "seed-demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        assert seeded.returncode == 0, seeded.stderr
        status, body = get(base + "/api/v1/procedures?q=khai%20sinh")
        assert status == 200
        assert b'"1.001193"' in body
    finally:
        server.terminate()
        server.wait(timeout=30)
        drop_postgres_database(url)
