"""Staff: created by an administrator, phone code plus authenticator, roles scoped to agencies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backend.extensions import db
from backend.identity.models import OtpChallenge, RoleGrant, SecurityEvent
from tests.helpers.signin import DEVICE, bearer, last_code
from tests.helpers.work import statements_sent, unit_of_work

pytestmark = pytest.mark.usefixtures("demo_catalog")
PROVINCE = "000.00.00.H56"
JUSTICE = "000.00.17.H56"
WARD = "001.01.00.H56"


def staff_sign_in(client, app, phone, **second_factor):
    sent = client.post("/api/v1/auth/otp", json={"phone": phone, "audience": "staff"})
    from backend.phones import to_e164

    code = last_code(app, to_e164(phone))
    return client.post(
        "/api/v1/auth/otp/verify",
        json={
            "challenge_id": sent.get_json()["challenge_id"],
            "code": code,
            "device": DEVICE,
            **second_factor,
        },
    )


def enrolment_code(output: str) -> str:
    return re.search(r"enrolment code: (\S+)", output).group(1)


def begin(client, tokens, code=None):
    body = {"enrolment_code": code} if code else None
    return client.post("/api/v1/me/totp", json=body, headers=bearer(tokens))


def test_cli_creates_staff(runner, app):
    result = runner.invoke(
        args=[
            "staff",
            "add",
            "--phone",
            "0911000111",
            "--name",
            "Nguyễn Văn A",
            "--agency",
            WARD,
            "--role",
            "receiving_officer",
        ]
    )
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        args=["staff", "add", "--phone", "12", "--name", "X", "--agency", WARD, "--role", "leader"]
    )
    assert bad.exit_code != 0


def test_first_sign_in_only_allows_setting_up_the_authenticator(client, runner, sign_in):
    added = runner.invoke(
        args=[
            "staff",
            "add",
            "--phone",
            "0911000111",
            "--name",
            "A",
            "--agency",
            WARD,
            "--role",
            "agency_admin",
        ]
    )
    first = sign_in("0911000111", audience="staff")
    assert first["mfa_enrollment_required"] is True
    blocked = client.get("/api/v1/admin/staff", headers=bearer(first))
    assert blocked.status_code == 403
    assert blocked.get_json()["type"].endswith("mfa-enrollment-required")
    begun = begin(client, first, enrolment_code(added.output))
    assert begun.status_code == 201


def test_staff_need_both_factors_once_enrolled(client, app, make_staff):
    tokens, totp = make_staff("0911000222", agency=WARD, role="agency_admin")
    assert client.get("/api/v1/admin/staff", headers=bearer(tokens)).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2)):
        missing = staff_sign_in(client, app, "0911000222")
        assert missing.status_code == 401
        assert missing.get_json()["attempts_left"] == 4
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=4)):
        ok = staff_sign_in(client, app, "0911000222", totp_code=totp.now())
        assert ok.status_code == 200
        assert ok.get_json()["mfa_enrollment_required"] is False


def test_a_missing_second_factor_spends_a_try_and_leaves_the_code_usable(client, app, make_staff):
    """The SMS code was right: sent again with the authenticator's code it signs in, and the
    try the first attempt spent stays spent."""
    _tokens, totp = make_staff("0911000333", agency=WARD, role="agency_admin")
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2)):
        sent = client.post("/api/v1/auth/otp", json={"phone": "0911000333", "audience": "staff"})
        challenge_id = sent.get_json()["challenge_id"]
        code = last_code(app, "+84911000333")
        body = {"challenge_id": challenge_id, "code": code, "device": DEVICE}
        missing = client.post("/api/v1/auth/otp/verify", json=body)
        assert missing.status_code == 401
        assert missing.get_json()["attempts_left"] == 4
        with unit_of_work(app):
            challenge = db.session.get(OtpChallenge, challenge_id)
            assert (challenge.consumed_at, challenge.failed_attempts) == (None, 1)
        ok = client.post("/api/v1/auth/otp/verify", json=body | {"totp_code": totp.now()})
        assert ok.status_code == 200, ok.get_json()
        with unit_of_work(app):
            challenge = db.session.get(OtpChallenge, challenge_id)
            assert challenge.consumed_at is not None and challenge.failed_attempts == 1


def test_recovery_code_instead_of_the_app_works_once(client, app, sign_in, runner):
    added = runner.invoke(
        args=[
            "staff",
            "add",
            "--phone",
            "0911000333",
            "--name",
            "C",
            "--agency",
            WARD,
            "--role",
            "leader",
        ]
    )
    first = sign_in("0911000333", audience="staff")
    import pyotp

    totp = pyotp.TOTP(begin(client, first, enrolment_code(added.output)).get_json()["secret"])
    codes = client.post(
        "/api/v1/me/totp/confirm", json={"code": totp.now()}, headers=bearer(first)
    ).get_json()["recovery_codes"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2)):
        assert staff_sign_in(client, app, "0911000333", recovery_code=codes[0]).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=4)):
        assert staff_sign_in(client, app, "0911000333", recovery_code=codes[0]).status_code == 401


def test_admin_manages_staff_only_in_their_agencies(client, app, make_staff):
    admin, _ = make_staff("0911000444", agency=PROVINCE, role="agency_admin")
    ward_admin, _ = make_staff("0911000555", agency=WARD, role="agency_admin")
    created = client.post(
        "/api/v1/admin/staff",
        headers=bearer(admin),
        json={
            "phone": "0911000666",
            "full_name": "Trần Thị B",
            "agency": WARD,
            "role": "receiving_officer",
        },
    )
    assert created.status_code == 201, created.get_json()
    staff_id = created.get_json()["id"]
    # The ward admin sees the ward's staff; the province admin the whole province.
    ward_view = client.get("/api/v1/admin/staff", headers=bearer(ward_admin)).get_json()["items"]
    assert staff_id in {s["id"] for s in ward_view}
    # A ward admin cannot grant a role at the province's justice department.
    outside = client.post(
        f"/api/v1/admin/staff/{staff_id}/roles",
        headers=bearer(ward_admin),
        json={"agency": JUSTICE, "role": "leader"},
    )
    assert outside.status_code == 404
    granted = client.post(
        f"/api/v1/admin/staff/{staff_id}/roles",
        headers=bearer(admin),
        json={"agency": JUSTICE, "role": "leader"},
    )
    assert granted.status_code == 201
    grant_id = granted.get_json()["id"]
    assert (
        client.delete(
            f"/api/v1/admin/staff/{staff_id}/roles/{grant_id}", headers=bearer(ward_admin)
        ).status_code
        == 404
    )
    assert (
        client.delete(
            f"/api/v1/admin/staff/{staff_id}/roles/{grant_id}", headers=bearer(admin)
        ).status_code
        == 204
    )
    with unit_of_work(app):
        kinds = db.session.scalars(
            sa.select(SecurityEvent.kind).where(SecurityEvent.account_id == staff_id)
        ).all()
    assert kinds.count("role_granted") == 2 and kinds.count("role_revoked") == 1


def test_duplicate_staff_is_409(client, make_staff):
    admin, _ = make_staff("0911000777", agency=WARD, role="agency_admin")
    body = {"phone": "0911000888", "full_name": "D", "agency": WARD, "role": "leader"}
    assert client.post("/api/v1/admin/staff", headers=bearer(admin), json=body).status_code == 201
    assert client.post("/api/v1/admin/staff", headers=bearer(admin), json=body).status_code == 409


def test_officer_without_staff_manage_is_403(client, make_staff):
    officer, _ = make_staff("0911000999", agency=WARD, role="receiving_officer")
    assert client.get("/api/v1/admin/staff", headers=bearer(officer)).status_code == 403


def _created(client, admin, phone):
    body = {"phone": phone, "full_name": "Trần Thị B", "agency": WARD, "role": "leader"}
    created = client.post("/api/v1/admin/staff", headers=bearer(admin), json=body)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def test_the_sim_alone_cannot_enrol_a_staff_authenticator(client, app, sign_in, make_staff):
    """Whoever holds the phone at the first sign-in gets nowhere without the admin's code."""
    admin, _ = make_staff("0911000444", agency=PROVINCE, role="agency_admin")
    created = _created(client, admin, "0911000777")
    code = created["enrolment_code"]
    assert re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code) and created["enrolment_code_expires_at"]
    # The code is shown once: the staff list does not hold it.
    listed = client.get("/api/v1/admin/staff", headers=bearer(admin)).get_json()["items"]
    assert all("enrolment_code" not in item for item in listed)
    holder = sign_in("0911000777", audience="staff")
    missing = begin(client, holder)
    assert missing.status_code == 422 and "enrolment_code" in missing.get_json()["errors"]
    wrong = begin(client, holder, "aaaaa-aaaaa")
    assert wrong.status_code == 401 and wrong.get_json()["type"].endswith("enrolment-code-wrong")
    assert client.get("/api/v1/admin/staff", headers=bearer(holder)).status_code == 403
    # With the code: set up, and the code is used up by the confirmation.
    import pyotp

    totp = pyotp.TOTP(begin(client, holder, code.upper().replace("-", "")).get_json()["secret"])
    confirmed = client.post(
        "/api/v1/me/totp/confirm", json={"code": totp.now()}, headers=bearer(holder)
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    with unit_of_work(app):
        from backend.identity.models import StaffEnrolmentCode

        assert db.session.get(StaffEnrolmentCode, created["id"]) is None
        kinds = set(db.session.scalars(sa.select(SecurityEvent.kind)))
    assert {"enrolment_code_issued", "enrolment_code_wrong", "totp_enrolled"} <= kinds


def test_wrong_enrolment_codes_run_out(client, app, sign_in, make_staff):
    admin, _ = make_staff("0911000444", agency=PROVINCE, role="agency_admin")
    created = _created(client, admin, "0911000777")
    holder = sign_in("0911000777", audience="staff")
    allowed = int(app.config["RATELIMIT_TOTP_PER_ACCOUNT"].split("/")[0])
    for n in range(allowed):
        assert begin(client, holder, f"aaaaa-aaa{n:02d}").status_code == 401
    limited = begin(client, holder, created["enrolment_code"])
    assert limited.status_code == 429 and limited.headers["Retry-After"]


def test_an_enrolment_code_expires_and_can_be_issued_again(
    client, app, sign_in, make_staff, monkeypatch
):
    admin, _ = make_staff("0911000444", agency=PROVINCE, role="agency_admin")
    ward_admin, _ = make_staff("0911000555", agency=WARD, role="agency_admin")
    justice_admin, _ = make_staff("0911000888", agency=JUSTICE, role="agency_admin")
    monkeypatch.setitem(app.config, "STAFF_ENROLMENT_CODE_SECONDS", 60)
    created = _created(client, admin, "0911000777")
    later = datetime.now(UTC) + timedelta(seconds=90)
    with time_machine.travel(later):
        holder = sign_in("0911000777", audience="staff")
        assert begin(client, holder, created["enrolment_code"]).status_code == 401
        url = f"/api/v1/admin/staff/{created['id']}/enrolment-code"
        assert client.post(url, headers=bearer(justice_admin)).status_code == 404
        again = client.post(url, headers=bearer(ward_admin))
        assert again.status_code == 201, again.get_json()
        fresh = again.get_json()["enrolment_code"]
        assert fresh != created["enrolment_code"]
        assert begin(client, holder, created["enrolment_code"]).status_code == 401
        assert begin(client, holder, fresh).status_code == 201
    # An enrolled staff member gets no new code: that would reopen the door.
    enrolled = client.get("/api/v1/admin/staff", headers=bearer(admin)).get_json()["items"]
    ward = next(s for s in enrolled if s["phone"] == "+84911000555")
    refused = client.post(f"/api/v1/admin/staff/{ward['id']}/enrolment-code", headers=bearer(admin))
    assert refused.status_code == 409


def test_the_cli_issues_a_new_enrolment_code(runner, client, sign_in):
    first = runner.invoke(
        args=[
            "staff",
            "add",
            "--phone",
            "0911000999",
            "--name",
            "D",
            "--agency",
            WARD,
            "--role",
            "leader",
        ]
    )
    again = runner.invoke(args=["staff", "enrolment-code", "--phone", "0911000999"])
    assert again.exit_code == 0, again.output
    holder = sign_in("0911000999", audience="staff")
    assert begin(client, holder, enrolment_code(first.output)).status_code == 401
    assert begin(client, holder, enrolment_code(again.output)).status_code == 201
    unknown = runner.invoke(args=["staff", "enrolment-code", "--phone", "0911000000"])
    assert unknown.exit_code != 0


def test_a_staff_request_reads_its_grants_with_the_session_check_and_each_time(
    client, app, make_staff
):
    admin, _ = make_staff("0911000444", agency=PROVINCE, role="agency_admin")
    # A ward's staff, seen from a grant at the province: the tree below the grant counts.
    listed, sent = statements_sent(
        app, lambda: client.get(f"/api/v1/admin/staff?agency={WARD}", headers=bearer(admin))
    )
    assert listed.status_code == 200, listed.get_json()
    checks = [s for s in sent if "FROM sessions" in s]
    assert len(checks) == 1 and "role_grants" in checks[0], sent  # it carries the grants
    assert [s for s in sent if "tree(role, agency_id)" in s] == checks  # and nothing else does
    # Grants are read on every request: one taken away counts at once.
    with unit_of_work(app):
        db.session.execute(sa.delete(RoleGrant))
    refused = client.get(f"/api/v1/admin/staff?agency={WARD}", headers=bearer(admin))
    assert refused.status_code == 403
