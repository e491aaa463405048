"""kill -9 a notification worker (`flask worker`, RQ) in the middle of a batch.

The sweeper takes back the rows it left ``sending``, a new worker sends them, and every
message reaches the file channel's outbox exactly once.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Account, AccountKind
from backend.notifications import sweeps
from backend.notifications.models import Notification, NotificationStatus
from backend.notifications.services import notify
from tests.helpers.processes import app_env, in_process_app, log_tail, migrate_and_seed, wait_for
from tests.helpers.work import unit_of_work

F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, named in the fcntl module from Python 3.12 on
FEES_DUE = {"dossier_id": "01J0000000000000000000TEST", "code": "001.01.00.H56-261130-0001"}


class OutboxPipe:
    """The file channel's outbox as a named pipe: a phone that stops reading, then reads again.

    While the test does not read, the pipe (one page) fills and the worker blocks in the middle
    of its batch, with rows claimed as ``sending``: a deterministic moment to kill it.
    """

    def __init__(self, path):
        os.mkfifo(path)
        self.path = path
        # Read and write: the pipe never reports end-of-file between the worker's writes.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        import fcntl

        fcntl.fcntl(self.fd, F_SETPIPE_SZ, 4096)
        self.lines: list[dict] = []
        self.pause_after: int | None = None
        self._buffer = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        import json

        while not self._stop.is_set():
            if self.pause_after is not None and len(self.lines) >= self.pause_after:
                self._stop.wait(0.01)
                continue
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            try:
                self._buffer += os.read(self.fd, 1024)
            except BlockingIOError:
                continue
            *complete, self._buffer = self._buffer.split(b"\n")
            self.lines += [json.loads(line) for line in complete]

    def pending_bytes(self) -> int:
        import array
        import fcntl
        import termios

        size = array.array("i", [0])
        fcntl.ioctl(self.fd, termios.FIONREAD, size)
        return size[0] + len(self._buffer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self.fd)


def _blocked_writing_to_a_pipe(pid: int) -> bool:
    from pathlib import Path

    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if "pipe_write" in (task / "wchan").read_text():
                return True
        except FileNotFoundError:
            continue
    return False


@pytest.fixture
def outbox_pipe(tmp_path):
    pipe = OutboxPipe(tmp_path / "outbox.fifo")
    yield pipe
    pipe.close()


@pytest.fixture
def queued_deployment(database, redis_server, outbox_pipe, tmp_path):
    env = app_env(
        database_url=database,
        redis_url=redis_server.url,
        instance=tmp_path / "inst",
        SMS_OUTBOX_FILE=str(outbox_pipe.path),
        NOTIFY_BATCH_SIZE="20",
        # The sweeper runs here only once the killed worker is dead: anything still "sending"
        # is its, and rows still "created" are sent by the sweep's jobs too.
        NOTIFY_SENDING_TIMEOUT_SECONDS="0",
        NOTIFY_DISPATCH_GRACE_SECONDS="0",
    )
    app = in_process_app(env)
    migrate_and_seed(app)
    yield env, app
    with unit_of_work(app):
        db.engine.dispose()


def _start_job_worker(processes, env, *args):
    return processes.start(
        "worker",
        [sys.executable, "-m", "flask", "worker", *args],
        env={**os.environ, **env, "FLASK_APP": "backend"},
    )


def _sms_statuses(app) -> dict[str, NotificationStatus]:
    with unit_of_work(app):
        statuses = dict(
            db.session.execute(
                sa.select(Notification.id, Notification.status).where(Notification.channel == "sms")
            ).all()
        )
    return statuses


def test_a_job_worker_killed_mid_batch_delivers_every_message_once(
    queued_deployment, outbox_pipe, processes
):
    env, app = queued_deployment
    with unit_of_work(app):  # an API's commit: 120 SMS rows, queued as 6 jobs of 20
        citizens = [
            Account(kind=AccountKind.CITIZEN, phone=f"+8492{n:07d}", created_at=utcnow())
            for n in range(3)
        ]
        db.session.add_all(citizens)
        db.session.flush()
        ids = [
            notify(citizen.id, "dossier.fees_due", FEES_DUE)[1].id
            for citizen in citizens
            for _ in range(40)
        ]
        db.session.commit()
    assert set(_sms_statuses(app)) == set(ids)

    # Act: the phone stops reading after 30 messages; the worker blocks mid-batch and dies.
    outbox_pipe.pause_after = 30
    doomed = _start_job_worker(processes, env)
    wait_for(
        lambda: _blocked_writing_to_a_pipe(doomed.pid) or doomed.poll() is not None,
        timeout=30,
        what="the worker to block on the full outbox",
    )
    assert doomed.poll() is None, log_tail(doomed)
    processes.kill(doomed)
    left = Counter(_sms_statuses(app).values())
    assert left[NotificationStatus.SENDING] >= 1  # it died holding a batch
    assert left[NotificationStatus.DELIVERED] >= 30

    outbox_pipe.pause_after = None
    with unit_of_work(app):
        report = sweeps.sweep(now=utcnow())
    assert report["reclaimed"] == left[NotificationStatus.SENDING]
    fresh = _start_job_worker(processes, env, "--burst")
    assert fresh.wait(60) == 0, log_tail(fresh)
    wait_for(lambda: outbox_pipe.pending_bytes() == 0, timeout=10, what="the outbox drained")

    # Assert: every message delivered, and written to the outbox exactly once.
    assert set(_sms_statuses(app).values()) == {NotificationStatus.DELIVERED}
    assert Counter(line["id"] for line in outbox_pipe.lines) == dict.fromkeys(ids, 1)
