"""How many notifications per second one worker delivers, next to a loop that only marks rows.

    make bench                       # or: .venv/bin/python bench/notifications.py [-n 1000]
    .venv/bin/python bench/notifications.py --channel http   # a loopback HTTP SMS gateway

Runs on the production stack: a throw-away PostgreSQL database (BENCH_DATABASE_URL, default
the test server) and Redis (BENCH_REDIS_URL, else TEST_REDIS_URL, else DB 0), on a queue of its
own name that it deletes afterwards. It queues N SMS notifications the way ``notify`` does (RQ
jobs of NOTIFY_BATCH_SIZE ids), lets one RQ worker deliver them to the file channel (or an HTTP
gateway on 127.0.0.1), then puts the same rows back and times a bare loop that marks each row
delivered with one commit, as the worker does; twice each, alternating, keeping each one's best
round. The ratio is the cost of claiming, rendering, sending and queueing over the database
writes every delivery needs anyway.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from rq import SimpleWorker
from sqlalchemy.engine import make_url

from backend import create_app
from backend.db import utcnow
from backend.extensions import db
from backend.identity.models import Account, AccountKind
from backend.notifications import dispatch, jobs
from backend.notifications.models import Channel, Notification, NotificationStatus
from backend.notifications.services import notify

SERVER = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS = (
    os.environ.get("BENCH_REDIS_URL")
    or os.environ.get("TEST_REDIS_URL")
    or "redis://127.0.0.1:6379/0"
)
DOSSIER = {"code": "000.00.17.H56-261130-0001", "dossier_id": "01JDOSSIER0000000000000001"}


class _Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"id": self.headers.get("Idempotency-Key")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _database(server: sa.URL, name: str, *, create: bool) -> None:
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if create:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        else:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def _queue_notifications(count: int) -> list[str]:
    account = Account(kind=AccountKind.CITIZEN, phone="+84912345678")
    db.session.add(account)
    db.session.commit()
    ids: list[str] = []
    for start in range(0, count, 500):
        for _ in range(min(500, count - start)):
            ids += [row.id for row in notify(account.id, "dossier.fees_due", DOSSIER)]
        db.session.commit()  # after each commit, its rows are queued as RQ jobs
    return ids


def _put_back(ids: list[str]) -> None:
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id.in_(ids))
        .values(status=NotificationStatus.CREATED, delivered_at=None, attempts=0)
    )
    db.session.commit()


def _delivered() -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(
            Notification.channel == Channel.SMS,
            Notification.status == NotificationStatus.DELIVERED,
        )
    )


def _bare_loop(ids: list[str]) -> None:
    """Only the writes: each row marked delivered and committed, one at a time."""
    for notification_id in ids:
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id == notification_id)
            .values(status=NotificationStatus.DELIVERED, delivered_at=utcnow())
        )
        db.session.commit()


def run(count: int, channel: str, rounds: int) -> None:
    server = make_url(SERVER).set(drivername="postgresql+psycopg")
    name = f"dvc_bench_{uuid.uuid4().hex[:10]}"
    _database(server, name, create=True)
    instance = Path(tempfile.mkdtemp(prefix="dvc-bench-"))
    gateway = None
    config = {
        "APP_ENV": "testing",
        "SECRET_KEY": "bench-secret-key",
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": server.set(database=name).render_as_string(False),
        "REDIS_URL": REDIS,
        "NOTIFY_DELIVERY": "queue",
        "NOTIFY_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
        "PUSH_CHANNEL": "off",
        "LOG_LEVEL": "WARNING",
    }
    if channel == "http":
        gateway = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
        gateway.daemon_threads = True
        threading.Thread(target=gateway.serve_forever, daemon=True).start()
        config |= {
            "SMS_CHANNEL": "http",
            "SMS_GATEWAY_URL": f"http://127.0.0.1:{gateway.server_port}/",
        }
    app = create_app(config)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            everything = _queue_notifications(count)
            sms = db.session.scalars(
                sa.select(Notification.id).where(Notification.channel == Channel.SMS)
            ).all()
            queue = jobs.queue()
            worker_rates, bare_rates = [], []
            for round_number in range(rounds):
                if round_number:
                    _put_back(sms)
                    dispatch.enqueue(list(sms))
                started = time.perf_counter()
                SimpleWorker([queue], connection=queue.connection).work(
                    burst=True, logging_level="WARNING"
                )
                worker_rates.append(len(sms) / (time.perf_counter() - started))
                assert _delivered() == len(sms), "the worker left rows undelivered"
                _put_back(sms)
                started = time.perf_counter()
                _bare_loop(sms)
                bare_rates.append(len(sms) / (time.perf_counter() - started))
            queue.delete(delete_jobs=True)
            db.session.remove()
            db.engine.dispose()
        # The best round of each: the machine's noise only ever slows a round down.
        worker_rate, bare_rate = max(worker_rates), max(bare_rates)
        print(
            f"notifications: {len(sms)} SMS ({len(everything)} rows with the inbox), "
            f"channel {channel}, PostgreSQL + Redis on loopback, best of {rounds} rounds"
        )
        print(f"  one RQ worker, claim + render + send + record : {worker_rate:8.0f} /s")
        print(f"  bare loop, mark delivered + commit per row    : {bare_rate:8.0f} /s")
        print(f"  worker / bare                                 : {worker_rate / bare_rate:8.2f}")
    finally:
        if gateway is not None:
            gateway.shutdown()
        _database(server, name, create=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1000, help="SMS notifications")
    parser.add_argument("--channel", choices=["file", "http"], default="file")
    parser.add_argument("--rounds", type=int, default=2, help="each timed this many times")
    arguments = parser.parse_args()
    run(arguments.count, arguments.channel, arguments.rounds)


if __name__ == "__main__":
    main()
