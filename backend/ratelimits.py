"""How often a caller may do something: fixed windows counted where every API process sees them.

A view's limit names its rates (``"30/minute;300/hour"``, read from the configuration on each
request) and what it counts by (the caller's address unless told otherwise). Each rate is a
window of that many seconds, counted from the epoch; a request that takes a window's count over
its amount is refused with 429 and ``Retry-After`` until that window ends, and still counts (so
hammering a closed door keeps it closed). With Redis (``RATELIMIT_STORAGE_URI``) every process
counts in the same keys, all of one limit's windows in one round trip (a Lua script: the count
and, for a new window, its expiry); without, the counts live in the process (the embedded
default, one process).

``deduct_when`` counts only the answers it picks (a wrong code): the request is refused while a
window is already full, and counted after its answer. ``exempt_when`` skips the limit. A limit
with a ``scope`` is one count across every view that carries it; without, each view counts on
its own.

This replaced Flask-Limiter, whose resolving, filtering and per-request state cost a code check
about 1,000 Python calls and a round trip per window (``bench/hotpaths.py``).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any

import redis
from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import TooManyRequests

_UNITS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}
# "10/minute", "10 per minute", "100/5 minutes": the spelling the settings have always used.
_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d*)\s*(second|minute|hour|day|month|year)s?\s*$")
# Every key's windows in one round trip: each one's count, and its expiry set when it opens.
_HIT = """
local counts = {}
for i, key in ipairs(KEYS) do
    local count = redis.call('INCRBY', key, ARGV[1])
    if count == tonumber(ARGV[1]) then redis.call('EXPIRE', key, ARGV[i + 1]) end
    counts[i] = count
