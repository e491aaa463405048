"""The ward, its officers and citizens of the dossier tests, and helpers to send petitions."""

from __future__ import annotations

import pytest

from tests.dossiers.conftest import (  # noqa: F401 - fixtures shared with the dossier tests
    _catalog,
    clock,
    filing,
    filing_b,
    outsider,
    receiver,
)
from tests.helpers.dossiers import WARD


@pytest.fixture
def answerer(make_staff):
    """A feedback officer of the ward."""
    return make_staff("0911100004", agency=WARD, role="feedback_officer")[0]
