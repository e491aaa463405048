"""``flask sweep`` removes orphaned blobs, at most once an hour per sweeper process.

Listing a bucket is not free, and an orphan can wait: the other housekeeping runs every pass,
this only every ``STORAGE_SWEEP_SECONDS``. Several sweepers may list at the same time; deleting
an orphan twice is harmless.
"""

from __future__ import annotations

import threading
from datetime import datetime

from flask import current_app

from backend.notifications.sweeps import register_sweep_task
from backend.storage import orphans

_lock = threading.Lock()


def sweep_orphans(*, now: datetime) -> int:
    every = current_app.config["STORAGE_SWEEP_SECONDS"]
    with _lock:
        last = current_app.extensions.get("storage_swept_at")
        if last is not None and (now - last).total_seconds() < every:
            return 0
        current_app.extensions["storage_swept_at"] = now
    return orphans.sweep(now=now)


register_sweep_task("orphan_blobs", sweep_orphans)
