"""The API under load: each scenario beside a bare Flask endpoint, in one run, on PostgreSQL.

    make bench                                    # load (or reuse) the data, serve, measure
    .venv/bin/python bench/api.py [--duration 8] [--save-as before] [--reload]

Two databases on the ``BENCH_DATABASE_URL`` server (default
``postgresql://postgres@127.0.0.1:5432/postgres``): ``dvc_bench`` with 100,000 citizens and
1,000,000 dossiers, and ``dvc_bench_small`` with 1,000 citizens and 10,000 dossiers, both on the
demo catalog (``flask db upgrade``, ``flask seed-demo``, then ``bench/api_data.py``). A database
whose comment says it already has that shape is migrated and reused; ``--reload`` loads afresh.
Redis DB 8 of ``BENCH_REDIS_URL`` holds rate limits and jobs, and is emptied first.

gunicorn (``backend/gunicorn_conf.py``, as shipped, but 2 workers x 4 threads for 2 cores)
serves the API on each database and ``bench/bare.py`` with the same settings and worker class.
wrk (``apt-get install wrk``) runs each scenario from its own process over loopback in slices
taking turns with the bare endpoint, so the ratio of their requests per second compares the
two under the same machine load; the workers' CPU time per request (from /proc) is printed
too. Responses with another status than the scenario's are counted apart. Results go to
``bench/results/<name>.json`` and ``.md``; when ``before.json`` is there, the Markdown puts
before and after side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import api_data  # bench/, next to this script
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from backend import create_app
from backend.extensions import db

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The tests' device key (DPoP proofs) and software authenticator (passkeys) play the phones.
sys.path.insert(0, str(ROOT))
from tests.helpers.dpop import DeviceKey  # noqa: E402
from tests.helpers.passkeys import SoftAuthenticator  # noqa: E402

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
BIN = Path(sys.executable).parent
WORKERS, THREADS, CONNECTIONS = 2, 4, 8
ROUNDS = 4  # slices per scenario, taking turns with the bare endpoint
LARGE = ("dvc_bench", 100_000, 1_000_000, 8301)
SMALL = ("dvc_bench_small", 1_000, 10_000, 8302)
BARE_PORT = 8300
FLOOR_PORT = 8303
FLOOR = "floor: token + 1 SELECT + JSON"
# A national peak, in requests a second per scenario (README "Capacity"): 2 million citizens
# using the app on a peak day, each refreshing 3 times, opening 4 dossiers, polling 4 unchanged,
# listing theirs twice, searching 3 times, submitting once in five days and signing in with a
# phone code once a week; 50,000 officers opening their queue 100 times a day. 15 % of a
# day's requests fall in its busiest hour, and the busiest second of it carries twice the mean.
PEAK_RPS = {
    "token refresh": 500,
    "dossier detail": 660,
    "dossier detail 304": 660,
    "my dossiers": 330,
    "procedure search": 500,
    "submit": 33,
    "OTP verify": 25,
    "officer work queue": 420,
}
SEARCHES = ["khai sinh", "chung thuc", "ket hon", "dang ky", "giay phep", "cu tru"]
DEVICE = {"name": "Bench phone", "platform": "android", "app_version": "1.0.0"}


@dataclass
class Scenario:
    name: str
    port: int
    lines: list[str]
    mode: str = "cycle"
    expected: int | tuple[int, ...] = 200


def _url(database: str) -> str:
    url = make_url(SERVER).set(drivername="postgresql+psycopg", database=database)
    return url.render_as_string(hide_password=False)


def _env(database: str, instance: Path) -> dict[str, str]:
    """The settings every process of the run shares (gunicorn, flask CLI, this script)."""
    return os.environ | {
        "FLASK_APP": "backend",
        "APP_ENV": "production",
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "DATABASE_URL": _url(database),
        "REDIS_URL": REDIS,
        "SIGNING_KEYS_FILE": str(instance / "signing_keys.json"),
        "STORAGE_URL": f"file://{instance / 'blobs'}",
        "LOG_LEVEL": "WARNING",
        # One machine plays every phone: per-IP limits would measure the limiter, not the API.
        "RATELIMIT_OTP_PER_IP": "1000000/minute",
        "RATELIMIT_VERIFY_PER_IP": "1000000/minute",
        "RATELIMIT_VERIFY_PER_DEVICE": "1000000/minute",
        "RATELIMIT_TOKEN_PER_IP": "1000000/minute",
        "RATELIMIT_PASSKEY_PER_IP": "1000000/minute",
        # The software authenticator answers as a page of http://localhost:5000 would.
        "WEBAUTHN_RP_ID": "localhost",
        "WEBAUTHN_ORIGINS": "http://localhost:5000",
        # DPoP proofs are made before the run, minutes before they are sent: a wider iat
        # window lets them through; what a proof check costs does not depend on it.
        "DPOP_IAT_PAST_SECONDS": "3600",
    }


def _admin(statement: str) -> None:
    engine = sa.create_engine(_url(make_url(SERVER).database or "postgres"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(statement)
    engine.dispose()


def _comment(database: str) -> str | None:
    engine = sa.create_engine(_url(make_url(SERVER).database or "postgres"))
    with engine.connect() as connection:
        exists = connection.exec_driver_sql(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (database,),
        ).first()
    engine.dispose()
    return None if exists is None else (exists[0] or "")


def prepare_database(spec, instance: Path, *, reload: bool) -> str:
    """Migrate and reuse the database when it has the shape, else create and fill it."""
    database, citizens, dossiers, _ = spec
    env = _env(database, instance)
    shape = api_data.shape(citizens, dossiers)
    started = time.perf_counter()
    if not reload and _comment(database) == shape:
        subprocess.run([BIN / "flask", "db", "upgrade"], env=env, check=True, capture_output=True)
        return f"{database}: reused ({time.perf_counter() - started:.1f} s)"
    _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{database}"')
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([BIN / "flask", *command], env=env, check=True, capture_output=True)
    app = _app(database, instance)
    with app.app_context():
        api_data.load(citizens=citizens, dossiers=dossiers)
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        db.engine.dispose()
    _admin(f"COMMENT ON DATABASE \"{database}\" IS '{shape}'")
    return f"{database}: loaded {dossiers:,} dossiers in {time.perf_counter() - started:.1f} s"


def _app(database: str, instance: Path):
    # This script's own app loads millions of rows a statement at a time, longer than the
    # statement timeout a request gets; the API it serves keeps the shipped one.
    environ = _env(database, instance) | {"DATABASE_STATEMENT_TIMEOUT_MS": "0"}
    previous = dict(os.environ)
    os.environ.update(environ)
    try:
        return create_app()
    finally:
        os.environ.clear()
        os.environ.update(previous)


def loaded_app(prefix: str):
    """(app, settings, instance folder) on the loaded ``dvc_bench``, with signing keys of its
    own: for the scripts that profile or serve the API on the bench's data."""
    instance = Path(tempfile.mkdtemp(prefix=prefix))
    env = _env(LARGE[0], instance)
    subprocess.run([BIN / "flask", "keys", "rotate"], env=env, check=True)
    return _app(LARGE[0], instance), env, instance


