"""Blobs left behind by a failed commit are swept after a day; `flask storage check` reports
them and rows whose blob is missing. On a local directory and on S3 over loopback."""

from __future__ import annotations

import io
import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest

from backend import config as config_module
from backend.db import utcnow
from backend.dossiers.models import Document
from backend.extensions import db
from backend.identity.models import Account, AccountKind
from backend.notifications import sweeps
from backend.storage import new_key, orphans
from backend.storage.local import TEMP_PREFIX, LocalStore
from backend.storage.s3 import S3Store
from tests.helpers.storage import S3_PREFIX, s3_client, stored_objects
from tests.helpers.work import unit_of_work


@pytest.fixture
def with_store(app, store, monkeypatch):
    """This test's store (local or S3) as the app's."""
    monkeypatch.setitem(app.extensions, "storage", store)
    monkeypatch.delitem(app.extensions, "storage_swept_at", raising=False)
    return store


def _put(store, key: str) -> str:
    store.put(key, io.BytesIO(b"%PDF-1.4 a blob"), max_size=1024)
    return key


def _document(key: str) -> str:
    account = Account(kind=AccountKind.CITIZEN, phone=f"+8491{new_key()[-7:]}")
    db.session.add(account)
    db.session.flush()
    document = Document(
        owner_id=account.id,
        blob_key=key,
        file_name="a.pdf",
        file_type="pdf",
        size=15,
        sha256="0" * 64,
    )
    db.session.add(document)
    db.session.commit()
    return document.id


def _keys(store) -> set[str]:
    return {key for key, _ in store.listing()}


def _a_day_later(app):
    return utcnow() + timedelta(hours=app.config["STORAGE_ORPHAN_AGE_HOURS"], minutes=5)


@pytest.mark.parametrize("prefix", [None, "incoming"])
def test_an_orphan_is_swept_once_a_day_old_and_a_referenced_blob_never(
    app, ctx, with_store, prefix
):
    referenced = _put(with_store, new_key())
    _document(referenced)
    # A failed commit's blob, or a direct upload nobody confirmed (its slot row is gone).
    orphan = _put(with_store, new_key(prefix))
    # Young: a request may be between storing it and committing its row.
    assert orphans.sweep(now=utcnow()) == 0
    assert _keys(with_store) == {referenced, orphan}
    later = _a_day_later(app)
    assert orphans.sweep(now=later) == 1
    assert _keys(with_store) == {referenced}
    assert orphans.sweep(now=later) == 0


def test_what_we_did_not_write_is_never_listed_nor_swept(app, ctx, with_store):
    _document(_put(with_store, new_key()))
    if isinstance(with_store, LocalStore):
        (with_store.root / "README.txt").write_text("kept by the operator")
        (with_store.root / "backup").mkdir()
        (with_store.root / "backup" / "dump.sql").write_text("--")
    else:
        client, bucket = with_store.client, with_store.bucket
        client.put_object(Bucket=bucket, Key=f"{S3_PREFIX}/README.txt", Body=b"kept")
        client.put_object(Bucket=bucket, Key=f"{S3_PREFIX}/backup/dump.sql", Body=b"--")
        client.put_object(Bucket=bucket, Key="elsewhere/x", Body=b"not under our prefix")
    before = stored_objects(with_store)

    assert orphans.sweep(now=utcnow() + timedelta(days=30)) == 0
    assert stored_objects(with_store) == before
    assert orphans.check().orphans == []


def _leave_an_unfinished_write(store) -> datetime:
    """What a process killed in the middle of a put leaves; returns when the write began."""
    if isinstance(store, LocalStore):
        path = store.root / f"{TEMP_PREFIX}k1ll3d"
        path.write_bytes(b"%PDF-1.4 half of it")
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    store.client.create_multipart_upload(
        Bucket=store.bucket, Key=f"{S3_PREFIX}/{new_key()}", ContentType="application/pdf"
    )
    # As the server tells it (moto says every upload began in 2010).
    (upload,) = store.client.list_multipart_uploads(Bucket=store.bucket)["Uploads"]
    return upload["Initiated"]


def test_an_unfinished_write_is_dropped_once_a_day_old(app, ctx, with_store):
    kept = _put(with_store, new_key())
    _document(kept)
    begun = _leave_an_unfinished_write(with_store)
    assert len(stored_objects(with_store)) == 2

    assert orphans.sweep(now=begun + timedelta(minutes=5)) == 0  # it may still be writing
    assert len(stored_objects(with_store)) == 2
    age = timedelta(hours=app.config["STORAGE_ORPHAN_AGE_HOURS"], minutes=5)
    assert orphans.sweep(now=max(begun + age, utcnow())) == 1
    assert stored_objects(with_store) == [kept]


