"""Submission: every check, the code and due date, idempotent retries, step-up, version pins."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import CacheStats

from backend.catalog.services import import_catalog
from backend.dossiers.models import Dossier
from backend.extensions import db
from tests.helpers.dossiers import BIRTH_DATA
from tests.helpers.work import statements_sent, unit_of_work


def codes(app) -> list[str]:
    with unit_of_work(app):
        return list(db.session.scalars(sa.select(Dossier.code).where(Dossier.code.is_not(None))))


def test_missing_documents_are_listed(filing, app):
    dossier = filing.draft().get_json()
    response = filing.submit(dossier["id"])
    assert response.status_code == 422
    body = response.get_json()
    assert body["missing_documents"] == ["giay_chung_sinh"]
    assert "documents.giay_chung_sinh" in body["errors"]
    assert codes(app) == []


def test_the_dossier_and_what_submitting_it_checks_come_in_one_read_under_the_lock(app, filing):
    dossier = filing.draft().get_json()
    filing.attach(dossier["id"])
    answer, sent = statements_sent(app, lambda: filing.submit(dossier["id"]))
    assert answer.status_code == 200, answer.get_json()
    reads = [s for s in sent if s.startswith("SELECT")]
    locked = [s for s in reads if " FROM dossiers" in s]
    assert len(locked) == 1, reads
    for joined in ("JOIN procedures", "JOIN procedure_versions", "dossier_attachments", "pauses"):
        assert joined in locked[0]
    # Nothing reads them again: not the procedure by its code, nor its version in force, nor
    # the attachments or pauses.
    again = (
        "SELECT procedures.",
        "SELECT procedure_versions.",
        "SELECT dossier_attach",
        "SELECT dossier_pauses",
    )
    assert not [s for s in reads if s.startswith(again)]
    # One new version of the dossier's row, code included: each is an entry in every index.
    updates = [s for s in sent if s.startswith("UPDATE dossiers ")]
    assert len(updates) == 1 and " code=" in updates[0], updates


def test_incomplete_form_is_refused_at_submission(filing):
    partial = {k: v for k, v in BIRTH_DATA.items() if k != "mother_full_name"}
    dossier = filing.draft(data=partial).get_json()
    filing.attach(dossier["id"])
    response = filing.submit(dossier["id"])
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["data.mother_full_name"]


def test_submit_needs_an_idempotency_key(filing):
    dossier = filing.draft().get_json()
    filing.attach(dossier["id"])
    assert filing.submit(dossier["id"], key=None).status_code == 400


def test_retry_with_the_same_key_gives_the_same_receipt(filing, app):
    dossier = filing.draft().get_json()
    filing.attach(dossier["id"])
    first = filing.submit(dossier["id"], key="retry-key-42")
    again = filing.submit(dossier["id"], key="retry-key-42")
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(codes(app)) == 1
    # A new key is a new request: the dossier is already submitted.
    assert filing.submit(dossier["id"], key="another-key-43").status_code == 409


def test_same_key_for_another_request_is_422(filing):
    one = filing.draft().get_json()
    two = filing.draft().get_json()
    filing.attach(one["id"])
    filing.attach(two["id"])
    assert filing.submit(one["id"], key="shared-key-1").status_code == 200
    reused = filing.submit(two["id"], key="shared-key-1")
    assert reused.status_code == 422
    assert reused.get_json()["type"].endswith("idempotency-key-reused")


def test_create_is_idempotent_too(filing, app):
    first = filing.draft(key="create-key-1")
    again = filing.draft(key="create-key-1")
    assert first.get_json()["id"] == again.get_json()["id"]
    other = filing.draft(data={}, key="create-key-1")
    assert other.status_code == 422
    with unit_of_work(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Dossier)) == 1


def test_weak_session_gets_the_step_up_answer(filing, app):
    # Permanent residence registration needs a level-2 e-ID; a phone sign-in is level 0.
    dossier = filing.draft("1.004222", data={}).get_json()
    response = filing.submit(dossier["id"])
    assert response.status_code == 401
    assert response.get_json()["acr_values"] == "2"
    assert 'error="insufficient_user_authentication"' in response.headers["WWW-Authenticate"]
    assert codes(app) == []


def test_codes_run_per_agency_per_day(filing, clock):
    from datetime import timedelta

    assert filing.filed()["code"].endswith("-261130-0001")
    assert filing.filed()["code"].endswith("-261130-0002")
    clock.shift(timedelta(days=1))
    filing.refresh()
    assert filing.filed()["code"] == "001.01.00.H56-261201-0001"


def test_submission_pins_the_version_in_force(filing, app, client):
    import json

    from backend.catalog.cli import DEMO_CATALOG

    kept_draft = filing.draft().get_json()
    filing.attach(kept_draft["id"])
    early = filing.filed()
    document = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
    document["procedures"][0]["processing_time"] = {"amount": 2, "unit": "working_days"}
    with unit_of_work(app):
        assert import_catalog(document=document).versions_frozen == 1
    late = filing.submit(kept_draft["id"], key="late-submit-1").get_json()
    assert (early["procedure_version"], late["procedure_version"]) == (1, 2)
    # Monday 09:00 + 8 office hours: 2.5 h to lunch, 4 h afternoon, 1.5 h on Tuesday -> 09:00.
    # 2 working days: Monday (the receiving day) is not counted, Tuesday, Wednesday -> 17:00.
    assert early["due_at"] == "2026-12-01T02:00:00+00:00"
    assert late["due_at"] == "2026-12-02T10:00:00+00:00"
    seen = client.get(f"/api/v1/dossiers/{early['id']}", headers=filing.headers).get_json()
    assert seen["procedure_version"] == 1


def test_a_submission_compiles_no_statement_that_an_earlier_one_compiled(app, filing):
    """Every statement of a second submission comes from SQLAlchemy's compiled cache: an
    INSERT ... ON CONFLICT (the idempotency claim, the day's counter) as much as the rest."""
    for number in range(2):
        dossier = filing.draft().get_json()
        filing.attach(dossier["id"])
        if number == 0:
            assert filing.submit(dossier["id"], key="compiled-0").status_code == 200
    with app.app_context():
        engine = db.engines[None].engine
    compiled: list[str] = []

    def note(_conn, _cursor, statement, _params, context, _many) -> None:
        if context.cache_hit is not CacheStats.CACHE_HIT:
            compiled.append(" ".join(statement.split())[:80])

    sa.event.listen(engine, "after_cursor_execute", note)
    try:
        answer = filing.submit(dossier["id"], key="compiled-1")
    finally:
        sa.event.remove(engine, "after_cursor_execute", note)
    assert answer.status_code == 200, answer.get_json()
    assert [s for s in compiled if not s.startswith(("SAVEPOINT", "RELEASE"))] == []
