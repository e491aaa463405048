"""Anonymous petitions: a phone proves itself with a code before anything it sends counts."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers.engagement import PETITION, phone_proof, send
from tests.helpers.signin import DEVICE, last_code, outbox_lines


def test_a_proven_phone_files_and_follows_its_petition(app, client):
    proof = phone_proof(app, client)
    sms = outbox_lines(app)[-1]["text"]
    assert "phan anh" in sms  # the code says what it is for

    filed = send(client, proof)
    assert filed.status_code == 201, filed.get_json()
    feedback_id = filed.get_json()["id"]
    assert client.get(f"/api/v1/feedback/{feedback_id}", headers=proof).status_code == 200
    listed = client.get("/api/v1/feedback", headers=proof).get_json()["items"]
    assert [item["id"] for item in listed] == [feedback_id]

    other = phone_proof(app, client, phone="0977000222")
    assert client.get(f"/api/v1/feedback/{feedback_id}", headers=other).status_code == 404


def test_without_a_proof_nothing_is_accepted(app, client):
    assert send(client, {}).status_code == 401
    refused = send(client, {"X-Phone-Proof": "made-up-proof"})
    assert refused.status_code == 401
    assert refused.get_json()["type"].endswith("phone-proof-invalid")


def test_a_proof_expires(app, client, clock):
    proof = phone_proof(app, client)
    clock.shift(timedelta(minutes=31))
    assert send(client, proof).status_code == 401


def test_a_sign_in_code_does_not_prove_a_phone_for_petitions(app, client):
    asked = client.post("/api/v1/auth/otp", json={"phone": "0977000111"})
    code = last_code(app, "+84977000111")
    proved = client.post(
        "/api/v1/feedback/phone-proofs/verify",
        json={"challenge_id": asked.get_json()["challenge_id"], "code": code},
    )
    assert proved.status_code == 401


def test_a_petition_code_does_not_sign_anyone_in(app, client, clock):
    asked = client.post("/api/v1/feedback/phone-proofs", json={"phone": "0977000111"})
    code = last_code(app, "+84977000111")
    signed_in = client.post(
        "/api/v1/auth/otp/verify",
        json={"challenge_id": asked.get_json()["challenge_id"], "code": code, "device": DEVICE},
    )
    assert signed_in.status_code == 401


def test_petition_codes_share_the_phone_limits_of_sign_in(app, client):
    assert client.post("/api/v1/auth/otp", json={"phone": "0977000111"}).status_code == 202
    # The resend cooldown holds across both doors.
    again = client.post("/api/v1/feedback/phone-proofs", json={"phone": "0977000111"})
    assert again.status_code == 429 and "Retry-After" in again.headers


def test_an_anonymous_sender_has_no_dossier_to_name(app, client, filing):
    receipt = filing.filed()
    proof = phone_proof(app, client)
    about = {**PETITION, "subject": {"dossier_id": receipt["id"]}}
    assert send(client, proof, about).status_code == 404


def test_a_proven_phone_files_a_few_petitions_a_day(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "FEEDBACK_PER_SENDER_PER_DAY", 1)
    proof = phone_proof(app, client)
    assert send(client, proof).status_code == 201
    assert send(client, proof).status_code == 429


def test_anonymous_retries_are_keyed_by_the_phone(app, client):
    proof = phone_proof(app, client)
    first = send(client, proof, key="anon-petition-0001")
    again = send(client, proof, key="anon-petition-0001")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]

    other = phone_proof(app, client, phone="0977000222")
    # Same key from another phone (behind the same address): its own petition.
    third = send(client, other, key="anon-petition-0001")
    assert third.status_code == 201 and third.get_json()["id"] != first.get_json()["id"]


def test_an_anonymous_sender_hears_of_the_answer_by_sms(app, client, make_staff):
    from tests.helpers.engagement import officer_step

    answerer = make_staff("0911100004", agency="001.01.00.H56", role="feedback_officer")[0]
    feedback_id = send(client, phone_proof(app, client)).get_json()["id"]
    officer_step(client, answerer, feedback_id, "answer", {"answer": "Đã xử lý."})
    sms = [line for line in outbox_lines(app) if line.get("kind") == "feedback.answered_phone"]
    assert sms[-1]["to"] == "+84977000111"
    assert feedback_id[-8:] in sms[-1]["text"]
