"""Blobs left behind by a failed commit are swept after a day; `flask storage check` reports
them and rows whose blob is missing. On a local directory and on S3 over loopback."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from backend.db import utcnow
from backend.dossiers.models import Document
from backend.extensions import db
from backend.identity.models import Account, AccountKind
from backend.notifications import sweeps
from backend.storage import new_key, orphans


@pytest.fixture
def with_store(app, store, monkeypatch):
    """This test's store (local or S3) as the app's."""
    monkeypatch.setitem(app.extensions, "storage", store)
    monkeypatch.delitem(app.extensions, "storage_swept_at", raising=False)
    return store


def _put(store, key: str) -> str:
    store.put(key, io.BytesIO(b"%PDF-1.4 a blob"), max_size=1024)
    return key


def _document(key: str) -> None:
    account = Account(kind=AccountKind.CITIZEN, phone=f"+8491{new_key()[-7:]}")
    db.session.add(account)
    db.session.flush()
    db.session.add(
        Document(
            owner_id=account.id,
            blob_key=key,
            file_name="a.pdf",
            file_type="pdf",
            size=15,
            sha256="0" * 64,
        )
    )
    db.session.commit()


def _keys(store) -> set[str]:
    return {key for key, _ in store.listing()}


def test_an_orphan_is_swept_once_a_day_old_and_a_referenced_blob_never(app, ctx, with_store):
    referenced = _put(with_store, new_key())
    _document(referenced)
    orphan = _put(with_store, new_key())
    # Young: a request may be between storing it and committing its row.
    assert orphans.sweep(now=utcnow()) == 0
    assert _keys(with_store) == {referenced, orphan}
    later = utcnow() + timedelta(hours=app.config["STORAGE_ORPHAN_AGE_HOURS"], minutes=5)
    assert orphans.sweep(now=later) == 1
    assert _keys(with_store) == {referenced}
    assert orphans.sweep(now=later) == 0


def test_check_reports_orphans_and_missing_blobs(app, ctx, with_store):
    kept = _put(with_store, new_key())
    _document(kept)
    orphan = _put(with_store, new_key())
    lost = new_key()
    _document(lost)  # its blob was never stored (or was lost)
    report = orphans.check()
    assert report.stored == 2
    assert [key for key, _ in report.orphans] == [orphan]
    assert report.missing == [("documents.blob_key", lost)]
    assert report.old_orphans(utcnow()) == []
    assert report.old_orphans(utcnow() + timedelta(days=2)) == [orphan]


def test_flask_storage_check(app, runner, with_store):
    with app.app_context():
        kept = _put(with_store, new_key())
        _document(kept)
        _put(with_store, new_key())
    clean = runner.invoke(args=["storage", "check"])
    assert clean.exit_code == 0, clean.output
    assert "2 blobs stored" in clean.output and "0 missing" in clean.output
    assert "1 orphaned" in clean.output
    with app.app_context():
        _document(new_key())
    broken = runner.invoke(args=["storage", "check", "--list"])
    assert broken.exit_code == 1 and "1 missing" in broken.output
    assert "missing  documents.blob_key" in broken.output


def test_flask_sweep_runs_it_at_most_once_an_hour(app, ctx, with_store, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_ORPHAN_AGE_HOURS", 0)
    _put(with_store, new_key())
    first = sweeps.sweep(now=utcnow() + timedelta(seconds=1))
    assert first["tasks"]["orphan_blobs"] == 1
    _put(with_store, new_key())
    again = sweeps.sweep(now=utcnow() + timedelta(seconds=2))
    assert again["tasks"]["orphan_blobs"] == 0  # within STORAGE_SWEEP_SECONDS
    hour_later = utcnow() + timedelta(seconds=app.config["STORAGE_SWEEP_SECONDS"] + 5)
    assert sweeps.sweep(now=hour_later)["tasks"]["orphan_blobs"] == 1
