"""Every enum the document gives for a request is what the server accepts, value by value.

A client generator turns each ``enum`` into a closed type: a value listed but refused is a bug
the app team meets at run time, and a value refused without being listed cannot be chosen at
all. For each request parameter and body field (nested ones too) with an ``enum``, each value is
sent in the authorization matrix's minimal valid request by a caller who may make it, inside a
rolled-back savepoint: the answer must not refuse that field. A value outside the enum must be
refused naming the field, which shows the request reached the field's check at all.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.contract.document import resolve as resolved
from tests.security.test_matrix import ROWS, path_for, request_for
from tests.security.world import flask_rules, within_savepoint

CALLERS = ("A", "X", "admin", "Xc", "proof", "anon")
NOT_LISTED = "not-a-listed-value"


@dataclass(frozen=True)
class EnumField:
    method: str
    rule: str
    where: str  # query or body
    path: tuple  # names and list indexes down to the field
    values: tuple

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.rule} {self.where}:{self.dotted}"


def _walk(spec: dict, schema: dict, path: tuple, found: list, depth: int = 0) -> None:
    schema = resolved(spec, schema)
    if depth > 8:
        return
    if "enum" in schema:
        found.append((path, tuple(schema["enum"])))
    for name, child in schema.get("properties", {}).items():
        _walk(spec, child, (*path, name), found, depth + 1)
    if "items" in schema:
        _walk(spec, schema["items"], (*path, 0), found, depth + 1)


def enum_fields(app) -> list[EnumField]:
    spec = app.extensions["api"].spec.to_dict()
    rules = flask_rules(app)
    fields = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            rule = rules[path]
            for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
                parameter = resolved(spec, parameter)
                schema = resolved(spec, parameter["schema"])
                if parameter["in"] == "query" and "enum" in schema:
                    values = tuple(schema["enum"])
                    fields.append(
                        EnumField(method.upper(), rule, "query", (parameter["name"],), values)
                    )
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                found: list = []
                _walk(spec, content["application/json"]["schema"], (), found)
                fields += [EnumField(method.upper(), rule, "body", p, v) for p, v in found]
    return fields


def _set(body: Any, path: tuple, value: Any) -> Any:
    """``body`` with ``value`` at ``path``, creating the objects and lists on the way."""
    body = copy.deepcopy(body) if body is not None else {}
    node = body
    for part, following in zip(path, (*path[1:], None), strict=True):
        last = following is None
        empty = [] if isinstance(following, int) else {}
        if isinstance(part, int):
            if not node:
                node.append(value if last else empty)
            elif last:
                node[0] = value
            node = node[0]
        else:
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, empty)
    return body


def _error_paths(errors: Any, prefix: str = "") -> set[str]:
    if not isinstance(errors, dict):
        return {prefix.rstrip(".")}
    paths = set()
    for key, value in errors.items():
        paths |= (
            _error_paths(value, f"{prefix}{key}.")
            if isinstance(value, dict)
            else {f"{prefix}{key}"}
        )
    return paths


def refuses(response, field: EnumField) -> bool:
    if response.status_code != 422:
        return False
    paths = _error_paths((response.get_json() or {}).get("errors") or {})
    return any(p == field.dotted or p.startswith(field.dotted + ".") for p in paths)


def callers(field: EnumField) -> list[str]:
    _using, expected = ROWS[(field.method, field.rule)]
    return [c for c in CALLERS if expected[c] in ("ok", "pub")]


def send(app, world, field: EnumField, value: Any, caller: str):
    using, _expected = ROWS[(field.method, field.rule)]
    request = request_for(field.method, field.rule, world, caller)
    request["headers"] = {**request["headers"], **world.headers[caller]}
    if field.where == "query":
        query = {**request.pop("query_string", {}), field.path[0]: value}
        request["query_string"] = urlencode(query)
    else:
        body = _set(request.pop("json", None), field.path, value)
        request.pop("data", None)
        request["data"] = json.dumps(body)
        request["content_type"] = "application/json"
    client = app.test_client()
    path = path_for(field.rule, using, world)
    return within_savepoint(app, lambda: client.open(path, method=field.method, **request))


def test_the_walk_finds_the_enums_that_were_wrong(app):
    found = {str(f) for f in enum_fields(app)}
    for expected in (
        "POST /api/v1/admin/catalog/procedures/<code>/status body:status",
        "POST /api/v1/agency/dossiers body:channel",
        "PUT /api/v1/me/notification-preferences body:items.0.kind",
    ):
        assert expected in found, sorted(found)


def test_every_listed_value_is_accepted_and_others_refused(app, world):
    wrong = []
    for field in enum_fields(app):
        who = callers(field)
        if not refuses(send(app, world, field, NOT_LISTED, who[0]), field):
            wrong.append(f"{field}: a value outside the enum is not refused by this field")
            continue
        for value in field.values:
            # Accepted from someone allowed to call: a citizen has no officer kinds to choose.
            answers = [send(app, world, field, value, caller) for caller in who]
            if all(refuses(answer, field) for answer in answers):
                problem = answers[0].get_json()
                wrong.append(f"{field}: {value!r} is listed but refused: {problem}")
    assert not wrong, "\n".join(wrong)
