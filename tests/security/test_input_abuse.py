"""Malformed JSON and headers: each is a 4xx problem, never a 500, and changes nothing.

The body abuses go to two writes: ``POST /api/v1/dossiers`` (a draft for citizen A) and
``PATCH /api/v1/me`` (A's profile); afterwards A still has no dossier and the same profile.
"""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from backend.dossiers.models import Dossier
from backend.errors import PROBLEM_CONTENT_TYPE
from backend.extensions import db
from backend.idempotency import IdempotencyRecord
from tests.dossiers import conftest as dossier_fixtures
from tests.helpers import dossiers
from tests.helpers.signin import bearer
from tests.helpers.work import unit_of_work

_catalog, clock = (
    dossier_fixtures._catalog,
    dossier_fixtures.clock,
)  # the demo catalog at Monday 9:00
BIRTH, BIRTH_DATA = dossiers.BIRTH, dossiers.BIRTH_DATA
GOOD = json.dumps({"procedure_code": BIRTH, "data": BIRTH_DATA}).encode()


def _nested(depth: int) -> bytes:
    return b'{"procedure_code": "1.001193", "data": {"x": ' + b"[" * depth + b"]" * depth + b"}}"


BODIES = {
    "nested 25 deep": _nested(25),
    "nested 100000 deep": _nested(100_000),
    "unclosed 100000 deep": b"[" * 100_000,
    "number 1e999": b'{"procedure_code": "1.001193", "data": {"child_full_name": 1e999}}',
    "number -1e999": b'{"procedure_code": "1.001193", "data": {"x": -1e999}}',
    "integer of 5000 digits": b'{"procedure_code": "1.001193", "data": {"x": '
    + b"9" * 5000
    + b"}}",
    "NaN": b'{"procedure_code": "1.001193", "data": {"x": NaN}}',
    "Infinity": b'{"procedure_code": "1.001193", "data": {"x": Infinity}}',
    "-Infinity": b'{"procedure_code": "1.001193", "data": {"x": -Infinity}}',
    "invalid UTF-8": b'{"procedure_code": "1.001193", "data": {"x": "\xff\xfe\xc3\x28"}}',
    "overlong UTF-8 slash": b'{"procedure_code": "1.001193\xc0\xaf", "data": {}}',
    "UTF-16 body": GOOD.decode().encode("utf-16"),
    "BOM then JSON": b"\xef\xbb\xbf" + GOOD,
    "lone surrogate escape": b'{"procedure_code": "1.001193", "data": {"x": "\\ud800"}}',
    "NUL escape": b'{"procedure_code": "1.001193", "data": {"child_full_name": "A\\u0000B"}}',
    "duplicate keys": b'{"procedure_code": "9.999999", "procedure_code": "1.001193", "data": {}}',
    "duplicate nested keys": b'{"procedure_code": "1.001193", "data": {"child_sex": "nam", '
    b'"child_sex": "nu"}}',
    "trailing garbage": GOOD + b"]]",
    "two documents": GOOD + GOOD,
    "single quotes": b"{'procedure_code': '1.001193', 'data': {}}",
    "array instead of object": b"[" + GOOD + b"]",
    "string instead of object": b'"' + GOOD.replace(b'"', b'\\"') + b'"',
    "null": b"null",
    "body over MAX_JSON_BYTES": b'{"procedure_code": "1.001193", "data": {"x": "'
    + b"a" * (300 * 1024)
    + b'"}}',
}


def _no_change(app) -> None:
    with unit_of_work(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0


def assert_problem(response, *statuses: int) -> dict:
    assert response.status_code in statuses, (response.status_code, response.get_data()[:300])
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    problem = response.get_json()
    assert problem["status"] == response.status_code and problem["type"] and problem["title"]
    return problem


@pytest.mark.parametrize("name", sorted(BODIES))
def test_an_abusive_json_body_is_a_4xx_problem_and_changes_nothing(app, client, citizen, name):
    profile = client.get("/api/v1/me", headers=bearer(citizen)).get_json()
    for method, url in (("POST", "/api/v1/dossiers"), ("PATCH", "/api/v1/me")):
        answer = client.open(
            url,
            method=method,
            data=BODIES[name],
            content_type="application/json",
            headers={**bearer(citizen), "Idempotency-Key": "abuse-0001"},
        )
        assert_problem(answer, 400, 413, 415, 422)
    _no_change(app)
    assert client.get("/api/v1/me", headers=bearer(citizen)).get_json() == profile


def test_duplicate_keys_are_refused_not_resolved(client, citizen):
    """A proxy that reads the first of two keys and we the last would disagree on what was sent."""
    answer = client.post(
        "/api/v1/dossiers",
        data=BODIES["duplicate keys"],
        content_type="application/json",
        headers=bearer(citizen),
    )
    assert assert_problem(answer, 400)["type"].endswith("malformed-json")


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json-patch+json",
        "application/jsonx",
        "",
    ],
)
def test_a_json_body_under_another_content_type_is_415(app, client, citizen, content_type):
    answer = client.post(
        "/api/v1/dossiers", data=GOOD, headers={**bearer(citizen), "Content-Type": content_type}
    )
    assert_problem(answer, 415)
    _no_change(app)


