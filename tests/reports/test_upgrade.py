"""Article 21(1)(c): a procedure may go fully online when online dossiers reach 30 % of all."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.catalog.models import Procedure
from backend.reports.indicators import Figures, share, upgrade_check
from tests.helpers.reports import MARRIAGE, Q1, WARD, build, vn


def quarter_with(app, *, online: int, counter: int) -> None:
    def fill(b):
        received = vn(2026, 1, 10, 9, 0)
        b.dossiers(MARRIAGE, online, received=received, status="submitted")
        b.dossiers(MARRIAGE, counter, received=received, channel="counter", status="accepted")

    build(app, fill)


def eligibility(client, reader) -> dict:
    response = client.get(
        "/api/v1/reports/quality",
        query_string={**Q1, "agency": WARD, "procedure": MARRIAGE},
        headers={"Authorization": f"Bearer {reader['access_token']}"},
    )
    assert response.status_code == 200, response.get_json()
    (check,) = response.get_json()["upgrade"]["procedures"]
    return check


def test_29_9_percent_is_not_eligible(app, client, reader):
    quarter_with(app, online=299, counter=701)

    check = eligibility(client, reader)
    assert (check["dossiers"], check["online_share"], check["eligible"]) == (1000, 29.9, False)
    assert check["reason"] == "online_share_below_threshold"


def test_30_0_percent_is_eligible(app, client, reader):
    quarter_with(app, online=300, counter=700)

    check = eligibility(client, reader)
    assert (check["dossiers"], check["online_share"], check["eligible"]) == (1000, 30.0, True)
    assert check["reason"] is None


def test_too_few_dossiers_say_nothing(app, client, reader, monkeypatch):
    monkeypatch.setitem(app.config, "UPGRADE_MIN_DOSSIERS", 1001)
    quarter_with(app, online=1000, counter=0)

    check = eligibility(client, reader)
    assert (check["online_share"], check["eligible"], check["reason"]) == (
        100.0,
        False,
        "too_few_dossiers",
    )


@pytest.mark.parametrize(
    ("online", "total", "threshold", "eligible"),
    [
        (2999, 10000, "30", False),  # 29.99 %: reads 29.9 %, and is not 30 %
        (3000, 10000, "30", True),
        (1, 3, "33.3", True),  # 33.33 %
        (1, 3, "33.34", False),
        (299, 1000, "29.9", True),  # a configured threshold is compared exactly too
    ],
)
def test_the_comparison_is_exact(online, total, threshold, eligible):
    procedure = Procedure(code=MARRIAGE)
    figures = Figures(dossiers=total, online=online)
    assert upgrade_check(procedure, figures, Decimal(threshold), 1).eligible is eligible


def test_shares_are_cut_not_rounded():
    assert share(2999, 10000) == Decimal("29.9")
    assert share(2, 3) == Decimal("66.6")
    assert share(0, 0) == Decimal("0.0")