def test_a_database_that_points_at_no_blob_deletes_none(app, ctx, with_store, caplog):
    # The wrong DATABASE_URL (a fresh or another database) next to the real store.
    kept = _put(with_store, new_key())
    with caplog.at_level(logging.WARNING, logger="backend.storage.orphans"):
        assert orphans.sweep(now=_a_day_later(app)) == 0
    assert _keys(with_store) == {kept}
    assert "points at no blob" in caplog.text

    _document(_put(with_store, new_key()))
    assert orphans.sweep(now=_a_day_later(app)) == 1
    assert kept not in _keys(with_store)


def test_check_reports_orphans_and_missing_blobs(app, ctx, with_store):
    kept = _put(with_store, new_key())
    _document(kept)
    orphan = _put(with_store, new_key())
    lost = new_key()
    lost_row = _document(lost)  # its blob was never stored (or was lost)
    report = orphans.check()
    assert report.stored == 2 and report.rows == 2
    assert [key for key, _ in report.orphans] == [orphan]
    assert report.missing == [orphans.Missing("documents.blob_key", lost_row, lost)]
    assert report.old_orphans(utcnow()) == []
    assert report.old_orphans(utcnow() + timedelta(days=2)) == [orphan]


class StoredWhileListing:
    """The real store, with a request storing ``key`` right after the listing was read."""

    def __init__(self, store, key: str):
        self.store, self.key = store, key

    def listing(self):
        yield from self.store.listing()
        _put(self.store, self.key)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_check_does_not_call_missing_a_blob_stored_while_it_listed(app, ctx, store, monkeypatch):
    racing = new_key()
    monkeypatch.setitem(app.extensions, "storage", StoredWhileListing(store, racing))
    _document(racing)  # committed by the same request, before the check reads the rows
    report = orphans.check()
    assert report.missing == [] and report.rows == 1
    assert _keys(store) == {racing}


def test_flask_storage_check(app, runner, with_store):
    with unit_of_work(app):
        kept = _put(with_store, new_key())
        _document(kept)
        orphan = _put(with_store, new_key())
    clean = runner.invoke(args=["storage", "check"])
    assert clean.exit_code == 0, clean.output
    assert "2 blobs stored, 1 rows point at blobs" in clean.output
    assert "0 missing" in clean.output and "1 orphaned" in clean.output
    assert orphan not in clean.output  # listed with --list only
    with unit_of_work(app):
        lost = new_key()
        lost_row = _document(lost)
    broken = runner.invoke(args=["storage", "check", "--list"])
    assert broken.exit_code == 1 and "1 missing" in broken.output
    # The missing rows are always listed: they are what the operator has to act on.
    assert f"missing  documents.blob_key  row {lost_row}  key {lost}" in broken.output
    assert f"UTC  {orphan}" in broken.output


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_flask_storage_check_on_an_unreachable_store_exits_2(app, runner, monkeypatch):
    client = s3_client(f"http://127.0.0.1:{_closed_port()}", max_attempts=1)
    monkeypatch.setitem(app.extensions, "storage", S3Store(client=client, bucket="dvc-gone"))
    result = runner.invoke(args=["storage", "check"])
    assert result.exit_code == 2, result.output
    assert "storage check failed" in result.output and "dvc-gone" in result.output


def test_flask_storage_check_says_when_no_row_points_at_any_blob(app, runner, with_store):
    with unit_of_work(app):
        _put(with_store, new_key())
    result = runner.invoke(args=["storage", "check"])
    assert result.exit_code == 0, result.output
    assert "is this the right database" in result.output


def test_flask_sweep_runs_it_at_most_once_an_hour(app, ctx, with_store, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_ORPHAN_AGE_HOURS", 0)
    _document(_put(with_store, new_key()))
    _put(with_store, new_key())
    first = sweeps.sweep(now=utcnow() + timedelta(seconds=1))
    assert first["tasks"]["orphan_blobs"] == 1
    _put(with_store, new_key())
    again = sweeps.sweep(now=utcnow() + timedelta(seconds=2))
    assert again["tasks"]["orphan_blobs"] == 0  # within STORAGE_SWEEP_SECONDS
    hour_later = utcnow() + timedelta(seconds=app.config["STORAGE_SWEEP_SECONDS"] + 5)
    assert sweeps.sweep(now=hour_later)["tasks"]["orphan_blobs"] == 1


@pytest.mark.parametrize(("setting", "hours"), [("0", 1), ("-5", 1), ("", 24), ("48", 48)])
def test_the_orphan_age_is_never_under_an_hour(tmp_path, setting, hours):
    environ = {"APP_ENV": "testing", "SECRET_KEY": "k", "STORAGE_ORPHAN_AGE_HOURS": setting}
    assert config_module.load(str(tmp_path), environ)["STORAGE_ORPHAN_AGE_HOURS"] == hours
