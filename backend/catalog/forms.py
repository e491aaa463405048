"""A procedure's form definition turned into a validator for the data a citizen enters."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.db import utcnow
from backend.identity.schemas import AddressSchema
from backend.parsing import Day
from backend.phones import PhoneField
from backend.web import Schema

NATIONAL_ID = validate.Regexp(r"^\d{12}$", error="A national ID number has 12 digits.")
_TEXT_MAX = 2000


class PastDateField(Day):
    """A date kept as ISO text, optionally refused when it lies in the future."""

    def __init__(self, *, not_in_future: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.not_in_future = not_in_future

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        day: date = super()._deserialize(value, attr, data, **kwargs)
        if self.not_in_future and day > utcnow().date():
            raise ma.ValidationError("The date cannot be in the future.")
        return day.isoformat()


def _text_field(spec: dict[str, Any], required: bool) -> ma.fields.Field:
    return ma.fields.String(
        required=required,
        validate=validate.Length(
            min=spec.get("min_length", 1 if required else 0),
            max=spec.get("max_length", _TEXT_MAX),
        ),
    )


def _number_field(spec: dict[str, Any], required: bool) -> ma.fields.Field:
    bounds = validate.Range(min=spec.get("min"), max=spec.get("max"))
    if spec.get("integer"):
        return ma.fields.Integer(required=required, strict=True, validate=bounds)
    return ma.fields.Float(required=required, allow_nan=False, validate=bounds)


def _field(spec: dict[str, Any], *, partial: bool) -> ma.fields.Field:
    required = spec.get("required", False) and not partial
    kind = spec["type"]
    if kind == "text":
        return _text_field(spec, required)
    if kind == "number":
        return _number_field(spec, required)
    if kind == "date":
        return PastDateField(required=required, not_in_future=spec.get("not_in_future", False))
    if kind == "choice":
        values = [choice["value"] for choice in spec["choices"]]
        return ma.fields.String(required=required, validate=validate.OneOf(values))
    if kind == "phone":
        return PhoneField(required=required)
    if kind == "national_id":
        return ma.fields.String(required=required, validate=NATIONAL_ID)
    if kind == "address":
        return ma.fields.Nested(AddressSchema, required=required)
    raise ValueError(f"unknown form field type {kind!r}")


def form_schema(form: list[dict[str, Any]], *, partial: bool = False) -> ma.Schema:
    """A schema for one form. ``partial`` (drafts) checks values but not that all are there."""
    fields = {spec["name"]: _field(spec, partial=partial) for spec in form}
    return Schema.from_dict(fields, name="FormData")()


# Schemas of frozen forms (a procedure version's, which never changes), by the version's id and
# partial or not: building one per request cost a submission about 520 of its 13,200 Python calls.
_FROZEN: OrderedDict[tuple[str, bool], ma.Schema] = OrderedDict()
_FROZEN_KEPT = 256
_FROZEN_LOCK = threading.Lock()


def _frozen_form_schema(version_id: str, form: list[dict[str, Any]], partial: bool) -> ma.Schema:
    key = (version_id, partial)
    with _FROZEN_LOCK:
        schema = _FROZEN.get(key)
        if schema is not None:
            _FROZEN.move_to_end(key)
            return schema
    schema = form_schema(form, partial=partial)
    with _FROZEN_LOCK:
        _FROZEN[key] = schema
        if len(_FROZEN) > _FROZEN_KEPT:
            _FROZEN.popitem(last=False)  # the least recently used
    return schema


def validate_form(
    form: list[dict[str, Any]],
    data: dict[str, Any],
    *,
    partial: bool = False,
    version_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(clean_data, errors)``; ``errors`` maps field names to marshmallow messages.

    ``version_id`` names the frozen procedure version ``form`` is the form of: its schema is
    built once, not on each call.
    """
    if version_id is None:
        schema = form_schema(form, partial=partial)
    else:
        schema = _frozen_form_schema(version_id, form, partial)
    try:
        return schema.load(data), {}
    except ma.ValidationError as error:
        return {}, error.normalized_messages()
