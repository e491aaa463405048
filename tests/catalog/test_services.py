"""Catalog rules: all-or-nothing import, frozen versions, the lifecycle table."""

from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa

from backend.agencies.models import Agency
from backend.catalog import services
from backend.catalog.cli import DEMO_CATALOG
from backend.catalog.models import Procedure, ProcedureStatus, ProcedureVersion
from backend.extensions import db

pytestmark = pytest.mark.usefixtures("ctx")


@pytest.fixture
def document():
    return json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def procedure(code) -> Procedure:
    return db.session.scalar(sa.select(Procedure).where(Procedure.code == code))


def test_import_creates_everything_and_freezes_published(document):
    summary = services.import_catalog(document=document)
    assert (summary.agencies_created, summary.procedures_created) == (7, 10)
    assert summary.versions_frozen == 10  # published and pilot ones
    assert procedure("1.000656").status is ProcedureStatus.PILOT
    assert count(ProcedureVersion) == 10


def test_import_is_all_or_nothing(document):
    document["procedures"][5]["agency"] = "000.00.99.H99"  # unknown agency, late in the file
    with pytest.raises(services.CatalogInvalid) as caught:
        services.import_catalog(document=document)
    assert caught.value.errors == {"procedures.5.agency": ["Unknown agency."]}
    assert count(Agency) == count(Procedure) == count(ProcedureVersion) == 0


def test_import_reports_schema_errors_by_path(document):
    document["procedures"][0]["form"][0]["type"] = "signature"
    document["procedures"][1]["documents"][0]["accepted_types"] = ["exe"]
    document["agencies"][0]["code"] = "G12"
    with pytest.raises(services.CatalogInvalid) as caught:
        services.import_catalog(document=document)
    assert set(caught.value.errors) == {
        "procedures.0.form.0.type",
        "procedures.1.documents.0.accepted_types.0",
        "agencies.0.code",
    }
    assert count(Agency) == 0


@pytest.mark.parametrize(
    "bad_field, message",
    [
        ({"type": "choice"}, "A choice field needs choices."),
        ({"type": "text", "min": 1}, "Only number fields have min and max."),
        ({"type": "number", "min": 5, "max": 1}, "min is above max."),
        ({"type": "date", "max_length": 3}, "Only text fields have length limits."),
    ],
)
def test_form_definitions_must_be_consistent(document, bad_field, message):
    document["procedures"][0]["form"][0] = {"name": "x", "label": "X", **bad_field}
    with pytest.raises(services.CatalogInvalid) as caught:
        services.import_catalog(document=document)
    assert message in str(caught.value.errors)


def test_duplicate_form_field_names_are_refused(document):
    form = document["procedures"][0]["form"]
    form.append(copy.deepcopy(form[0]))
    with pytest.raises(services.CatalogInvalid) as caught:
        services.import_catalog(document=document)
    assert "procedures.0.form" in caught.value.errors


def test_agency_parent_must_come_first(document):
    document["agencies"].reverse()
    with pytest.raises(services.CatalogInvalid) as caught:
        services.import_catalog(document=document)
    assert any(key.endswith(".parent") for key in caught.value.errors)


def test_agency_cannot_become_its_own_ancestor(document):
    services.import_catalog(document=document)
    province = {
        "code": "000.00.00.H56",
        "name": "UBND",
        "level": "province",
        "parent": "001.01.00.H56",
    }
    with pytest.raises(services.CatalogInvalid) as caught:
        services.import_catalog(document={"agencies": [province]})
    assert caught.value.errors == {"agencies.0.parent": ["An agency cannot be its own ancestor."]}


def test_reimport_unchanged_freezes_nothing(document):
    services.import_catalog(document=document)
    summary = services.import_catalog(document=document)
    assert summary.versions_frozen == 0
    assert count(ProcedureVersion) == 10


