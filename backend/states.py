"""A table of named steps between states, and the one check every move makes against it.

The one-stop workflow of dossiers and the life of a petition are both such tables: a step
names the states it leaves, the state it reaches (or none: it stays, or it goes back to where
it waited), who takes it and with which permission. What differs between them (who may act) is a
predicate the caller passes; the refusal, a 409 that lists the steps allowed now, is the same.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from backend.errors import Conflict


@dataclass(frozen=True)
class Step:
    sources: frozenset[Any]
    # None: where the thing is now, or, for a step that ends a wait, where it was before.
    target: Any | None
    actor: str
    permission: str | None = None
    # Listed among the allowed actions (the app's buttons); an unlisted step is still checked.
    listed: bool = True


class Steps:
    """The named steps of one kind of thing; ``what`` names the thing in Vietnamese and English."""

    def __init__(
        self, steps: dict[str, Step], *, refused: type[Conflict], what: tuple[str, str]
    ) -> None:
        self._steps = steps
        self._refused = refused
        self._what = what

    def __getitem__(self, action: str) -> Step:
        return self._steps[action]

    def __iter__(self) -> Iterator[str]:
        return iter(self._steps)

    def allowed(self, status: enum.Enum, may: Callable[[Step], bool]) -> list[str]:
        """The steps ``may`` lets the caller take from ``status``, by name."""
        return sorted(
            name
            for name, step in self._steps.items()
            if step.listed and status in step.sources and may(step)
        )

    def check(self, action: str, status: enum.Enum, may: Callable[[Step], bool]) -> Step:
        """The step, if it leaves ``status`` and ``may`` allows it; else a 409 naming the others."""
        step = self._steps[action]
        if status not in step.sources or not may(step):
            vi, en = self._what
            raise self._refused(
                (
                    f"Không thể '{action}' khi {vi} ở trạng thái '{status.value}'.",
                    f"Cannot '{action}' a {en} in status '{status.value}'.",
                ),
                extra={
                    "current_status": status.value,
                    "allowed_actions": self.allowed(status, may),
                },
            )
        return step
