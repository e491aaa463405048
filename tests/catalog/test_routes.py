"""The public catalog as the app sees it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("demo_catalog")


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["code"] for item in response.get_json()["items"]]


@pytest.mark.parametrize(
    "q",
    [
        "khai sinh",
        "Khai Sinh",
        "KHAI SINH",
        "khai  sinh ",
        "Đăng ký khai sinh",
        "dang ky khai sinh",
        "ĐĂNG KÝ KHAI SINH",
        "sinh khai",
    ],
)
def test_search_ignores_case_and_diacritics(client, q):
    assert codes(client.get("/api/v1/procedures", query_string={"q": q})) == ["1.001193"]


def test_search_matches_every_word_across_name_field_and_agency(client):
    assert codes(client.get("/api/v1/procedures?q=ho tich")) == ["1.000894", "1.001193", "1.004873"]
    assert codes(client.get("/api/v1/procedures?q=tu phap ly lich")) == ["2.000488"]
    assert codes(client.get("/api/v1/procedures?q=ha long")) == ["1.001612", "2.000720"]
    assert codes(client.get("/api/v1/procedures?q=1.002809")) == ["1.002809"]
    assert codes(client.get("/api/v1/procedures?q=khai sinh kết hôn")) == []


def test_search_treats_like_wildcards_literally(client):
    assert codes(client.get("/api/v1/procedures?q=%25")) == []
    assert codes(client.get("/api/v1/procedures?q=_")) == []


def test_filters(client):
    assert codes(client.get("/api/v1/procedures?agency=000.00.17.H56")) == ["2.000488"]
    assert codes(client.get("/api/v1/procedures?field=hộ tịch&mode=partial")) == ["1.000894"]
    assert codes(client.get("/api/v1/procedures?field=Ho Tich&mode=full_online")) == [
        "1.001193",
        "1.004873",
    ]
    assert codes(client.get("/api/v1/procedures?agency=000.00.00.G12")) == []


def test_pagination_walks_every_published_procedure_once(client):
    seen, cursor = [], None
    while True:
        query = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/procedures", query_string=query).get_json()
        assert len(body["items"]) <= 4
        seen += [item["code"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 9  # the pilot procedure is not public


def test_summary_is_small(client):
    item = client.get("/api/v1/procedures?q=khai sinh").get_json()["items"][0]
    assert item == {
        "code": "1.001193",
        "name": "Đăng ký khai sinh",
        "agency": {"code": "001.01.00.H56", "name": "Ủy ban nhân dân phường Hồng Gai"},
        "field": "Hộ tịch",
        "delivery_mode": "full_online",
        "min_assurance_level": 0,
        "status": "published",
    }


def test_detail_has_documents_form_and_version(client):
    response = client.get("/api/v1/procedures/2.000488")
    assert response.status_code == 200
    body = response.get_json()
    assert body["version"] == 1
    assert body["processing_time"] == {"amount": 10, "unit": "working_days"}
    assert body["fee"]["amount"] == 200000
    assert body["documents"][0]["accepted_types"] == ["jpeg", "png", "heic"]
    assert {f["name"] for f in body["form"]} >= {"certificate_type", "requester_national_id"}
    assert response.headers["ETag"]


def test_detail_etag_gives_304_until_it_changes(client):
    first = client.get("/api/v1/procedures/1.001193")
    etag = first.headers["ETag"]
    again = client.get("/api/v1/procedures/1.001193", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get("/api/v1/procedures/1.001193", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


@pytest.mark.parametrize("code", ["9.999999", "1.000656", "not-a-code"])
def test_unknown_draft_or_pilot_procedure_is_404(client, code):
    response = client.get(f"/api/v1/procedures/{code}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("mode=offline", "mode"),
        ("agency=Quang Ninh", "agency"),
        ("cursor=@@@", "cursor"),
        ("cursor=WyJ4IiwgMV0", "cursor"),  # a list of the wrong length
        ("cursor=WzFd", "cursor"),  # a number where a code is expected
        ("q=" + "a" * 101, "q"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(client, query, field):
    response = client.get(f"/api/v1/procedures?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_agencies(client):
    body = client.get("/api/v1/agencies").get_json()
    assert [a["code"] for a in body["items"]][:2] == ["000.00.00.G12", "000.00.00.H56"]
    levels = {a["code"]: a["level"] for a in body["items"]}
    assert levels["000.00.00.G12"] == "ministry" and levels["001.01.00.H56"] == "commune"
    children = client.get("/api/v1/agencies?parent=000.00.00.H56").get_json()["items"]
    assert [a["code"] for a in children] == ["000.00.17.H56", "000.00.20.H56", "000.01.00.H56"]
    communes = client.get("/api/v1/agencies?level=commune").get_json()["items"]
    assert {a["parent"] for a in communes} == {"000.01.00.H56", "001.01.00.H56"}


def test_agency_detail_and_404(client):
    response = client.get("/api/v1/agencies/000.00.17.H56")
    assert response.get_json()["name"] == "Sở Tư pháp tỉnh Quảng Ninh"
    assert client.get("/api/v1/agencies/000.00.99.H56").status_code == 404
