"""RQ workers and the sweeper: ``flask worker`` and ``flask sweep``.

``flask worker`` runs an RQ worker on the notifications queue; start as many as the load needs,
on any host that reaches PostgreSQL and Redis. It runs jobs in its own process instead of
forking one per job (RQ's ``SimpleWorker``): a delivery job is short and waits on the network,
and keeping the process warm keeps its database pool, HTTP connections and FCM token.
``flask sweep --every 30`` is the scheduler: retries whose backoff has elapsed, rows a dead
worker left behind, purges and other domains' periodic tasks (backend.notifications.sweeps).
"""

from __future__ import annotations

import json
import logging
import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from rq import SimpleWorker

from backend.db import utcnow
from backend.extensions import db, get_redis
from backend.notifications import jobs, sweeps

log = logging.getLogger(__name__)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@click.option("--max-jobs", type=int, default=None, help="Stop after this many jobs.")
@with_appcontext
def worker_command(burst: bool, max_jobs: int | None) -> None:
    """Deliver notifications from the queue (RQ worker; needs REDIS_URL)."""
    if get_redis() is None:
        raise click.ClickException("REDIS_URL is not set: without it notifications go inline")
    notifications = jobs.queue()
    worker = SimpleWorker([notifications], connection=notifications.connection)
    worker.work(burst=burst, max_jobs=max_jobs, logging_level=current_app.config["LOG_LEVEL"])


@click.command("sweep")
@click.option(
    "--every", type=float, default=None, help="Sweep again every this many seconds, until stopped."
)
@with_appcontext
def sweep_command(every: float | None) -> None:
    """Retry due notifications, take back stuck ones, purge expired rows (once, or in a loop)."""
    while True:
        try:
            report = sweeps.sweep(now=utcnow())
            click.echo(json.dumps(report, sort_keys=True))
        except Exception:
            if not every:
                raise
            log.exception("sweep failed; trying again next time")
        finally:
            db.session.remove()
        if not every:
            return
        time.sleep(every)


def init_app(app: Flask) -> None:
    app.cli.add_command(worker_command)
    app.cli.add_command(sweep_command)
