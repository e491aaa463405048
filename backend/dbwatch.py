"""A bound on how long a request waits for PostgreSQL, even when the server cannot keep it.

PostgreSQL cancels a statement that runs past ``statement_timeout``, a lock wait past
``lock_timeout`` and an idle transaction past ``idle_in_transaction_session_timeout`` (set on
every connection, ``extensions.tune_postgres``). A server that is frozen (stopped by a signal,
a VM paused, a disk hung) keeps none of them, and its kernel still acknowledges our packets,
so TCP keepalives never give up either: a request would wait for as long as the freeze lasts.

So while a request waits on the database (a statement, a commit or rollback, the pool's
liveness ping), one thread per process holds a deadline for it. Past
``DATABASE_REQUEST_DEADLINE_SECONDS``, it shuts the connection's socket down under the driver:
the waiting call fails with an ``OperationalError`` like any lost connection, the pool drops
that connection, and the request answers 503 problem+json (``errors.py``). CLI commands and
workers are not watched: a migration may rightly take minutes.

The deadline (20 s by default) is longer than the statement timeout (15 s) on purpose: a
server that is only slow cancels its own statement first, with a clear error and the
connection kept, whereas a cut leaves the statement running on the server. So what gets cut
is a wait that a server able to cancel would already have ended.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


class Watchdog:
    """Deadlines of the connections now waiting on the server, and the thread that keeps them."""

    def __init__(self) -> None:
        self._forget()
        # A forked child (a gunicorn worker, an RQ work horse) starts with no thread and no
        # deadline of its parent's, and with a lock nobody holds.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._changed = threading.Condition()
        self._due: dict[int, tuple[float, Any]] = {}
        self._thread: threading.Thread | None = None
        # When the thread will look next, and how long it sleeps when nothing is due: the
        # shortest deadline it was given. A deadline set later than the next look needs no
        # wake-up, so a request's statements do not each wake the thread.
        self._wake_at = math.inf
        self._idle = math.inf

    def watch(self, dbapi_connection: Any, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()
            self._due[id(dbapi_connection)] = (deadline, dbapi_connection)
            self._idle = min(self._idle, seconds)
            if deadline < self._wake_at:
                self._changed.notify()

    def release(self, dbapi_connection: Any) -> None:
        with self._changed:
            self._due.pop(id(dbapi_connection), None)

    @contextmanager
    def watching(self, dbapi_connection: Any, seconds: float):
        self.watch(dbapi_connection, seconds)
        try:
            yield
        finally:
            self.release(dbapi_connection)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                late = [key for key, (deadline, _) in self._due.items() if deadline <= now]
                # Cut with the lock held: a wait that ends meanwhile releases its connection
                # only after the cut, so the pool never lends out a connection that a cut
                # meant for an earlier wait would then break.
                for key in late:
                    cut(self._due.pop(key)[1])
                if not late:
                    self._wake_at = min(
                        (d for d, _ in self._due.values()), default=now + self._idle
                    )
                    self._changed.wait(max(0.01, self._wake_at - now))


def cut(dbapi_connection: Any) -> None:
    """Shut the connection's socket down: the driver's pending read returns at once."""
    try:
        fd = dbapi_connection.pgconn.socket
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        log.warning("database did not answer in time: connection cut")
    except Exception as error:  # already closed, or not a socket: nothing left to wait on
        log.warning("could not cut a database connection: %s", type(error).__name__)


watchdog = Watchdog()
