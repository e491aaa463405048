"""Every answer carries the headers its operation declares for it, and no other.

A generated client sends only the request headers an operation declares and reads only the
response headers it declares: ``Idempotency-Key``, ``If-Match``, ``ETag``, ``Location``,
``Retry-After``... that are only in prose do not exist for the app. The journeys below walk
every operation group of the document on the live app, as citizens, officers, administrators
and an anonymous petitioner would, through the normal answers and the usual refusals (401,
404, 409, 412, 415, 422, 428, 429, 503, replays, 304s); ``tests.contract.headers`` checks each
answer (the transport headers it ignores are listed there).
"""

from __future__ import annotations

import io

import sqlalchemy as sa

from backend.extensions import db
from tests.contract.document import operations
from tests.contract.headers import HeaderContract
from tests.helpers.dpop import DeviceKey, authorized, bound_sign_in
from tests.helpers.engagement import PETITION
from tests.helpers.passkeys import ORIGIN as passkey_origin
from tests.helpers.passkeys import SoftAuthenticator
from tests.helpers.providers import browser_login, pkce
from tests.helpers.signin import bearer, last_code, sign_in_with_code
from tests.helpers.work import unit_of_work
from tests.security.world import BIRTH, BIRTH_DATA, PILOT, WARD
from tests.storage.samples import pdf, png

PERIOD = {"agency": WARD, "from": "2026-01-01", "to": "2026-12-31"}
APP_REDIRECT = "vn.dvcmobile.app:/oauth2/callback"


class Walk:
    """Calls as one of the world's people; each answer's status is the one the step expects."""

    def __init__(self, client, world):
        self.client = client
        self.world = world

    def __call__(self, method, path, expect, *, who="anon", headers=None, **kwargs):
        headers = {**self.world.headers[who], **(headers or {})}
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code == expect, (method, path, response.get_data(as_text=True))
        return response


