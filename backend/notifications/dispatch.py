"""Handing committed outbox rows to delivery, and only committed ones.

``notify`` remembers the ids of the rows it added in ``session.info``. When that session's
transaction commits, they are delivered: in this process right away (``NOTIFY_DELIVERY=inline``,
the embedded default), or as RQ jobs (``queue``, whenever Redis is configured). A rollback
forgets them. Rows rolled back inside a savepoint may still be remembered; delivery then finds
no such row and does nothing.

If handing over fails (Redis down, the process killed right after the commit), nothing is lost:
the rows are in the database as ``created`` and the sweeper sends them after
``NOTIFY_DISPATCH_GRACE_SECONDS``.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, has_app_context
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event

from backend.notifications import delivery
from backend.notifications import jobs as notification_jobs
from backend.notifications.services.outbox import PENDING

log = logging.getLogger(__name__)


def deliver_inline(ids: list[str]) -> None:
    """Send now, in this process, in a session of its own (the committed one is finished)."""
    app = current_app._get_current_object()
    with app.app_context():
        delivery.deliver(ids=ids)


def enqueue(ids: list[str] | None = None, *, jobs: int = 1) -> None:
    """RQ jobs for these rows (in batches), or ``jobs`` jobs that each take any due rows."""
    queue = notification_jobs.queue()
    size = current_app.config["NOTIFY_BATCH_SIZE"]
    batches = [ids[i : i + size] for i in range(0, len(ids), size)] if ids else [None] * jobs
    with queue.connection.pipeline() as pipe:
        for batch in batches:
            queue.enqueue(
                notification_jobs.deliver_notifications,
                batch,
                pipeline=pipe,
                **notification_jobs.JOB_OPTIONS,
            )
        pipe.execute()


def _on_commit(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: nothing is committed yet
    ids = session.info.pop(PENDING, None)
    if not ids or not has_app_context():
        return
    try:
        if current_app.config["NOTIFY_DELIVERY"] == "inline":
            deliver_inline(ids)
        else:
            enqueue(ids)
    except Exception:
        # The commit stands; the sweeper delivers what was not handed over.
        log.exception("notifications committed but not handed to delivery", extra={"n": len(ids)})


def _on_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)


def init_app(app: Flask) -> None:
    if not event.contains(FlaskSession, "after_commit", _on_commit):
        event.listen(FlaskSession, "after_commit", _on_commit)
        event.listen(FlaskSession, "after_soft_rollback", _on_rollback)
