"""Walking the OpenAPI document the app builds (``tests.test_openapi.generated``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operations(document: dict) -> Iterator[tuple[str, str, dict]]:
    """(method, path, operation) for every operation."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def resolve(document: dict, node: Any) -> Any:
    """``node`` with a local ``$ref`` followed (once is enough in this document)."""
    if isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return target
    return node
