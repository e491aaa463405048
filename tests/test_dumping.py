"""A schema's planned dump gives marshmallow's answer, and leaves to marshmallow what it must."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import marshmallow as ma
import pytest
import sqlalchemy as sa

from backend import dumping
from backend.web import Schema


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Shouting(ma.fields.String):
    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.upper()


class PartSchema(Schema):
    name = ma.fields.String()
    weight = ma.fields.Float()


class ThingSchema(Schema):
    id = ma.fields.String()
    count = ma.fields.Integer()
    count_text = ma.fields.Integer(attribute="count", as_string=True, dump_only=True)
    seen_at = ma.fields.DateTime(allow_none=True)
    seen_on = ma.fields.Date()
    stamp = ma.fields.DateTime(attribute="seen_at", format="%Y/%m/%d", dump_only=True)
    colour = ma.fields.Enum(Colour, by_value=True)
    colour_name = ma.fields.Enum(Colour, attribute="colour", dump_only=True)
    loud = Shouting(attribute="id", dump_only=True)
    flag = ma.fields.Boolean()
    label = ma.fields.Function(lambda thing: f"{thing.id}:{thing.count}")
    main = ma.fields.Nested(PartSchema, allow_none=True)
    parts = ma.fields.List(ma.fields.Nested(PartSchema))
    tags = ma.fields.List(ma.fields.String())
    extra = ma.fields.Dict()
    renamed = ma.fields.String(data_key="otherName", attribute="id", dump_only=True)
    absent = ma.fields.String()
    absent_default = ma.fields.String(dump_default="fallback")


@dataclass
class Part:
    name: str
    weight: float


@dataclass
class Thing:
    id: str
    count: int | bool
    seen_at: datetime | None
    seen_on: date
    colour: Colour
    flag: object
    main: Part | None
    parts: list[Part]
    tags: list
    extra: dict = field(default_factory=dict)


def _thing(**changes) -> Thing:
    values = dict(
        id="d-1",
        count=3,
        seen_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
        seen_on=date(2026, 12, 4),
        colour=Colour.BLUE,
        flag="yes",
        main=Part("wheel", 2.5),
        parts=[Part("axle", 1), Part("seat", 0.5)],
        tags=["a", 7, b"b"],
        extra={"k": [1, 2]},
    )
    return Thing(**{**values, **changes})


def _both(schema: ma.Schema, obj, **kwargs):
    """The planned answer and marshmallow's own, as text (True and 1 differ, order counts)."""
    return repr(schema.dump(obj, **kwargs)), repr(ma.Schema.dump(schema, obj, **kwargs))


@pytest.mark.parametrize(
    "thing",
    [
        _thing(),
        _thing(seen_at=None, main=None, count=True, flag=0, tags=[]),
        _thing(count=2**70, parts=[]),
    ],
)
def test_a_planned_dump_answers_as_marshmallow_does(thing):
    planned, expected = _both(ThingSchema(), thing)

    assert planned == expected
    assert "'otherName': 'd-1'" in planned
    assert "'absent'" not in planned and "'absent_default': 'fallback'" in planned


def test_every_field_of_the_sample_is_planned_beside_marshmallow():
    planned = dumping.plan(ThingSchema())

    assert planned is not None
    assert [key for key, *_ in planned] == [
        "otherName" if name == "renamed" else name for name in ThingSchema().dump_fields
    ]


def test_a_many_dump_a_plain_row_and_nothing_at_all_match_too():
    with sa.create_engine("sqlite://").connect() as connection:
        row = connection.execute(sa.text("SELECT 'bolt' AS name, 0.5 AS weight")).one()

    assert (
        _both(PartSchema(many=True), [Part("nut", 1), row])
        == ("[{'name': 'nut', 'weight': 1.0}, {'name': 'bolt', 'weight': 0.5}]",) * 2
    )
    assert _both(PartSchema(), None) == ("{}", "{}")
    assert _both(PartSchema(), [Part("x", 1)], many=True) == ("[{'name': 'x', 'weight': 1.0}]",) * 2


def test_objects_read_by_key_are_left_to_marshmallow():
    with sa.create_engine("sqlite://").connect() as connection:
        row = connection.execute(sa.text("SELECT 1 AS name")).one()

    assert dumping.read_by_attribute(Part("cog", 1)) and dumping.read_by_attribute(row)
    assert not dumping.read_by_attribute({"name": "gear"})
    assert not dumping.read_by_attribute(["gear"])
    assert PartSchema().dump({"name": "gear", "weight": 3}) == {"name": "gear", "weight": 3.0}


class HookedSchema(Schema):
    name = ma.fields.String()

    @ma.post_dump
    def shout(self, data, **kwargs):
        return {"name": data["name"].upper()}


class DottedSchema(Schema):
    part_name = ma.fields.String(attribute="main.name")


def test_dump_hooks_and_dotted_attributes_are_left_to_marshmallow():
    assert dumping.plan(HookedSchema()) is None
    assert HookedSchema().dump(Part("cog", 1)) == {"name": "COG"}
    assert dumping.plan(DottedSchema()) is None
    assert DottedSchema().dump(_thing()) == {"part_name": "wheel"}


def test_a_nested_copy_with_fewer_fields_makes_its_own_plan():
    whole = PartSchema()
    whole.dump(Part("cog", 1))  # planned with both fields

    class HolderSchema(Schema):
        main = ma.fields.Nested(whole, only=("name",))

    assert HolderSchema().dump(_thing()) == {"main": {"name": "wheel"}}
    assert whole.dump(Part("cog", 1)) == {"name": "cog", "weight": 1.0}


class TreeSchema(Schema):
    name = ma.fields.String()
    kids = ma.fields.List(ma.fields.Nested(lambda: TreeSchema()))


@dataclass
class Tree:
    name: str
    kids: list[Tree] = field(default_factory=list)


def test_a_schema_that_nests_itself_is_dumped_as_deep_as_the_data():
    tree = Tree("a", [Tree("b", [Tree("c")]), Tree("d")])

    planned, expected = _both(TreeSchema(), tree)

    assert planned == expected
    assert planned.count("'kids': []") == 2


def test_a_nested_schema_of_ours_is_dumped_by_its_own_plan(monkeypatch):
    schema = ThingSchema()
    schema.dump(_thing())  # planned
    monkeypatch.setattr(Schema, "dump", lambda *_a, **_k: pytest.fail("dump called again"))

    answer = dumping.dump_one(schema._dump_plan(), _thing())

    assert answer["main"] == {"name": "wheel", "weight": 2.5}
    assert answer["parts"] == [{"name": "axle", "weight": 1.0}, {"name": "seat", "weight": 0.5}]
