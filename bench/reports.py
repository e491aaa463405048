"""The quality report on 10,000 and on 1,000,000 dossiers, side by side, on PostgreSQL.

    make bench                                  # both sizes, then the times and their ratio
    .venv/bin/python bench/reports.py --sizes 10000,1000000 --runs 5 [--explain] [--keep]

Needs a PostgreSQL server: ``BENCH_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``) names the server, and one database per size
is created there, migrated to head, filled and dropped at the end (``--keep`` keeps them).

What is loaded: the demo catalog plus 40 communes under Hạ Long, each with a procedure of its
own, so a province of 47 agencies and 50 procedures; dossiers received over 18 months (July 2025
to December 2026) with the mix of channels, outcomes, deadlines, e-ID levels and ratings a
province sees, and one petition per hundred dossiers. Rows go in with COPY, then the indexes
are used as the migration made them and ``VACUUM ANALYZE`` runs, as it would on a live system.

What is timed: ``backend.reports.indicators.build`` (the queries and the summing-up behind
``GET /api/v1/reports/quality``) for the whole province over 2026, and for one commune over
2026, as the median of ``--runs`` runs after one warm-up run.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

import flask_migrate
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from backend import create_app
from backend.agencies.models import Agency
from backend.agencies.services import with_descendants
from backend.catalog.cli import DEMO_CATALOG
from backend.catalog.models import Procedure, ProcedureVersion
from backend.catalog.services import import_catalog
from backend.db import new_id
from backend.extensions import db
from backend.reports import indicators
from backend.reports.periods import day_bounds, months_between

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PROVINCE, HA_LONG = "000.00.00.H56", "000.01.00.H56"
COMMUNE = "001.01.41.H56"  # one of the bench communes
PERIOD = (date(2026, 1, 1), date(2026, 12, 31))
FIRST_RECEIPT = datetime(2025, 7, 1, tzinfo=UTC)
RECEIPT_SPAN = (datetime(2027, 1, 1, tzinfo=UTC) - FIRST_RECEIPT).total_seconds()
NOW = datetime(2027, 1, 15, 3, 0, tzinfo=UTC)
DAY = 8 * 3600
EXTRA_COMMUNES = 40
BATCH = 50_000

# status: (weight, decided, finished, agency work ended)
OUTCOMES = {
    "returned": (58, True, True, True),
    "decided": (5, True, False, True),
    "refused": (3, False, True, True),
    "withdrawn": (2, False, True, False),
    "stopped": (1, False, True, True),
    "processing": (12, False, False, False),
    "accepted": (6, False, False, False),
    "submitted": (6, False, False, False),
    "supplement_requested": (4, False, False, False),
    "fees_due": (3, False, False, False),
}
DOSSIER_COLUMNS = (
    "id",
    "code",
    "procedure_id",
    "procedure_version_id",
    "agency_id",
    "citizen_id",
    "channel",
    "status",
    "data",
    "verifier_digests",
    "submitted_acr",
    "version",
    "submitted_at",
    "due_at",
    "decided_at",
    "finished_at",
    "office_seconds_spent",
    "supplement_requests",
    "created_at",
    "updated_at",
)


def bench_catalog() -> dict:
    """The demo catalog and 40 more communes, each with a partial procedure of its own."""
    document = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
    template = next(p for p in document["procedures"] if p["code"] == "2.000815")
    for number in range(1, EXTRA_COMMUNES + 1):
        code = f"{number:03d}.01.41.H56"
        document["agencies"].append(
            {
                "code": code,
                "name": f"Ủy ban nhân dân xã {number}",
                "level": "commune",
                "parent": HA_LONG,
            }
        )
        procedure = copy.deepcopy(template)
        procedure.update(
            code=f"3.{number:06d}", agency=code, name=f"Chứng thực bản sao (xã {number})"
        )
        document["procedures"].append(procedure)
    return document


def dossier_rows(count: int, procedures, citizens, rng: random.Random):
    statuses = list(OUTCOMES)
    weights = [OUTCOMES[s][0] for s in statuses]
    for _ in range(count):
        procedure_id, version_id, agency_id, days = rng.choice(procedures)
        received = FIRST_RECEIPT + timedelta(seconds=rng.random() * RECEIPT_SPAN)
        online = rng.random() < 0.45
        status = rng.choices(statuses, weights)[0]
        _, decided, finished, ended = OUTCOMES[status]
        due = received + timedelta(days=days * 7 / 5)
        took = timedelta(days=rng.uniform(0.2, days * 1.6))
        decided_at = received + took if decided else None
        finished_at = (decided_at or received + took) + timedelta(days=1) if finished else None
        yield (
            new_id(),
            None,
            procedure_id,
            version_id,
            agency_id,
            rng.choice(citizens) if online else None,
            "online" if online else rng.choice(("counter", "counter", "counter", "post")),
            status,
            "{}",
            "[]",
            rng.choice((0, 1, 1, 2, 2, 2)) if online else None,
            3,
            received,
            due,
            decided_at,
            finished_at,
            int(took.total_seconds() / 3) if ended else None,
            0,
            received,
            finished_at or decided_at or received,
        )


def _copy(cursor, table: str, columns: tuple[str, ...], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
        for row in rows:
            out.write_row(row)


def citizen_rows(citizens: list[str]):
    for number, account_id in enumerate(citizens):
        phone = f"+8491{number:07d}"
        yield account_id, "citizen", "active", phone, "vi", False, 0, FIRST_RECEIPT, FIRST_RECEIPT


def rating_rows(rated: list[tuple], rng: random.Random):
    """About 30 % of the returned online dossiers, rated mostly well."""
    for dossier_id, citizen_id, agency_id, procedure_id, received, finished_at in rated:
        scores = [rng.choice((2, 3, 4, 4, 5, 5)) for _ in range(4)]
        yield (
            new_id(),
            dossier_id,
            citizen_id,
            agency_id,
            procedure_id,
            received,
            *scores,
            finished_at,
        )


def petition_rows(count: int, procedures, rng: random.Random):
    for _ in range(count):
        procedure_id, _, agency_id, _ = rng.choice(procedures)
        received = FIRST_RECEIPT + timedelta(seconds=rng.random() * RECEIPT_SPAN)
        answer_due = received + timedelta(days=21)
        answered = received + timedelta(days=rng.uniform(1, 28))
        if answered > NOW:
            status, answered, due = "processing", None, answer_due
        else:
            status, due = "answered", None
        yield (
            new_id(),
            agency_id,
            procedure_id,
            "delay",
            "Chậm",
            "Chậm trả kết quả",
            status,
            received,
            due,
            received + timedelta(days=2),
            answer_due,
            answered,
            1,
            received,
        )


RATING_COLUMNS = (
    "id",
    "dossier_id",
    "citizen_id",
    "agency_id",
    "procedure_id",
    "submitted_at",
    "time",
    "staff_attitude",
    "clarity",
    "online_ease",
    "created_at",
)
PETITION_COLUMNS = (
    "id",
    "agency_id",
    "procedure_id",
    "category",
    "title",
    "text",
    "status",
    "received_at",
    "due_at",
    "refuse_due_at",
    "answer_due_at",
    "answered_at",
    "version",
    "updated_at",
)
ACCOUNT_COLUMNS = (
    "id",
    "kind",
    "status",
    "phone",
    "preferred_language",
    "identity_verified",
    "assurance_level",
    "created_at",
    "updated_at",
)


def load(url: str, size: int, seed: int) -> float:
    """Fill a fresh database; returns the seconds it took (generation, COPY, VACUUM ANALYZE)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    app = _app(url)
    with app.app_context():
        flask_migrate.upgrade()
        import_catalog(document=bench_catalog())
        versions = {v.procedure_id: v.id for v in db.session.scalars(sa.select(ProcedureVersion))}
        procedures = [
            (p.id, versions[p.id], p.agency_id, p.draft["processing_time"]["amount"])
            for p in db.session.scalars(sa.select(Procedure))
            if p.id in versions
        ]
        citizens = [new_id() for _ in range(2000)]
        rated = []

        def dossiers_noting_the_rated():
            for row in dossier_rows(size, procedures, citizens, rng):
                if row[5] is not None and row[7] == "returned" and rng.random() < 0.3:
                    rated.append((row[0], row[5], row[4], row[2], row[12], row[15]))
                yield row

        with db.session.connection().connection.dbapi_connection.cursor() as cursor:
            _copy(cursor, "accounts", ACCOUNT_COLUMNS, citizen_rows(citizens))
            _copy(cursor, "dossiers", DOSSIER_COLUMNS, dossiers_noting_the_rated())
            _copy(cursor, "dossier_ratings", RATING_COLUMNS, rating_rows(rated, rng))
            _copy(cursor, "feedback", PETITION_COLUMNS, petition_rows(size // 100, procedures, rng))
        db.session.commit()
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        db.engine.dispose()
    return time.perf_counter() - started


def _app(url: str):
    return create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "bench-secret-key-not-for-production",
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="dvc-bench-"),
            "SQLALCHEMY_DATABASE_URI": url,
            "LOG_LEVEL": "WARNING",
            # Loading a million rows takes longer than the statement timeout a request gets.
            "DATABASE_STATEMENT_TIMEOUT_MS": 0,
        }
    )


