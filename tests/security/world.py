"""One small world of real, owned resources for the authorization matrix.

Citizen A owns everything in it (dossiers in three states, petitions, a notification, a
session); agency X is the ward that works A's dossiers, agency Y the justice department next
to it, and the administrator holds every permission at the province above both. It is built
through the API where the API can build it, and committed once for the module that uses it;
each request of the matrix then runs inside a savepoint that is rolled back.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pyotp
import sqlalchemy as sa

from backend.catalog.cli import DEMO_CATALOG
from backend.catalog.services import import_catalog
from backend.db import utcnow
from backend.extensions import db
from backend.phones import to_e164
from tests.helpers.dossiers import BIRTH_DATA
from tests.helpers.engagement import PETITION
from tests.helpers.passkeys import SoftAuthenticator
from tests.helpers.signin import bearer, last_code, sign_in_with_code, staff_with_authenticator
from tests.helpers.work import unit_of_work
from tests.providers.oidc_provider import CLIENT_ID, CLIENT_SECRET
from tests.storage.samples import pdf, png

WARD = "001.01.00.H56"  # agency X: birth registration, the pilot procedure 1.000656
JUSTICE = "000.00.17.H56"  # agency Y: a sibling of X's parent, reaches none of X
PROVINCE = "000.00.00.H56"  # the administrator's agency: above X and Y
BIRTH = "1.001193"
PILOT = "1.000656"
PHONE_A, PHONE_B, PHONE_PROOF = "0912345678", "0987654321", "0933222111"
# RFC 7636's example pair: the screen of the world's cross-device sign-in holds the verifier.
SCREEN_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
SCREEN_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@dataclass
class World:
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # principal -> headers
    ids: dict[str, str] = field(default_factory=dict)  # resource name -> id or code
    totp: dict[str, pyotp.TOTP] = field(default_factory=dict)  # staff principal -> authenticator
    # What a screen shows (the number of a cross-device sign-in): not an id, it may be in any text.
    shown: dict[str, str] = field(default_factory=dict)


def _ok(response, *statuses: int) -> dict:
    assert response.status_code in (statuses or (200, 201, 204)), (
        response.status_code,
        response.get_data(as_text=True),
    )
    return response.get_json() if response.is_json else {}


def sign_in(app, client, phone: str, *, audience: str = "citizen") -> dict:
    return sign_in_with_code(app, client, phone, audience=audience)


staff = staff_with_authenticator


def _half_signed_in_staff(app, client, phone: str, *, agency: str) -> dict:
    """An administrator of ``agency`` whose first sign-in has not set up an authenticator."""
    from backend.identity.services.accounts import create_staff

    with unit_of_work(app):
        create_staff(
            phone=to_e164(phone),
            full_name="Cán bộ mới",
            agency_code=agency,
            role="agency_admin",
            granted_by=None,
        )
    tokens = sign_in(app, client, phone, audience="staff")
    assert tokens["mfa_enrollment_required"] is True
    return tokens


def phone_proof(app, client, phone: str) -> dict:
    asked = _ok(client.post("/api/v1/feedback/phone-proofs", json={"phone": phone}), 202)
    body = {"challenge_id": asked["challenge_id"], "code": last_code(app, to_e164(phone))}
    proof = _ok(client.post("/api/v1/feedback/phone-proofs/verify", json=body))
    return {"X-Phone-Proof": proof["phone_proof"]}


def _file(content: bytes, name: str) -> dict:
    return {"file": (io.BytesIO(content), name)}


def build(app, *, issuer: str) -> World:
    """Everything above; ``issuer`` is a provider serving on loopback, registered for agency X."""
    client = app.test_client()
    world = World()
    with unit_of_work(app):
        import_catalog(document=json.loads(DEMO_CATALOG.read_text(encoding="utf-8")))

    a = sign_in(app, client, PHONE_A)
    b = sign_in(app, client, PHONE_B)
    x, world.totp["X"] = staff(app, client, "0911100001", agency=WARD, role="agency_admin")
    y, world.totp["Y"] = staff(app, client, "0911100002", agency=JUSTICE, role="agency_admin")
    admin, world.totp["admin"] = staff(
        app, client, "0911100003", agency=PROVINCE, role="agency_admin"
    )
    catalog_x, world.totp["Xc"] = staff(
        app, client, "0911100004", agency=WARD, role="catalog_manager"
    )
    half_staff = _half_signed_in_staff(app, client, "0911100005", agency=WARD)
    world.headers = {
        "anon": {},
        "A": bearer(a),
        "B": bearer(b),
        "X": bearer(x),
        "Y": bearer(y),
        "admin": bearer(admin),
        "proof": phone_proof(app, client, PHONE_PROOF),
        "Xc": bearer(catalog_x),
        "mfa": bearer(half_staff),
    }
    ha, hx = world.headers["A"], world.headers["X"]
    ids = world.ids
    ids["session"] = a["session_id"]

    def draft() -> str:
        body = {"procedure_code": BIRTH, "data": BIRTH_DATA}
        return _ok(client.post("/api/v1/dossiers", json=body, headers=ha))["id"]

    def attach(dossier_id: str) -> dict:
        return _ok(
            client.post(
                f"/api/v1/dossiers/{dossier_id}/attachments/giay_chung_sinh",
                data=_file(png(), "chung-sinh.png"),
                content_type="multipart/form-data",
                headers=ha,
            )
        )

    def submit(dossier_id: str) -> dict:
        headers = {**ha, "Idempotency-Key": f"submit-{dossier_id}"}
        return _ok(client.post(f"/api/v1/dossiers/{dossier_id}/submit", headers=headers))

    def officer(dossier_id: str, step: str, body: dict | None = None) -> None:
        url = f"/api/v1/agency/dossiers/{dossier_id}/{step}"
        _ok(client.post(url, json=body or {}, headers=hx))

    # A draft with one attachment: still A's alone.
    ids["draft"] = draft()
    ids["document"] = attach(ids["draft"])["document"]["id"]
    # A submitted dossier: in X's queue.
    ids["submitted"] = draft()
    attach(ids["submitted"])
    receipt = submit(ids["submitted"])
    ids["tracking"], ids["tracking_secret"] = receipt["code"], receipt["lookup_secret"]
    # A dossier whose result was handed over, and rated.
    ids["returned"] = draft()
    attach(ids["returned"])
    submit(ids["returned"])
    officer(ids["returned"], "accept")
    officer(ids["returned"], "start")
    _ok(
        client.post(
            f"/api/v1/agency/dossiers/{ids['returned']}/result",
            data=_file(pdf(), "giay-khai-sinh.pdf"),
            content_type="multipart/form-data",
            headers=hx,
        )
    )
    officer(ids["returned"], "decide")
    officer(ids["returned"], "return")
    rating = {"time": 5, "staff_attitude": 5, "clarity": 4, "online_ease": 4}
    _ok(client.post(f"/api/v1/dossiers/{ids['returned']}/rating", json=rating, headers=ha))

    # A's petition with a file, and another one answered and published.
    ids["feedback"] = _ok(client.post("/api/v1/feedback", json=PETITION, headers=ha))["id"]
    attached = client.post(
        f"/api/v1/feedback/{ids['feedback']}/attachments",
        data=_file(png(), "anh.png"),
        content_type="multipart/form-data",
        headers=ha,
    )
    ids["feedback_attachment"] = _ok(attached)["id"]
    ids["published"] = _ok(client.post("/api/v1/feedback", json=PETITION, headers=ha))["id"]
    for step, body in (
        ("start", {}),
        ("answer", {"answer": "Hồ sơ đã được trả kết quả ngày 30/11."}),
        ("publish", {}),
    ):
        url = f"/api/v1/agency/feedback/{ids['published']}/{step}"
        _ok(client.post(url, json=body, headers=hx))

    inbox = _ok(client.get("/api/v1/me/notifications", headers=ha))["items"]
    ids["notification"] = inbox[0]["id"]
    _ok(
        client.post(
            "/api/v1/me/devices",
            json={"token": "fcm-token-of-citizen-a-0001", "platform": "android"},
            headers=ha,
        )
    )

    # X's own things: a staff member with a grant, an identity provider, a pilot member.
    created = client.post(
        "/api/v1/admin/staff",
        json={
            "phone": "0911100009",
            "full_name": "Cán bộ mới",
            "agency": WARD,
            "role": "receiving_officer",
        },
        headers=hx,
    )
    member = _ok(created)
    ids["staff"] = member["id"]
    ids["grant"] = member["grants"][0]["id"]
    _ok(
        client.post(
            f"/api/v1/admin/catalog/procedures/{PILOT}/pilot-members",
            json={"phone": PHONE_A},
            headers=hx,
        )
    )
    with unit_of_work(app):
        from backend.dossiers.models import DirectUploadSlot
        from backend.identity.models import Account
        from backend.providers.services import registry
        from backend.storage import get_store

        ids["account_a"] = db.session.scalar(
            sa.select(Account.id).where(Account.phone == to_e164(PHONE_A))
        )
        registry.create_provider(
            data={
                "slug": "ward_idp",
                "agency": WARD,
                "name": "Định danh của phường",
                "issuer": issuer,
                "client_id": CLIENT_ID,
                "client_auth_method": "client_secret_basic",
                "scopes": ["openid", "profile"],
                "signing_algorithms": ["RS256"],
                "minimum_level": 1,
            },
            client_secret=CLIENT_SECRET,
            enable=True,
            by=None,
            now=utcnow(),
        )
        # A presigned upload waiting for its confirmation (the S3 leg is tested elsewhere).
        get_store().put("incoming/uploaded-by-a", io.BytesIO(png()), max_size=1 << 20)
        pending = DirectUploadSlot(
            dossier_id=ids["draft"],
            slot="giay_chung_sinh",
            upload_key="incoming/uploaded-by-a",
            file_name="chung-sinh.png",
            expires_at=utcnow() + timedelta(hours=1),
        )
        db.session.add(pending)
        db.session.commit()
        ids["upload"] = pending.id
    ids["provider"] = "ward_idp"
    # The national calendar: an announced make-up working day.
    override = {"day": "2026-12-12", "kind": "working_day", "note": "Làm bù cho ngày nghỉ"}
    _ok(
        client.post(
            "/api/v1/admin/calendar/overrides", json=override, headers=world.headers["admin"]
        )
    )
    ids["override_day"] = override["day"]
    # A kiosk of the ward, and the sign-in it started, waiting for a phone.
    kiosk = {"agency": WARD, "kind": "kiosk", "name": "Ki-ốt bộ phận một cửa"}
    ids["signin_client"] = _ok(client.post("/api/v1/admin/signin-clients", json=kiosk, headers=hx))[
        "id"
    ]
    start = {"client_id": ids["signin_client"], "code_challenge": SCREEN_CHALLENGE}
    started = _ok(client.post("/api/v1/auth/cross-device", json=start))
    ids["cross_device"], world.shown["cross_device"] = (
        started["request_id"],
        started["display_code"],
    )
    # A passkey on citizen A's phone.
    phone = SoftAuthenticator(origin=app.config["WEBAUTHN_ORIGINS"][0])
    asked = _ok(client.post("/api/v1/me/passkeys/registration-options", headers=world.headers["A"]))
    made = {"challenge_id": asked["challenge_id"], "credential": phone.create(asked["publicKey"])}
    ids["passkey"] = _ok(client.post("/api/v1/me/passkeys", json=made, headers=world.headers["A"]))[
        "id"
    ]
    return world


def within_savepoint(app, send):
    """``send()`` inside a savepoint of the test connection, rolled back afterwards."""
    connection = app.extensions["sqlalchemy"]._app_engines[app][None]
    savepoint = connection.begin_nested()
    try:
        return send()
    finally:
        savepoint.rollback()


def flask_rules(app) -> dict[str, str]:
    """The document's paths (``/dossiers/{dossier_id}``) to the app's rules (``<dossier_id>``),
    as the authorization matrix names them."""
    return {
        re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule): rule.rule
        for rule in app.url_map.iter_rules()
    }
