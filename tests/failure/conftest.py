"""Real processes to break: gunicorn, `flask worker`, and throwaway PostgreSQL and Redis servers.

These tests do not run on the two stacks of tests/conftest.py: each builds what it breaks on
loopback (a fresh database on the test PostgreSQL, its own redis-server, a cluster of its own
when the database itself is stopped), so they run once, on free ports, and stay safe beside
other pytest processes. Every process starts in its own process group and is killed with that
group when its test module ends, whether the tests passed or not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.processes import (
    PG_BIN,
    Gunicorn,
    PostgresCluster,
    Processes,
    RedisServer,
    _user_exists,
    free_port,
    unavailable,
)
from tests.helpers.stacks import (
    STACKS,
    create_postgres_database,
    drop_postgres_database,
)


# The stack fixtures of tests/conftest.py would run each test twice and clean a shared Redis
# database under the servers started here; these tests need neither.
@pytest.fixture(autouse=True)
def _isolated() -> None:
    return None


@pytest.fixture(autouse=True, scope="module")
def _stack_markers() -> None:
    if "postgres" not in STACKS:  # TEST_STACKS=sqlite: only the embedded half was asked for
        pytest.skip("runs the production stack (PostgreSQL + Redis) only")


@pytest.fixture(scope="module")
def processes(tmp_path_factory) -> Iterator[Processes]:
    logs = tmp_path_factory.mktemp("logs")
    started = Processes(logs)
    yield started
    started.kill_all()


# --- Redis ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server(processes, tmp_path_factory) -> RedisServer:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed")
    server = RedisServer(processes, free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    return server


# --- the application, its database and its settings --------------------------------------


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh database on the test PostgreSQL, dropped afterwards."""
    url = create_postgres_database("dvc_failure")
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="module")
def gunicorn(processes) -> Callable[..., Gunicorn]:
    def _start(env: dict[str, str], *, workers: int = 2) -> Gunicorn:
        server = Gunicorn(processes, env, workers=workers)
        server.start()
        return server

    return _start


# --- a PostgreSQL cluster of our own, to stop and start ----------------------------------


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
