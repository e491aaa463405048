"""Real processes to break: gunicorn, `flask worker`, and throwaway PostgreSQL and Redis servers.

These tests do not run on the two stacks of tests/conftest.py: each builds what it breaks on
loopback (a fresh database on the test PostgreSQL, its own redis-server, a cluster of its own
when the database itself is stopped), so they run once, on free ports, and stay safe beside
other pytest processes. Every process starts in its own process group and is killed with that
group when its test module ends, whether the tests passed or not.
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
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import flask_migrate
import pytest
import redis
import requests

from backend import config, create_app
from backend.extensions import db
from tests.conftest import (
    IN_CI,
    ROOT,
    STACKS,
    create_postgres_database,
    drop_postgres_database,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")


# The stack fixtures of tests/conftest.py would run each test twice and clean a shared Redis
# database under the servers started here; these tests need neither.
@pytest.fixture(autouse=True)
def _isolated() -> None:
    return None


@pytest.fixture(autouse=True, scope="module")
def _stack_markers() -> None:
    if "postgres" not in STACKS:  # TEST_STACKS=sqlite: only the embedded half was asked for
        pytest.skip("runs the production stack (PostgreSQL + Redis) only")


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


@pytest.fixture(scope="module")
def processes(tmp_path_factory) -> Iterator[Processes]:
    logs = tmp_path_factory.mktemp("logs")
    started = Processes(logs)
    yield started
    started.kill_all()


# --- Redis ------------------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def redis_server(processes, tmp_path_factory) -> RedisServer:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed")
    server = RedisServer(processes, free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    return server


# --- the application, its database and its settings --------------------------------------


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

    with app.app_context():
        flask_migrate.upgrade()
        import_catalog(document=json.loads(DEMO_CATALOG.read_text(encoding="utf-8")))
        tokens.keys()  # written to SIGNING_KEYS_FILE for every process to share
        db.session.remove()


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh database on the test PostgreSQL, dropped afterwards."""
    url = create_postgres_database("dvc_failure")
    yield url
    drop_postgres_database(url)


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


@pytest.fixture(scope="module")
def gunicorn(processes) -> Callable[..., Gunicorn]:
    def _start(env: dict[str, str], *, workers: int = 2) -> Gunicorn:
        server = Gunicorn(processes, env, workers=workers)
        server.start()
        return server

    return _start


# --- a PostgreSQL cluster of our own, to stop and start ----------------------------------


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


@pytest.fixture(scope="module")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """initdb in a directory the ``postgres`` OS user owns; the servers refuse to run as root."""
    if not (PG_BIN / "initdb").exists():
        unavailable(f"PostgreSQL 15 server binaries are not in {PG_BIN}")
    runs_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _user_exists("postgres")):
        unavailable("running as root without runuser or a postgres user to run the server as")
    directory = Path(tempfile.mkdtemp(prefix="dvc-failure-pg-"))
    try:
        if runs_as:
            shutil.chown(directory, "postgres", "postgres")
        initdb = subprocess.run(
            [*runs_as, str(PG_BIN / "initdb"), "-D", str(directory / "data"),
             "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert initdb.returncode == 0, initdb.stdout + initdb.stderr
        cluster = PostgresCluster(directory, free_port(), runs_as)
        cluster.start()
        yield cluster
    finally:
        if (directory / "data" / "postmaster.pid").exists():
            subprocess.run(
                [*runs_as, str(PG_BIN / "pg_ctl"), "stop", "-m", "immediate",
                 "-D", str(directory / "data")],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
