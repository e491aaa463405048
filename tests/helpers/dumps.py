"""What differs between two dumps of one answer, for a failing comparison's message."""

from __future__ import annotations


def difference(name: str, answer, expected) -> str:
    if isinstance(answer, dict) and isinstance(expected, dict):
        keys = list(dict.fromkeys([*answer, *expected]))
        changed = {
            k: (answer.get(k), expected.get(k))
            for k in keys
            if repr(answer.get(k)) != repr(expected.get(k))
        }
        return f"{name} planned != marshmallow: {changed!r}, keys {list(answer)} / {list(expected)}"
    return f"{name}: {answer!r} != {expected!r}"