@pytest.mark.parametrize("cut", [1, 40])
def test_a_content_length_shorter_than_the_body(app, client, citizen, cut):
    answer = client.post(
        "/api/v1/dossiers",
        input_stream=io.BytesIO(GOOD),
        content_type="application/json",
        headers=bearer(citizen),
        environ_overrides={"CONTENT_LENGTH": str(len(GOOD) - cut)},
    )
    assert_problem(answer, 400)
    _no_change(app)


def test_a_content_length_longer_than_the_body(app, client, citizen):
    """The client stops sending before the length it announced: a disconnect, not a dossier."""
    answer = client.post(
        "/api/v1/dossiers",
        input_stream=io.BytesIO(GOOD),
        content_type="application/json",
        headers=bearer(citizen),
        environ_overrides={"CONTENT_LENGTH": str(len(GOOD) + 100)},
    )
    assert_problem(answer, 400)
    _no_change(app)


def test_a_negative_or_bogus_content_length(app, client, citizen):
    for length in ("-1", "abc", "99999999999999999999999"):
        answer = client.post(
            "/api/v1/dossiers",
            input_stream=io.BytesIO(GOOD),
            content_type="application/json",
            headers=bearer(citizen),
            environ_overrides={"CONTENT_LENGTH": length},
        )
        assert answer.status_code < 500, (length, answer.status_code)
        if answer.status_code >= 400:
            assert answer.mimetype == PROBLEM_CONTENT_TYPE
    with unit_of_work(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) <= 1


