"""The app's poll: ``GET /dossiers/{id}`` with the ETag it holds.

The poll's read goes to the database with the session check, as one statement
(``identity.access.read_with_session_check``). These tests hold that riding together changed
none of the answers each check gives alone.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backend.extensions import db
from tests.helpers.signin import bearer


@pytest.fixture
def polled(filing, client):
    """(url, ETag) of the citizen's new draft."""
    dossier = filing.draft().get_json()
    url = f"/api/v1/dossiers/{dossier['id']}"
    return url, client.get(url, headers=filing.headers).headers["ETag"]


def _statements(app, send) -> tuple[object, list[str]]:
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            sent.append(statement)

    with app.app_context():
        engine = db.engines[None].engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        return send(), sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def test_an_unchanged_poll_is_one_statement(app, client, filing, polled):
    url, etag = polled
    headers = {**filing.headers, "If-None-Match": etag}
    answer, sent = _statements(app, lambda: client.get(url, headers=headers))
    assert answer.status_code == 304
    assert answer.headers["ETag"] == etag
    assert len(sent) == 1, sent
    # Without the ETag the app gets the whole dossier, read after the session check.
    answer, sent = _statements(app, lambda: client.get(url, headers=filing.headers))
    assert answer.status_code == 200
    assert len(sent) > 1


def test_a_revoked_session_gets_401_not_304(client, filing, polled, citizen):
    url, etag = polled
    assert client.post("/api/v1/auth/logout", headers=bearer(citizen)).status_code == 204
    answer = client.get(url, headers={**filing.headers, "If-None-Match": etag})
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"


def test_another_citizens_dossier_looks_absent_even_with_its_etag(client, polled, citizen_b):
    url, etag = polled
    answer = client.get(url, headers={**bearer(citizen_b), "If-None-Match": etag})
    assert answer.status_code == 404
    assert answer.get_json()["type"].endswith("dossier-not-found")


def test_an_unknown_dossier_is_404_and_a_wrong_etag_gets_the_dossier(client, filing, polled):
    url, etag = polled
    unknown = client.get(
        "/api/v1/dossiers/01JD0000000000000000000000",
        headers={**filing.headers, "If-None-Match": etag},
    )
    assert unknown.status_code == 404
    changed = client.get(url, headers={**filing.headers, "If-None-Match": '"not-it"'})
    assert changed.status_code == 200
    assert changed.headers["ETag"] == etag


def test_staff_polling_a_citizens_dossier_is_refused(client, polled, receiver):
    url, etag = polled
    answer = client.get(url, headers={**bearer(receiver), "If-None-Match": etag})
    assert answer.status_code == 403
    assert answer.get_json()["type"].endswith("citizens-only")