def serve(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [
        BIN / "gunicorn",
        "-c",
        "python:backend.gunicorn_conf",
        "--workers",
        str(WORKERS),
        "--threads",
        str(THREADS),
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(HERE if app.startswith(("bare", "floor")) else ROOT),
        app,
    ]
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_ready(server: subprocess.Popen, port: int, path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"nothing answers on port {port}")


def worker_rss(master: subprocess.Popen) -> list[int]:
    """RSS in KiB of each gunicorn worker (the master's children), from /proc."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if fields.get("PPid", "").strip() == str(master.pid):
            sizes.append(int(fields["VmRSS"].split()[0]))
    return sorted(sizes)


def _line(method, path, token="", etag="", idem="", body=None, encoding="", dpop="") -> str:
    """One request for replay.lua; with ``dpop`` (a proof) the token goes as ``DPoP``."""
    fields = [method, path, token, etag, idem, json.dumps(body) if body else "", encoding, dpop]
    return "\t".join(fields)


def _etag(port: int, token: str, dossier_id: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/dossiers/{dossier_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["ETag"]


def reads(database: str, port: int, instance: Path) -> dict[str, list[str]]:
    """Requests that may be repeated: searches, dossier views, lists, the officer's queue."""
    app = _app(database, instance)
    with app.app_context():
        citizens = api_data.sign_in_citizens(api_data.citizens_with_dossiers(2000))
        by_id = {c.account_id: c for c in citizens}
        pairs = api_data.own_dossiers(list(by_id), per_citizen=2)
        officer = api_data.sign_in_officer()
        expired = api_data.expired_tokens(citizens[:100])
        db.session.remove()
        db.engine.dispose()
    views = [(by_id[c].access_token, d) for c, d in pairs]
    return {
        "detail_bad": _one_in_ten_bad(views, expired),
        "detail": [_line("GET", f"/api/v1/dossiers/{d}", t) for t, d in views],
        # The same reads, on the floor (bench/floor.py): token, one SELECT, json.dumps.
        "floor": [_line("GET", f"/floor/{d}", t) for t, d in views],
        "detail_304": [
            _line("GET", f"/api/v1/dossiers/{d}", t, _etag(port, t, d)) for t, d in views[:300]
        ],
        "mine": [_line("GET", "/api/v1/dossiers", c.access_token) for c in citizens],
        # The same lists, compressed as a phone asks for them (what compression costs the CPU).
        **{
            f"mine_{encoding}": [
                _line("GET", "/api/v1/dossiers", c.access_token, encoding=encoding)
                for c in citizens
            ]
            for encoding in ("gzip", "br")
        },
        "queue": [_line("GET", "/api/v1/agency/dossiers", officer.access_token)],
        "search": [_line("GET", "/api/v1/procedures?q=" + q.replace(" ", "%20")) for q in SEARCHES],
    }


def compression_cost(database: str, instance: Path, rounds: int = 2000) -> dict:
    """CPU per answer of compressing one citizen's real "my dossiers" list, as the app does.

    Under load the few tenths of a millisecond that compression costs drown in the machine's
    noise; timed alone on the very body the list scenarios send, with the app's own settings,
    they do not.
    """
    import gzip

    import brotli

    app = _app(database, instance)
    with app.app_context():
        citizen = api_data.sign_in_citizens(api_data.citizens_with_dossiers(1))[0]
        db.session.remove()
    answer = app.test_client().get(
        "/api/v1/dossiers",
        headers={"Authorization": f"Bearer {citizen.access_token}", "Accept-Encoding": "identity"},
    )
    body = answer.get_data()
    config = app.config
    with app.app_context():
        db.engine.dispose()
    encoders = {
        "gzip": lambda: gzip.compress(body, compresslevel=config["COMPRESS_LEVEL"]),
        "br": lambda: brotli.compress(
            body,
            mode=config["COMPRESS_BR_MODE"],
            quality=config["COMPRESS_BR_LEVEL"],
            lgwin=config["COMPRESS_BR_WINDOW"],
            lgblock=config["COMPRESS_BR_BLOCK"],
        ),
    }
    cost = {"body_bytes": len(body)}
    for name, encode in encoders.items():
        started = time.process_time()
        for _ in range(rounds):
            encoded = encode()
        cost[name] = {
            "bytes": len(encoded),
            "cpu_ms": (time.process_time() - started) * 1000 / rounds,
        }
    return cost


def _one_in_ten_bad(views: list[tuple[str, str]], expired: list[str]) -> list[str]:
    """Dossier views, one in ten of them refused: an expired token, a token that is not one,
    a dossier that does not exist, another citizen's dossier (401, 401, 404, 404)."""
    lines = []
    for number, (token, dossier_id) in enumerate(views):
        bad = [
            (expired[number % len(expired)], dossier_id),
            ("not-a-token", dossier_id),
            (token, "01J00000000000000000000000"),
            (token, views[(number + 1) % len(views)][1]),
        ][number // 10 % 4]
        token, dossier_id = bad if number % 10 == 0 else (token, dossier_id)
        lines.append(_line("GET", f"/api/v1/dossiers/{dossier_id}", token))
    return lines


def single_use(database: str, instance: Path, count: int) -> dict[str, list[str]]:
    """Requests that each spend something: phone codes, refresh tokens, drafts to submit."""
    app = _app(database, instance)
    with app.app_context():
        # Other citizens than the readers' (the first 3,000): a fifth and half way in.
        citizens = LARGE[1]
        challenges = api_data.prepare_challenges(count, offset=citizens // 5)
        refresh = api_data.prepare_refresh_tokens(
            api_data.citizens_with_dossiers(count + citizens // 2)[citizens // 2 :]
        )
        submitters = api_data.sign_in_citizens(api_data.citizens_with_dossiers(3000)[2000:])
        drafts = api_data.prepare_drafts(submitters, count)
        passkey_sign_ins = api_data.prepare_passkey_sign_ins(
            api_data.citizens_with_dossiers(3 * citizens // 10 + count)[3 * citizens // 10 :],
            SoftAuthenticator,
        )
        keys = [DeviceKey() for _ in range(200)]
        bound = api_data.sign_in_bound_citizens(api_data.citizens_with_dossiers(3200)[3000:], keys)
        key_of = {c.account_id: (c, key) for c, key in zip(bound, keys, strict=True)}
        views = api_data.own_dossiers(list(key_of), per_citizen=2)
        db.session.remove()
        db.engine.dispose()
    base = f"http://127.0.0.1:{LARGE[3]}"
    bound_views = []
    for number in range(count):  # a fresh proof each: a jti is good once
        account_id, dossier_id = views[number % len(views)]
        caller, key = key_of[account_id]
        path = f"/api/v1/dossiers/{dossier_id}"
        proof = key.proof("GET", path, token=caller.access_token, base=base)
        bound_views.append(_line("GET", path, caller.access_token, dpop=proof))
    return {
        "passkey": [
            _line("POST", "/api/v1/auth/passkey/verify", body={**answer, "device": DEVICE})
            for answer in passkey_sign_ins
        ],
        "detail_dpop": bound_views,
        "otp_verify": [
            _line(
                "POST",
                "/api/v1/auth/otp/verify",
                body={"challenge_id": c, "code": code, "device": DEVICE},
            )
            for c, code in challenges
        ],
        "refresh": [
            _line(
                "POST",
                "/api/v1/auth/token",
                body={"grant_type": "refresh_token", "refresh_token": token},
            )
            for token in refresh
        ],
        "submit": [
            _line("POST", f"/api/v1/dossiers/{d}/submit", c.access_token, idem="idem")
            for c, d in drafts
        ],
    }


def worker_cpu_seconds(master: subprocess.Popen) -> float:
    """User + system CPU time of the gunicorn workers (the master's children), from /proc."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(master.pid):  # fields[1] is the parent pid
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def backing_cpu_seconds() -> dict[str, float]:
    """CPU time so far of what serves the API behind it: the PostgreSQL backends connected to
    the bench databases (from /proc) and the Redis server (its INFO)."""
    import redis

    ticks = 0
    names = {LARGE[0].encode(), SMALL[0].encode()}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            words = (entry / "cmdline").read_bytes().split()
            if len(words) < 4 or words[0] != b"postgres:" or words[3] not in names:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks += int(fields[11]) + int(fields[12])
    info = redis.Redis.from_url(REDIS).info("cpu")
    return {
        "postgres": ticks / os.sysconf("SC_CLK_TCK"),
        "redis": info["used_cpu_user"] + info["used_cpu_sys"],
    }


def wrk(
    port: int,
    lines: list[str],
    *,
    mode: str,
    expected: int | tuple[int, ...],
    seconds: int,
    work: Path,
    server: subprocess.Popen | None = None,
):
    requests = work / f"requests-{port}-{time.monotonic_ns()}.tsv"
    requests.write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = [
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "replay.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        str(requests),
        mode,
        "1",
        ",".join(map(str, expected)) if isinstance(expected, tuple) else str(expected),
    ]
    cpu = worker_cpu_seconds(server) if server else 0.0
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(output.split("RESULT ", 1)[1].splitlines()[0])
    result["cpu_s"] = (worker_cpu_seconds(server) - cpu) if server else 0.0
    return result


def _totals(slices: list[dict]) -> dict:
    """The slices summed up; latencies and CPU are None when no request finished in time."""
    requests = sum(s["requests"] for s in slices)
    seconds = sum(s["duration_us"] for s in slices) / 1e6
    answered = [s for s in slices if s["requests"]] or [{"p50_us": None, "p99_us": None}]
    return {
        "requests": requests,
        "rps": requests / seconds,
        "expected": sum(s["expected"] for s in slices),
        "unexpected": sum(s["unexpected"] for s in slices),
        "exhausted_threads": sum(s["exhausted_threads"] for s in slices),
        "socket_errors": sum(s["socket_errors"] for s in slices),
        "p50_us": statistics.median(s["p50_us"] for s in answered) if requests else None,
        "p99_us": statistics.median(s["p99_us"] for s in answered) if requests else None,
        "max_us": max(s["max_us"] for s in slices),
        "cpu_ms_per_request": 1000 * sum(s["cpu_s"] for s in slices) / requests
        if requests
        else None,
    }


def measure(scenario: Scenario, seconds: int, work: Path, servers: dict, floor: list[str]) -> dict:
    """ROUNDS slices of the bare endpoint, of the floor and of the scenario, taking turns, so
    that all three see the same machine (other processes come and go on a shared one).
    Single-use requests are dealt out to the slices so that none is sent twice."""
    bare_slices, floor_slices, slices = [], [], []
    backing = dict.fromkeys(("postgres", "redis"), 0.0)
    piece = max(1, seconds // ROUNDS)
    for number in range(ROUNDS):
        lines = scenario.lines
        if scenario.mode == "once":
            lines = lines[number::ROUNDS]
        bare_slices.append(_slice(BARE_PORT, [_line("GET", "/bare")], piece, work, servers))
        if scenario.port != FLOOR_PORT:
            floor_slices.append(_slice(FLOOR_PORT, floor, piece, work, servers))
        before = backing_cpu_seconds()
        slices.append(
            _slice(
                scenario.port,
                lines,
                piece,
                work,
                servers,
                mode=scenario.mode,
                expected=scenario.expected,
            )
        )
        after = backing_cpu_seconds()
        for name in backing:
            backing[name] += after[name] - before[name]
    run, bare = _totals(slices), _totals(bare_slices)
    below = _totals(floor_slices) if floor_slices else run
    for name, spent in backing.items():
        run[f"{name}_cpu_ms_per_request"] = (
            spent * 1000 / run["requests"] if run["requests"] else None
        )
    run["bare_rps"] = bare["rps"]
    run["bare_cpu_ms_per_request"] = bare["cpu_ms_per_request"]
    run["ratio"] = run["rps"] / bare["rps"]
    run["floor_rps"] = below["rps"]
    run["floor_cpu_ms_per_request"] = below["cpu_ms_per_request"]
    run["ratio_to_floor"] = run["rps"] / below["rps"]
    return run


def _slice(port, lines, seconds, work, servers, *, mode="cycle", expected=200) -> dict:
    return wrk(
        port,
        lines,
        mode=mode,
        expected=expected,
        seconds=seconds,
        work=work,
        server=servers[port],
    )


def scenarios(large: dict, small: dict, spent: dict) -> list[tuple[str, Scenario]]:
    big, little = LARGE[3], SMALL[3]
    return [
        (FLOOR, Scenario("floor", FLOOR_PORT, large["floor"])),
        ("OTP verify", Scenario("otp_verify", big, spent["otp_verify"], "once")),
        ("passkey sign-in", Scenario("passkey", big, spent["passkey"], "once")),
        ("token refresh", Scenario("refresh", big, spent["refresh"], "once")),
        ("procedure search", Scenario("search", big, large["search"])),
        ("dossier detail", Scenario("detail", big, large["detail"])),
        ("dossier detail with DPoP", Scenario("detail_dpop", big, spent["detail_dpop"], "once")),
        ("dossier detail 304", Scenario("detail_304", big, large["detail_304"], expected=304)),
        (
            "dossier detail, 10 % bad",
            Scenario("detail_bad", big, large["detail_bad"], expected=(200, 401, 404)),
        ),
        ("my dossiers", Scenario("mine", big, large["mine"])),
        ("my dossiers, gzip", Scenario("mine_gzip", big, large["mine_gzip"])),
        ("my dossiers, brotli", Scenario("mine_br", big, large["mine_br"])),
        ("submit", Scenario("submit", big, spent["submit"], "once")),
        ("officer work queue", Scenario("queue", big, large["queue"])),
        ("my dossiers @10k", Scenario("mine", little, small["mine"])),
        ("dossier detail @10k", Scenario("detail", little, small["detail"])),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--spend", type=int, default=8000, help="codes, tokens, drafts per run")
    parser.add_argument("--save-as", default="api", help="bench/results/<name>.json and .md")
    parser.add_argument("--reload", action="store_true", help="load the databases again")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is missing: `apt-get install -y wrk` (Debian/Ubuntu), then run again.")
        return 2
    started = time.perf_counter()
    instance = Path(tempfile.mkdtemp(prefix="dvc-bench-api-"))
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    # As in production: the signing key exists before any server starts.
    env = _env(LARGE[0], instance)
    subprocess.run([BIN / "flask", "keys", "rotate"], env=env, check=True, capture_output=True)
    for spec in (LARGE, SMALL):
        print(prepare_database(spec, instance, reload=args.reload), flush=True)
    loaded = time.perf_counter() - started

    logs = HERE / "results" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    servers = {
        "bare": serve("bare:app", BARE_PORT, _env(LARGE[0], instance), logs / "bare.log"),
        "floor": serve("floor:app", FLOOR_PORT, _env(LARGE[0], instance), logs / "floor.log"),
        "large": serve("backend.wsgi:app", LARGE[3], _env(LARGE[0], instance), logs / "large.log"),
        "small": serve("backend.wsgi:app", SMALL[3], _env(SMALL[0], instance), logs / "small.log"),
    }
    try:
        wait_ready(servers["bare"], BARE_PORT, "/bare")
        wait_ready(servers["floor"], FLOOR_PORT, "/ready")
        wait_ready(servers["large"], LARGE[3], "/healthz")
        wait_ready(servers["small"], SMALL[3], "/healthz")
        large = reads(LARGE[0], LARGE[3], instance)
        small = reads(SMALL[0], SMALL[3], instance)
        # Warm every worker's caches and connections before anything is timed.
        for port, lines in ((LARGE[3], large), (SMALL[3], small)):
            for key in ("search", "detail", "mine", "queue"):
                wrk(port, lines[key], mode="cycle", expected=200, seconds=1, work=instance)
        wrk(FLOOR_PORT, large["floor"], mode="cycle", expected=200, seconds=1, work=instance)
        spent = single_use(LARGE[0], instance, args.spend)
        results = {}
        for title, scenario in scenarios(large, small, spent):
            by_port = {
                BARE_PORT: servers["bare"],
                FLOOR_PORT: servers["floor"],
                LARGE[3]: servers["large"],
                SMALL[3]: servers["small"],
            }
            results[title] = measure(scenario, args.duration, instance, by_port, large["floor"])
            print(f"  {title:<22} {results[title]['rps']:8.1f} req/s", flush=True)
        memory = {name: worker_rss(server) for name, server in servers.items()}
        compression = compression_cost(LARGE[0], instance)
    finally:
        for server in servers.values():
            server.send_signal(signal.SIGTERM)
        for server in servers.values():
            server.wait(timeout=30)
    report = {
        "settings": {
            "workers": WORKERS,
            "threads": THREADS,
            "connections": CONNECTIONS,
            "duration_s": args.duration,
            "cpus": os.cpu_count(),
        },
        "scenarios": results,
        "scale": {
            "my dossiers": results["my dossiers"]["rps"] / results["my dossiers @10k"]["rps"],
            "dossier detail": results["dossier detail"]["rps"]
            / results["dossier detail @10k"]["rps"],
        },
        "worker_rss_kib": memory,
        "compression": compression,
        "load_seconds": round(loaded, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    out = HERE / "results"
    (out / f"{args.save_as}.json").write_text(json.dumps(report, indent=1) + "\n")
    before_path = out / "before.json"
    before = None
    if args.save_as != "before" and before_path.exists():
        before = json.loads(before_path.read_text())
    text = markdown(report, before)
    (out / f"{args.save_as}.md").write_text(text)
    print()
    print(text)
    return 0


def _ms(microseconds: float | None) -> str:
    return "none in time" if microseconds is None else f"{microseconds / 1000:.1f}"


def _cpu(result: dict, of: str = "") -> str:
    value = result.get(f"{of}_cpu_ms_per_request" if of else "cpu_ms_per_request")
    return "-" if value is None else f"{value:.2f}"


def _times_bare(result: dict) -> str:
    cpu, bare = result.get("cpu_ms_per_request"), result.get("bare_cpu_ms_per_request")
    return "-" if not cpu or not bare else f"{cpu / bare:.1f}x"


def _times_floor(result: dict) -> str:
    cpu, floor = result.get("cpu_ms_per_request"), result.get("floor_cpu_ms_per_request")
    return "-" if not cpu or not floor else f"{cpu / floor:.1f}x"


def _row(title: str, result: dict) -> str:
    return (
        f"| {title} | {result['rps']:,.1f} | {_ms(result['p50_us'])} | "
        f"{_ms(result['p99_us'])} | {result['ratio']:.3f} | {result['ratio_to_floor']:.2f} | "
        f"{_cpu(result)} | {_times_bare(result)} | {_times_floor(result)} | "
        f"{_cpu(result, 'postgres')} | {_cpu(result, 'redis')} | {result['unexpected']} |"
    )


def capacity(scenarios: dict) -> list[str]:
    """Cores each part needs at the national peak of ``PEAK_RPS``, from this run's CPU figures."""
    parts = {"API workers": "cpu", "PostgreSQL": "postgres_cpu", "Redis": "redis_cpu"}
    cores = dict.fromkeys(parts, 0.0)
    for title, rate in PEAK_RPS.items():
        result = scenarios.get(title, {})
        for part, key in parts.items():
            cores[part] += rate * (result.get(f"{key}_ms_per_request") or 0.0) / 1000
    return [
        "",
        f'Capacity at the national peak of README "Capacity" ({sum(PEAK_RPS.values()):,} '
        "requests a second in this run's mix), from this run's CPU per request: "
        + ", ".join(f"{part} {value:.1f} cores" for part, value in cores.items())
        + " (busy, before headroom; cores of this machine).",
    ]


def markdown(report: dict, before: dict | None) -> str:
    settings = report["settings"]
    bare_cpu = statistics.median(r["bare_cpu_ms_per_request"] for r in report["scenarios"].values())
    lines = [
        "# API under load",
        "",
        f"gunicorn (backend/gunicorn_conf.py), {settings['workers']} workers x "
        f"{settings['threads']} threads; "
        f"wrk 1 thread, {settings['connections']} connections, {settings['duration_s']} s per "
        f"scenario in {ROUNDS} slices taking turns with the bare endpoint and the floor, "
        f"{settings['cpus']} "
        "CPUs shared by server, database and wrk. Ratio = requests/s over the bare Flask "
        "endpoint's in the same slices. p50 and p99: median over the slices. CPU = user + "
        "system time of the gunicorn workers per request (PostgreSQL's and Redis's in their own "
        "columns); the bare "
        f"endpoint takes about {bare_cpu:.2f} ms. Other = responses with another status than "
        "the scenario's (200; 304 for the conditional view; 200, 401 or 404 for the mix with "
        "one bad request in ten). None in time: no answer came "
        "back within a slice. The floor (bench/floor.py) is the cheapest authenticated read: "
        "an ES256 token checked with joserfc, one SELECT by primary key through a SQLAlchemy "
        "pool, json.dumps, served by the same gunicorn settings; ratio to floor = the "
        "scenario's requests/s over the floor's in the same rounds. CPU x bare and CPU x floor "
        "= the workers' CPU per request over the bare endpoint's and the floor's in the same "
        "rounds. PostgreSQL and Redis: the CPU per request "
        "of the database backends serving the bench databases and of the Redis server, in the "
        "scenario's slices. Each CPU column is also the cores that part needs per 1,000 "
        "requests a second (1 ms a request x 1,000 a second = 1 core).",
        "",
        "| scenario | req/s | p50 ms | p99 ms | ratio to bare | ratio to floor | CPU ms/req "
        "| CPU x bare | CPU x floor | PostgreSQL ms/req | Redis ms/req | other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [_row(title, result) for title, result in report["scenarios"].items()]
    scale = report["scale"]
    lines += [
        "",
        "Scale, req/s at 1,000,000 dossiers / at 10,000: "
        f"my dossiers {scale['my dossiers']:.2f}, dossier detail {scale['dossier detail']:.2f}.",
        "",
        "RSS per gunicorn worker after the run (MiB): "
        + ", ".join(
            f"{name} {' / '.join(f'{kib / 1024:.0f}' for kib in sizes)}"
            for name, sizes in report["worker_rss_kib"].items()
        )
        + ".",
        "",
        f"Data ready in {report['load_seconds']} s; whole run {report['wall_seconds']} s.",
    ]
    lines += capacity(report["scenarios"])
    if "compression" in report:
        cost = report["compression"]
        lines += [
            "",
            f'Compression of one "my dossiers" answer ({cost["body_bytes"]:,} bytes of JSON), '
            "with the app's settings, CPU per answer timed alone: "
            + ", ".join(
                f"{name} {cost[name]['bytes']:,} bytes in {cost[name]['cpu_ms']:.3f} ms"
                for name in ("gzip", "br")
            )
            + f" (the bare endpoint's whole request: {bare_cpu:.2f} ms).",
        ]
    if before:
        lines += [
            "",
            "## Before and after the fixes",
            "",
            "Before: `bench/results/before.json`, the same bench on the code before the fixes. "
            "Ratios to the bare endpoint compare across runs; CPU per request is the steadiest "
            "figure on a shared machine.",
            "",
            "| scenario | ratio before | ratio after | after / before "
            "| p99 ms before | p99 ms after | CPU ms before | CPU ms after |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for title, after in report["scenarios"].items():
            old = before["scenarios"].get(title)
            if old is None:
                continue
            gain = f"{after['ratio'] / old['ratio']:.2f}x" if old["ratio"] else "from 0"
            lines.append(
                f"| {title} | {old['ratio']:.3f} | {after['ratio']:.3f} | {gain} | "
                f"{_ms(old['p99_us'])} | {_ms(after['p99_us'])} | {_cpu(old)} | {_cpu(after)} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
