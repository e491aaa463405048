"""The quality report of the quarter in conftest.py, against figures worked out by hand."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from tests.helpers.reports import HA_LONG, JUSTICE, Q1, WARD
from tests.helpers.signin import bearer

# --- the ward and the police below it, 1/1 - 31/3/2026 (see the table in conftest.py) ---
WARD_TOTALS = {
    "dossiers": 367,  # 200 + 7 + 100 + 60; out-of-period, draft and justice rows left out
    "online": 156,  # 60 + 7 + 29 + 40 + 10 + 5 + 5
    "counter": 211,  # 140 + 71
    "online_share": 42.5,  # 156 / 367 = 42.51 %
    "on_time": 171,  # 60 returned + 71 decided + 40 stopped, all by their due dates
    "late": 140,  # decided five days late
    "open_overdue": 29,  # still processing after the due date; the 5 waiting do not count
    "on_time_share": 50.2,  # 171 / (171 + 140 + 29) = 50.29 %
    "average_processing_days": 2.48,  # (60*2 + 140*4 + 71*1 + 40*0.5) / 311 = 2.479
    "level2": 100,  # 60 + 40 online with an assurance-level-2 session
    "level2_share": 64.1,  # 100 / 156 = 64.10 %
    "ratings": 70,
    "satisfied": 40,  # 30 rated 18/20 and 10 rated 16/20
    "neutral": 20,  # rated 12/20
    "dissatisfied": 10,  # rated 8/20
    "satisfaction_share": 57.1,  # 40 / 70 = 57.14 %
    "feedback": 9,
    "feedback_refused": 1,
    "feedback_due": 7,  # 6 answered + 1 past its deadline; 1 still within its time
    "feedback_on_time": 4,
    "feedback_on_time_share": 57.1,  # 4 / 7
}
MARRIAGE_FIGURES = {
    "dossiers": 207,
    "online": 67,
    "online_share": 32.3,  # 67 / 207 = 32.37 %
    "on_time": 60,
    "late": 140,
    "on_time_share": 30.0,  # 60 / 200
    "average_processing_days": 3.4,  # (60*2 + 140*4) / 200
    "level2_share": 89.5,  # 60 / 67 = 89.55 %
    "satisfaction_share": 100.0,
    "feedback": 6,
    "feedback_on_time_share": 66.6,  # 4 / 6 = 66.67 %, cut
}
RESIDENCE_FIGURES = {
    "dossiers": 60,
    "online_share": 100.0,
    "on_time_share": 100.0,  # 40 / 40
    "average_processing_days": 0.5,
    "level2_share": 66.6,  # 40 / 60
    "ratings": 40,
    "satisfaction_share": 25.0,  # 10 / 40
}
CERTIFY_FIGURES = {
    "dossiers": 100,
    "online_share": 29.0,
    "on_time_share": 71.0,  # 71 / (71 + 29 overdue)
    "average_processing_days": 1.0,
    "level2_share": 0.0,
    "ratings": 0,
    "satisfaction_share": 0.0,
}
WARD_MONTHS = [
    ("2026-01", 207, 32.3, 30.0),
    ("2026-02", 100, 29.0, 71.0),
    ("2026-03", 60, 100.0, 100.0),
]


def report(client, tokens, path="/api/v1/reports/quality", **query):
    return client.get(path, query_string={**Q1, "agency": WARD, **query}, headers=bearer(tokens))


def subset(figures: dict, expected: dict) -> dict:
    return {key: figures[key] for key in expected}


def test_ward_figures_match_the_hand_count(quarter, client, reader):
    response = report(client, reader)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["period"] == {"from": "2026-01-01", "to": "2026-03-31"}
    assert subset(body["totals"], WARD_TOTALS) == WARD_TOTALS
    by_code = {row["procedure"]["code"]: row["figures"] for row in body["by_procedure"]}
    assert list(by_code) == ["1.000894", "1.004222", "2.000815"]
    assert subset(by_code["1.000894"], MARRIAGE_FIGURES) == MARRIAGE_FIGURES
    assert subset(by_code["1.004222"], RESIDENCE_FIGURES) == RESIDENCE_FIGURES
    assert subset(by_code["2.000815"], CERTIFY_FIGURES) == CERTIFY_FIGURES
    months = [
        (
            m["month"],
            m["figures"]["dossiers"],
            m["figures"]["online_share"],
            m["figures"]["on_time_share"],
        )
        for m in body["monthly"]
    ]
    assert months == WARD_MONTHS


def test_upgrade_eligibility_of_the_partial_procedures(quarter, client, reader):
    upgrade = report(client, reader).get_json()["upgrade"]

    assert upgrade["threshold_percent"] == 30.0 and upgrade["min_dossiers"] == 100
    assert [
        (
            c["procedure"]["code"],
            c["dossiers"],
            c["online"],
            c["online_share"],
            c["eligible"],
            c["reason"],
        )
        for c in upgrade["procedures"]
    ] == [
        ("1.000894", 207, 67, 32.3, True, None),
        ("2.000815", 100, 29, 29.0, False, "online_share_below_threshold"),
    ]


def test_the_province_adds_its_other_agencies(quarter, client, province_reader):
    body = report(client, province_reader, agency="000.00.00.H56").get_json()

    totals = body["totals"]
    assert (totals["dossiers"], totals["online"], totals["online_share"]) == (417, 206, 49.4)
    assert (totals["on_time"], totals["on_time_share"]) == (221, 56.6)  # 221 / 390
    february = body["monthly"][1]["figures"]
    assert (february["dossiers"], february["online_share"], february["on_time_share"]) == (
        150,
        52.6,  # 79 / 150
        80.6,  # 121 / 150
    )
    assert [
        (c["procedure"]["code"], c["eligible"], c["reason"]) for c in body["upgrade"]["procedures"]
    ] == [
        ("1.000894", True, None),
        ("1.001612", False, "too_few_dossiers"),  # Hạ Long's partial procedure: no dossiers
        ("2.000815", False, "online_share_below_threshold"),
    ]


def test_one_procedure(quarter, client, reader):
    body = report(client, reader, procedure="1.000894").get_json()

    assert body["procedure"]["code"] == "1.000894"
    assert subset(body["totals"], MARRIAGE_FIGURES) == MARRIAGE_FIGURES
    assert [c["procedure"]["code"] for c in body["upgrade"]["procedures"]] == ["1.000894"]


def test_csv_opens_with_the_same_numbers(quarter, client, reader):
    response = report(client, reader, path="/api/v1/reports/quality.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row["scope"] for row in rows] == ["total", "1.000894", "1.004222", "2.000815"]
    total = rows[0]
    assert {key: float(total[key]) for key in WARD_TOTALS} == WARD_TOTALS
    marriage = rows[1]
    assert {key: float(marriage[key]) for key in MARRIAGE_FIGURES} == MARRIAGE_FIGURES
    assert [row["upgrade_eligible"] for row in rows] == ["", "yes", "", "no"]
    assert rows[1]["procedure_name"].startswith("Đăng ký kết hôn")


def test_chart_is_an_svg_of_the_monthly_shares(quarter, client, reader, tmp_path):
    response = report(client, reader, path="/api/v1/reports/quality/chart.svg")

    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    chart = tmp_path / "chat-luong-q1.svg"
    chart.write_bytes(response.data)
    assert chart.stat().st_size > 0
    svg = ET.parse(chart).getroot()  # noqa: S314 - the file we just wrote
    ns = {"svg": "http://www.w3.org/2000/svg"}
    lines = svg.findall("svg:polyline", ns)
    assert len(lines) == 2
    assert all(len(line.get("points").split()) == 3 for line in lines)
    labels = [t.text for t in svg.findall("svg:text", ns)]
    assert {"01/2026", "02/2026", "03/2026"} <= set(labels)
    titles = {t.text for c in svg.findall("svg:circle", ns) for t in c.findall("svg:title", ns)}
    assert {"32.3 %", "29.0 %", "100.0 %", "30.0 %", "71.0 %"} <= titles


def test_a_period_without_dossiers_is_all_zeros(quarter, client, reader):
    body = report(client, reader, **{"from": "2025-06-01", "to": "2025-06-30"}).get_json()

    assert set(body["totals"].values()) == {0}
    assert body["by_procedure"] == []
    assert [m["month"] for m in body["monthly"]] == ["2025-06"]
    assert [
        (c["dossiers"], c["online_share"], c["eligible"]) for c in body["upgrade"]["procedures"]
    ] == [
        (0, 0.0, False),
        (0, 0.0, False),
    ]


def test_an_agency_outside_the_readers_scope_is_404(quarter, client, reader):
    assert report(client, reader, agency=JUSTICE).status_code == 404
    assert report(client, reader, agency=HA_LONG).status_code == 404  # the ward's parent
    assert report(client, reader, agency="999.99.99.H99").status_code == 404
    assert (
        report(client, reader, path="/api/v1/reports/quality.csv", agency=JUSTICE).status_code
        == 404
    )
    assert report(client, reader, procedure="2.000488").status_code == 404  # justice's


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-03-31", "to": "2026-01-01"},
        {"from": "2020-01-01", "to": "2026-01-01"},
        {"from": "2026-02-30"},
        {"agency": "ward"},
    ],
)
def test_bad_periods_and_codes_are_422(client, reader, query):
    assert report(client, reader, **query).status_code == 422


def test_only_readers_of_reports(client, citizen, make_staff):
    receiver = make_staff("0911200003", agency=WARD, role="receiving_officer")[0]
    assert report(client, receiver).status_code == 403
    assert report(client, citizen).status_code == 403
