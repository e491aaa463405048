"""Every failure is RFC 9457 problem+json, in Vietnamese or English, never HTML or a trace."""

from __future__ import annotations

import io
import json
import logging

import marshmallow as ma
import psycopg
import pytest
import sqlalchemy as sa

from backend import create_app
from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.i18n import current_language
from backend.identity.access import public
from backend.web import Blueprint
from tests.helpers.stacks import app_config
from tests.helpers.work import unit_of_work

PROBLEM = "application/problem+json"


class EchoSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(max=20))
    count = ma.fields.Integer()


def _probe_blueprint() -> Blueprint:
    blp = Blueprint("probe", __name__)

    @blp.route("/echo", methods=["POST"])
    @public
    @blp.arguments(EchoSchema)
    @blp.response(201, EchoSchema)
    def echo(data):
        return data

    @blp.route("/boom")
    @public
    def boom():
        raise RuntimeError("secret internals")

    @blp.route("/db-down")
    @public
    def db_down():
        raise sa.exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed"))

    @blp.route("/connection-lost")
    @public
    def connection_lost():
        """Reads, then its connection dies (a database restart) before the request ends."""
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with db.engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        return {"read": True}

    @blp.route("/missing")
    @public
    def missing():
        raise NotFound(("Không có gì ở đây.", "Nothing here."))

    @blp.route("/clash")
    @public
    def clash():
        raise Conflict(extra={"status": "submitted", "title": "x", "current_status": "submitted"})

    return blp


@pytest.fixture
def probe(stack, tmp_path):
    app = create_app(app_config(stack, tmp_path, MAX_JSON_BYTES=64 * 1024))
    app.extensions["api"].register_blueprint(_probe_blueprint(), url_prefix="/probe")
    return app.test_client()


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= body.keys()
    return body


def post_raw(client, data, content_type="application/json", **kwargs):
    return client.post("/probe/echo", data=data, content_type=content_type, **kwargs)


def test_valid_body_passes(probe):
    assert probe.post("/probe/echo", json={"name": "An"}).status_code == 201


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": ',  # truncated
        b'{"name": "\xff\xfe"}',  # invalid UTF-8
        b'{"name": "a\\u0000b"}',  # NUL reaches PostgreSQL as an error
        b'{"name": "\\ud800"}',  # lone surrogate cannot be encoded
        b'{"name": "a", "count": NaN}',
        b'{"name": "a", "count": 1e999}',
        b'{"name": "a", "count": ' + b"9" * 5000 + b"}",  # over Python's int digit limit
        b"[" * 5000 + b"]" * 5000,  # nesting deep enough to blow the recursion limit
        b'{"a":' * 30 + b"1" + b"}" * 30,
        b"\x0b",  # Python's str.strip() takes it for blank; JSON does not
    ],
    ids=[
        "truncated",
        "utf8",
        "nul",
        "surrogate",
        "nan",
        "inf",
        "bigint",
        "deep",
        "nested",
        "not-json-whitespace",
    ],
)
def test_malformed_json_is_400(probe, raw):
    body = _problem(post_raw(probe, raw), 400)
    assert body["type"].endswith("malformed-json")


def test_wrong_content_type_is_415(probe):
    response = post_raw(probe, "name=An", content_type="application/x-www-form-urlencoded")
    _problem(response, 415)
    assert response.headers["Accept-Post"] == "application/json"


def test_json_over_limit_is_413(probe):
    big = json.dumps({"name": "x" * 70_000})
    _problem(post_raw(probe, big), 413)


def test_chunked_json_over_limit_is_413(probe):
    big = json.dumps({"name": "x" * 70_000}).encode()
    response = probe.post(
        "/probe/echo",
        input_stream=io.BytesIO(big),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # what gunicorn sets for chunked
    )
    _problem(response, 413)


def test_validation_errors_name_the_fields_in_vietnamese_by_default(probe):
    body = _problem(probe.post("/probe/echo", json={"count": "x", "extra": 1}), 422)
    assert body["title"] == "Dữ liệu không hợp lệ"
    assert body["errors"]["name"] == ["Trường này là bắt buộc."]
    assert body["errors"]["count"] == ["Giá trị phải là số nguyên."]
    assert body["errors"]["extra"] == ["Trường này không được hỗ trợ."]


def test_english_when_asked(probe):
    response = probe.post(
        "/probe/echo", json={"name": "x" * 21}, headers={"Accept-Language": "en-US,en;q=0.9"}
    )
    body = _problem(response, 422)
    assert body["title"] == "Validation failed"
    assert body["errors"]["name"] == ["Longer than maximum length 20."]
    assert response.headers["Content-Language"] == "en"