end
return counts
"""
# Answers after a check are counted here (``deduct_when``), in the answer's after-request step.
_DEDUCTIONS = "rate_deductions"


@dataclass(frozen=True)
class Rate:
    amount: int
    seconds: int


@lru_cache(maxsize=64)
def parse_rates(text: str) -> tuple[Rate, ...]:
    """``"10/minute;60/hour"`` (or ``"10 per minute"``) as rates; anything else is refused."""
    rates = []
    for part in text.split(";"):
        found = _RATE.match(part)
        if found is None:
            raise ValueError(f"not a rate: {part!r} (say 10/minute, 60/hour, ...)")
        amount, multiple, unit = int(found[1]), int(found[2] or 1), found[3]
        if multiple < 1:
            raise ValueError(f"not a rate: {part!r} (a window of no time)")
        rates.append(Rate(amount, multiple * _UNITS[unit]))
    return tuple(rates)


class RateLimited(TooManyRequests):
    """A 429 that says when to come back (``backend.errors`` makes it a problem)."""

    def __init__(self, retry_after: int):
        super().__init__()
        self.data = {"headers": {"Retry-After": str(retry_after)}}


class _MemoryCounts:
    """The counts of one process: the embedded default, where there is only one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}

    def hit(self, keys: list[str], seconds: list[int], amount: int) -> list[int]:
        now = time.time()
        with self._lock:
            if len(self._counts) > 100_000:  # forget closed windows now and then
                self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
            counts = []
            for key, length in zip(keys, seconds, strict=True):
                # A key names its window (``_Rule.windows``): forgotten once the window ends.
                ends, count = self._counts.get(key, ((now // length + 1) * length, 0))
                self._counts[key] = (ends, count + amount)
                counts.append(count + amount)
            return counts

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class _RedisCounts:
    def __init__(self, client: redis.Redis) -> None:
        self._hit = client.register_script(_HIT)
        self._client = client

    def hit(self, keys: list[str], seconds: list[int], amount: int) -> list[int]:
        return self._hit(keys=keys, args=[amount, *seconds])

    def reset(self) -> None:
        for key in self._client.scan_iter(match=f"{_prefix()}/*", count=1000):
            self._client.delete(key)


def _counts() -> _MemoryCounts | _RedisCounts:
    return current_app.extensions["ratelimits"]


def _prefix() -> str:
    return current_app.config["RATELIMIT_KEY_PREFIX"]


def remote_address() -> str:
    return request.remote_addr or "-"


@dataclass(frozen=True)
class _Rule:
    rates: str | Callable[[], str]
    key: Callable[[], str]
    scope: str

    def windows(self, now: int) -> tuple[list[str], list[int], tuple[Rate, ...]]:
        """The keys of the windows a request falls in now, their lengths, and the rates."""
        rates = parse_rates(self.rates() if callable(self.rates) else self.rates)
        where = f"{_prefix()}/{self.scope}/{self.key()}"
        keys = [f"{where}/{rate.amount}/{rate.seconds}/{now // rate.seconds}" for rate in rates]
        return keys, [rate.seconds for rate in rates], rates


def _refuse_over(counts: list[int], rates: list[Rate], *, full: bool) -> None:
    """429 when a window is over its amount (``full``: already at it), until the last such ends."""
    now = time.time()
    over = [
        rate
        for count, rate in zip(counts, rates, strict=True)
        if count > rate.amount or (full and count >= rate.amount)
    ]
    if over:
        ends = max((now // rate.seconds + 1) * rate.seconds for rate in over)
        raise RateLimited(max(1, math.ceil(ends - now)))


def limit(
    rates: str | Callable[[], str],
    *,
    key: Callable[[], str] = remote_address,
    scope: str | None = None,
    exempt_when: Callable[[], bool] | None = None,
    deduct_when: Callable[[Response], bool] | None = None,
):
    """Limit the decorated view (put it under the route, above the arguments).

    Limits stacked right on top of each other, with neither ``exempt_when`` nor
    ``deduct_when``, are counted together: one round trip, and a request one of them refuses
    counts in the others too.
    """

    def decorate(view):
        rule = _Rule(
            rates, key, scope or f"{view.__module__}.{view.__qualname__}:{key.__qualname__}"
        )
        if exempt_when is not None or deduct_when is not None:
            return _limited_apart(view, rule, exempt_when, deduct_when)
        below = getattr(view, _PLAIN, None)
        rules, view = ((rule, *below[0]), below[1]) if below is not None else ((rule,), view)

        @wraps(view)
        def limited(*args: Any, **kwargs: Any):
            now = int(time.time())
            keys, seconds, windows = [], [], []
            for each in rules:
                its_keys, its_seconds, its_rates = each.windows(now)
                keys += its_keys
                seconds += its_seconds
                windows += its_rates
            _refuse_over(_counts().hit(keys, seconds, 1), windows, full=False)
            return view(*args, **kwargs)

        setattr(limited, _PLAIN, (rules, view))
        return limited

    return decorate


# On a view decorated by plain limits: their rules and the view below them (``limit``).
_PLAIN = "_plain_limits"


def _limited_apart(view, rule: _Rule, exempt_when, deduct_when):
    @wraps(view)
    def limited(*args: Any, **kwargs: Any):
        if exempt_when is not None and exempt_when():
            return view(*args, **kwargs)
        keys, seconds, windows = rule.windows(int(time.time()))
        counts = _counts()
        if deduct_when is None:
            _refuse_over(counts.hit(keys, seconds, 1), list(windows), full=False)
        else:
            _refuse_over(counts.hit(keys, seconds, 0), list(windows), full=True)
            g.setdefault(_DEDUCTIONS, []).append((deduct_when, keys, seconds))
        return view(*args, **kwargs)

    # Not a plain limit: a limit stacked on this one counts on its own.
    limited.__dict__.pop(_PLAIN, None)
    return limited


def _deduct(response: Response) -> Response:
    for deduct_when, keys, seconds in g.pop(_DEDUCTIONS, ()):
        if deduct_when(response):
            _counts().hit(keys, seconds, 1)
    return response


def reset(app: Flask) -> None:
    """Forget every count (tests)."""
    with app.app_context():
        _counts().reset()


def init_app(app: Flask, redis_timeouts: dict[str, float]) -> None:
    # A setting that says no rate stops the start, not every request of its route (a 500).
    for name, value in app.config.items():
        if name.startswith("RATELIMIT_") and "_PER_" in name:
            try:
                parse_rates(value)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
    uri = app.config["RATELIMIT_STORAGE_URI"]
    if uri.startswith(("redis://", "rediss://")):
        app.extensions["ratelimits"] = _RedisCounts(redis.Redis.from_url(uri, **redis_timeouts))
    elif uri == "memory://":
        app.extensions["ratelimits"] = _MemoryCounts()
    else:
        raise ValueError(f"RATELIMIT_STORAGE_URI: redis://... or memory://, not {uri!r}")
    app.after_request(_deduct)
