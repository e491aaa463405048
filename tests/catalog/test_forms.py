"""A form definition validates what a citizen types."""

from __future__ import annotations

import time_machine

from backend.catalog.forms import validate_form

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