def test_changed_content_freezes_a_new_version_and_keeps_the_old(document):
    services.import_catalog(document=document)
    old = services.get_public_version(code="2.000488")
    old_content = copy.deepcopy(old.content)
    document["procedures"][5]["fee"] = {"amount": 250000}
    summary = services.import_catalog(document=document)
    assert summary.versions_frozen == 1
    new = services.get_public_version(code="2.000488")
    assert (new.number, new.content["fee"]["amount"]) == (2, 250000)
    db.session.expire_all()
    first = db.session.scalar(sa.select(ProcedureVersion).where(ProcedureVersion.id == old.id))
    assert first.number == 1 and first.content == old_content


def test_versions_cannot_be_edited(document):
    services.import_catalog(document=document)
    version = services.get_public_version(code="1.001193")
    version.content = {**version.content, "name": "Changed"}
    with pytest.raises(ValueError, match="immutable"):
        db.session.flush()
    db.session.rollback()


def test_draft_changes_are_invisible_until_frozen(document):
    services.import_catalog(document=document)
    proc = procedure("1.001193")
    proc.draft = {**proc.draft, "name": "Đăng ký khai sinh (mẫu mới)"}
    db.session.commit()
    assert services.get_public_version(code="1.001193").content["name"] == "Đăng ký khai sinh"
    services.move_procedure(proc, ProcedureStatus.PUBLISHED)
    db.session.commit()
    assert services.get_public_version(code="1.001193").number == 2
    assert procedure("1.001193").name == "Đăng ký khai sinh (mẫu mới)"


@pytest.mark.parametrize(
    "path, allowed",
    [
        (["suspended", "draft"], ["published", "retired"]),
        (["retired", "published"], []),
        (["retired", "pilot"], []),
    ],
)
def test_lifecycle_refuses_steps_outside_the_table(document, path, allowed):
    services.import_catalog(document=document)
    proc = procedure("1.001193")
    *steps, last = path
    for step in steps:
        services.move_procedure(proc, ProcedureStatus(step))
    with pytest.raises(services.ProcedureTransitionNotAllowed) as caught:
        services.move_procedure(proc, ProcedureStatus(last))
    assert caught.value.extra["allowed"] == allowed


def test_import_cannot_move_a_published_procedure_back_to_draft(document):
    services.import_catalog(document=document)
    document["procedures"][0]["status"] = "draft"
    with pytest.raises(services.CatalogInvalid) as caught:
        services.import_catalog(document=document)
    assert list(caught.value.errors) == ["procedures.0.status"]


def test_suspended_is_visible_retired_is_not(document):
    services.import_catalog(document=document)
    proc = procedure("1.001193")
    services.move_procedure(proc, ProcedureStatus.SUSPENDED)
    db.session.commit()
    assert (
        services.get_public_version(code="1.001193").procedure.status is ProcedureStatus.SUSPENDED
    )
    services.move_procedure(proc, ProcedureStatus.RETIRED)
    db.session.commit()
    with pytest.raises(services.ProcedureNotFound):
        services.get_public_version(code="1.001193")


def test_imports_that_change_a_procedure_are_audited(document):
    from backend.catalog.models import CatalogAuditRecord

    def trail(code):
        return [
            (r.action, r.actor_id, r.status_before, r.status_after, r.version_after)
            for r in db.session.scalars(
                sa.select(CatalogAuditRecord)
                .join(Procedure)
                .where(Procedure.code == code)
                .order_by(CatalogAuditRecord.seq)
            )
        ]

    services.import_catalog(document=document)
    assert trail("1.000656") == [("import", None, None, ProcedureStatus.PILOT, 1)]
    services.import_catalog(document=document)  # the same document again: nothing to record
    assert len(trail("1.000656")) == 1
    document["procedures"][5]["fee"] = {"amount": 250000}
    services.import_catalog(document=document)
    assert trail("2.000488")[-1] == (
        "import",
        None,
        ProcedureStatus.PUBLISHED,
        ProcedureStatus.PUBLISHED,
        2,
    )
