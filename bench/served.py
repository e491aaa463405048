"""A citizen's reads as served, against the floor: one gunicorn worker each, one thread.

    .venv/bin/python bench/served.py [--requests 4000] [--rounds 3]

Runs after ``make bench`` has loaded ``dvc_bench``. The API (``backend.wsgi``) and the floor
(``bench/floor.py``) are served by the shipped gunicorn settings, one worker of one thread each,
so the worker's CPU time from /proc is the requests' and nothing else's. Each round sends, on
four keep-alive connections, the unchanged poll (304), the floor's read, the whole view (200),
my dossiers, a procedure search and an officer's queue, one after the other, and prints the
worker CPU per request of each. Last, the median
over the rounds of each scenario's CPU over the floor's in the same round: the figure to
compare between two versions of the code on this noisy machine, as ``make bench``'s single
run cannot. To measure another commit, run this file from a worktree of it with
``PYTHONPATH`` set to that worktree.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import threading
import time
from pathlib import Path
from statistics import median
from urllib.parse import urlencode

import api  # bench/, next to this script
import api_data

from backend.extensions import db

CONNECTIONS = 4
PORTS = {"api": 5621, "floor": 5622}
# (scenario, server, expected status), in the order each round sends them
SCENARIOS = (
    ("poll", "api", 304),
    ("floor", "floor", 200),
    ("view", "api", 200),
    ("mine", "api", 200),
    ("search", "api", 200),
    ("queue", "api", 200),
)


def _requests(app) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """(path, headers) per scenario: 400 of the citizens' own dossiers, their lists, the
    bench's searches and one officer's queue."""
    with app.app_context():
        citizens = api_data.sign_in_citizens(api_data.citizens_with_dossiers(200))
        by_id = {c.account_id: c for c in citizens}
        pairs = api_data.own_dossiers(list(by_id), per_citizen=2)
        officer = api_data.sign_in_officer()
        db.session.remove()
    client = app.test_client()
    bearer = lambda caller: {"Authorization": f"Bearer {caller.access_token}"}  # noqa: E731
    scenarios: dict[str, list] = {name: [] for name, *_ in SCENARIOS}
    for citizen, dossier in pairs:
        auth = bearer(by_id[citizen])
        path = f"/api/v1/dossiers/{dossier}"
        etag = client.get(path, headers=auth).headers["ETag"]
        scenarios["poll"].append((path, {**auth, "If-None-Match": etag}))
        scenarios["view"].append((path, auth))
        scenarios["floor"].append((f"/floor/{dossier}", auth))
    scenarios["mine"] = [("/api/v1/dossiers", bearer(c)) for c in citizens]
    scenarios["search"] = [(f"/api/v1/procedures?{urlencode({'q': q})}", {}) for q in api.SEARCHES]
    scenarios["queue"] = [("/api/v1/agency/dossiers", bearer(officer))]
    return scenarios


def _worker(master) -> int:
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"PPid:\t{master.pid}\n" in status.read_text():
                return int(status.parent.name)
        except OSError:
            continue
    raise RuntimeError("the gunicorn worker is gone")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _send(port: int, requests: list, count: int, expected: int) -> None:
    def connection(first: int) -> None:
        client = http.client.HTTPConnection("127.0.0.1", port)
        for number in range(first, count, CONNECTIONS):
            path, headers = requests[number % len(requests)]
            client.request("GET", path, headers=headers)
            answer = client.getresponse()
            answer.read()
            if answer.status != expected:
                raise SystemExit(f"{path}: {answer.status}, expected {expected}")
        client.close()

    threads = [threading.Thread(target=connection, args=(n,)) for n in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    app, env, instance = api.loaded_app("dvc-served-")
    requests = _requests(app)
    api.WORKERS, api.THREADS = 1, 1
    servers = {
        "api": api.serve("backend.wsgi:app", PORTS["api"], env, instance / "api.log"),
        "floor": api.serve("floor:app", PORTS["floor"], env, instance / "floor.log"),
    }
    try:
        api.wait_ready(servers["api"], PORTS["api"], "/healthz")
        api.wait_ready(servers["floor"], PORTS["floor"], "/ready")
        workers = {name: _worker(server) for name, server in servers.items()}
        ratios: dict[str, list[float]] = {name: [] for name, *_ in SCENARIOS if name != "floor"}
        for number in range(1, args.rounds + 1):
            spent = {}
            for scenario, served, expected in SCENARIOS:
                before = _cpu_seconds(workers[served])
                started = time.monotonic()
                _send(PORTS[served], requests[scenario], args.requests, expected)
                rate = args.requests / (time.monotonic() - started)
                spent[scenario] = (_cpu_seconds(workers[served]) - before) / args.requests * 1000
                print(f"round {number}: {scenario:6} {spent[scenario]:.3f} ms CPU, {rate:.0f}/s")
            for scenario in ratios:
                ratios[scenario].append(spent[scenario] / spent["floor"])
        for scenario, values in ratios.items():
            listed = ", ".join(f"{value:.2f}" for value in values)
            print(f"{scenario:6} over the floor: median {median(values):.2f} ({listed})")
    finally:
        for server in servers.values():
            server.terminate()
            server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
