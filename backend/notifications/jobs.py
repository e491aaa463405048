"""The notification queue and the job its workers run (``flask worker``, in ``worker``).

A job runs in the app context the worker gives it: ``flask worker`` builds the app once and
keeps it warm, with its database pool, HTTP connections and FCM token.
"""

from __future__ import annotations

from flask import current_app
from rq import Queue

from backend.extensions import get_redis
from backend.notifications import delivery

JOB_OPTIONS = {
    # Below NOTIFY_SENDING_TIMEOUT_SECONDS, so the sweeper never takes back a row a live job
    # is still allowed to be sending.
    "job_timeout": 120,
    "result_ttl": 0,
    "failure_ttl": 7 * 86400,
}


def queue() -> Queue:
    connection = get_redis()
    if connection is None:
        raise RuntimeError("the notification queue needs REDIS_URL")
    return Queue(current_app.config["NOTIFY_QUEUE"], connection=connection)


def deliver_notifications(ids: list[str] | None = None) -> dict:
    """The RQ job: send these rows, or a batch of any that are due."""
    app = current_app._get_current_object()
    with app.app_context():
        report = delivery.deliver(ids=ids)
        return {"claimed": report.claimed, **report.outcomes}
