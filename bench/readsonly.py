"""What ``@reads_only`` saves: the hot reads with and without it, side by side in one process.

    .venv/bin/python bench/readsonly.py [--requests 1500] [--rounds 4]

Runs after ``make bench`` has loaded ``dvc_bench``, with the app and requests of
``bench/hotpaths.py``. Each round sends the same requests once as served (autocommit: no BEGIN,
no ROLLBACK) and once with the marker ignored (a transaction, as every other view has), and
prints the best and the median of the rounds: CPU and wall time per request, and the Python
calls a request makes in each mode (which do not depend on how busy the machine is).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from statistics import median

import api  # bench/, next to this script
import hotpaths

from backend import unitofwork

SCENARIOS = ("detail_304", "detail", "mine", "search")


def _run(client, requests: list[dict], count: int) -> tuple[float, float]:
    cpu, wall = time.thread_time(), time.perf_counter()
    for number in range(count):
        client.open(**requests[number % len(requests)]).close()
    return (time.thread_time() - cpu) / count * 1000, (time.perf_counter() - wall) / count * 1000


def _calls(client, requests: list[dict], count: int = 200) -> float:
    profiler = cProfile.Profile()
    profiler.enable()
    for number in range(count):
        client.open(**requests[number % len(requests)]).close()
    profiler.disable()
    return pstats.Stats(profiler).total_calls / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    app, _env, _instance = api.loaded_app("dvc-readsonly-")
    requests = hotpaths._requests(app, 10)
    hooks = app.before_request_funcs[None]
    served = hooks.index(unitofwork._begin)
    client = app.test_client()
    header = ("scenario", "mode", "CPU ms best", "median", "wall best", "median", "calls")
    print("{:<11} {:<12} {:>11} {:>7} {:>10} {:>7} {:>7}".format(*header))
    for name in SCENARIOS:
        results: dict[str, list[tuple[float, float]]] = {"autocommit": [], "transaction": []}
        calls = {}
        for _ in range(args.rounds):
            for mode in results:
                hooks[served] = unitofwork._begin if mode == "autocommit" else (lambda: None)
                _run(client, requests[name], 200)  # warm this mode's connections
                results[mode].append(_run(client, requests[name], args.requests))
                calls[mode] = _calls(client, requests[name])
        hooks[served] = unitofwork._begin
        for mode, runs in results.items():
            cpu, wall = [r[0] for r in runs], [r[1] for r in runs]
            print(
                f"{name:<11} {mode:<12} {min(cpu):11.3f} {median(cpu):7.3f}"
                f" {min(wall):10.3f} {median(wall):7.3f} {calls[mode]:7,.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
