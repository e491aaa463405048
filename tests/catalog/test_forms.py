"""A form definition validates what a citizen types."""

from __future__ import annotations

import time_machine

from backend.catalog import forms
from backend.catalog.forms import validate_form
from backend.db import new_id

FORM = [
    {"name": "full_name", "type": "text", "required": True, "max_length": 10},
    {"name": "copies", "type": "number", "required": True, "min": 1, "max": 5, "integer": True},
    {"name": "area", "type": "number", "min": 0.5},
    {"name": "born", "type": "date", "required": True, "not_in_future": True},
    {"name": "sex", "type": "choice", "choices": [{"value": "nam"}, {"value": "nu"}]},
    {"name": "phone", "type": "phone"},
    {"name": "cccd", "type": "national_id"},
    {"name": "home", "type": "address"},
]
GOOD = {"full_name": "Lan", "copies": 2, "born": "2000-01-31"}


def test_good_data_is_cleaned():
    clean, errors = validate_form(
        FORM, {**GOOD, "phone": "0912 345 678", "home": {"line": "1 Lê Lợi"}, "area": 12.5}
    )
    assert errors == {}
    assert clean["phone"] == "+84912345678"
    assert clean["born"] == "2000-01-31"


def test_every_kind_of_mistake_is_named():
    _, errors = validate_form(
        FORM,
        {
            "full_name": "x" * 11,
            "copies": 1.5,
            "area": 0.1,
            "born": "31/01/2000",
            "sex": "khac",
            "phone": "12345",
            "cccd": "12345678901",
            "home": {"ward": "Hồng Gai"},
            "nickname": "?",
        },
    )
    assert set(errors) == {
        "full_name",
        "copies",
        "area",
        "born",
        "sex",
        "phone",
        "cccd",
        "home",
        "nickname",
    }
    assert errors["home"] == {"line": ["Missing data for required field."]}


def test_required_fields_only_on_full_validation():
    _, errors = validate_form(FORM, {})
    assert set(errors) == {"full_name", "copies", "born"}
    assert validate_form(FORM, {}, partial=True) == ({}, {})


@time_machine.travel("2026-11-28 10:00:00+07:00", tick=False)
def test_dates_in_the_future_are_refused_when_asked():
    _, errors = validate_form(FORM, {**GOOD, "born": "2026-11-29"})
    assert errors == {"born": ["The date cannot be in the future."]}
    assert validate_form(FORM, {**GOOD, "born": "2026-11-28"})[1] == {}


def test_numbers_refuse_booleans_and_strings():
    assert "copies" in validate_form(FORM, {**GOOD, "copies": True})[1]
    assert "copies" in validate_form(FORM, {**GOOD, "copies": "2"})[1]


def test_a_frozen_version_s_form_is_checked_alike_and_its_schema_built_once(monkeypatch):
    built = []
    real = forms.form_schema
    monkeypatch.setattr(forms, "form_schema", lambda *a, **k: built.append(k) or real(*a, **k))
    version_id = new_id()
    for _ in range(3):
        assert validate_form(FORM, GOOD, version_id=version_id) == validate_form(FORM, GOOD)
        _, missing = validate_form(FORM, {}, version_id=version_id)
        assert set(missing) == {"full_name", "copies", "born"}
        assert validate_form(FORM, {}, partial=True, version_id=version_id) == ({}, {})
    # Once for the whole form and once for the partial one; the calls without an id each time.
    assert built.count({"partial": False}) == 1 + 3 and built.count({"partial": True}) == 1
