"""Real processes to break on loopback: gunicorn, redis-server, a PostgreSQL cluster of our own.

Each starts in its own process group and is killed with it (``Processes``); the deployment
settings every process of one test shares come from ``app_env``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import flask_migrate
import pytest
import redis
import requests

from backend import config, create_app
from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Account, AccountKind
from backend.identity.services import sessions
from tests.helpers.dossiers import BIRTH, BIRTH_DATA
from tests.helpers.signin import DEVICE
from tests.helpers.stacks import (
    IN_CI,
    ROOT,
)
from tests.helpers.work import unit_of_work
from tests.storage.samples import png

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing capability is a failure)")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float,
    what: str,
    every: float = 0.05,
    explain: Callable[[], object] | None = None,
):
    """Poll until ``condition()`` is truthy; its value, or AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f" (last seen: {explain()})" if explain else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(every)


@dataclass
class Processes:
    """Processes started by one test, each the leader of its own process group."""

    logs: Path
    started: list[subprocess.Popen] = field(default_factory=list)

    def start(self, name: str, args: list[str], *, env=None, user: str | None = None):
        log = (self.logs / f"{name}-{len(self.started)}.log").open("wb")
        if user is not None:
            args = ["runuser", "-u", user, "--", *args]
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        process.log = log.name
        self.started.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it died on its own meanwhile
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def kill_all(self) -> None:
        for process in reversed(self.started):
            self.kill(process)


def log_tail(process: subprocess.Popen, size: int = 3000) -> str:
    return Path(process.log).read_text(errors="replace")[-size:]


@dataclass
class RedisServer:
    processes: Processes
    port: int
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = self.processes.start(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
            ],
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return client.ping()
            except redis.RedisError:
                assert self.process.poll() is None, log_tail(self.process)
                return False

        wait_for(answers, timeout=10, what="redis-server to answer")
        client.close()

    def stop(self) -> None:
        """Gone at once, like a crashed or restarted server (nothing was saved)."""
        self.processes.kill(self.process)

    def freeze(self) -> None:
        """Still accepting connections, never answering: an overloaded or wedged server."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def ensure_running(self) -> None:
        """Answering again if a test failed while it was stopped or frozen."""
        if self.process.poll() is not None:
            self.start()
        else:
            self.thaw()


def app_env(*, database_url: str, redis_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment every process of one deployment shares (API, workers, sweeper)."""
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "failure-test-secret-key-not-for-production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(instance),
        "SIGNING_KEYS_FILE": str(instance / "signing_keys.json"),
        "NOTIFY_DELIVERY": "queue",
        "SMS_CHANNEL": "file",
        "PUSH_CHANNEL": "file",
        "EMAIL_CHANNEL": "off",
        "LOG_LEVEL": "WARNING",
        # One client machine sends every request here; the limits are tested elsewhere.
        "RATELIMIT_OTP_PER_IP": "10000/minute",
        "RATELIMIT_VERIFY_PER_IP": "10000/minute",
        "RATELIMIT_TOKEN_PER_IP": "10000/minute",
        **extra,
    }


def in_process_app(env: dict[str, str]):
    """The same deployment, in this process, to prepare data and read the database."""
    return create_app(config.load(env["INSTANCE_PATH"], env))


def migrate_and_seed(app) -> None:
    """Migrate to head, load the demo catalog and make the signing keys, as a deploy does."""
    from backend.catalog.cli import DEMO_CATALOG
    from backend.catalog.services import import_catalog
    from backend.identity import tokens

    with unit_of_work(app):
        flask_migrate.upgrade()
        import_catalog(document=json.loads(DEMO_CATALOG.read_text(encoding="utf-8")))
        tokens.keys()  # written to SIGNING_KEYS_FILE for every process to share