def time_report(url: str, agency_code: str, runs: int) -> tuple[float, int]:
    """Median seconds of the report over ``runs`` runs after a warm-up, and its dossier count."""
    app = _app(url)
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.code == agency_code))
        scope = with_descendants({agency.id})
        timings = []
        for attempt in range(runs + 1):
            started = time.perf_counter()
            report = indicators.build(
                agency=agency, scope=scope, procedure=None, start=PERIOD[0], end=PERIOD[1], now=NOW
            )
            if attempt:  # the first run warms the caches
                timings.append(time.perf_counter() - started)
            db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    return statistics.median(timings), report.totals.dossiers


def explain(url: str, agency_code: str) -> str:
    app = _app(url)
    with app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.code == agency_code))
        first, after = day_bounds(*PERIOD)
        scope, months = with_descendants({agency.id}), months_between(*PERIOD)
        statement = indicators.dossier_groups(scope, None, first, after, NOW, months)
        compiled = statement.compile(db.engine, compile_kwargs={"render_postcompile": True})
        db.session.execute(sa.text("SET LOCAL work_mem = '256MB'"))  # as the report does
        plan = [
            line
            for (line,) in db.session.connection().exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", compiled.params
            )
        ]
        db.session.remove()
        db.engine.dispose()
    return "\n".join(plan)


