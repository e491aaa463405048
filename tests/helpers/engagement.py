"""A petition to send, and the steps of sending and answering it through the API."""

from __future__ import annotations

from tests.helpers.dossiers import BIRTH
from tests.helpers.signin import bearer, last_code

PROVINCE = "000.00.00.H56"


PETITION = {
    "subject": {"procedure_code": BIRTH},
    "category": "delay",
    "title": "Chậm trả kết quả khai sinh",
    "text": "Hồ sơ khai sinh của con tôi đã quá hạn nhưng chưa có kết quả.",
}


def send(client, headers, body=None, key=None):
    headers = {**headers, "Idempotency-Key": key} if key else headers
    return client.post("/api/v1/feedback", json=body or PETITION, headers=headers)


def officer_step(client, tokens, feedback_id, step, body=None):
    return client.post(
        f"/api/v1/agency/feedback/{feedback_id}/{step}", json=body or {}, headers=bearer(tokens)
    )


def phone_proof(app, client, phone="0977000111") -> dict:
    """The X-Phone-Proof header of an anonymous sender, through the real API."""
    from backend.phones import to_e164

    asked = client.post("/api/v1/feedback/phone-proofs", json={"phone": phone})
    assert asked.status_code == 202, asked.get_json()
    verified = client.post(
        "/api/v1/feedback/phone-proofs/verify",
        json={
            "challenge_id": asked.get_json()["challenge_id"],
            "code": last_code(app, to_e164(phone)),
        },
    )
    assert verified.status_code == 200, verified.get_json()
    return {"X-Phone-Proof": verified.get_json()["phone_proof"]}
