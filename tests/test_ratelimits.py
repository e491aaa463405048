"""Rate limits: fixed windows, refused with 429 and Retry-After, counted in Redis or in memory.

The limits of the routes themselves are tested where the routes are (codes, tracking, TOTP);
two API processes sharing the counts in ``tests/failure/test_two_api_processes.py``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from flask import Flask, request

from backend import create_app, ratelimits
from backend.identity.access import public
from tests.helpers.stacks import REDIS_URL, Stack, app_config

pytestmark = pytest.mark.committing  # apps of their own, on files of their own

# Ten seconds into a minute (and an hour): the windows a test's requests fall in are known.
AT = datetime(2026, 12, 4, 12, 0, 10, tzinfo=UTC)


@pytest.fixture(params=["memory", "redis"])
def storage(request) -> str:
    return "memory://" if request.param == "memory" else REDIS_URL


def _app(tmp_path, storage: str) -> Flask:
    stack = Stack("sqlite", f"sqlite:///{tmp_path / 'db.sqlite3'}", None)
    return create_app(app_config(stack, tmp_path, RATELIMIT_STORAGE_URI=storage))


def _own_key() -> str:
    """A key of the test's own: Redis outlives runs, and parallel tests share it."""
    key = uuid.uuid4().hex
    return lambda: key


@pytest.mark.parametrize(
    ("text", "rates"),
    [
        ("10/minute", [(10, 60)]),
        ("30/minute;300/hour", [(30, 60), (300, 3600)]),
        ("5 per second; 2/day", [(5, 1), (2, 86400)]),
        ("3/minutes", [(3, 60)]),
        ("100/5 minutes;1000 per 2 hours", [(100, 300), (1000, 7200)]),
        ("1/month;2/year", [(1, 30 * 86400), (2, 365 * 86400)]),
    ],
)
def test_rates_are_read_from_their_usual_spelling(text, rates):
    assert [(r.amount, r.seconds) for r in ratelimits.parse_rates(text)] == rates


@pytest.mark.parametrize(
    "text", ["", "10", "ten/minute", "10/fortnight", "10/minute;", "-1/hour", "10/0 minutes"]
)
def test_a_rate_that_says_nothing_clear_is_refused(text):
    with pytest.raises(ValueError, match="not a rate"):
        ratelimits.parse_rates(text)


def test_a_setting_that_says_no_rate_stops_the_start(tmp_path):
    stack = Stack("sqlite", f"sqlite:///{tmp_path / 'db.sqlite3'}", None)
    config = app_config(stack, tmp_path, RATELIMIT_TOKEN_PER_IP="60 a minute")
    with pytest.raises(ValueError, match="RATELIMIT_TOKEN_PER_IP: not a rate"):
        create_app(config)


def test_the_request_over_a_window_is_refused_until_the_window_ends(tmp_path, storage):
    app = _app(tmp_path, storage)
    ran = []

    @app.get("/t/limited")
    @public
    @ratelimits.limit("2/minute;4/hour", key=_own_key())
    def limited():
        ran.append(1)
        return {}

    client = app.test_client()
    with time_machine.travel(AT, tick=False) as clock:
        answers = [client.get("/t/limited") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        refused = answers[-1]
        assert refused.content_type == "application/problem+json"
        assert refused.headers["Retry-After"] == "50"  # the minute's window ends at 12:01:00
        assert len(ran) == 2

        clock.move_to(datetime(2026, 12, 4, 12, 1, 0, tzinfo=UTC))  # a new minute
        assert client.get("/t/limited").status_code == 200
        # The refused request counted too: the hour has had five, over its four.
        hour = client.get("/t/limited")
        assert hour.status_code == 429
        assert hour.headers["Retry-After"] == str(59 * 60)
    assert len(ran) == 3


def test_each_view_counts_on_its_own_unless_they_share_a_scope(tmp_path, storage):
    app = _app(tmp_path, storage)
    key = _own_key()
    shared = ratelimits.limit("1/minute", key=key, scope=f"shared-{uuid.uuid4().hex}")

    @app.get("/t/one")
    @public
    @ratelimits.limit("1/minute", key=key)
    def one():
        return {}

    @app.get("/t/two")
    @public
    @ratelimits.limit("1/minute", key=key)
    def two():
        return {}

    @app.get("/t/three")
    @public
    @shared
    def three():
        return {}

    @app.get("/t/four")
    @public
    @shared
    def four():
        return {}

    client = app.test_client()
    with time_machine.travel(AT, tick=False):
        paths = ["/t/one", "/t/two", "/t/three", "/t/four"]
        assert [client.get(path).status_code for path in paths] == [200, 200, 200, 429]


def test_a_deducting_limit_counts_only_the_answers_it_picks_and_refuses_once_full(
    tmp_path, storage
):
    app = _app(tmp_path, storage)
    ran = []

    @app.post("/t/guess")
    @public
    @ratelimits.limit(
        "2/minute", key=_own_key(), deduct_when=lambda response: response.status_code == 401
    )
    def guess():
        ran.append(1)
        return ({}, 200) if len(ran) == 1 else ({}, 401)

    client = app.test_client()
    with time_machine.travel(AT, tick=False):
        statuses = [client.post("/t/guess").status_code for _ in range(4)]
    # A right answer is free; two wrong ones fill the minute; the fourth never reaches the view.
    assert statuses == [200, 401, 401, 429]
    assert len(ran) == 3


def test_an_exempt_request_is_neither_limited_nor_counted(tmp_path, storage):
    app = _app(tmp_path, storage)

    @app.get("/t/maybe")
    @public
    @ratelimits.limit("1/minute", key=_own_key(), exempt_when=lambda: "free" in request.args)
    def maybe():
        return {}

    client = app.test_client()
    with time_machine.travel(AT, tick=False):
        free = [client.get("/t/maybe?free=1").status_code for _ in range(3)]
        counted = [client.get("/t/maybe").status_code for _ in range(2)]
    assert free == [200, 200, 200]
    assert counted == [200, 429]


def test_two_apps_on_one_redis_count_together(tmp_path):
    key = _own_key()
    apps = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        apps.append(_app(tmp_path / name, REDIS_URL))
    for app in apps:

        @app.get("/t/shared")
        @public
        @ratelimits.limit("3/minute", key=key)
        def shared():
            return {}

    with time_machine.travel(AT, tick=False):
        statuses = [apps[n % 2].test_client().get("/t/shared").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_limits_stacked_together_are_counted_in_one_round_trip(tmp_path, storage):
    app = _app(tmp_path, storage)
    counts = app.extensions["ratelimits"]
    trips = []
    hit = counts.hit

    def counted(keys, seconds, amount):
        trips.append(hit(keys, seconds, amount))
        return trips[-1]

    counts.hit = counted

    @app.post("/t/verify")
    @public
    @ratelimits.limit("3/minute", key=_own_key())
    @ratelimits.limit("2/minute;10/hour", key=_own_key())
    def verify():
        return {}

    client = app.test_client()
    with time_machine.travel(AT, tick=False):
        statuses = [client.post("/t/verify").status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    # One round trip a request, each window counted in it (address, device's minute and hour),
    # the device's refusals included.
    assert trips == [[n, n, n] for n in (1, 2, 3, 4)]
