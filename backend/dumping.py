"""A schema's dump, planned once: the same answer as marshmallow's, in fewer steps per field.

marshmallow dumps each field of each object through four calls of its own (``serialize``,
``get_value``, the schema's accessor, the field's ``_serialize``) before the field does its
work, and a list of twenty dossiers holds some two hundred fields. A plan, made once per schema
instance, keeps for each field where its value comes from and the one step that turns the value
into its answer:

- a string, an integer, a date-time in ISO form, an enum by value, a function of the
  object, a nested schema and a list of them: the step the field itself would take, done in
  place;
- a field that finds its own value (overrides ``serialize`` or ``get_value``): marshmallow's
  ``serialize``, as it is;
- any other field, or one of these with options that change its answer (``as_string``, a date
  format, a subclass with its own ``_serialize``): the field's own ``_serialize``, only the
  lookup is shortened.

What marshmallow would do differently is left to it: a schema with dump hooks, an object read
by key (a dict, anything with ``__getitem__`` but a SQL row), a dotted ``attribute``. The test
suite dumps every answer both ways and compares them (``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from marshmallow import missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP

# One field's answer from its value and the object that holds it.
Step = Callable[[Any, Any], Any]
# One field: (key in the answer, attribute to read or None, dump default, step).
Planned = tuple[str, str | None, Any, Step]

_STRING = ma.fields.String._serialize
_NUMBER = ma.fields.Number._serialize
_TEMPORAL = ma.fields.DateTime._serialize
_ENUM = ma.fields.Enum._serialize
_FUNCTION = ma.fields.Function._serialize
_NESTED = ma.fields.Nested._serialize
_LIST = ma.fields.List._serialize
_AS_IS = ma.fields.Field._serialize
_SERIALIZE = ma.fields.Field.serialize
_GET_VALUE = ma.fields.Field.get_value


def step_for(field: ma.fields.Field, attr: str) -> Step:
    """The step that turns a value of ``field`` into its answer, as ``field._serialize`` does."""
    kind = type(field)._serialize
    own: Step = lambda value, obj: field._serialize(value, attr, obj)  # noqa: E731
    if kind is _STRING:
        return lambda value, obj: value if type(value) is str else own(value, obj)
    if kind is _NUMBER and not field.as_string:
        number = field.num_type
        return lambda value, obj: value if type(value) is number else own(value, obj)
    if kind is _TEMPORAL:
        to_text = field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
        if to_text is None:
            return own
        return lambda value, obj: None if value is None else to_text(value)
    if kind is _ENUM and field.by_value and type(field.field)._serialize is _AS_IS:
        return lambda value, obj: None if value is None else value.value
    if kind is _FUNCTION:
        function = field.serialize_func
        return lambda value, obj: function(obj)
    if kind is _NESTED and isinstance(field.nested, ma.Schema | ma.schema.SchemaMeta):
        # Named ("self") or given by a function, a schema may nest itself: left to marshmallow,
        # which makes it only as deep as the data goes.
        schema = field.schema
        many = bool(schema.many or field.many)
        planned = schema._dump_plan() if isinstance(schema, PlannedDump) else None
        if planned is None:
            return lambda value, obj: None if value is None else schema.dump(value, many=many)
        one = schema._dump_one  # a schema of ours: by its plan, without its ``dump``
        if many:
            return lambda value, obj: None if value is None else [one(planned, v) for v in value]
        return lambda value, obj: None if value is None else one(planned, value)
    if kind is _LIST:
        inner = step_for(field.inner, attr)
        return lambda value, obj: None if value is None else [inner(v, obj) for v in value]
    return own


def plan(schema: ma.Schema) -> tuple[Planned, ...] | None:
    """How to dump one object with ``schema``; None when marshmallow must do it."""
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP] or schema.dict_class is not dict:
        return None
    planned = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        kind = type(field)
        if kind.serialize is not _SERIALIZE or kind.get_value is not _GET_VALUE:
            # A field that finds its own value (``apidoc.Derived``): all of it as marshmallow
            # runs it, which may answer ``missing``.
            whole = lambda _, obj, field=field, name=name: field.serialize(  # noqa: E731
                name, obj, accessor=schema.get_attribute
            )
            planned.append((key, None, missing, whole))
            continue
        attr = None
        if field._CHECK_ATTRIBUTE:
            attr = name if field.attribute is None else field.attribute
            if "." in attr:
                return None
        planned.append((key, attr, field.dump_default, step_for(field, attr or name)))
    return tuple(planned)


def read_by_attribute(obj: Any) -> bool:
    """An object whose fields are its attributes (an ORM object, a dataclass, a SQL row), as
    ``web.Schema.get_attribute`` reads it; marshmallow reads anything else."""
    return type(obj) is sa.Row or (type(obj) is not dict and not hasattr(obj, "__getitem__"))


def dump_one(planned: tuple[Planned, ...], obj: Any) -> dict[str, Any]:
    answer = {}
    for key, attr, default, step in planned:
        if attr is None:  # a function of the object, or a field that finds its own value
            value = step(None, obj)
            if value is not missing:
                answer[key] = value
            continue
        value = getattr(obj, attr, missing)
        if value is missing:
            value = default() if callable(default) else default
            if value is missing:
                continue
        answer[key] = step(value, obj)
    return answer


class PlannedDump:
    """A marshmallow schema's ``dump`` by its plan (mixed in before ``ma.Schema``). A nested
    schema of this kind is dumped by its own plan directly, without its ``dump``."""

    def dump(self, obj: Any, *, many: bool | None = None):
        planned = self._dump_plan()
        if planned is None:
            return super().dump(obj, many=many)
        if (self.many if many is None else many) and obj is not None:
            return [self._dump_one(planned, each) for each in obj]
        return self._dump_one(planned, obj)

    def _dump_one(self, planned: tuple[Planned, ...], obj: Any) -> dict[str, Any]:
        if read_by_attribute(obj):
            return dump_one(planned, obj)
        return self._serialize(obj)

    def _dump_plan(self) -> tuple[Planned, ...] | None:
        # Kept with the fields it was made from: a nested copy of a schema with other fields
        # (``only``, ``exclude``) makes its own.
        fields, planned = self.__dict__.get("_planned_dump", (None, None))
        if fields is not self.dump_fields:
            planned = plan(self)
            self._planned_dump = (self.dump_fields, planned)
        return planned
