"""A dossier from draft to returned result, through the API, with every rule on the way."""

from __future__ import annotations

from tests.helpers.dossiers import officer_post, upload_result
from tests.helpers.signin import bearer


def test_whole_lifecycle(client, filing, receiver, leader):
    draft = filing.draft()
    assert draft.status_code == 201, draft.get_json()
    dossier = draft.get_json()
    assert dossier["status"] == "draft" and dossier["code"] is None
    assert dossier["data"]["requester_phone"] == "+84912345678"  # prefilled from the profile
    assert filing.attach(dossier["id"]).status_code == 201
    receipt = filing.submit(dossier["id"])
    assert receipt.status_code == 200, receipt.get_json()
    body = receipt.get_json()
    assert body["code"] == "001.01.00.H56-261130-0001"
    assert body["received_at"] == "2026-11-30T02:00:00+00:00"
    assert body["documents"][0]["slot"] == "giay_chung_sinh"
    dossier_id = body["id"]

    assert officer_post(client, receiver, dossier_id, "accept").status_code == 200
    assert officer_post(client, leader, dossier_id, "start").status_code == 200
    assert upload_result(client, leader, dossier_id).status_code == 201
    decided = officer_post(client, leader, dossier_id, "decide")
    assert decided.status_code == 200
    assert decided.get_json()["decided_at"] == "2026-11-30T02:00:00+00:00"
    result = client.get(f"/api/v1/dossiers/{dossier_id}/result", headers=filing.headers)
    assert result.status_code == 200
    assert result.mimetype == "application/pdf"
    assert result.headers["X-Content-Type-Options"] == "nosniff"
    returned = officer_post(client, receiver, dossier_id, "return")
    assert returned.status_code == 200
    assert returned.get_json()["status"] == "returned"

    timeline = client.get(f"/api/v1/dossiers/{dossier_id}/events", headers=filing.headers)
    assert [e["action"] for e in timeline.get_json()["items"]] == [
        "create",
        "submit",
        "accept",
        "start_processing",
        "decide",
        "return_result",
    ]
    mine = client.get("/api/v1/dossiers", headers=filing.headers).get_json()["items"]
    assert [d["status"] for d in mine] == ["returned"]
    assert client.get(f"/api/v1/dossiers/{dossier_id}", headers=bearer(leader)).status_code == 403
