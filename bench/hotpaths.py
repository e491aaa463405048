"""Where a hot path's CPU goes: cProfile over the real app, in one process, on the bench data.

    .venv/bin/python bench/hotpaths.py [--requests 2000] [--save-as NAME] [scenario ...]

Runs after ``make bench`` has loaded ``dvc_bench`` (1,000,000 dossiers): the same settings as
the served API (production, PostgreSQL, Redis DB 8), the same signed-in citizens, requests
sent through Flask's WSGI test client so no server or network is in the profile. Prints, per
scenario, the CPU per request measured around the loop and the 20 functions with the most
time of their own; ``--save-as after`` writes them to ``bench/results/profiles/after/``.
``--by-part`` adds where each request's Python calls go: counted under the outermost function
of the application's own code they ran in (a hook, the session check, a view), else under
Flask's step, so a scenario's parts line up against the floor's.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

import api  # bench/, next to this script
import api_data
import sqlalchemy as sa

from backend.extensions import db

RESULTS = api.HERE / "results" / "profiles"
SORT, LIMIT = "tottime", 20
# The code checks first: their codes, made before any scenario runs, live OTP_TTL_SECONDS
# (300 s), and on a busy machine the other scenarios together take longer than that.
SCENARIOS = (
    "otp_verify",
    "floor",
    "detail",
    "detail_304",
    "mine",
    "search",
    "queue",
    "submit",
    "refresh",
)
ONCE = ("submit", "refresh", "otp_verify")  # each request spends what it sends
PARTED = 200  # requests counted by part: the counts do not depend on the machine


def _requests(app, count: int) -> dict[str, list[dict]]:
    with app.app_context():
        citizens = api_data.sign_in_citizens(api_data.citizens_with_dossiers(200))
        by_id = {c.account_id: c for c in citizens}
        pairs = api_data.own_dossiers(list(by_id), per_citizen=2)
        officer = api_data.sign_in_officer()
        # A draft is submitted once: one for each request, the warm-up's, the timed loops' and
        # the one whose statements --sql lists, and those --by-part counts.
        submitters = api_data.sign_in_citizens(api_data.citizens_with_dossiers(3000)[2000:])
        drafts = api_data.prepare_drafts(submitters, 51 + 2 * count + PARTED)
        # Phones and sessions the served bench does not use (it takes a fifth and half way in).
        loaded = api.LARGE[1]
        challenges = api_data.prepare_challenges(51 + 2 * count + PARTED, offset=7 * loaded // 10)
        refresh = api_data.prepare_refresh_tokens(
            api_data.citizens_with_dossiers(8 * loaded // 10 + 51 + 2 * count + PARTED)[
                8 * loaded // 10 :
            ]
        )
        db.session.remove()
    client = app.test_client()

    def auth(token: str, **headers) -> dict:
        return {"Authorization": f"Bearer {token}", **headers}

    views = [(by_id[c].access_token, d) for c, d in pairs]
    etags = {
        d: client.get(f"/api/v1/dossiers/{d}", headers=auth(t)).headers["ETag"] for t, d in views
    }
    return {
        "detail": [{"path": f"/api/v1/dossiers/{d}", "headers": auth(t)} for t, d in views],
        "detail_304": [
            {"path": f"/api/v1/dossiers/{d}", "headers": auth(t, **{"If-None-Match": etags[d]})}
            for t, d in views
        ],
        "mine": [{"path": "/api/v1/dossiers", "headers": auth(c.access_token)} for c in citizens],
        "search": [{"path": "/api/v1/procedures", "query_string": {"q": q}} for q in api.SEARCHES],
        "queue": [{"path": "/api/v1/agency/dossiers", "headers": auth(officer.access_token)}],
        "submit": [
            {
                "method": "POST",
                "path": f"/api/v1/dossiers/{d}/submit",
                "headers": auth(c.access_token, **{"Idempotency-Key": f"submit-{d}"}),
            }
            for c, d in drafts
        ],
        "refresh": [
            {
                "method": "POST",
                "path": "/api/v1/auth/token",
                "json": {"grant_type": "refresh_token", "refresh_token": token},
            }
            for token in refresh
        ],
        "otp_verify": [
            {
                "method": "POST",
                "path": "/api/v1/auth/otp/verify",
                "json": {"challenge_id": c, "code": code, "device": api.DEVICE},
            }
            for c, code in challenges
        ],
    }


def profile(
    app, engine, requests: list[dict], count: int, once: bool, expected: int
) -> tuple[float, int, float, str]:
    """CPU per request under the profiler, Python calls and SQL round trips per request, the
    table. Calls and round trips do not depend on how busy the machine is; CPU time does."""
    client = app.test_client()
    statements, answers = [], {}
    count_one = lambda *_: statements.append(1)  # noqa: E731
    for request in requests[:50]:  # warm: pools, caches, compiled statements
        response = client.open(**request)
        response.close()
        answers[response.status_code] = answers.get(response.status_code, 0) + 1
    profiler = cProfile.Profile()
    sa.event.listen(engine, "before_cursor_execute", count_one)
    started = time.thread_time()
    profiler.enable()
    for number in range(count):
        response = client.open(**requests[50 + number if once else number % len(requests)])
        response.close()
        answers[response.status_code] = answers.get(response.status_code, 0) + 1
    profiler.disable()
    # A profile of refusals would explain nothing; nor one whose first requests failed.
    if set(answers) != {expected}:
        raise SystemExit(f"expected only {expected}, got {answers}")
    spent = (time.thread_time() - started) / count * 1000
    sa.event.remove(engine, "before_cursor_execute", count_one)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats(SORT).print_stats(LIMIT)
    return spent, stats.total_calls // count, len(statements) / count, text.getvalue()


OWN = (str(api.ROOT / "backend"), str(api.HERE / "floor.py"))
PARTS = 14  # lines of --by-part; the rest are summed


def _part(frame) -> str:
    """What a call belongs to: the outermost of our own frames inside ``Flask.wsgi_app``, else
    the step ``wsgi_app`` called (request context, dispatch, teardown), else outside Flask."""
    own, inner = None, None
    while frame is not None:
        code = frame.f_code
        if code.co_name == "wsgi_app" and code.co_filename.endswith("flask/app.py"):
            if own is not None:
                return own
            return "flask: " + (inner.f_code.co_name if inner is not None else "wsgi_app")
        if code.co_filename.startswith(OWN):
            own = f"{Path(code.co_filename).stem}.{code.co_name}"
        inner, frame = frame, frame.f_back
    return "outside Flask (test client, WSGI middleware)"


def by_part(app, requests: list[dict], count: int, first: int, once: bool) -> str:
    """Python calls a request under each part (``_part``), from ``count`` requests."""
    client = app.test_client()
    parts: Counter[str] = Counter()

    def note(frame, event, _arg) -> None:
        if event == "call":
            parts[_part(frame)] += 1

    for number in range(count):
        request = requests[first + number if once else number % len(requests)]
        sys.setprofile(note)
        try:
            client.open(**request).close()
        finally:
            sys.setprofile(None)
    total = sum(parts.values())
    lines = [f"\nPython function calls a request by part ({total / count:,.0f} in all):\n"]
    shown = parts.most_common(PARTS)
    rest = total - sum(n for _, n in shown)
    lines += [f"  {n / count:8,.0f}  {name}\n" for name, n in shown]
    if rest:
        lines.append(f"  {rest / count:8,.0f}  (the rest)\n")
    return "".join(lines)


def one_request_sql(app, engine, request: dict) -> str:
    """The statements one request sends, each on a line (its first 110 characters)."""
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        sent.append(" ".join(statement.split())[:110])

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        app.test_client().open(**request).close()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return "\nstatements of one request:\n" + "".join(f"  {line}\n" for line in sent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", metavar="scenario", help=", ".join(SCENARIOS))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--save-as", metavar="NAME", help="write bench/results/profiles/NAME/")
    parser.add_argument("--sql", action="store_true", help="also list one request's statements")
    parser.add_argument(
        "--by-part", action="store_true", help="also count each request's calls by part"
    )
    args = parser.parse_args(argv)
    app, env, _instance = api.loaded_app("dvc-profile-")
    with app.app_context():
        engine = db.engine
    requests = _requests(app, args.requests)
    # The floor (bench/floor.py) reads its settings when imported: the same as the app's.
    os.environ.update(env)
    import floor

    apps = {"floor": (floor.app, floor._ENGINE)}
    requests["floor"] = [
        {"path": "/floor/" + r["path"].rsplit("/", 1)[1], "headers": r["headers"]}
        for r in requests["detail"]
    ]
    for name in args.scenarios or SCENARIOS:
        once = name in ONCE
        served, served_engine = apps.get(name, (app, engine))
        expected = 304 if name == "detail_304" else 200
        spent, calls, statements, table = profile(
            served, served_engine, requests[name], args.requests, once, expected
        )
        # Profiling roughly doubles the CPU; the same loop without it gives the real figure.
        started = time.thread_time()
        client = served.test_client()
        for number in range(args.requests):
            at = 50 + args.requests + number if once else number % len(requests[name])
            client.open(**requests[name][at]).close()
        bare = (time.thread_time() - started) / args.requests * 1000
        head = (
            f"# {name}: {calls:,} Python calls and {statements:.2f} SQL statements a request;"
            f" {bare:.2f} ms CPU a request in process ({spent:.2f} profiled)\n"
        )
        if args.sql:
            at = 50 + 2 * args.requests if once else 0
            table += one_request_sql(served, served_engine, requests[name][at])
        if args.by_part:
            table += by_part(served, requests[name], PARTED, 51 + 2 * args.requests, once)
        print(head + table)
        if args.save_as:
            (RESULTS / args.save_as).mkdir(parents=True, exist_ok=True)
            (RESULTS / args.save_as / f"{name}.txt").write_text(head + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