def test_a_chunked_json_body_over_the_limit_is_413(app, client, citizen):
    body = b'{"procedure_code": "1.001193", "data": {"x": "' + b"a" * (300 * 1024) + b'"}}'
    answer = client.post(
        "/api/v1/dossiers",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={**bearer(citizen), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_problem(answer, 413)
    _no_change(app)


HUGE = "x" * 64 * 1024


@pytest.mark.parametrize(
    "header, value",
    [
        ("Accept-Language", HUGE),
        ("Accept-Language", "*;q=abc, en-US;q=2, ;;;, vi;q=-1, \u00e9\u00e9"),
        ("Accept-Language", ",".join(f"x{n};q=0.{n % 10}" for n in range(5000))),
        ("Accept", HUGE),
        ("Accept", "application/xml;q=1, */*;q=0"),
        ("X-Request-ID", HUGE),
        ("X-Request-ID", "abc def/../\u00e9"),
        ("If-None-Match", HUGE),
        ("If-None-Match", '"' + HUGE + '"'),
        ("Idempotency-Key", HUGE),
        ("Idempotency-Key", "k\x00ey-with-nul-0001"),
        ("X-Phone-Proof", HUGE),
        ("X-Forwarded-For", ", ".join(["1.2.3.4"] * 5000)),
        ("Cookie", "session=" + HUGE),
        ("User-Agent", HUGE),
    ],
    ids=lambda v: v[:24] if isinstance(v, str) else v,
)
def test_an_abusive_header_never_breaks_a_request(app, client, citizen, header, value):
    headers = {**bearer(citizen), header: value}
    for answer in (
        client.get("/api/v1/procedures", headers=headers),
        client.get("/api/v1/me", headers=headers),
        client.post(
            "/api/v1/dossiers",
            data=GOOD,
            content_type="application/json",
            headers={"Idempotency-Key": "header-abuse-0001", **headers},
        ),
    ):
        assert answer.status_code < 500, (header, answer.status_code, answer.get_data()[:200])
        if answer.status_code >= 400:
            assert answer.mimetype == PROBLEM_CONTENT_TYPE
        assert len(answer.headers.get("X-Request-ID", "")) <= 64
    with unit_of_work(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) <= 1


def test_an_enormous_authorization_header_is_401(client):
    for value in ("Bearer " + HUGE, "Bearer " + "a.b." + HUGE, "Basic " + HUGE, HUGE):
        answer = client.get("/api/v1/me", headers={"Authorization": value})
        assert_problem(answer, 401)


NASTY = {
    name: BODIES[name]
    for name in (
        "nested 100000 deep",
        "unclosed 100000 deep",
        "lone surrogate escape",
        "invalid UTF-8",
        "duplicate keys",
        "NaN",
        "integer of 5000 digits",
    )
}


def _body_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule == "/api/v1/auth/logout":
            continue  # it reads no body, and would sign the citizen out for the rest
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            yield method, rule.rule


@pytest.mark.parametrize("name", sorted(NASTY))
def test_no_endpoint_breaks_on_a_nasty_json_body(app, client, citizen, name):
    """Whatever reads the body first (a rate-limit key, an idempotency fingerprint, the
    arguments) must refuse it with a problem, on every endpoint that takes a body."""
    import re

    for method, rule in _body_routes(app):
        url = re.sub(r"<[^>]+>", "01ARZ3NDEKTSV4RRFFQ69G5FAV", rule)
        for headers in (bearer(citizen), {}):
            answer = client.open(
                url,
                method=method,
                data=NASTY[name],
                content_type="application/json",
                headers={**headers, "Idempotency-Key": "nasty-body-0001"},
            )
            assert answer.status_code < 500, (method, rule, answer.status_code)
            if answer.status_code >= 400:  # a view that reads no body may answer 2xx
                assert answer.mimetype == PROBLEM_CONTENT_TYPE, (method, rule)
    with unit_of_work(app):  # (a view that reads no body keeps its key's answer, as it should)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == 0


NASTY_HEADERS = {
    "Accept-Language": "*;q=abc, en-US;q=2, ;;;, vi;q=-1, " + HUGE,
    "If-None-Match": '"' + HUGE + '", W/"x", *',
    "If-Match": 'W/"' + HUGE + '"',
    "X-Phone-Proof": HUGE,
    "Idempotency-Key": HUGE,
    "Range": "bytes=0-1,2-3," + "4-5," * 2000,
}


def test_no_endpoint_breaks_on_nasty_headers(app, client, citizen):
    import re

    for rule in app.url_map.iter_rules():
        if rule.rule == "/api/v1/auth/logout":
            continue
        url = re.sub(r"<[^>]+>", "01ARZ3NDEKTSV4RRFFQ69G5FAV", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for headers in (bearer(citizen), {}):
                answer = client.open(url, method=method, headers={**headers, **NASTY_HEADERS})
                assert answer.status_code < 500, (method, rule.rule, answer.status_code)
                if answer.status_code >= 400:
                    assert answer.mimetype == PROBLEM_CONTENT_TYPE, (method, rule.rule)


NASTY_QUERIES = [
    "limit=99999999999999999999999&cursor=%ff%fe&updated_since=0001-01-01T00:00:00Z"
    "&from=0001-01-01&to=9999-12-31&year=99999999999&due=soon&due=overdue",
    "limit=-1&cursor=" + "A" * 5000 + "&updated_since=9999-12-31T23:59:59%2B14:00&status=zzz"
    "&from=2026-12-31&to=2026-01-01&procedure=1.001193&agency=001.01.00.H56",
    "q=" + "%E1%BB%A6" * 3000 + "&verifier=%00000&code=%00&cursor=eyJ4IjoxfQ",
]


def test_no_endpoint_breaks_on_nasty_queries(app, client, citizen, make_staff):
    import re

    officer = make_staff("0911100001", agency=dossiers.WARD, role="agency_admin")[0]
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = re.sub(r"<[^>]+>", "01ARZ3NDEKTSV4RRFFQ69G5FAV", rule.rule)
        for query in NASTY_QUERIES:
            for headers in (bearer(citizen), bearer(officer)):
                answer = client.get(f"{url}?{query}", headers=headers)
                assert answer.status_code < 500, (rule.rule, query[:40], answer.status_code)
                if answer.status_code >= 400:
                    assert answer.mimetype == PROBLEM_CONTENT_TYPE, (rule.rule, query[:40])