def test_each_request_answers_in_its_own_language_and_none_outlives_it(probe):
    asked = {"Accept-Language": "en"}
    assert _problem(probe.get("/probe/missing", headers=asked), 404)["title"] == "Not found"
    assert _problem(probe.get("/probe/missing"), 404)["title"] == "Không tìm thấy"
    probe.get("/probe/missing", headers=asked)
    with probe.application.app_context():
        assert current_language() == "vi"  # outside a request: the default, not the last one's


def test_domain_error_carries_its_type_and_detail(probe):
    body = _problem(probe.get("/probe/missing", headers={"Accept-Language": "en"}), 404)
    assert body["type"] == "urn:dvc-mobile:problem:not-found"
    assert body["detail"] == "Nothing here."


def test_extension_members_never_replace_the_standard_ones(probe):
    body = _problem(probe.get("/probe/clash", headers={"Accept-Language": "en"}), 409)
    assert (body["status"], body["title"]) == (409, "Conflict")
    assert body["current_status"] == "submitted"


def test_unknown_route_and_method(probe):
    _problem(probe.get("/no/such/thing"), 404)
    response = probe.delete("/probe/echo")
    _problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_unexpected_error_is_a_plain_500(probe, caplog):
    with caplog.at_level(logging.ERROR):
        response = probe.get("/probe/boom")
    body = _problem(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "secret internals" in caplog.text  # the operator still sees it


def test_database_outage_is_503_with_retry_after(probe):
    response = probe.get("/probe/db-down")
    _problem(response, 503)
    assert response.headers["Retry-After"] == "5"


@pytest.mark.postgres_only
def test_a_connection_lost_after_the_answer_does_not_become_an_html_500(probe):
    # The session's rollback at the end of the request fails on the dead connection; that must
    # not escape to the WSGI server, which would send its own HTML error page.
    response = probe.get("/probe/connection-lost")
    assert response.status_code == 200
    assert response.get_json() == {"read": True}
    with unit_of_work(probe.application):  # the pool gave the dead connection up
        assert db.session.execute(sa.text("SELECT 1")).scalar_one() == 1


def test_nul_in_query_or_path_is_refused(client):
    body = _problem(client.get("/api/v1/procedures?q=a%00b"), 422)
    assert list(body["errors"]) == ["q"]
    _problem(client.get("/api/v1/procedures/1.00%001"), 404)


def test_request_id_is_echoed_or_made(client, caplog):
    with caplog.at_level(logging.INFO, logger="backend.access"):
        given = client.get("/healthz", headers={"X-Request-ID": "req-12345678"})
        made = client.get("/healthz?phone=0912345678", headers={"X-Request-ID": "bad id!"})
    assert given.headers["X-Request-ID"] == "req-12345678"
    assert made.headers["X-Request-ID"] not in ("", "bad id!")
    lines = [r for r in caplog.records if r.name == "backend.access"]
    assert [r.request_id for r in lines] == ["req-12345678", made.headers["X-Request-ID"]]
    assert all(r.path == "/healthz" for r in lines)  # query strings are never logged


@pytest.mark.postgres_only
def test_a_database_that_never_answers_is_a_503_not_a_hang(stack, tmp_path):
    import socket
    import threading

    # A server that takes the TCP connection and then says nothing: a PostgreSQL host gone
    # silent. The kernel completes the handshake from the backlog; no one ever reads.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/test"
    app = create_app(
        app_config(stack, tmp_path, SQLALCHEMY_DATABASE_URI=url, DATABASE_CONNECT_TIMEOUT=2)
    )
    answers = []
    asking = threading.Thread(
        target=lambda: answers.append(app.test_client().get("/api/v1/procedures")), daemon=True
    )
    try:
        asking.start()
        asking.join(120)  # without a connect timeout this never ends
        assert answers, "the request hung on a silent database"
        _problem(answers[0], 503)
    finally:
        silent.close()


@pytest.mark.postgres_only
def test_the_watchdog_cuts_a_long_wait_and_nothing_else(stack, tmp_path):
    """Past the deadline a waiting statement fails as a lost connection; a connection that
    has finished its work (a statement, a commit, a rollback) is never cut afterwards."""
    import time

    import sqlalchemy as sa

    from backend.extensions import db

    app = create_app(app_config(stack, tmp_path, DATABASE_REQUEST_DEADLINE_SECONDS=0.5))
    with app.test_request_context("/healthz"), db.engine.connect() as connection:
        app.preprocess_request()  # what a request runs before its view
        connection.execute(sa.text("SELECT 1"))
        connection.commit()
        connection.execute(sa.text("SELECT 1"))
        connection.rollback()
        time.sleep(1.0)  # twice the deadline, waiting on nothing
        assert connection.execute(sa.text("SELECT 2")).scalar() == 2
        with pytest.raises(sa.exc.OperationalError):
            connection.execute(sa.text("SELECT pg_sleep(5)"))
    with unit_of_work(app):  # outside a request: a CLI command or a worker is not watched
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT pg_sleep(1), 3")).one()[1] == 3
        db.engine.dispose()