@dataclass
class Gunicorn:
    processes: Processes
    env: dict[str, str]
    workers: int = 2
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        self.process = self.processes.start(
            "gunicorn",
            [
                sys.executable, "-m", "gunicorn",
                "-c", "python:backend.gunicorn_conf",
                "--workers", str(self.workers),
                "--threads", "4",
                "--bind", f"127.0.0.1:{self.port}",
                "--graceful-timeout", "2",
                "backend.wsgi:app",
            ],
            env={**os.environ, **self.env},
        )  # fmt: skip
        wait_for(lambda: len(self.worker_pids()) == self.workers, timeout=30, what="workers")

        def ready() -> bool:
            assert self.process.poll() is None, log_tail(self.process)
            try:
                return requests.get(f"{self.url}/readyz", timeout=5).status_code == 200
            except requests.RequestException:  # still booting
                return False

        wait_for(ready, timeout=30, what="gunicorn to answer /readyz")

    def worker_pids(self) -> list[int]:
        """The master's live children (the workers), from /proc."""
        return [pid for pid, parent in _processes() if parent == self.process.pid]


def _processes() -> Iterator[tuple[int, int]]:
    """(pid, parent pid) of every live process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z":  # a zombie is dead; its master has not reaped it yet
            yield int(entry.name), int(fields[1])


@dataclass
class PostgresCluster:
    """A server of the test's own, run by ``pg_ctl`` as the ``postgres`` user when root."""

    directory: Path
    port: int
    runs_as: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self.runs_as, str(PG_BIN / "pg_ctl"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def start(self) -> None:
        # fsync off: the operating system keeps what a killed server wrote. Commits still wait
        # for the WAL write, or an immediate stop would lose the last ones, as a crash does.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
            " -c fsync=off -c full_page_writes=off"
        )
        self._run(
            "start", "-w", "-t", "30", "-D", str(self.directory / "data"),
            "-l", str(self.directory / "server.log"), "-o", options,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("stop", "-w", "-t", "30", "-m", mode, "-D", str(self.directory / "data"))

    def running(self) -> bool:
        return (self.directory / "data" / "postmaster.pid").exists()

    def _server_pids(self) -> list[int]:
        """The postmaster first, then its children (backends, checkpointer, ...)."""
        postmaster = int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
        return [postmaster] + [pid for pid, parent in _processes() if parent == postmaster]

    def freeze(self) -> None:
        """Every server process stopped: the kernel still accepts and acknowledges, nobody
        answers (a paused VM, a hung disk)."""
        self._frozen = self._server_pids()
        for pid in self._frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(getattr(self, "_frozen", [])):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._frozen = []

    def ensure_running(self) -> None:
        """Started again if a test failed while it was stopped."""
        if not self.running():
            self.start()


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def citizens_signed_in(app, phones: list[str]) -> list[dict[str, str]]:
    """Citizens with a session each, made through the same service as a phone sign-in; the
    Authorization header of each."""
    now = utcnow()
    headers = []
    with unit_of_work(app):
        for phone in phones:
            account = Account(kind=AccountKind.CITIZEN, phone=phone, created_at=now)
            db.session.add(account)
            db.session.flush()
            pair = sessions.start_session(
                account=account, acr=0, amr=["otp"], mfa_complete=True, device=DEVICE, now=now
            )
            headers.append({"Authorization": f"Bearer {pair.access_token}"})
        db.session.commit()
    return headers


def draft_over_http(base: str, headers: dict[str, str]) -> str:
    """A birth registration draft with its certificate attached, through a served API."""
    with requests.Session() as http:
        http.headers.update(headers)
        body = {"procedure_code": BIRTH, "data": BIRTH_DATA}
        draft = http.post(f"{base}/api/v1/dossiers", json=body, timeout=30)
        assert draft.status_code == 201, draft.text
        dossier_id = draft.json()["id"]
        attached = http.post(
            f"{base}/api/v1/dossiers/{dossier_id}/attachments/giay_chung_sinh",
            files={"file": ("chung-sinh.png", png(), "image/png")},
            timeout=30,
        )
        assert attached.status_code == 201, attached.text
    return dossier_id


def python_output(script: str, instance: Path) -> str:
    """The last line ``script`` prints, run by this interpreter in a process of its own, from
    the repository, on the embedded default with ``instance`` as its instance folder."""
    environment = {**os.environ, "APP_ENV": "development", "INSTANCE_PATH": str(instance)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]
