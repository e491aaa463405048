"""The README's walk, run as written against `make run`: a newcomer's first minute stays true.

The shell blocks of "Try it" are taken from README.md and run with bash against `make run` on
a free port (the blocks' `:5000` and `instance/` point at this run's port and instance
directory). Nothing else is assumed on the machine than the README says: curl and python3.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.helpers.stacks import ROOT
from tests.test_deploy import free_port

# It starts its own SQLite server: once per run is enough (the PostgreSQL stack's turn).
pytestmark = pytest.mark.postgres_only


def walk() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Try it") : text.index("## API conventions")]
    return "\n".join(re.findall(r"```sh\n(.*?)```", section, flags=re.S))


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (loopback)
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def test_the_readme_walk_runs_as_written(tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "APP_ENV", "FLASK_"))
    }
    env.update(INSTANCE_PATH=str(tmp_path), PORT=str(port))
    server = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not _ready(f"http://127.0.0.1:{port}/healthz"):
            assert server.poll() is None, server.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "make run did not serve"
            time.sleep(0.3)
        script = walk().replace(":5000", f":{port}").replace("instance/", f"{tmp_path}/")
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ran.returncode == 0, (ran.stdout[-2000:], ran.stderr[-2000:])
        lines = ran.stdout.splitlines()
        assert "304" in lines, lines
        assert "+84912345678" in lines, lines
        assert "giay_chung_sinh" in lines, lines
        assert lines[-2] == "submit" and lines[-1], lines
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
