"""Every date, date-time and opaque token the API reads: any input is an answer, never a 500.

The parameters are found in the generated document, not listed by hand: a query, path or body
field documented as ``date`` or ``date-time``, or with the pattern of an opaque token we issue
(``backend.parsing.TOKEN_PATTERN``, the pagination cursor among them). Each is sent by a caller
who may call the operation (the authorization matrix's table says who, and which of the world's
resources go in the path), inside a savepoint that is rolled back.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.errors import PROBLEM_CONTENT_TYPE
from backend.parsing import TOKEN_PATTERN
from tests.contract.document import resolve as resolved
from tests.security.test_matrix import ROWS, path_for, request_for
from tests.security.world import flask_rules, within_savepoint

# Who calls, in order of preference, among those the matrix lets through.
CALLERS = ("A", "X", "admin", "Xc", "proof", "anon")


@dataclass(frozen=True)
class Target:
    method: str
    rule: str  # the Flask rule, as the matrix names it
    where: str  # query, path or body
    name: str
    kind: str  # moment, day or token

    def __str__(self) -> str:
        return f"{self.method} {self.rule} {self.where}:{self.name}"


def _kind(schema: dict) -> str | None:
    if schema.get("format") == "date-time":
        return "moment"
    if schema.get("format") == "date":
        return "day"
    if schema.get("pattern") == TOKEN_PATTERN:
        return "token"
    return None


def _body_properties(spec: dict, operation: dict) -> dict:
    content = operation.get("requestBody", {}).get("content", {})
    schema = resolved(spec, content.get("application/json", {}).get("schema", {}))
    return {name: resolved(spec, value) for name, value in schema.get("properties", {}).items()}


def targets(app) -> list[Target]:
    spec = app.extensions["api"].spec.to_dict()
    rules = flask_rules(app)
    found = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            method = method.upper()
            parameters = [resolved(spec, p) for p in [*shared, *operation.get("parameters", [])]]
            fields = [
                (p["in"], p["name"], resolved(spec, p["schema"]))
                for p in parameters
                if p["in"] in ("query", "path")
            ]
            fields += [("body", n, s) for n, s in _body_properties(spec, operation).items()]
            for where, name, schema in fields:
                kind = _kind(schema)
                if kind:
                    found.append(Target(method, rules[path], where, name, kind))
    return found


def _caller(target: Target) -> str:
    _using, expected = ROWS[(target.method, target.rule)]
    return next(c for c in CALLERS if expected[c] in ("ok", "pub"))


def send(app, world, target: Target, value: str):
    """The matrix's minimal valid request, with ``value`` in the target's place."""
    using, _expected = ROWS[(target.method, target.rule)]
    caller = _caller(target)
    request = request_for(target.method, target.rule, world, caller)
    request["headers"] = {**request["headers"], **world.headers[caller]}
    path = path_for(target.rule, using, world)
    if target.where == "path":
        encoded = quote(value, safe="", errors="surrogatepass")
        path = re.sub(r"[^/]+$", encoded, path)
    elif target.where == "query":
        query = {k: v for k, v in request.pop("query_string", {}).items() if k != target.name}
        pairs = [f"{quote(k)}={quote(str(v), safe='')}" for k, v in query.items()]
        pairs.append(f"{target.name}={quote(value, safe='', errors='surrogatepass')}")
        request["query_string"] = "&".join(pairs)
    else:
        body = {**(request.pop("json", None) or {}), target.name: value}
        request.pop("data", None)
        request["data"] = json.dumps(body)  # a lone surrogate goes out as a \\udXXX escape
        request["content_type"] = "application/json"
    client = app.test_client()
    return within_savepoint(app, lambda: client.open(path, method=target.method, **request))


def assert_answered(response, target: Target, value: str) -> None:
    assert response.status_code < 500, (str(target), repr(value), response.get_data()[:300])
    if response.status_code >= 400:
        assert response.mimetype == PROBLEM_CONTENT_TYPE, (str(target), response.mimetype)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(values) -> str:
    return _b64(json.dumps(values).encode())


# What broke before one parser read them all: a forged cursor whose moment overflows when made
# UTC, a NUL or a lone surrogate in a cursor's id, an out-of-range moment or day.
KNOWN = {
    "moment": ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-02-30T00:00:00Z"],
    "day": ["9999-12-31", "0001-01-01", "2026-02-30", "+12026-01-01"],
    "token": [
        _cursor(["9999-12-31T23:59:59-23:59", "01J0000000000000000000000A"]),
        _cursor(["2026-01-01T00:00:00+00:00", "01J\x00"]),
        _cursor(["2026-01-01T00:00:00+00:00", "\ud800"]),
        _cursor(["0001-01-01T00:00:00+23:59", 1]),
        _cursor([10**30, 1e308]),
        _cursor(["x"]),
        "\x00",
        "\ud800",
    ],
}

_any_text = st.text(st.characters(exclude_categories=()), max_size=80)
_offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_moments = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), st.datetimes(), _offsets
)
_values = {
    "moment": st.one_of(_moments, _any_text),
    "day": st.one_of(st.dates().map(lambda d: d.isoformat()), _any_text),
    "token": st.one_of(
        _any_text,
        st.binary(max_size=120).map(_b64),
        st.lists(
            st.one_of(_moments, _any_text, st.integers(), st.floats(), st.none()),
            min_size=1,
            max_size=3,
        ).map(_cursor),
    ),
}


def test_the_document_names_the_parsed_parameters(app):
    """The discovery must find what the document promises, or the tests below check nothing."""
    found = {str(t) for t in targets(app)}
    for expected in (
        "GET /api/v1/feedback/public query:cursor",
        "GET /api/v1/dossiers query:updated_since",
        "GET /api/v1/dossiers query:cursor",
        "POST /api/v1/agency/dossiers/<dossier_id>/extend body:due_at",
        "GET /api/v1/reports/quality query:to",
        "DELETE /api/v1/admin/calendar/overrides/<day> path:day",
        "POST /api/v1/auth/token body:refresh_token",
    ):
        assert expected in found, sorted(found)


def test_known_breakers_are_answered(app, world):
    for target in targets(app):
        for value in KNOWN[target.kind]:
            assert_answered(send(app, world, target, value), target, value)


def test_a_forged_cursor_names_the_cursor(app, world):
    target = Target("GET", "/api/v1/feedback/public", "query", "cursor", "token")
    for value in KNOWN["token"]:
        response = send(app, world, target, value)
        assert response.status_code == 422, (value, response.get_json())
        assert "cursor" in response.get_json()["errors"], response.get_json()


@pytest.mark.parametrize("kind", sorted(_values))
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_value_is_answered(app, world, kind, data):
    chosen = [t for t in targets(app) if t.kind == kind]
    target = data.draw(st.sampled_from(chosen), label="target")
    value = data.draw(_values[kind], label="value")
    assert_answered(send(app, world, target, value), target, value)


def test_a_moment_in_any_offset_is_read_as_the_same_instant(app, world):
    target = Target("GET", "/api/v1/dossiers", "query", "updated_since", "moment")
    same = [
        datetime(2026, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=7))).isoformat(),
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.000000001+00:00",
    ]
    answers = {send(app, world, target, value).status_code for value in same}
    assert answers == {200}
