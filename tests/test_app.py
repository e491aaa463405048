"""The Flask application as the API runs it (``backend.web.App``).

Each request passes fewer framework steps than Flask's defaults, and these tests hold that the
steps left out changed no behaviour: no cookie session is read or written, hooks and views run as
they did.
"""

from __future__ import annotations

from collections import namedtuple

import flask
import marshmallow as ma
import pytest
import sqlalchemy as sa
from flask import Flask

from backend import create_app
from backend.identity.access import public
from backend.web import Schema
from tests.helpers.processes import python_output
from tests.helpers.stacks import Stack, app_config

pytestmark = pytest.mark.committing  # apps of their own, on files of their own


def _app(tmp_path, **config) -> Flask:
    stack = Stack("sqlite", f"sqlite:///{tmp_path / 'db.sqlite3'}", None)
    return create_app(app_config(stack, tmp_path) | config)


def test_no_cookie_session_is_read_or_written(tmp_path):
    app = _app(tmp_path)
    seen = {}

    @app.get("/t/session")
    @public
    def touch():
        seen["null"] = flask.session.__class__.__name__
        with pytest.raises(RuntimeError):
            flask.session["who"] = "somebody"  # Flask's null session refuses writes
        return {}

    client = app.test_client()
    client.set_cookie("session", "eyJ3aG8iOiJhZG1pbiJ9.forged.cookie")
    response = client.get("/t/session")
    assert response.status_code == 200
    assert seen["null"] == "NullSession"
    assert "Set-Cookie" not in response.headers


def test_hooks_and_views_run_as_written(tmp_path):
    app = _app(tmp_path)

    def plain():
        return "plain"

    class Holder:
        def method(self):
            return "method"

    async def coroutine():
        return "coroutine"

    assert app.ensure_sync(plain) is plain
    holder = Holder()
    assert app.ensure_sync(holder.method) == holder.method
    # A coroutine still goes to Flask's own handling (which needs asgiref to run it).
    try:
        wrapped = app.ensure_sync(coroutine)
    except RuntimeError as error:
        assert "async" in str(error).lower()
    else:
        assert wrapped is not coroutine
        assert wrapped() == "coroutine"


def test_a_server_process_does_not_load_what_only_commands_use(tmp_path):
    script = (
        "import sys\n"
        "import backend.wsgi\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(loaded & {'alembic', 'flask_migrate'}))\n"
    )
    assert python_output(script, tmp_path) == "[]"


def test_a_server_process_loads_the_s3_and_fcm_clients_only_when_configured_to_use_them(
    tmp_path,
):
    script = (
        "import sys\n"
        "import backend.wsgi\n"
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'boto3', 'google'}))\n"
    )
    # The embedded default: blobs in a directory, push messages to a file.
    assert python_output(script, tmp_path) == "[]"
    on_s3 = (
        "import sys\n"
        "from backend.storage import create_store\n"
        "before = 'boto3' in sys.modules\n"
        "store = create_store({'STORAGE_URL': 's3://dossiers', 'APP_ENV': 'production'})\n"
        "print(before, type(store).__name__, 'boto3' in sys.modules)\n"
    )
    assert python_output(on_s3, tmp_path) == "False S3Store True"
    # The app of `flask` commands has them: `flask db upgrade` needs the migrations.
    assert "migrate" in _app(tmp_path).extensions


def test_a_server_process_loads_what_few_requests_use_with_the_first_of_them(tmp_path):
    # The provider HTTP client (requests), the image reader (Pillow), QR drawing (segno) and
    # SMTP load where they are first used: a worker serving reads does not hold them.
    script = (
        "import sys\n"
        "import backend.wsgi\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(loaded & {'requests', 'urllib3', 'PIL', 'segno', 'smtplib'}))\n"
    )
    assert python_output(script, tmp_path) == "[]"


def test_schemas_read_what_marshmallow_reads():
    class Inner:
        code = "x"

    class Thing:
        name = "n"
        inner = Inner()

    Pair = namedtuple("Pair", "name inner")
    fields = {
        "name": ma.fields.String(),
        "code": ma.fields.String(attribute="inner.code"),
        "absent": ma.fields.String(),
        "items": ma.fields.Raw(),  # a dict's missing key is looked up as an attribute
    }
    ours, theirs = Schema.from_dict(fields)(), ma.Schema.from_dict(fields)()
    with sa.create_engine("sqlite://").connect() as connection:  # a plain row, as lists read
        row = connection.execute(sa.text("SELECT 'n' AS name, 7 AS items")).one()
    for obj in (Thing(), {"name": "n", "inner": {"code": "x"}}, Pair("n", Inner()), row):
        assert ours.dump(obj) == theirs.dump(obj)
    assert ours.dump(Thing()) == {"name": "n", "code": "x"}
    assert ours.dump(row) == {"name": "n", "items": 7}
