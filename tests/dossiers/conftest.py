"""A ward with its officers, a citizen, and the helpers to file a dossier through the API."""

from __future__ import annotations

import pytest
import time_machine

from tests.helpers.dossiers import (
    JUSTICE,
    MONDAY_9AM,
    WARD,
    Filing,
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MONDAY_9AM, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _catalog(demo_catalog):
    return demo_catalog


@pytest.fixture
def receiver(make_staff):
    return make_staff("0911100001", agency=WARD, role="receiving_officer")[0]


@pytest.fixture
def leader(make_staff):
    return make_staff("0911100002", agency=WARD, role="leader")[0]


@pytest.fixture
def outsider(make_staff):
    """An officer of another agency, with every permission there."""
    return make_staff("0911100003", agency=JUSTICE, role="agency_admin")[0]


@pytest.fixture
def filing(client, citizen) -> Filing:
    return Filing(client, citizen)


@pytest.fixture
def filing_b(client, citizen_b) -> Filing:
    return Filing(client, citizen_b)
