"""What the app teams build on: operation ids that stay put, and no property without a type.

Client generators name methods after ``operationId`` and types after schemas; a renamed id or
an untyped property breaks or weakens every generated client.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.document import METHODS, operations
from tests.test_openapi import generated

PUBLISHED = Path(__file__).resolve().parent / "published_operations.txt"
# Ids removed or renamed on purpose: "METHOD path": "the release that broke them".
RETIRED: dict[str, str] = {}


def operation_ids(spec: dict) -> dict[str, str]:
    return {
        f"{method.upper()} {path}": operation.get("operationId")
        for method, path, operation in operations(spec)
    }


def published() -> dict[str, str]:
    lines = PUBLISHED.read_text(encoding="utf-8").splitlines()
    entries = [line.rsplit(" ", 1) for line in lines if line and not line.startswith("#")]
    return dict(entries)


def test_every_operation_has_a_unique_id(app):
    ids = operation_ids(generated(app))
    assert [key for key, value in ids.items() if not value] == []
    assert len(set(ids.values())) == len(ids)


def test_published_operation_ids_do_not_change(app):
    ids = operation_ids(generated(app))
    changed = {
        key: (was, ids.get(key))
        for key, was in published().items()
        if key not in RETIRED and ids.get(key) != was
    }
    assert changed == {}, "published operation ids changed or disappeared (a breaking change)"


def test_new_operations_are_published_knowingly(app):
    new = sorted(set(operation_ids(generated(app))) - set(published()))
    assert new == [], f"add them to {PUBLISHED.name} once their names are final"


def _typed(schema) -> bool:
    return isinstance(schema, dict) and (
        "type" in schema or "$ref" in schema or bool({"allOf", "oneOf", "anyOf"} & set(schema))
    )


def _untyped(spec: dict) -> list[str]:
    """Every property, array item and map value (components and inline, nested) with no type,
    no reference and no composition that would give it one. ``additionalProperties: true``
    types nothing: it says more members may come (a problem's extensions, RFC 9457)."""
    found = []

    def walk(schema, where: str) -> None:
        if not isinstance(schema, dict) or "$ref" in schema:
            return
        for keyword in ("allOf", "oneOf", "anyOf"):
            for index, part in enumerate(schema.get(keyword, [])):
                walk(part, f"{where}.{keyword}[{index}]")
        for name, child in schema.get("properties", {}).items():
            if not _typed(child):
                found.append(f"{where}.{name}")
            walk(child, f"{where}.{name}")
        for keyword, mark in (("items", "[]"), ("additionalProperties", "{}")):
            child = schema.get(keyword)
            if isinstance(child, dict):
                if not _typed(child):
                    found.append(f"{where}{mark}")
                walk(child, f"{where}{mark}")

    for name, schema in spec["components"]["schemas"].items():
        walk(schema, name)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            bodies = [operation.get("requestBody", {})]
            bodies += [r for r in operation.get("responses", {}).values() if isinstance(r, dict)]
            for body in bodies:
                for media, content in body.get("content", {}).items():
                    walk(content.get("schema", {}), f"{method.upper()} {path} {media}")
    return found


def test_no_property_is_untyped(app):
    assert _untyped(generated(app)) == []


@pytest.mark.parametrize(
    ("schema", "found"),
    [
        ({"properties": {"a": {}}}, ["S.a"]),
        ({"properties": {"a": {"type": "object", "properties": {"b": {}}}}}, ["S.a.b"]),
        (
            {"properties": {"a": {"type": "array", "items": {"properties": {"c": {}}}}}},
            ["S.a[]", "S.a[].c"],
        ),
        ({"properties": {"a": {"type": "string"}, "b": {"$ref": "#/x"}}}, []),
        ({"properties": {"a": {"type": "object", "additionalProperties": {}}}}, ["S.a{}"]),
        ({"properties": {"a": {"type": "array", "items": {"description": "x"}}}}, ["S.a[]"]),
        ({"type": "object", "additionalProperties": True}, []),
    ],
)
def test_the_untyped_walk_finds_what_it_should(schema, found):
    assert _untyped({"components": {"schemas": {"S": schema}}, "paths": {}}) == found