def _database(name: str, *, create: bool) -> str:
    server = make_url(SERVER).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000", help="dossier counts, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per report (median)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--explain", action="store_true", help="print the largest query plan")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    databases, results = {}, {}
    try:
        for size in sizes:
            databases[size] = _database(f"dvc_bench_{size}", create=True)
            print(f"loading {size:>9,} dossiers ...", end=" ", flush=True)
            seconds = load(databases[size], size, args.seed)
            print(f"{seconds:6.1f} s", flush=True)
        for size in sizes:
            results[size] = {
                scope: time_report(databases[size], code, args.runs)
                for scope, code in (("province", PROVINCE), ("commune", COMMUNE))
            }
        _print(sizes, results)
        if args.explain:
            print(f"\nplan of the province query on {sizes[-1]:,} dossiers:")
            print(explain(databases[sizes[-1]], PROVINCE))
    finally:
        if not args.keep:
            for size in databases:
                _database(f"dvc_bench_{size}", create=False)
    return 0


def _print(sizes: list[int], results: dict) -> None:
    small, large = sizes[0], sizes[-1]
    print(f"\nquality report over {PERIOD[0]} - {PERIOD[1]}, median of the timed runs")
    print(f"{'scope':<10} {'dossiers in period':>22} {small:>12,} {large:>12,} {'ratio':>8}")
    for scope in ("province", "commune"):
        (fast, counted_small), (slow, counted_large) = results[small][scope], results[large][scope]
        counts = f"{counted_small:,} / {counted_large:,}"
        times = f"{fast * 1000:>9.1f} ms {slow * 1000:>9.1f} ms"
        print(f"{scope:<10} {counts:>22} {times} {slow / fast:>7.1f}x")


if __name__ == "__main__":
    sys.exit(main())
