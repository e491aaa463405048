"""A first quarter of a ward's dossiers, built row by row with known outcomes.

Every batch below is a number of identical dossiers; the tests state the figures they expect
as numbers worked out by hand from this table, never by calling the code under test.

| batch  | procedure        | n   | received (VN)  | channel | outcome                            |
|--------|------------------|-----|----------------|---------|------------------------------------|
| A1     | 1.000894 partial | 30  | 10/01 09:00    | online  | on time, 2 d, acr 2, rated 18      |
| A1     | 1.000894         | 30  | 10/01 09:00    | online  | returned on time, 2 d, acr 2       |
| A2     | 1.000894         | 140 | 10/01 09:00    | counter | returned 5 days late, 4 d          |
| D-in   | 1.000894         | 7   | 01/01 00:05    | online  | submitted, due in May, acr 1       |
| B1     | 2.000815 partial | 29  | 10/02 09:00    | online  | processing, past due, acr 1        |
| B2     | 2.000815         | 71  | 10/02 09:00    | counter | decided on time, 1 d               |
| C1     | 1.004222 police  | 20  | 10/03 09:00    | online  | stopped on time, 0.5 d, rated 12   |
| C1     | 1.004222         | 10  | 10/03 09:00    | online  | stopped on time, 0.5 d, rated 8    |
| C1     | 1.004222         | 10  | 10/03 09:00    | online  | stopped on time, 0.5 d, acr 2      |
| C2     | 1.004222         | 10  | 10/03 09:00    | online  | refused, rated 16                  |
| C3     | 1.004222         | 5   | 10/03 09:00    | online  | withdrawn                          |
| C4     | 1.004222         | 5   | 10/03 09:00    | online  | waiting for a supplement, past due |
| D-out  | 1.000894         | 20  | 31/12/25 23:30 | online  | processing, past due               |
| D-out  | 1.000894         | 10  | 01/04 00:10    | online  | processing, past due               |
| drafts | 1.000894         | 5   | -              | online  | never submitted                    |
| E      | 2.000488 justice | 50  | 10/02 09:00    | online  | returned on time, 1 d, acr 2       |

(n d: the office time spent, in working days; rated t: the sum of the four 1-5 answers;
the first A1 row is returned too; every C1 row is acr 2.)

Petitions to the ward in the quarter: 4 about 1.000894 answered on time, 2 answered late, 1 about
the ward itself still processing past its answer deadline, 1 refused, 1 received 30/03 and still
within its time. The report is read on 15/04/2026 at 10:00.
"""

from __future__ import annotations

import pytest
import time_machine

from tests.helpers.reports import (
    PROVINCE,
    READ_AT,
    WARD,
    build,
    fill_quarter,
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(READ_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _catalog(demo_catalog):
    return demo_catalog


@pytest.fixture
def quarter(app):
    build(app, fill_quarter)


@pytest.fixture
def reader(make_staff):
    """A ward leader: reports.read at the ward and the agencies below it."""
    return make_staff("0911200001", agency=WARD, role="leader")[0]


@pytest.fixture
def province_reader(make_staff):
    return make_staff("0911200002", agency=PROVINCE, role="leader")[0]
