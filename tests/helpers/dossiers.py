"""A ward, the birth registration it handles, and the steps of filing and working a dossier."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.helpers.signin import bearer
from tests.storage.samples import pdf, png

WARD = "001.01.00.H56"  # Ủy ban nhân dân phường Hồng Gai: birth registration


JUSTICE = "000.00.17.H56"  # Sở Tư pháp: another agency


BIRTH = "1.001193"


# Monday 30 November 2026, 09:00 in Hà Nội: inside office hours.
MONDAY_9AM = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


BIRTH_DATA = {
    "child_full_name": "Nguyễn Minh An",
    "child_date_of_birth": "2026-11-20",
    "child_sex": "nam",
    "place_of_birth": "Bệnh viện Bãi Cháy, Hạ Long",
    "mother_full_name": "Trần Thị Lan",
    "mother_national_id": "022199001234",
    "relationship": "me",
    "requester_full_name": "Trần Thị Lan",
    "requester_national_id": "022199001234",
}


class Filing:
    """A citizen filing through the API, step by step."""

    def __init__(self, client, tokens):
        self.client = client
        self.tokens = tokens
        self.headers = bearer(tokens)

    def refresh(self) -> None:
        """New tokens after the clock moved past the access token's life."""
        answer = self.client.post(
            "/api/v1/auth/token",
            json={"grant_type": "refresh_token", "refresh_token": self.tokens["refresh_token"]},
        )
        assert answer.status_code == 200, answer.get_json()
        self.tokens = answer.get_json()
        self.headers = bearer(self.tokens)

    def draft(self, code=BIRTH, data=None, key=None):
        body = {"procedure_code": code, "data": BIRTH_DATA if data is None else data}
        headers = {**self.headers, "Idempotency-Key": key} if key else self.headers
        return self.client.post("/api/v1/dossiers", json=body, headers=headers)

    def attach(self, dossier_id, slot="giay_chung_sinh", content=None, name="chung-sinh.png"):
        import io

        return self.client.post(
            f"/api/v1/dossiers/{dossier_id}/attachments/{slot}",
            data={"file": (io.BytesIO(png() if content is None else content), name)},
            content_type="multipart/form-data",
            headers=self.headers,
        )

    def submit(self, dossier_id, key="submit-key-0001"):
        headers = {**self.headers, "Idempotency-Key": key} if key else self.headers
        return self.client.post(f"/api/v1/dossiers/{dossier_id}/submit", headers=headers)

    def filed(self, code=BIRTH, data=None) -> dict:
        """A submitted dossier's receipt."""
        draft = self.draft(code, data)
        assert draft.status_code == 201, draft.get_json()
        dossier_id = draft.get_json()["id"]
        assert self.attach(dossier_id).status_code == 201
        receipt = self.submit(dossier_id, key=f"submit-{dossier_id}")
        assert receipt.status_code == 200, receipt.get_json()
        return receipt.get_json()


def refreshed(client, tokens) -> dict:
    """An officer's new tokens after the clock moved past the access token's life."""
    answer = client.post(
        "/api/v1/auth/token",
        json={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def officer_post(client, tokens, dossier_id, step, body=None):
    return client.post(
        f"/api/v1/agency/dossiers/{dossier_id}/{step}", json=body or {}, headers=bearer(tokens)
    )


def upload_result(client, tokens, dossier_id, content=None):
    import io

    return client.post(
        f"/api/v1/agency/dossiers/{dossier_id}/result",
        data={"file": (io.BytesIO(pdf() if content is None else content), "giay-khai-sinh.pdf")},
        content_type="multipart/form-data",
        headers=bearer(tokens),
    )
