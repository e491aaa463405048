"""The officers' work queue, new due dates for late dossiers, counter dossiers, tracking."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers.dossiers import BIRTH_DATA, JUSTICE, WARD, officer_post, refreshed
from tests.helpers.signin import bearer, outbox_lines


def queue(client, tokens, **query):
    response = client.get("/api/v1/agency/dossiers", query_string=query, headers=bearer(tokens))
    assert response.status_code == 200, response.get_json()
    return [d["code"] for d in response.get_json()["items"]]


def test_queue_filters(filing, client, receiver, clock):
    first = filing.filed()
    clock.shift(timedelta(hours=3))  # 12:00: lunch; the next one counts from 13:00
    filing.refresh()
    second = filing.filed()
    receiver = refreshed(client, receiver)
    officer_post(client, receiver, first["id"], "accept")
    assert queue(client, receiver) == [first["code"], second["code"]]  # most urgent first
    assert queue(client, receiver, status="submitted") == [second["code"]]
    assert queue(client, receiver, procedure="1.001193", limit=1) == [first["code"]]
    # First is due Tuesday 09:00; second, filed at lunch, counts from 13:00: 4 h Monday and
    # 4 h Tuesday morning, due Tuesday 11:30. As of Monday 12:00 (lunch), one working day of
    # office time reaches Tuesday 13:00: both are due soon.
    assert queue(client, receiver, due="soon") == [first["code"], second["code"]]
    clock.shift(timedelta(hours=22))  # Tuesday 10:00
    receiver_now = refreshed(client, receiver)
    assert queue(client, receiver_now, due="overdue") == [first["code"]]


def test_late_dossier_gets_a_new_date_with_an_apology(filing, client, leader, receiver, clock):
    receipt = filing.filed()
    url = f"/api/v1/agency/dossiers/{receipt['id']}/extend"
    body = {"due_at": "2026-12-04T10:00:00+00:00", "apology": "Xin lỗi vì chậm trễ"}
    clock.shift(timedelta(hours=30))  # Tuesday 15:00: overdue since 09:00
    tokens = refreshed(client, leader)
    earlier = client.post(
        url, json={**body, "due_at": "2026-11-30T10:00:00+00:00"}, headers=bearer(tokens)
    )
    assert earlier.status_code == 422
    extended = client.post(url, json=body, headers=bearer(tokens))
    assert extended.status_code == 200, extended.get_json()
    assert extended.get_json()["due_at"] == "2026-12-04T10:00:00+00:00"
    assert extended.get_json()["deadline"] == "on_time"  # Friday, days of office time away
    filing.refresh()
    events = client.get(
        f"/api/v1/dossiers/{receipt['id']}/events", headers=filing.headers
    ).get_json()["items"]
    assert events[-1]["action"] == "extend_due" and events[-1]["note"] == "Xin lỗi vì chậm trễ"


def test_a_dossier_on_time_needs_no_new_date(filing, client, leader):
    from tests.dossiers.test_deadlines import COPY, COPY_DATA

    draft = filing.draft(COPY, COPY_DATA).get_json()  # 1 working day: due Tuesday 17:00
    filing.attach(draft["id"], slot="ban_chinh")
    receipt = filing.submit(draft["id"]).get_json()
    response = client.post(
        f"/api/v1/agency/dossiers/{receipt['id']}/extend",
        json={"due_at": "2026-12-10T10:00:00+00:00", "apology": "x"},
        headers=bearer(leader),
    )
    assert response.status_code == 409


def test_a_finished_dossier_gets_no_new_date_and_the_step_is_no_button(
    filing, client, leader, clock
):
    """The extension is a step of the workflow table: refused (409, with the allowed steps)
    once the dossier is finished, and never listed among the buttons."""
    receipt = filing.filed()
    url = f"/api/v1/agency/dossiers/{receipt['id']}"
    clock.shift(timedelta(hours=30))  # overdue
    tokens = refreshed(client, leader)
    assert "extend_due" not in client.get(url, headers=bearer(tokens)).get_json()["allowed_actions"]
    filing.refresh()
    withdrawn = client.post(
        f"/api/v1/dossiers/{receipt['id']}/withdraw",
        json={"reason": "Không cần nữa"},
        headers=filing.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.get_json()
    refused = client.post(
        f"{url}/extend",
        json={"due_at": "2026-12-10T10:00:00+00:00", "apology": "x"},
        headers=bearer(tokens),
    )
    assert refused.status_code == 409
    assert refused.get_json()["type"].endswith("transition-not-allowed")
    assert refused.get_json()["current_status"] == "withdrawn"


def _texts_to(app, phone, before=0):
    return [line for line in outbox_lines(app)[before:] if line["to"] == phone]


def test_counter_dossier_is_registered_received_and_counted(client, app, receiver, outsider):
    sent_before = len(outbox_lines(app))
    body = {
        "procedure_code": "1.001193",
        "channel": "counter",
        "applicant": {
            "full_name": "Lê Văn Cường",
            "phone": "0977000111",
            "national_id": "022088004321",
        },
        "data": {**BIRTH_DATA, "requester_phone": "0977000111"},
    }
    registered = client.post("/api/v1/agency/dossiers", json=body, headers=bearer(receiver))
    assert registered.status_code == 201, registered.get_json()
    dossier = registered.get_json()
    assert (dossier["status"], dossier["channel"]) == ("accepted", "counter")
    assert dossier["code"].startswith("001.01.00.H56-261130-")
    assert dossier["due_at"] is not None
    # Officers of another agency cannot register for this one.
    assert (
        client.post("/api/v1/agency/dossiers", json=body, headers=bearer(outsider)).status_code
        == 404
    )
    # Tracking works for the applicant without an account.
    code = dossier["code"]
    found = client.get(f"/api/v1/tracking/{code}?verifier=0111")
    assert found.status_code == 200
    assert found.get_json()["status_label"] == "Được tiếp nhận"
    assert client.get(f"/api/v1/tracking/{code}?verifier=4321").status_code == 200
    # The officer prints the lookup secret on the receipt; the applicant's phone gets it too.
    secret = dossier["lookup_secret"]
    assert client.get(f"/api/v1/tracking/{code}?secret={secret}").status_code == 200
    # The applicant has no account, but left a phone: the receipt and due date come by SMS.
    [received] = _texts_to(app, "+84977000111", sent_before)
    assert received["kind"] == "dossier.counter_received"
    assert code in received["text"] and "01/12/2026" in received["text"]
    assert secret in received["text"]


def test_a_counter_applicant_is_texted_what_to_do_and_when_to_come(client, app, receiver, leader):
    body = {
        "procedure_code": "1.001193",
        "channel": "counter",
        "applicant": {"full_name": "Lê Văn Cường", "phone": "0977000222"},
        "data": {**BIRTH_DATA, "requester_phone": "0977000222"},
    }
    sent_before = len(outbox_lines(app))
    dossier = client.post("/api/v1/agency/dossiers", json=body, headers=bearer(receiver))
    assert dossier.status_code == 201, dossier.get_json()
    dossier_id = dossier.get_json()["id"]
    started = officer_post(client, leader, dossier_id, "start")
    assert started.status_code == 200, started.get_json()
    supplement = officer_post(
        client, leader, dossier_id, "request-supplement", {"items": ["Bản sao giấy chứng sinh"]}
    )
    assert supplement.status_code == 200, supplement.get_json()
    kinds = [line["kind"] for line in _texts_to(app, "+84977000222", sent_before)]
    # Starting the work asks nothing of the applicant: no text for it.
    assert kinds == ["dossier.counter_received", "dossier.counter_supplement_requested"]


def test_tracking_shows_little_and_hides_behind_the_secret(filing, client, app, monkeypatch):
    receipt = filing.filed()
    code, secret = receipt["code"], receipt["lookup_secret"]
    found = client.get(
        f"/api/v1/tracking/{code}?secret={secret}", headers={"Accept-Language": "en"}
    )
    assert found.status_code == 200
    assert set(found.get_json()) == {
        "code",
        "procedure",
        "status",
        "status_label",
        "submitted_at",
        "due_at",
        "finished_at",
    }
    assert found.get_json()["status_label"] == "Submitted"
    wrong = client.get(f"/api/v1/tracking/{code}?secret=00000-00000")
    unknown = client.get(f"/api/v1/tracking/000.00.00.X00-000000-0000?secret={secret}")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.get_json()["type"] == unknown.get_json()["type"]
    assert client.get(f"/api/v1/tracking/{code}?secret=56").status_code == 422
    assert client.get(f"/api/v1/tracking/{code}").status_code == 422
    monkeypatch.setitem(app.config, "RATELIMIT_TRACKING_PER_IP", "3/minute")
    statuses = [
        client.get(f"/api/v1/tracking/{code}?secret=11111-11111").status_code for _ in range(4)
    ]
    assert statuses[-1] == 429


def test_a_draft_stays_the_citizens_own_until_it_is_submitted(filing, client, receiver):
    draft = filing.draft()
    assert draft.status_code == 201
    dossier_id = draft.get_json()["id"]
    assert filing.attach(dossier_id).status_code == 201
    seen = client.get(f"/api/v1/agency/dossiers/{dossier_id}", headers=bearer(receiver))
    assert seen.status_code == 404
    assert seen.mimetype == "application/problem+json"
    assert officer_post(client, receiver, dossier_id, "accept").status_code == 404
    receipt = filing.submit(dossier_id)
    assert receipt.status_code == 200
    seen = client.get(f"/api/v1/agency/dossiers/{dossier_id}", headers=bearer(receiver))
    assert seen.status_code == 200


def test_the_queue_shows_open_work_unless_asked_for_finished(filing, client, receiver):
    refused = filing.filed()
    open_ = filing.filed()
    answer = officer_post(client, receiver, refused["id"], "refuse", {"reason": "Thiếu giấy tờ"})
    assert answer.status_code == 200, answer.get_json()
    assert queue(client, receiver) == [open_["code"]]
    assert queue(client, receiver, state="open") == [open_["code"]]
    assert queue(client, receiver, state="finished") == [refused["code"]]
    assert sorted(queue(client, receiver, state="all")) == sorted([refused["code"], open_["code"]])
    assert queue(client, receiver, status="refused") == [refused["code"]]
    bad = client.get("/api/v1/agency/dossiers?state=closed", headers=bearer(receiver))
    assert bad.status_code == 422
    assert bad.mimetype == "application/problem+json"


def test_each_dossier_says_where_it_stands_against_its_deadline(filing, client, receiver, clock):
    def deadlines(tokens):
        response = client.get("/api/v1/agency/dossiers?state=all", headers=bearer(tokens))
        return {d["code"]: d["deadline"] for d in response.get_json()["items"]}

    soon = filing.filed()  # Monday 09:00, 8 working hours: due Tuesday 09:00
    refused = filing.filed()
    officer_post(client, receiver, refused["id"], "refuse", {"reason": "Thiếu giấy tờ"})
    assert deadlines(receiver) == {soon["code"]: "due_soon", refused["code"]: None}
    clock.shift(timedelta(hours=25))  # Tuesday 10:00
    receiver = refreshed(client, receiver)
    assert deadlines(receiver)[soon["code"]] == "overdue"
    filing.refresh()
    mine = client.get(f"/api/v1/dossiers/{soon['id']}", headers=filing.headers).get_json()
    assert mine["deadline"] == "overdue"


def test_the_queue_pages_by_urgency_within_the_officers_agencies(
    filing, client, receiver, outsider, clock
):
    filed = []
    for _ in range(3):
        filed.append(filing.filed()["code"])
        clock.shift(timedelta(minutes=5))
        filing.refresh()
    receiver, outsider = refreshed(client, receiver), refreshed(client, outsider)

    def page(tokens, **query):
        answer = client.get("/api/v1/agency/dossiers", query_string=query, headers=bearer(tokens))
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    first = page(receiver, limit=2)
    second = page(receiver, limit=2, cursor=first["next_cursor"])
    assert [d["code"] for d in first["items"] + second["items"]] == filed
    assert second["next_cursor"] is None
    assert queue(client, receiver, agency=WARD) == filed
    assert queue(client, receiver, agency=WARD, limit=1, status="submitted") == filed[:1]
    assert queue(client, receiver, agency=JUSTICE) == []
    assert queue(client, receiver, agency="999.99.99.H99") == []
    assert queue(client, outsider, state="all") == []  # another agency's officer sees none
    assert queue(client, outsider, agency=WARD) == []
