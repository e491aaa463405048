"""Passkeys: registered from a fresh session, signing in at the level they were made at,
managed by their owner, and every bad answer refused with nothing signed in."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backend.db import utcnow
from backend.extensions import db
from backend.identity import tokens as token_service
from backend.identity.models import Passkey, SecurityEvent, Session, WebauthnChallenge
from backend.notifications.models import Channel, Notification
from tests.helpers.dpop import DeviceKey
from tests.helpers.passkeys import ORIGIN, SoftAuthenticator, b64, client_data_of
from tests.helpers.signin import DEVICE, bearer, sign_in_with_code
from tests.helpers.work import unit_of_work

MINE = "/api/v1/me/passkeys"
OPTIONS = "/api/v1/auth/passkey/options"
VERIFY = "/api/v1/auth/passkey/verify"
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _origins(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBAUTHN_RP_ID", "localhost")
    monkeypatch.setitem(app.config, "WEBAUTHN_ORIGINS", (ORIGIN,))


@pytest.fixture
def phone() -> SoftAuthenticator:
    return SoftAuthenticator()


def register(client, tokens, authenticator, *, name=None, **overrides):
    options = client.post(f"{MINE}/registration-options", headers=bearer(tokens))
    assert options.status_code == 200, options.get_json()
    body = options.get_json()
    credential = authenticator.create(body["publicKey"], **overrides)
    payload = {"challenge_id": body["challenge_id"], "credential": credential}
    if name:
        payload["name"] = name
    return client.post(MINE, json=payload, headers=bearer(tokens))


def options_for(client, **body):
    answer = client.post(OPTIONS, json=body)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def sign_in(client, authenticator, *, options=None, **kwargs):
    options = options or options_for(client)
    credential = authenticator.get(options["publicKey"], **kwargs)
    return client.post(
        VERIFY,
        json={"challenge_id": options["challenge_id"], "credential": credential, "device": DEVICE},
    )


@pytest.fixture
def registered(client, citizen, phone) -> dict:
    answer = register(client, citizen, phone, name="Điện thoại của tôi")
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def counts(app) -> tuple[int, int]:
    with unit_of_work(app):
        sessions = db.session.scalar(sa.select(sa.func.count()).select_from(Session))
        passkeys = db.session.scalar(sa.select(sa.func.count()).select_from(Passkey))
    return sessions, passkeys


def events(app, kind: str) -> list[SecurityEvent]:
    with unit_of_work(app):
        rows = list(db.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind)))
    return rows


def refused(response, status=401):
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    return response.get_json()


def claims_of(app, tokens: dict) -> dict:
    with unit_of_work(app):
        return token_service.verify_access_token(tokens["access_token"], now=utcnow())


# --- registering and signing in -----------------------------------------------------------


def test_a_registered_passkey_signs_in_without_a_phone_number(app, client, registered, phone):
    assert registered["name"] == "Điện thoại của tôi" and registered["acr"] == "0"
    assert registered["synced"] is False and registered["last_used_at"] is None
    signed_in = sign_in(client, phone)
    assert signed_in.status_code == 200, signed_in.get_json()
    tokens = signed_in.get_json()
    claims = claims_of(app, tokens)
    assert claims["amr"] == ["mfa", "hwk", "user"] and tokens["acr"] == "0"
    me = client.get("/api/v1/me", headers=bearer(tokens))
    assert me.get_json()["phone"] == "+84912345678"
    listed = client.get(MINE, headers=bearer(tokens)).get_json()["items"]
    assert [p["id"] for p in listed] == [registered["id"]] and listed[0]["last_used_at"]


def test_a_phone_number_hint_lists_that_accounts_passkeys(client, registered, phone):
    options = options_for(client, phone="0912345678")
    allowed = [c["id"] for c in options["publicKey"]["allowCredentials"]]
    assert allowed == [b64(phone.credentials[0].id)]
    assert options["publicKey"]["userVerification"] == "required"
    assert sign_in(client, phone, options=options).status_code == 200


def test_an_unknown_number_gets_a_list_of_the_same_shape_every_time(client, registered):
    first = options_for(client, phone="0900000001")["publicKey"]["allowCredentials"]
    again = options_for(client, phone="0900000001")["publicKey"]["allowCredentials"]
    other = options_for(client, phone="0900000002")["publicKey"]["allowCredentials"]
    known = options_for(client, phone="0912345678")["publicKey"]["allowCredentials"]
    assert first == again != other
    assert len(first) == len(known) and len(first[0]["id"]) == len(known[0]["id"])


def test_a_passkey_signs_in_at_the_level_of_the_session_that_made_it(app, client, citizen):
    with unit_of_work(app):  # the e-ID sign-in's session (backend.providers) is level 2
        db.session.execute(sa.update(Session).values(acr=2))
        db.session.commit()
    e_id = SoftAuthenticator()
    made = register(client, citizen, e_id)
    assert made.status_code == 201 and made.get_json()["acr"] == "2"
    signed_in = sign_in(client, e_id).get_json()
    assert signed_in["acr"] == "2" and claims_of(app, signed_in)["acr"] == "2"

    sms_only = sign_in_with_code(app, client, "0987654321")
    other = SoftAuthenticator()
    assert register(client, sms_only, other).get_json()["acr"] == "0"
    assert sign_in(client, other).get_json()["acr"] == "0"


def test_a_synced_passkey_that_always_counts_zero_keeps_working(app, client, citizen):
    synced = SoftAuthenticator(synced=True)
    made = register(client, citizen, synced)
    assert made.get_json()["synced"] is True
    for _ in range(3):
        tokens = sign_in(client, synced).get_json()
    assert claims_of(app, tokens)["amr"] == ["mfa", "swk", "user"]


def test_registration_needs_a_recent_sign_in(app, client, citizen, phone):
    with time_machine.travel(utcnow() + timedelta(minutes=6), tick=False):
        stale = client.post(f"{MINE}/registration-options", headers=bearer(citizen))
        body = refused(stale)
        assert body["error"] == "insufficient_user_authentication" and body["max_age"] == 300
        assert 'max_age="300"' in stale.headers["WWW-Authenticate"]
        fresh = sign_in_with_code(app, client, "0912345678")
        assert register(client, fresh, phone).status_code == 201


def test_a_registration_retried_with_its_key_gets_the_first_answer(app, client, citizen, phone):
    options = client.post(f"{MINE}/registration-options", headers=bearer(citizen)).get_json()
    body = {
        "challenge_id": options["challenge_id"],
        "credential": phone.create(options["publicKey"]),
    }
    headers = {**bearer(citizen), "Idempotency-Key": "passkey-retry-0001"}
    first = client.post(MINE, json=body, headers=headers)
    again = client.post(MINE, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and counts(app)[1] == 1
    assert refused(client.post(MINE, json=body, headers=bearer(citizen)), 422)


def test_the_same_authenticator_is_not_registered_twice(client, citizen, registered, phone):
    options = client.post(f"{MINE}/registration-options", headers=bearer(citizen)).get_json()
    excluded = [c["id"] for c in options["publicKey"]["excludeCredentials"]]
    assert excluded == [b64(phone.credentials[0].id)]
    assert options["publicKey"]["authenticatorSelection"]["residentKey"] == "required"
    assert options["publicKey"]["authenticatorSelection"]["userVerification"] == "required"
    assert options["publicKey"]["attestation"] == "none"


def test_adding_and_removing_tell_the_person_everywhere(app, client, citizen, registered):
    changed = client.patch("/api/v1/me", json={"email": "a@example.vn"}, headers=bearer(citizen))
    assert changed.status_code == 200, changed.get_json()
    second = register(client, citizen, SoftAuthenticator(), name="Máy tính bảng").get_json()
    removed = client.delete(f"{MINE}/{second['id']}", headers=bearer(citizen))
    assert removed.status_code == 204
    with unit_of_work(app):
        rows = db.session.scalars(
            sa.select(Notification).where(Notification.kind.like("account.passkey_%"))
        ).all()
        sent = {(row.kind, row.channel) for row in rows}
    for kind in ("account.passkey_added", "account.passkey_removed"):
        assert {(kind, Channel.INBOX), (kind, Channel.SMS)} <= sent
    assert ("account.passkey_removed", Channel.EMAIL) in sent
    assert [e.detail["passkey_id"] for e in events(app, "passkey_removed")] == [second["id"]]
    assert len(events(app, "passkey_added")) == 2


def test_renaming_and_removing_touch_only_my_own(app, client, citizen, citizen_b, registered):
    path = f"{MINE}/{registered['id']}"
    assert refused(client.patch(path, json={"name": "x"}, headers=bearer(citizen_b)), 404)
    assert refused(client.delete(path, headers=bearer(citizen_b)), 404)
    renamed = client.patch(path, json={"name": "Điện thoại cũ"}, headers=bearer(citizen))
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Điện thoại cũ"
    assert client.get(MINE, headers=bearer(citizen_b)).get_json()["items"] == []
    with time_machine.travel(utcnow() + timedelta(minutes=6), tick=False):
        refused(client.delete(path, headers=bearer(citizen)))
    assert counts(app)[1] == 1


def test_staff_need_their_second_factor_and_then_sign_in_with_a_passkey(
    app, client, demo_catalog, make_staff
):
    from tests.helpers.signin import sign_in_with_code as code_only

    tokens, _ = make_staff("0911200001", agency="001.01.00.H56", role="receiving_officer")
    key = SoftAuthenticator()
    assert register(client, tokens, key).status_code == 201
    citizen_options = options_for(client)  # a staff passkey does not open a citizen sign-in
    refused(sign_in(client, key, options=citizen_options))
    staff_options = options_for(client, audience="staff", phone="0911200001")
    signed_in = sign_in(client, key, options=staff_options)
    assert signed_in.status_code == 200, signed_in.get_json()
    queue = client.get("/api/v1/agency/dossiers", headers=bearer(signed_in.get_json()))
    assert queue.status_code == 200, queue.get_json()

    with unit_of_work(app):
        from backend.identity.services.accounts import create_staff

        create_staff(
            phone="+84911200002",
            full_name="Mới",
            agency_code="001.01.00.H56",
            role="receiving_officer",
            granted_by=None,
        )
        db.session.commit()
    newcomer = code_only(app, client, "0911200002", audience="staff")
    assert newcomer["mfa_enrollment_required"] is True
    refused(client.post(f"{MINE}/registration-options", headers=bearer(newcomer)), 403)


# --- bad answers ----------------------------------------------------------------------------


def _signed_in_nothing(app, before):
    assert counts(app) == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"origin": "https://evil.example"},
        {"rp_id": "evil.example"},
        {"verified": False},
        {"type": "webauthn.get"},
        {"challenge": b64(b"another challenge altogether 123")},
    ],
    ids=["origin", "rp-id", "no-user-verification", "wrong-type", "other-challenge"],
)
def test_a_bad_registration_is_refused_and_keeps_nothing(app, client, citizen, phone, overrides):
    before = counts(app)
    refused(register(client, citizen, phone, **overrides))
    _signed_in_nothing(app, before)
    assert events(app, "passkey_registration_refused")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": "https://evil.example"},
        {"rp_id": "evil.example"},
        {"verified": False},
        {"sign_other_data": True},
        {"type": "webauthn.create"},
    ],
    ids=["origin", "rp-id", "no-user-verification", "other-data", "wrong-type"],
)
def test_a_bad_assertion_signs_nobody_in(app, client, registered, phone, kwargs):
    before = counts(app)
    refused(sign_in(client, phone, **kwargs))
    _signed_in_nothing(app, before)
    [event] = events(app, "passkey_sign_in_refused")
    assert event.detail["reason"] == "verification_failed"


def test_a_challenge_is_good_once(app, client, registered, phone):
    options = options_for(client)
    credential = phone.get(options["publicKey"])
    body = {"challenge_id": options["challenge_id"], "credential": credential, "device": DEVICE}
    assert client.post(VERIFY, json=body).status_code == 200
    before = counts(app)
    again = refused(client.post(VERIFY, json=body), 422)
    assert again["type"].endswith("passkey-challenge-unknown")
    _signed_in_nothing(app, before)


def test_an_expired_challenge_or_one_from_another_ceremony_is_refused(
    app, client, citizen, registered, phone
):
    options = options_for(client)
    credential = phone.get(options["publicKey"])
    body = {"challenge_id": options["challenge_id"], "credential": credential, "device": DEVICE}
    with time_machine.travel(utcnow() + timedelta(minutes=6), tick=False):
        refused(client.post(VERIFY, json=body), 422)
    creation = client.post(f"{MINE}/registration-options", headers=bearer(citizen)).get_json()
    crossed = phone.get({**options["publicKey"], "challenge": creation["publicKey"]["challenge"]})
    before = counts(app)
    refused(
        client.post(
            VERIFY,
            json={
                "challenge_id": creation["challenge_id"],
                "credential": crossed,
                "device": DEVICE,
            },
        ),
        422,
    )
    _signed_in_nothing(app, before)


def test_a_registration_challenge_belongs_to_its_session(app, client, citizen, citizen_b):
    options = client.post(f"{MINE}/registration-options", headers=bearer(citizen)).get_json()
    credential = SoftAuthenticator().create(options["publicKey"])
    stolen = client.post(
        MINE,
        json={"challenge_id": options["challenge_id"], "credential": credential},
        headers=bearer(citizen_b),
    )
    refused(stolen, 422)
    assert counts(app)[1] == 0


def test_another_accounts_credential_cannot_stand_for_mine(app, client, citizen, citizen_b):
    mine, theirs = SoftAuthenticator(), SoftAuthenticator()
    register(client, citizen, mine)
    register(client, citizen_b, theirs)
    options = options_for(client)
    # Citizen B's authenticator answers with citizen A's credential id but its own key.
    forged = theirs.get(options["publicKey"])
    forged["id"] = forged["rawId"] = b64(mine.credentials[0].id)
    before = counts(app)
    refused(
        client.post(
            VERIFY,
            json={"challenge_id": options["challenge_id"], "credential": forged, "device": DEVICE},
        )
    )
    _signed_in_nothing(app, before)
    assert [e.detail["reason"] for e in events(app, "passkey_sign_in_refused")] == [
        "user_handle_mismatch"
    ]


def test_a_count_that_goes_back_is_a_cloned_authenticator(app, client, registered, phone):
    assert sign_in(client, phone).status_code == 200
    assert sign_in(client, phone).status_code == 200  # count now 2
    before = counts(app)
    refused(sign_in(client, phone, count=1))
    _signed_in_nothing(app, before)
    [event] = events(app, "passkey_sign_in_refused")
    assert event.detail == {
        "passkey_id": registered["id"],
        "reason": "sign_count_regressed",
        "stored": 2,
        "received": 1,
    }
    assert sign_in(client, phone).status_code == 200  # the genuine one, counting on


def test_an_unknown_credential_is_refused(app, client, registered):
    stranger = SoftAuthenticator()
    stranger.create({"challenge": b64(b"x" * 32), "rp": {"id": "localhost"}, "user": {"id": "AA"}})
    options = options_for(client)
    refused(sign_in(client, stranger, options=options, credential=stranger.credentials[0]))
    assert events(app, "passkey_sign_in_refused")[0].detail["reason"] == "unknown_credential"


@pytest.mark.parametrize(
    "spoil",
    [
        lambda c: c["response"].update(clientDataJSON="A" * 5000),
        lambda c: c["response"].update(authenticatorData="A" * 3000),
        lambda c: c["response"].update(authenticatorData="not base64url!"),
        lambda c: c.update(type="password"),
        lambda c: c["response"].pop("signature"),
        lambda c: c.update(id="A" * 1401),
    ],
    ids=["long-client-data", "long-auth-data", "not-b64", "type", "no-signature", "long-id"],
)
def test_oversized_or_malformed_answers_are_422(app, client, registered, phone, spoil):
    options = options_for(client)
    credential = phone.get(options["publicKey"])
    spoil(credential)
    before = counts(app)
    answer = client.post(
        VERIFY,
        json={"challenge_id": options["challenge_id"], "credential": credential, "device": DEVICE},
    )
    refused(answer, 422)
    _signed_in_nothing(app, before)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda c: c["response"].update(clientDataJSON=b64(b"{not json")),
        lambda c: c["response"].update(authenticatorData=b64(b"short")),
        lambda c: c["response"].update(signature=b64(b"\x30\x02\x00\x00")),
    ],
    ids=["client-data-not-json", "auth-data-short", "signature-garbage"],
)
def test_well_formed_nonsense_is_401(app, client, registered, phone, spoil):
    options = options_for(client)
    credential = phone.get(options["publicKey"])
    spoil(credential)
    before = counts(app)
    refused(
        client.post(
            VERIFY,
            json={
                "challenge_id": options["challenge_id"],
                "credential": credential,
                "device": DEVICE,
            },
        )
    )
    _signed_in_nothing(app, before)


def test_the_client_data_is_what_the_authenticator_was_asked(client, registered, phone):
    options = options_for(client)
    credential = phone.get(options["publicKey"])
    assert client_data_of(credential)["challenge"] == options["publicKey"]["challenge"]


def test_spent_challenges_do_not_pile_up(app, client, registered):
    for _ in range(3):
        options_for(client)
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        options_for(client)
    with unit_of_work(app):
        left = db.session.scalar(sa.select(sa.func.count()).select_from(WebauthnChallenge))
    assert left == 1


# --- the files the platforms read -----------------------------------------------------------


def test_the_platform_files_come_from_configuration(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "WEBAUTHN_RELATED_ORIGINS", ("https://dichvucong.gov.vn",))
    monkeypatch.setitem(app.config, "IOS_APP_IDS", ("ABCDE12345.vn.dvcmobile.app",))
    monkeypatch.setitem(app.config, "ANDROID_APP_CERT_SHA256", ("ab:" * 31 + "cd",))
    assert client.get("/.well-known/webauthn").get_json() == {
        "origins": ["https://dichvucong.gov.vn"]
    }
    [statement] = client.get("/.well-known/assetlinks.json").get_json()
    assert "delegate_permission/common.get_login_creds" in statement["relation"]
    assert statement["target"]["sha256_cert_fingerprints"] == ["AB:" * 31 + "CD"]
    apple = client.get("/.well-known/apple-app-site-association").get_json()
    assert apple["webcredentials"]["apps"] == ["ABCDE12345.vn.dvcmobile.app"]


def test_the_android_app_origin_is_derived_from_its_signing_certificate(tmp_path):
    from backend.config import load

    environ = {"ANDROID_APP_CERT_SHA256": "00" * 32, "WEBAUTHN_ORIGINS": "https://a.vn"}
    config = load(str(tmp_path), environ)
    assert config["WEBAUTHN_ORIGINS"] == (
        "https://a.vn",
        "android:apk-key-hash:" + b64(bytes(32)),
    )


def test_a_passkey_sign_in_with_a_proof_binds_the_session_to_the_key(
    app, client, registered, phone
):
    key = DeviceKey()
    options = options_for(client)
    body = {
        "challenge_id": options["challenge_id"],
        "credential": phone.get(options["publicKey"]),
        "device": DEVICE,
    }
    signed_in = client.post(VERIFY, json=body, headers={"DPoP": key.proof("POST", VERIFY)})
    assert signed_in.status_code == 200, signed_in.get_json()
    tokens = signed_in.get_json()
    assert tokens["token_type"] == "DPoP"
    assert claims_of(app, tokens)["cnf"] == {"jkt": key.jkt}
    assert client.get("/api/v1/me", headers=bearer(tokens)).status_code == 401
    me = client.get("/api/v1/me", headers=key.headers("GET", "/api/v1/me", tokens))
    assert me.status_code == 200
