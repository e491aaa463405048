"""No phone number and no national ID number in the logs, whatever the request did.

The app's JSON log lines are captured at DEBUG across a sign-in, a dossier filed with a
national ID number, an anonymous petition from a proven phone, refused requests that carry
both in their bodies and queries, and an unexpected failure whose message quotes them.
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from backend.observability import JsonFormatter
from tests.dossiers import conftest as dossier_fixtures
from tests.helpers import dossiers
from tests.helpers.engagement import PETITION, phone_proof
from tests.helpers.signin import bearer

_catalog, clock = (
    dossier_fixtures._catalog,
    dossier_fixtures.clock,
)  # the demo catalog at Monday 9:00
PHONE, PROOF_PHONE = "0912345678", "0977000111"
NATIONAL_ID = dossiers.BIRTH_DATA["mother_national_id"]  # 022199001234


def forms(phone: str) -> list[str]:
    """0912345678, +84912345678, 84912345678 and the spaced and dotted ways people type it."""
    local = phone[1:]
    return [
        phone,
        f"+84{local}",
        f"84{local}",
        f"{phone[:4]} {phone[4:7]} {phone[7:]}",
        f"{phone[:4]}.{phone[4:7]}.{phone[7:]}",
        f"+84 {local[:2]} {local[2:5]} {local[5:]}",
    ]


SECRETS = [*forms(PHONE), *forms(PROOF_PHONE), NATIONAL_ID]


@pytest.fixture
def log_lines():
    """Every line the app's formatter writes while the test runs, at DEBUG and above."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: buffer.getvalue().splitlines()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def assert_clean(lines: list[str]) -> None:
    assert lines, "nothing was logged: the capture does not work"
    for line in lines:
        for secret in SECRETS:
            assert secret not in line, f"{secret!r} logged: {line[:400]}"


def test_sign_in_filing_petition_and_refusals_log_no_personal_data(app, client, sign_in, log_lines):
    tokens = sign_in(PHONE)
    headers = bearer(tokens)
    # A dossier with a national ID number, attached and submitted (notifications go out).
    filing = dossiers.Filing(client, tokens)
    filing.filed()
    # An anonymous petition from a proven phone, with the phone in its text.
    proof = phone_proof(app, client, PROOF_PHONE)
    petition = {**PETITION, "text": f"Gọi lại cho tôi: {PROOF_PHONE} hoặc +84{PROOF_PHONE[1:]}."}
    assert client.post("/api/v1/feedback", json=petition, headers=proof).status_code == 201
    # Refusals that carry the data in their bodies, paths and queries.
    client.post("/api/v1/auth/otp", json={"phone": f"{PHONE}x"})
    client.post("/api/v1/auth/otp/verify", json={"challenge_id": PHONE, "code": "12345"})
    client.get(f"/api/v1/tracking/{NATIONAL_ID}?verifier={PHONE[-4:]}&phone={PHONE}")
    client.get(f"/api/v1/dossiers/{NATIONAL_ID}", headers=headers)
    client.get(f"/api/v1/procedures?q={PHONE}")
    client.patch("/api/v1/me", json={"phone": f"+84{PHONE[1:]}"}, headers=headers)
    client.post(
        "/api/v1/dossiers",
        json={"procedure_code": "1.001193", "data": {"mother_national_id": f"{NATIONAL_ID}9"}},
        headers=headers,
    )
    assert_clean(log_lines())


def test_an_unexpected_failure_quoting_personal_data_is_logged_masked(
    app, client, citizen, log_lines, monkeypatch
):
    """Database drivers and libraries put values in their messages; the log masks them."""
    from backend.identity.routes import me

    def broken(*args, **kwargs):
        raise RuntimeError(
            f"duplicate key (phone)=(+84{PHONE[1:]}) national_id={NATIONAL_ID} "
            f"[parameters: ('{PHONE}', '84{PHONE[1:]}')]"
        )

    monkeypatch.setattr(me.accounts, "update_profile", broken)
    answer = client.patch("/api/v1/me", json={"full_name": "Trần Thị Lan"}, headers=bearer(citizen))
    assert answer.status_code == 500
    assert PHONE not in answer.get_data(as_text=True)
    lines = log_lines()
    assert any('"unhandled error"' in line for line in lines)
    assert_clean(lines)
    # What the line still says is enough to find the failure.
    failure = next(line for line in lines if '"unhandled error"' in line)
    assert "RuntimeError" in failure and "duplicate key (phone)" in failure


@pytest.mark.parametrize(
    "text",
    [
        *SECRETS,
        "0243 825 1234",  # a Hà Nội landline
        "022-199-001-234",
        "cmnd 123456789",
        "to=+84912345678&x=1",
        "(phone)=(84912345678)",
    ],
)
def test_the_scrubber_masks_every_form(text):
    from backend.observability import scrub

    masked = scrub(f"before {text} after")
    assert text not in masked
    assert masked.startswith("before ") and masked.endswith(" after")
    assert "[phone]" in masked or "[id-number]" in masked


@pytest.mark.parametrize(
    "text",
    [
        "01M8N2WC80B7EDTRVFKBC59NQ3",  # a ULID
        "2026-11-30T02:00:00.000+00:00",
        "001.01.00.H56-261130-0001",  # a dossier code
        "/api/v1/dossiers/01M8N2WC80B7EDTRVFKBC59NQ3/attachments/giay_chung_sinh",
        "duration_ms 1234.56, bytes 26214400, exp 1700000600",
        "procedure 1.001193 version 3",
    ],
)
def test_the_scrubber_leaves_what_is_not_personal(text):
    from backend.observability import scrub

    assert scrub(text) == text


def test_each_request_logs_one_line_of_what_who_and_how_it_ended(client, sign_in, log_lines):
    tokens = sign_in(PHONE)
    me = client.get("/api/v1/me", headers=bearer(tokens)).get_json()
    supplied = {"X-Request-ID": "trace-0001.a", **bearer(tokens)}
    answer = client.get("/api/v1/dossiers?limit=5", headers=supplied)
    unknown = client.get("/api/v1/dossiers/01JNOSUCHDOSSIER0000000000", headers=bearer(tokens))

    logged = [json.loads(line) for line in log_lines()]
    requests = [line for line in logged if line["message"] == "request"]
    listed = next(line for line in requests if line["request_id"] == "trace-0001.a")
    refused = next(line for line in requests if line["status"] == 404)
    assert answer.headers["X-Request-ID"] == "trace-0001.a"
    assert (listed["method"], listed["path"], listed["status"]) == ("GET", "/api/v1/dossiers", 200)
    assert listed["principal"] == me["id"] and listed["duration_ms"] >= 0
    assert refused["request_id"] == unknown.headers["X-Request-ID"] != "trace-0001.a"
