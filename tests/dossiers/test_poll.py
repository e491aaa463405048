"""A dossier's view, ``GET /dossiers/{id}``, and the app's poll of it with the ETag it holds.

Each sends its read to the database with the session check, as one statement
(``identity.access.read_with_session_check``): the poll reads the ETag's columns, the view the
whole dossier. These tests hold that riding together changed none of the answers each check
gives alone, with the ETag and without.
"""

from __future__ import annotations

import pytest
from flask import g

from backend.dossiers.models import Dossier
from backend.dossiers.routes import citizen as citizen_routes
from backend.dossiers.schemas import DossierSchema
from backend.extensions import db
from backend.identity.access import Principal
from backend.identity.models import AccountKind
from tests.helpers.signin import bearer
from tests.helpers.work import statements_sent


@pytest.fixture
def polled(filing, client):
    """(url, ETag) of the citizen's new draft."""
    dossier = filing.draft().get_json()
    url = f"/api/v1/dossiers/{dossier['id']}"
    return url, client.get(url, headers=filing.headers).headers["ETag"]


def test_the_view_and_an_unchanged_poll_are_one_statement_each(app, client, filing, polled):
    url, etag = polled
    headers = {**filing.headers, "If-None-Match": etag}
    answer, sent = statements_sent(app, lambda: client.get(url, headers=headers))
    assert answer.status_code == 304
    assert answer.headers["ETag"] == etag
    assert len(sent) == 1, sent
    answer, sent = statements_sent(app, lambda: client.get(url, headers=filing.headers))
    assert answer.status_code == 200
    assert answer.get_json()["procedure"]["code"]
    assert len(sent) == 1, sent
    # A changed dossier: the poll's read finds the ETag stale, and the view reads the whole.
    stale = {**filing.headers, "If-None-Match": '"not-it"'}
    answer, sent = statements_sent(app, lambda: client.get(url, headers=stale))
    assert answer.status_code == 200
    assert len(sent) == 2, sent


def test_an_unchanged_poll_is_answered_before_the_view_runs(client, filing, polled, monkeypatch):
    # The ETag's columns came with the session check; the view would only compute it again.
    url, etag = polled

    def view_ran(*_args, **_kwargs):
        raise AssertionError("the view read the dossier's version")

    monkeypatch.setattr(citizen_routes, "citizen_dossier_version", view_ran)
    answer = client.get(url, headers={**filing.headers, "If-None-Match": etag})
    assert answer.status_code == 304
    assert answer.headers["ETag"] == etag
    assert answer.data == b""


def test_the_view_reads_an_attached_document_in_its_one_statement(app, client, filing):
    # The view leaves unshown columns in the database; none of what it shows may come late.
    dossier = filing.draft().get_json()
    attached = filing.attach(dossier["id"]).get_json()
    url = f"/api/v1/dossiers/{dossier['id']}"
    answer, sent = statements_sent(app, lambda: client.get(url, headers=filing.headers))
    assert answer.status_code == 200
    assert len(sent) == 1, sent
    body = answer.get_json()
    assert body["agency"]["code"] and body["agency"]["name"]
    assert body["procedure_version"] == dossier["procedure_version"]
    [shown] = body["attachments"]
    assert shown == {"slot": "giay_chung_sinh", "document": attached["document"]}
    assert set(shown["document"]) == {
        "id",
        "file_name",
        "file_type",
        "size",
        "sha256",
        "created_at",
    }


ETAG_OR_NOT = pytest.mark.parametrize("with_etag", [True, False], ids=["poll", "view"])


def _headers(headers: dict, etag: str, with_etag: bool) -> dict:
    return {**headers, "If-None-Match": etag} if with_etag else headers


@ETAG_OR_NOT
def test_a_revoked_session_gets_401(client, filing, polled, citizen, with_etag):
    url, etag = polled
    assert client.post("/api/v1/auth/logout", headers=bearer(citizen)).status_code == 204
    answer = client.get(url, headers=_headers(filing.headers, etag, with_etag))
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"


@ETAG_OR_NOT
@pytest.mark.parametrize(
    ("reader", "status", "problem"),
    [("citizen_b", 404, "dossier-not-found"), ("receiver", 403, "citizens-only")],
)
def test_nobody_else_reads_it(request, client, polled, with_etag, reader, status, problem):
    # Another citizen finds nothing; staff are refused the citizen's route altogether.
    url, etag = polled
    tokens = request.getfixturevalue(reader)
    answer = client.get(url, headers=_headers(bearer(tokens), etag, with_etag))
    assert answer.status_code == status
    assert answer.get_json()["type"].endswith(problem)


@ETAG_OR_NOT
def test_an_unknown_dossier_is_404(client, filing, polled, with_etag):
    _url, etag = polled
    answer = client.get(
        "/api/v1/dossiers/01JD0000000000000000000000",
        headers=_headers(filing.headers, etag, with_etag),
    )
    assert answer.status_code == 404


def test_a_wrong_etag_gets_the_dossier(client, filing, polled):
    url, etag = polled
    changed = client.get(url, headers={**filing.headers, "If-None-Match": '"not-it"'})
    assert changed.status_code == 200
    assert changed.headers["ETag"] == etag


def test_the_view_read_with_the_session_check_carries_every_attachment(client, filing):
    dossier = filing.draft().get_json()
    assert filing.attach(dossier["id"]).status_code == 201
    assert filing.attach(dossier["id"], slot="giay_chung_nhan_ket_hon").status_code == 201
    answer = client.get(f"/api/v1/dossiers/{dossier['id']}", headers=filing.headers).get_json()
    assert sorted(a["slot"] for a in answer["attachments"]) == [
        "giay_chung_nhan_ket_hon",
        "giay_chung_sinh",
    ]
    assert answer["agency"]["code"] and answer["procedure"]["name"]


def test_the_view_shows_what_the_dossier_schema_dumps_of_the_dossier_itself(app, client, filing):
    # The view reads plain rows; the answer is the one the ORM object gave, field for field.
    dossier_id = filing.draft().get_json()["id"]
    assert filing.attach(dossier_id).status_code == 201  # shown second: by slot
    assert filing.attach(dossier_id, slot="giay_chung_nhan_ket_hon").status_code == 201
    assert filing.submit(dossier_id).status_code == 200
    shown = client.get(f"/api/v1/dossiers/{dossier_id}", headers=filing.headers)
    assert shown.status_code == 200
    with app.test_request_context():
        dossier = db.session.get(Dossier, dossier_id)
        g.principal = Principal(
            account_id=dossier.citizen_id,
            kind=AccountKind.CITIZEN,
            session_id="-",
            mfa_complete=False,
            acr=1,
            amr=[],
        )
        expected = DossierSchema().dump(dossier)
        etag = citizen_routes.blp._generate_etag(citizen_routes.etag_data(dossier))
    assert expected["code"] and expected["due_at"] and len(expected["attachments"]) == 2
    assert shown.get_json() == expected
    assert shown.headers["ETag"] == f'"{etag}"'