def _pkce() -> dict:
    challenge = pkce()[1]
    return {
        "redirect_uri": APP_REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def _file(content: bytes, name: str) -> dict:
    return {"data": {"file": (io.BytesIO(content), name)}, "content_type": "multipart/form-data"}


def _catalog_and_probes(walk: Walk) -> None:
    walk("GET", "/healthz", 200)
    walk("GET", "/readyz", 200)
    walk("GET", "/.well-known/jwks.json", 200)
    walk("GET", "/.well-known/client-jwks.json", 200)
    walk("GET", "/api/v1/agencies", 200, query_string={"level": "province"})
    agency = walk("GET", f"/api/v1/agencies/{WARD}", 200)
    walk("GET", f"/api/v1/agencies/{WARD}", 304, headers={"If-None-Match": agency.headers["ETag"]})
    walk("GET", "/api/v1/agencies/000.00.00.X99", 404)
    walk("GET", "/api/v1/procedures", 200, query_string={"q": "khai sinh"})
    walk("GET", "/api/v1/procedures", 422, query_string={"limit": "1000"})
    procedure = walk("GET", f"/api/v1/procedures/{BIRTH}", 200, headers={"Accept-Language": "en"})
    etag = procedure.headers["ETag"]
    walk("GET", f"/api/v1/procedures/{BIRTH}", 304, headers={"If-None-Match": etag})


def _signing_in(walk: Walk, app) -> None:
    phone = "0944555666"
    asked = walk("POST", "/api/v1/auth/otp", 202, json={"phone": phone})
    walk("POST", "/api/v1/auth/otp", 429, json={"phone": phone})  # resend too soon
    body = {"challenge_id": asked.get_json()["challenge_id"], "code": "000000"}
    device = {"name": "Phone", "platform": "android"}
    walk("POST", "/api/v1/auth/otp/verify", 401, json={**body, "device": device})
    walk("POST", "/api/v1/auth/otp/verify", 422, json=body)
    walk("POST", "/api/v1/auth/otp/verify", 415, data="code=1", content_type="text/plain")
    refresh = {"grant_type": "refresh_token", "refresh_token": "x" * 43}
    walk("POST", "/api/v1/auth/token", 401, json=refresh)
    walk("POST", "/api/v1/auth/step-up", 401, who="X", json={"code": "000000"})
    walk("GET", "/api/v1/me", 401)
    walk("GET", "/api/v1/me", 401, headers={"Authorization": "Bearer not-a-token"})
    # A session of its own to end: the world's stay signed in.
    spare = bearer(sign_in_with_code(app, walk.client, "0977000111"))
    walk("POST", "/api/v1/auth/logout", 204, headers=spare)


def _device_bound(walk: Walk, app, monkeypatch) -> None:
    """DPoP: a bound sign-in and call, the refusals, and the nonce asked for on both kinds."""
    key = DeviceKey()
    verify, me, token = "/api/v1/auth/otp/verify", "/api/v1/me", "/api/v1/auth/token"
    asked = walk("POST", "/api/v1/auth/otp", 202, json={"phone": "0944555777"})
    body = {
        "challenge_id": asked.get_json()["challenge_id"],
        "code": last_code(app, "+84944555777"),
        "device": {"name": "Phone", "platform": "android"},
    }
    walk("POST", verify, 400, json=body, headers={"DPoP": "not-a-proof"})
    tokens = walk(
        "POST", verify, 200, json=body, headers={"DPoP": key.proof("POST", verify)}
    ).get_json()
    walk("GET", me, 200, headers=key.headers("GET", me, tokens))
    walk("GET", me, 401, headers=bearer(tokens))
    walk("GET", me, 401, headers=DeviceKey().headers("GET", me, tokens))
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    walk("POST", token, 400, json=refresh)
    monkeypatch.setitem(app.config, "DPOP_NONCE_REQUIRED", True)
    nonce = walk("GET", me, 401, headers=key.headers("GET", me, tokens)).headers["DPoP-Nonce"]
    walk("POST", token, 400, json=refresh, headers={"DPoP": key.proof("POST", token)})
    proof = key.proof("POST", token, claims={"nonce": nonce})
    walk("POST", token, 200, json=refresh, headers={"DPoP": proof})
    monkeypatch.setitem(app.config, "DPOP_NONCE_REQUIRED", False)


def _me(walk: Walk, app) -> None:
    me = walk("GET", "/api/v1/me", 200, who="A")
    walk("GET", "/api/v1/me", 304, who="A", headers={"If-None-Match": me.headers["ETag"]})
    walk("PATCH", "/api/v1/me", 200, who="A", json={"preferred_language": "vi"})
    sessions = walk("GET", "/api/v1/me/sessions", 200, who="B").get_json()["items"]
    walk("GET", "/api/v1/me/identities", 200, who="A")
    link = {"provider": walk.world.ids["provider"], **_pkce()}
    walk("POST", "/api/v1/me/identities/link", 201, who="A", json=link)
    walk("POST", "/api/v1/me/totp", 201, who="B", json={})
    walk("POST", "/api/v1/me/totp/confirm", 401, who="B", json={"code": "000000"})
    walk("POST", "/api/v1/me/totp/recovery-codes", 409, who="B", json={"code": "000000"})
    walk("POST", "/api/v1/me/totp/disable", 403, who="X", json={"code": "000000"})
    walk("DELETE", "/api/v1/me/sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV", 404, who="B")
    other = [s for s in sessions if not s["current"]]
    if other:
        walk("DELETE", f"/api/v1/me/sessions/{other[0]['id']}", 204, who="B")
    # notifications
    inbox = walk("GET", "/api/v1/me/notifications", 200, who="A").get_json()["items"]
    walk("GET", "/api/v1/me/notifications/unread-count", 200, who="A")
    walk("POST", f"/api/v1/me/notifications/{inbox[0]['id']}/read", 200, who="A")
    walk("POST", "/api/v1/me/notifications/read-all", 200, who="A")
    preferences = walk("GET", "/api/v1/me/notification-preferences", 200, who="A").get_json()
    choice = {"items": [{"kind": preferences["items"][0]["kind"], "channels": ["inbox"]}]}
    walk("PUT", "/api/v1/me/notification-preferences", 200, who="A", json=choice)
    device = {"token": "fcm-token-of-citizen-a-0001", "platform": "android"}
    walk("POST", "/api/v1/me/devices", 200, who="A", json=device)
    walk(
        "POST",
        "/api/v1/me/devices",
        201,
        who="B",
        json={**device, "token": "fcm-token-of-citizen-b-0001"},
    )


def _filing(walk: Walk) -> str:
    """A citizen's dossier from draft to submission, with every retry and stale copy."""
    body = {"procedure_code": BIRTH, "data": BIRTH_DATA}
    key = {"Idempotency-Key": "contract-draft-0001"}
    draft = walk("POST", "/api/v1/dossiers", 201, who="A", json=body, headers=key)
    assert {"ETag", "Location"} <= set(draft.headers.keys())
    again = walk("POST", "/api/v1/dossiers", 201, who="A", json=body, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    walk("POST", "/api/v1/dossiers", 422, who="A", json={**body, "x": 1}, headers=key)
    walk("POST", "/api/v1/dossiers", 422, who="A", json={"data": {}})
    walk("POST", "/api/v1/dossiers", 415, who="A", data="{}", content_type="text/plain")
    walk("POST", "/api/v1/dossiers", 400, who="A", data="{", content_type="application/json")
    walk("POST", "/api/v1/dossiers", 404, who="A", json={"procedure_code": "9.999999"})
    walk("POST", "/api/v1/dossiers", 403, who="X", json=body)
    url = draft.headers["Location"]
    change = {"data": {"child_full_name": "Nguyễn Minh Anh"}}
    walk("PATCH", url, 428, who="A", json=change)
    patched = walk(
        "PATCH", url, 200, who="A", json=change, headers={"If-Match": draft.headers["ETag"]}
    )
    walk("PATCH", url, 412, who="A", json=change, headers={"If-Match": draft.headers["ETag"]})
    walk("GET", url, 304, who="A", headers={"If-None-Match": patched.headers["ETag"]})
    walk("GET", url, 404, who="B")
    slot = f"{url}/attachments/giay_chung_sinh"
    upload_key = {"Idempotency-Key": "contract-upload-0001"}
    attached = walk("POST", slot, 201, who="A", headers=upload_key, **_file(png(), "cs.png"))
    replayed = walk("POST", slot, 201, who="A", headers=upload_key, **_file(png(), "cs.png"))
    assert replayed.headers["Location"] == attached.headers["Location"]
    walk("POST", slot, 422, who="A", **_file(b"not an image", "cs.png"))
    walk("GET", attached.headers["Location"], 200, who="A")
    walk("DELETE", slot, 204, who="A")
    document_id = attached.get_json()["document"]["id"]
    reuse_key = {"Idempotency-Key": "contract-reuse-0001"}
    reuse = {"document_id": document_id}
    walk("POST", f"{slot}/reuse", 201, who="A", json=reuse, headers=reuse_key)
    again = walk("POST", f"{slot}/reuse", 201, who="A", json=reuse, headers=reuse_key)
    assert again.headers["Idempotent-Replayed"] == "true"
    walk("POST", f"{slot}/uploads", 409, who="A", json={"file_name": "cs.pdf"})
    walk("GET", "/api/v1/me/documents", 200, who="A")
    walk("POST", f"{url}/submit", 400, who="A")
    submit_key = {"Idempotency-Key": "contract-submit-0001"}
    receipt = walk("POST", f"{url}/submit", 200, who="A", headers=submit_key).get_json()
    walk("POST", f"{url}/submit", 200, who="A", headers=submit_key)  # replayed
    walk("POST", f"{url}/submit", 409, who="A", headers={"Idempotency-Key": "contract-submit-2"})
    walk("POST", f"{url}/submit", 422, who="A", headers={"Idempotency-Key": "bad key!"})
    walk("GET", f"{url}/events", 200, who="A")
    walk("GET", "/api/v1/dossiers", 200, who="A", query_string={"status": "submitted"})
    walk("GET", "/api/v1/dossiers", 401)
    secret = {"secret": receipt["lookup_secret"]}
    walk("GET", f"/api/v1/tracking/{receipt['code']}", 200, query_string=secret)
    walk("GET", f"/api/v1/tracking/{receipt['code']}", 404, query_string={"secret": "AAAAA-AAAAA"})
    # A pending direct upload (made by the world), confirmed with a key.
    world = walk.world
    confirm = f"/api/v1/dossiers/{world.ids['draft']}/uploads/{world.ids['upload']}/confirm"
    confirm_key = {"Idempotency-Key": "contract-confirm-1"}
    walk("POST", confirm, 201, who="A", headers=confirm_key)
    again = walk("POST", confirm, 201, who="A", headers=confirm_key)  # the upload is gone
    assert again.headers["Idempotent-Replayed"] == "true"
    walk("DELETE", f"/api/v1/dossiers/{world.ids['draft']}", 204, who="A")
    # The world's other submitted dossier: withdrawn, so there is nothing to resubmit.
    submitted = f"/api/v1/dossiers/{world.ids['submitted']}"
    walk("POST", f"{submitted}/withdraw", 200, who="A", json={"reason": "Nộp nhầm"})
    walk("POST", f"{submitted}/resubmit", 409, who="A", json={})
    return receipt["id"]


def _at_the_agency(walk: Walk, dossier_id: str) -> None:
    url = f"/api/v1/agency/dossiers/{dossier_id}"
    walk("GET", "/api/v1/agency/dossiers", 200, who="X")
    seen = walk("GET", url, 200, who="X")
    walk("GET", url, 304, who="X", headers={"If-None-Match": seen.headers["ETag"]})
    walk("GET", url, 404, who="Y")
    walk("POST", f"{url}/decide", 409, who="X", json={})
    for step in ("accept", "start"):
        walk("POST", f"{url}/{step}", 200, who="X", json={})
    walk("POST", f"{url}/accept", 409, who="X", json={})
    walk("POST", f"{url}/decide", 422, who="X", json={})  # no result yet
    walk("POST", f"{url}/request-fees", 200, who="X", json={"amount": 50000})
    walk("POST", f"{url}/confirm-fees", 200, who="X", json={})
    walk("POST", f"{url}/extend", 200, who="X", json=_extension())
    result = _file(pdf(), "kq.pdf")
    walk(
        "POST",
        f"{url}/result",
        201,
        who="X",
        headers={"Idempotency-Key": "contract-res-1"},
        **result,
    )
    walk("POST", f"{url}/decide", 200, who="X", json={})
    walk("POST", f"{url}/return", 200, who="X", json={})
    walk("GET", f"{url}/events", 200, who="X")
    walk("GET", f"/api/v1/dossiers/{dossier_id}/result", 200, who="A")
    rating = {"time": 5, "staff_attitude": 5, "clarity": 4, "online_ease": 4}
    rate = f"/api/v1/dossiers/{dossier_id}/rating"
    key = {"Idempotency-Key": "contract-rating-1"}
    rated = walk("POST", rate, 201, who="A", json=rating, headers=key)
    assert rated.headers["Location"].endswith(rate)
    walk("POST", rate, 201, who="A", json=rating, headers=key)
    walk("POST", rate, 409, who="A", json=rating)
    mine = walk("GET", rate, 200, who="A")
    walk("GET", rate, 304, who="A", headers={"If-None-Match": mine.headers["ETag"]})
    # Another one refused at the counter's desk, and one stopped.
    counter = {
        "procedure_code": BIRTH,
        "channel": "counter",
        "applicant": {"full_name": "Trần Thị Lan", "phone": "0912000111"},
        "data": {**BIRTH_DATA, "requester_phone": "0912000111"},
    }
    key = {"Idempotency-Key": "contract-counter-1"}
    registered = walk("POST", "/api/v1/agency/dossiers", 201, who="X", json=counter, headers=key)
    other = registered.headers["Location"]
    walk("GET", other, 200, who="X")
    walk("POST", f"{other}/request-supplement", 200, who="X", json={"items": ["CCCD"]})
    walk("POST", f"{other}/request-supplement", 409, who="X", json={"items": ["CCCD"]})
    walk("POST", f"{other}/stop", 200, who="X", json={"reason": "Dừng"})
    walk("POST", f"{other}/refuse", 409, who="X", json={"reason": "Thiếu"})


def _extension() -> dict:
    return {"due_at": "2026-12-31T10:00:00+00:00", "apology": "Xin lỗi vì chậm trễ"}


def _petitions(walk: Walk, app) -> None:
    phone = "0933222999"
    asked = walk("POST", "/api/v1/feedback/phone-proofs", 202, json={"phone": phone})
    challenge = asked.get_json()["challenge_id"]
    walk(
        "POST",
        "/api/v1/feedback/phone-proofs/verify",
        401,
        json={"challenge_id": challenge, "code": "000000"},
    )
    walk("GET", "/api/v1/feedback", 401)
    key = {"Idempotency-Key": "contract-petition-1"}
    sent = walk("POST", "/api/v1/feedback", 201, who="proof", json=PETITION, headers=key)
    walk("POST", "/api/v1/feedback", 201, who="proof", json=PETITION, headers=key)
    url = sent.headers["Location"]
    mine = walk("GET", url, 200, who="proof")
    walk("GET", url, 304, who="proof", headers={"If-None-Match": mine.headers["ETag"]})
    walk("GET", "/api/v1/feedback", 200, who="proof")
    file_key = {"Idempotency-Key": "contract-petition-file-1"}
    walk("POST", f"{url}/attachments", 201, who="proof", headers=file_key, **_file(png(), "a.png"))
    walk("POST", f"{url}/attachments", 201, who="proof", headers=file_key, **_file(png(), "a.png"))
    walk("POST", f"{url}/supplement", 409, who="proof", json={"note": "Bổ sung"})
    walk("POST", f"{url}/helpful", 409, who="proof", json={"helpful": True})
    feedback_id = sent.get_json()["id"]
    officer = f"/api/v1/agency/feedback/{feedback_id}"
    walk("GET", "/api/v1/agency/feedback", 200, who="X")
    seen = walk("GET", officer, 200, who="X")
    walk("GET", officer, 304, who="X", headers={"If-None-Match": seen.headers["ETag"]})
    attachment = seen.get_json()["attachments"][0]["id"]
    walk("GET", f"{officer}/attachments/{attachment}", 200, who="X")
    walk("POST", f"{officer}/start", 200, who="X", json={})
    walk("POST", f"{officer}/request-supplement", 200, who="X", json={"items": ["Ảnh"]})
    walk("POST", f"{url}/supplement", 200, who="proof", json={"note": "Đã bổ sung"})
    walk("POST", f"{officer}/answer", 200, who="X", json={"answer": "Đã xử lý."})
    walk("POST", f"{officer}/publish", 200, who="X", json={})
    walk("POST", f"{officer}/refuse", 409, who="X", json={"reason": "Muộn"})
    walk("POST", f"{url}/helpful", 200, who="proof", json={"helpful": True})
    walk("GET", "/api/v1/feedback/public", 200)
    public = walk("GET", f"/api/v1/feedback/public/{feedback_id}", 200)
    etag = public.headers["ETag"]
    walk("GET", f"/api/v1/feedback/public/{feedback_id}", 304, headers={"If-None-Match": etag})


def _administration(walk: Walk, app) -> None:
    for path in (
        "/api/v1/reports/quality",
        "/api/v1/reports/quality.csv",
        "/api/v1/reports/quality/chart.svg",
    ):
        walk("GET", path, 200, who="X", query_string=PERIOD)
        walk("GET", path, 403, who="A", query_string=PERIOD)
    # the catalog
    content = {
        "name": "Đăng ký giám hộ",
        "field": "Hộ tịch",
        "delivery_mode": "partial",
        "processing_time": {"amount": 3, "unit": "working_days"},
    }
    new = {"code": "1.000999", "agency": WARD, "content": content}
    key = {"Idempotency-Key": "contract-procedure-1"}
    created = walk("POST", "/api/v1/admin/catalog/procedures", 201, who="X", json=new, headers=key)
    walk("POST", "/api/v1/admin/catalog/procedures", 201, who="X", json=new, headers=key)
    walk("POST", "/api/v1/admin/catalog/procedures", 409, who="X", json=new)
    url = created.headers["Location"]
    procedure = walk("GET", url, 200, who="X")
    walk("GET", url, 304, who="X", headers={"If-None-Match": procedure.headers["ETag"]})
    walk("GET", "/api/v1/admin/catalog/procedures", 200, who="X")
    walk("PUT", f"{url}/draft", 200, who="X", json={"content": content})
    walk("POST", f"{url}/status", 200, who="X", json={"status": "pilot"})
    walk("GET", f"{url}/audit", 200, who="X")
    pilot = f"/api/v1/admin/catalog/procedures/{PILOT}"
    walk("GET", f"{pilot}/pilot-members", 200, who="X")
    walk("POST", f"{pilot}/pilot-members", 201, who="X", json={"phone": "0987654321"})
    walk("DELETE", f"{pilot}/pilot-members/{walk.world.ids['account_a']}", 204, who="X")
    walk("GET", f"{pilot}/pilot-figures", 200, who="X")
    # the calendar
    walk("GET", "/api/v1/admin/calendar/overrides", 200, who="X")
    day = {"day": "2026-12-19", "kind": "working_day", "note": "Làm bù"}
    walk("POST", "/api/v1/admin/calendar/overrides", 201, who="admin", json=day)
    walk("POST", "/api/v1/admin/calendar/overrides", 409, who="admin", json=day)
    walk("DELETE", "/api/v1/admin/calendar/overrides/2026-12-19", 204, who="admin")
    walk("DELETE", "/api/v1/admin/calendar/overrides/19-12-2026", 422, who="admin")
    # staff
    walk("GET", "/api/v1/admin/staff", 200, who="X")
    member = {"phone": "0911100008", "full_name": "Cán bộ", "agency": WARD, "role": "leader"}
    staff = walk("POST", "/api/v1/admin/staff", 201, who="X", json=member).get_json()
    walk("POST", f"/api/v1/admin/staff/{staff['id']}/enrolment-code", 201, who="X")
    grant = {"agency": WARD, "role": "receiving_officer"}
    granted = walk("POST", f"/api/v1/admin/staff/{staff['id']}/roles", 201, who="X", json=grant)
    walk(
        "DELETE",
        f"/api/v1/admin/staff/{staff['id']}/roles/{granted.get_json()['id']}",
        204,
        who="X",
    )
    # identity providers
    walk("GET", "/api/v1/admin/identity-providers", 200, who="X")
    provider = {
        "slug": "ward_idp_2",
        "name": "Định danh",
        "agency": WARD,
        "issuer": "https://idp2.ward.example",
        "enabled": False,
        "client_id": "dvc-mobile",
        "client_secret": "s3cret",
        "client_auth_method": "client_secret_basic",
        "scopes": ["openid"],
        "signing_algorithms": ["RS256"],
    }
    made = walk("POST", "/api/v1/admin/identity-providers", 201, who="X", json=provider)
    url = made.headers["Location"]
    seen = walk("GET", url, 200, who="X")
    walk("GET", url, 304, who="X", headers={"If-None-Match": seen.headers["ETag"]})
    walk("PATCH", url, 200, who="X", json={"name": "Định danh phường"})
    link = {"account_id": walk.world.ids["staff"], "subject": "officer-subject-1"}
    walk("POST", f"{url}/staff-links", 201, who="X", json=link)


def _provider_login(walk: Walk, app) -> None:
    walk("GET", "/api/v1/auth/providers", 200)
    query = {**_pkce(), "state": "s-1"}
    slug = walk.world.ids["provider"]
    walk("GET", f"/api/v1/auth/providers/{slug}/authorize", 302, query_string=query)
    walk("GET", "/api/v1/auth/providers/nobody/authorize", 404, query_string=query)
    bad_state = {"state": "x" * 43, "code": "abc"}
    walk("GET", f"/api/v1/auth/providers/{slug}/callback", 400, query_string=bad_state)
    browser_login(walk.client, slug)  # to the provider and back: both legs are 302s
    # A provider that stopped answering: 503, and when to try again.
    with unit_of_work(app):
        from backend.providers.models import IdentityProvider

        db.session.execute(
            sa.update(IdentityProvider)
            .where(IdentityProvider.slug == "ward_idp_2")
            .values(enabled=True, issuer="http://127.0.0.1:9")
        )
        db.session.commit()
    walk("GET", "/api/v1/auth/providers/ward_idp_2/authorize", 503, query_string=query)


def _cross_device(walk: Walk, app) -> None:
    screens = "/api/v1/admin/signin-clients"
    kiosk = {"agency": WARD, "kind": "kiosk", "name": "Ki-ốt"}
    client_id = walk("POST", screens, 201, who="X", json=kiosk).get_json()["id"]
    walk("POST", screens, 404, who="Y", json=kiosk)
    walk("GET", screens, 200, who="X")
    verifier, challenge = pkce()
    start = {"client_id": client_id, "code_challenge": challenge}
    started = walk("POST", "/api/v1/auth/cross-device", 201, json=start).get_json()
    walk("POST", "/api/v1/auth/cross-device", 400, json={**start, "client_id": "0" * 26})
    request, code = started["request_id"], started["display_code"]
    poll = f"/api/v1/auth/cross-device/{request}/token"
    walk("POST", poll, 400, json={"code_verifier": verifier})
    walk("POST", poll, 401, json={"code_verifier": pkce()[0]})
    phone = f"/api/v1/me/cross-device/{request}"
    shown = walk("GET", phone, 200, who="A").get_json()
    walk("GET", phone, 403, who="X")
    walk("GET", "/api/v1/me/cross-device/unknown", 404, who="A")
    wrong = next(c for c in shown["choices"] if c != code)
    walk("POST", f"{phone}/approve", 401, who="A", json={"code": code})  # a bearer token
    bound = bound_sign_in(app, walk.client, DeviceKey(), "0912000777")

    def proven(path: str) -> dict:
        return authorized(bound, "POST", path)

    approve = f"{phone}/approve"
    walk("POST", approve, 422, headers=proven(approve), json={"code": wrong})
    walk("POST", approve, 200, headers=proven(approve), json={"code": code})
    walk("POST", f"{phone}/deny", 409, who="B")
    other = walk("POST", "/api/v1/auth/cross-device", 201, json=start).get_json()
    walk("POST", f"/api/v1/me/cross-device/{other['request_id']}/deny", 204, who="B")
    walk("DELETE", f"{screens}/{client_id}", 204, who="X")
    walk("DELETE", f"{screens}/{client_id}", 404, who="X")


def _passkeys(walk: Walk, app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "WEBAUTHN_ORIGINS", (passkey_origin,))
    mine, phone = "/api/v1/me/passkeys", SoftAuthenticator()
    options = walk("POST", f"{mine}/registration-options", 200, who="A").get_json()
    made = {
        "challenge_id": options["challenge_id"],
        "credential": phone.create(options["publicKey"]),
    }
    passkey = walk("POST", mine, 201, who="A", json=made).get_json()
    walk("POST", mine, 422, who="A", json=made)
    walk("GET", mine, 200, who="A")
    walk("PATCH", f"{mine}/{passkey['id']}", 200, who="A", json={"name": "Điện thoại"})
    walk("PATCH", f"{mine}/{passkey['id']}", 404, who="B", json={"name": "x"})
    asked = walk("POST", "/api/v1/auth/passkey/options", 200, json={}).get_json()
    answer = {
        "challenge_id": asked["challenge_id"],
        "credential": phone.get(asked["publicKey"]),
        "device": {"name": "Máy tính", "platform": "web"},
    }
    walk("POST", "/api/v1/auth/passkey/verify", 200, json=answer)
    asked = walk("POST", "/api/v1/auth/passkey/options", 200, json={}).get_json()
    answer["challenge_id"] = asked["challenge_id"]  # an answer to another challenge
    walk("POST", "/api/v1/auth/passkey/verify", 401, json=answer)
    walk("DELETE", f"{mine}/{passkey['id']}", 204, who="A")
    walk("DELETE", f"{mine}/{passkey['id']}", 404, who="A")


def test_every_operation_group_sends_what_it_declares(app, world, contract, checked, monkeypatch):
    walk = Walk(checked, world)
    _catalog_and_probes(walk)
    _signing_in(walk, app)
    _device_bound(walk, app, monkeypatch)
    _me(walk, app)
    dossier_id = _filing(walk)
    _at_the_agency(walk, dossier_id)
    _petitions(walk, app)
    _administration(walk, app)
    _provider_login(walk, app)
    _cross_device(walk, app)
    _passkeys(walk, app, monkeypatch)

    assert contract.problems == [], "\n".join(contract.problems)
    walked = {(method, path) for method, path, _ in contract.seen}
    every = {(method, path) for method, path, _ in operations(contract.document)}
    assert sorted(every - walked) == [], "operations no journey walks: add them to one"


def test_the_check_finds_an_undeclared_header_and_a_missing_one(app, contract):
    fresh = HeaderContract(app=app, document=contract.document)
    answer = app.response_class("{}", status=200, mimetype="application/json")
    answer.headers["X-Surprise"] = "1"  # and no X-Request-ID, which every answer declares
    fresh.check("GET", "/healthz", answer)
    assert fresh.problems == [
        "GET /healthz 200: sends x-surprise, which is not declared",
        "GET /healthz 200: misses x-request-id, declared as always sent",
    ]
    fresh.check("GET", "/healthz", app.response_class(status=418))
    assert fresh.problems[-1] == "GET /healthz 418: status not in the document"
