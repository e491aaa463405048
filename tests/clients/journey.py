"""What the citizen journey sends and what it may cost, shared by the Python and TypeScript walks.

The journey is the one a citizen makes on the phone: ask for a code, sign in with it, search,
open the procedure, start a draft with the form filled in, attach the birth certificate, submit,
see my dossiers, open the dossier, and later poll it unchanged. The figures below are the
contract's promise to a phone on a slow network; README.md ("Generated clients") gives the
measured ones.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.stacks import ROOT

PHONE = "0912345678"
PHONE_E164 = "+84912345678"
PROCEDURE = "1.001193"
SEARCH = "khai sinh"
SLOT = "giay_chung_sinh"
SAMPLE = ROOT / "samples" / "giay-chung-sinh.jpg"
DATA = {
    "child_full_name": "Nguyễn Minh An",
    "child_date_of_birth": "2026-11-20",
    "child_sex": "nam",
    "place_of_birth": "Bệnh viện Bãi Cháy",
    "mother_full_name": "Trần Thị Lan",
    "mother_national_id": "022199001234",
    "relationship": "me",
    "requester_full_name": "Trần Thị Lan",
    "requester_national_id": "022199001234",
}

MAX_REQUESTS = 10
MAX_JSON_BYTES = 40 * 1024
MAX_NOT_MODIFIED_BYTES = 300


@dataclass
class Exchange:
    """One request of the journey as the client saw it."""

    method: str
    path: str
    status: int
    content_type: str
    body_bytes: int  # decoded body
    wire_bytes: int  # body as it came over the wire (compressed or not)
    head_bytes: int  # status line and header block


@dataclass
class Figures:
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.exchanges)

    @property
    def json_bytes(self) -> int:
        return sum(e.body_bytes for e in self.exchanges if "json" in e.content_type)

    @property
    def json_wire_bytes(self) -> int:
        return sum(e.wire_bytes for e in self.exchanges if "json" in e.content_type)

    @property
    def not_modified_bytes(self) -> int:
        last = self.exchanges[-1]
        assert last.status == 304, last
        return last.head_bytes + last.wire_bytes

    def summary(self) -> str:
        return (
            f"{self.requests} requests, {self.json_bytes} B of JSON "
            f"({self.json_wire_bytes} B on the wire), unchanged poll {self.not_modified_bytes} B"
        )

    def check(self) -> None:
        assert self.requests <= MAX_REQUESTS, self.exchanges
        assert self.json_bytes <= MAX_JSON_BYTES, self.summary()
        assert self.not_modified_bytes <= MAX_NOT_MODIFIED_BYTES, self.exchanges[-1]
        assert [e.status for e in self.exchanges] == [
            202,
            200,
            200,
            200,
            201,
            201,
            200,
            200,
            200,
            304,
        ], self.exchanges


def head_bytes(status_line: str, headers: list[tuple[str, str]]) -> int:
    """Bytes of an HTTP/1.1 response head: status line, one line a header, the blank line."""
    return len(status_line) + 2 + sum(len(k) + 2 + len(v) + 2 for k, v in headers) + 2


def code_in(sms_text: str) -> str:
    return re.search(r"\b(\d{6})\b", sms_text).group(1)


def report(figures: Figures, client: str) -> None:
    """Printed so that `pytest -s tests/clients` shows the figures README.md quotes."""
    print(f"\n{client} journey: {figures.summary()}", file=sys.stderr)


def sample_bytes() -> bytes:
    return Path(SAMPLE).read_bytes()
