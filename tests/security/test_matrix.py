"""Who may call what: every endpoint against every kind of caller, on real owned resources.

The table has one row per endpoint of ``app.url_map`` (HEAD and OPTIONS aside). Its columns are
the callers: nobody (``anon``), citizen A who owns every resource in the path, citizen B, an
officer of agency X (the ward that works A's dossiers), an officer of agency Y (a department
next to it), an administrator of the province above both, and an anonymous petitioner holding a
phone proof for another phone (``proof``), a catalog manager of agency X who holds no dossier,
petition, report, staff or provider permission (``Xc``), and an administrator of X whose first
sign-in has not set up an authenticator yet (``mfa``). A cell says what that caller must get:

    ok    the authorization layer lets the call through (any answer but 401, 403, 404 or 5xx:
          a 409 or 422 about the resource's state or the body still proves it was reached)
    pub   a public endpoint: the same answer for everyone, never "authentication required",
          403 or 5xx (a sign-in endpoint still answers 401 to a wrong code)
    401   not signed in          403   signed in, but not allowed
    404   hidden as absent: the resource exists, but not for this caller

A refusal must also leave every table as it was (its security event and idempotency record
aside). A new endpoint fails ``test_the_table_covers_every_endpoint`` until it gets a row, and a row whose
endpoint is gone fails it too. The ``with`` column names the resources put in the path.
"""

# ruff: noqa: E501 - the table keeps one endpoint per line

from __future__ import annotations

import io
import time

import pytest
import sqlalchemy as sa

from backend.errors import PROBLEM_CONTENT_TYPE
from backend.extensions import db
from tests.security.world import (
    BIRTH,
    BIRTH_DATA,
    PETITION,
    PILOT,
    SCREEN_CHALLENGE,
    SCREEN_VERIFIER,
    WARD,
    within_savepoint,
)
from tests.storage.samples import pdf, png

PRINCIPALS = ("anon", "A", "B", "X", "Y", "admin", "proof", "Xc", "mfa")

MATRIX = """
# method path                                                              with       anon A   B   X   Y   admin proof Xc  mfa
GET    /healthz                                                            -          pub  pub pub pub pub pub pub pub pub
GET    /readyz                                                             -          pub  pub pub pub pub pub pub pub pub
GET    /openapi.json                                                       -          pub  pub pub pub pub pub pub pub pub
GET    /docs/                                                              -          pub  pub pub pub pub pub pub pub pub
GET    /docs/<path:path>                                                   -          pub  pub pub pub pub pub pub pub pub
GET    /.well-known/jwks.json                                              -          pub  pub pub pub pub pub pub pub pub
GET    /.well-known/client-jwks.json                                       -          pub  pub pub pub pub pub pub pub pub
GET    /.well-known/webauthn                                               -          pub  pub pub pub pub pub pub pub pub
GET    /.well-known/assetlinks.json                                        -          pub  pub pub pub pub pub pub pub pub
GET    /.well-known/apple-app-site-association                             -          pub  pub pub pub pub pub pub pub pub
GET    /static/<path:filename>                                             -          404  404 404 404 404 404 404 404 404
GET    /signin                                                             -          pub  pub pub pub pub pub pub pub pub
GET    /signin/qr/<request_id>.svg                                         crossdev   pub  pub pub pub pub pub pub pub pub
GET    /signin/static/<path:filename>                                      -          404  404 404 404 404 404 404 404 404
# signing in
POST   /api/v1/auth/otp                                                    -          pub  pub pub pub pub pub pub pub pub
POST   /api/v1/auth/otp/verify                                             -          pub  pub pub pub pub pub pub pub pub
POST   /api/v1/auth/passkey/options                                        -          pub  pub pub pub pub pub pub pub pub
POST   /api/v1/auth/passkey/verify                                         -          pub  pub pub pub pub pub pub pub pub
POST   /api/v1/auth/token                                                  -          pub  pub pub pub pub pub pub pub pub
POST   /api/v1/auth/logout                                                 -          401  ok  ok  ok  ok  ok  401 ok  ok
POST   /api/v1/auth/step-up                                                -          401  ok  ok  ok  ok  ok  401 ok  ok
GET    /api/v1/auth/providers                                              -          pub  pub pub pub pub pub pub pub pub
POST   /api/v1/auth/cross-device                                           -          pub  pub pub pub pub pub pub pub pub
POST   /api/v1/auth/cross-device/<request_id>/token                        crossdev   pub  pub pub pub pub pub pub pub pub
GET    /api/v1/auth/providers/<slug>/authorize                             -          pub  pub pub pub pub pub pub pub pub
GET    /api/v1/auth/providers/<slug>/callback                              -          pub  pub pub pub pub pub pub pub pub
# me: profile, sessions, second factor, identities, devices, inbox
GET    /api/v1/me                                                          -          401  ok  ok  ok  ok  ok  401 ok  ok
PATCH  /api/v1/me                                                          -          401  ok  ok  ok  ok  ok  401 ok  ok
GET    /api/v1/me/sessions                                                 -          401  ok  ok  ok  ok  ok  401 ok  ok
DELETE /api/v1/me/sessions/<session_id>                                    -          401  ok  404 404 404 404 401 404 404
POST   /api/v1/me/totp                                                     -          401  ok  ok  ok  ok  ok  401 ok  ok
POST   /api/v1/me/totp/confirm                                             -          401  ok  ok  ok  ok  ok  401 ok  ok
POST   /api/v1/me/totp/recovery-codes                                      -          401  ok  ok  ok  ok  ok  401 ok  ok
POST   /api/v1/me/totp/disable                                             -          401  ok  ok  403 403 403 401 403 403
GET    /api/v1/me/identities                                               -          401  ok  ok  403 403 403 401 403 403
POST   /api/v1/me/identities/link                                          -          401  ok  ok  403 403 403 401 403 403
GET    /api/v1/me/documents                                                -          401  ok  ok  403 403 403 401 403 403
POST   /api/v1/me/devices                                                  -          401  ok  ok  ok  ok  ok  401 ok  ok
GET    /api/v1/me/notifications                                            -          401  ok  ok  ok  ok  ok  401 ok  ok
GET    /api/v1/me/notifications/unread-count                               -          401  ok  ok  ok  ok  ok  401 ok  ok
POST   /api/v1/me/notifications/read-all                                   -          401  ok  ok  ok  ok  ok  401 ok  ok
POST   /api/v1/me/notifications/<notification_id>/read                     -          401  ok  404 404 404 404 401 404 404
GET    /api/v1/me/notification-preferences                                 -          401  ok  ok  ok  ok  ok  401 ok  ok
PUT    /api/v1/me/notification-preferences                                 -          401  ok  ok  ok  ok  ok  401 ok  ok
# passkeys: anyone signed in keeps their own; staff add one once their second factor is set up
GET    /api/v1/me/passkeys                                                 -          401  ok  ok  ok  ok  ok  401 ok  ok
POST   /api/v1/me/passkeys                                                 -          401  ok  ok  ok  ok  ok  401 ok  403
POST   /api/v1/me/passkeys/registration-options                            -          401  ok  ok  ok  ok  ok  401 ok  403
PATCH  /api/v1/me/passkeys/<passkey_id>                                    -          401  ok  404 404 404 404 401 404 404
DELETE /api/v1/me/passkeys/<passkey_id>                                    -          401  ok  404 404 404 404 401 404 404
GET    /api/v1/me/cross-device/<request_id>                                crossdev   401  ok  ok  403 403 403 401 403 403
# approving needs a phone bound to its key (DPoP): A's and B's bearer tokens get 401
# dpop-required (tests/identity/test_cross_device.py approves with bound phones)
POST   /api/v1/me/cross-device/<request_id>/approve                        crossdev   401  401 401 403 403 403 401 403 403
POST   /api/v1/me/cross-device/<request_id>/deny                           crossdev   401  ok  ok  403 403 403 401 403 403
# staff and identity-provider administration
GET    /api/v1/admin/staff                                                 -          401  403 403 ok  ok  ok  401 403 403
POST   /api/v1/admin/staff                                                 -          401  403 403 ok  404 ok  401 403 403
POST   /api/v1/admin/staff/<account_id>/enrolment-code                     staff      401  403 403 ok  404 ok  401 403 403
POST   /api/v1/admin/staff/<account_id>/roles                              staff      401  403 403 ok  404 ok  401 403 403
DELETE /api/v1/admin/staff/<account_id>/roles/<grant_id>                   staff      401  403 403 ok  404 ok  401 403 403
GET    /api/v1/admin/identity-providers                                    -          401  403 403 ok  ok  ok  401 403 403
POST   /api/v1/admin/identity-providers                                    -          401  403 403 ok  404 ok  401 403 403
GET    /api/v1/admin/identity-providers/<slug>                             -          401  403 403 ok  404 ok  401 403 403
PATCH  /api/v1/admin/identity-providers/<slug>                             -          401  403 403 ok  404 ok  401 403 403
POST   /api/v1/admin/identity-providers/<slug>/staff-links                 staff      401  403 403 ok  404 ok  401 403 403
GET    /api/v1/admin/signin-clients                                        -          401  403 403 ok  ok  ok  401 403 403
POST   /api/v1/admin/signin-clients                                        -          401  403 403 ok  404 ok  401 403 403
DELETE /api/v1/admin/signin-clients/<client_id>                            screen     401  403 403 ok  404 ok  401 403 403
# catalog: public, and its administration
GET    /api/v1/agencies                                                    -          pub  pub pub pub pub pub pub pub pub
GET    /api/v1/agencies/<code>                                             ward       pub  pub pub pub pub pub pub pub pub
GET    /api/v1/procedures                                                  -          pub  pub pub pub pub pub pub pub pub
GET    /api/v1/procedures/<code>                                           birth      pub  pub pub pub pub pub pub pub pub
GET    /api/v1/admin/catalog/procedures                                    -          401  403 403 ok  ok  ok  401 ok  403
POST   /api/v1/admin/catalog/procedures                                    -          401  403 403 ok  404 ok  401 ok  403
GET    /api/v1/admin/catalog/procedures/<code>                             pilot      401  403 403 ok  404 ok  401 ok  403
PUT    /api/v1/admin/catalog/procedures/<code>/draft                       pilot      401  403 403 ok  404 ok  401 ok  403
POST   /api/v1/admin/catalog/procedures/<code>/status                      pilot      401  403 403 ok  404 ok  401 ok  403
GET    /api/v1/admin/catalog/procedures/<code>/audit                       pilot      401  403 403 ok  404 ok  401 ok  403
GET    /api/v1/admin/catalog/procedures/<code>/pilot-figures               pilot      401  403 403 ok  404 ok  401 ok  403
GET    /api/v1/admin/catalog/procedures/<code>/pilot-members               pilot      401  403 403 ok  404 ok  401 ok  403
POST   /api/v1/admin/catalog/procedures/<code>/pilot-members               pilot      401  403 403 ok  404 ok  401 ok  403
DELETE /api/v1/admin/catalog/procedures/<code>/pilot-members/<account_id>  pilot      401  403 403 ok  404 ok  401 ok  403
# the national calendar: administrators of a top-level agency only
GET    /api/v1/admin/calendar/overrides                                    -          401  403 403 ok  ok  ok  401 ok  403
POST   /api/v1/admin/calendar/overrides                                    -          401  403 403 403 403 ok  401 403 403
DELETE /api/v1/admin/calendar/overrides/<day>                              -          401  403 403 403 403 ok  401 403 403
# a citizen's dossiers
POST   /api/v1/dossiers                                                    -          401  ok  ok  403 403 403 401 403 403
GET    /api/v1/dossiers                                                    -          401  ok  ok  403 403 403 401 403 403
GET    /api/v1/dossiers/<dossier_id>                                       draft      401  ok  404 403 403 403 401 403 403
PATCH  /api/v1/dossiers/<dossier_id>                                       draft      401  ok  404 403 403 403 401 403 403
DELETE /api/v1/dossiers/<dossier_id>                                       draft      401  ok  404 403 403 403 401 403 403
POST   /api/v1/dossiers/<dossier_id>/submit                                draft      401  ok  404 403 403 403 401 403 403
POST   /api/v1/dossiers/<dossier_id>/resubmit                              submitted  401  ok  404 403 403 403 401 403 403
POST   /api/v1/dossiers/<dossier_id>/withdraw                              submitted  401  ok  404 403 403 403 401 403 403
GET    /api/v1/dossiers/<dossier_id>/events                                submitted  401  ok  404 403 403 403 401 403 403
GET    /api/v1/dossiers/<dossier_id>/result                                returned   401  ok  404 403 403 403 401 403 403
POST   /api/v1/dossiers/<dossier_id>/attachments/<slot>                    draft      401  ok  404 403 403 403 401 403 403
DELETE /api/v1/dossiers/<dossier_id>/attachments/<slot>                    draft      401  ok  404 403 403 403 401 403 403
GET    /api/v1/dossiers/<dossier_id>/attachments/<slot>/content            submitted  401  ok  404 ok  404 ok  401 404 404
POST   /api/v1/dossiers/<dossier_id>/attachments/<slot>/reuse              draft      401  ok  404 403 403 403 401 403 403
POST   /api/v1/dossiers/<dossier_id>/attachments/<slot>/uploads            draft      401  ok  404 403 403 403 401 403 403
POST   /api/v1/dossiers/<dossier_id>/uploads/<upload_id>/confirm           draft      401  ok  404 403 403 403 401 403 403
POST   /api/v1/dossiers/<dossier_id>/rating                                returned   401  ok  404 403 403 403 401 403 403
GET    /api/v1/dossiers/<dossier_id>/rating                                returned   401  ok  404 403 403 403 401 403 403
GET    /api/v1/tracking/<code>                                             tracking   pub  pub pub pub pub pub pub pub pub
# the agency side of dossiers
GET    /api/v1/agency/dossiers                                             -          401  403 403 ok  ok  ok  401 ok  403
POST   /api/v1/agency/dossiers                                             -          401  403 403 ok  404 ok  401 403 403
GET    /api/v1/agency/dossiers/<dossier_id>                                submitted  401  403 403 ok  404 ok  401 404 403
GET    /api/v1/agency/dossiers/<dossier_id>/events                         submitted  401  403 403 ok  404 ok  401 404 403
POST   /api/v1/agency/dossiers/<dossier_id>/accept                         submitted  401  403 403 ok  404 ok  401 404 403
POST   /api/v1/agency/dossiers/<dossier_id>/refuse                         submitted  401  403 403 ok  404 ok  401 404 403
POST   /api/v1/agency/dossiers/<dossier_id>/start                          submitted  401  403 403 ok  404 ok  401 404 403
POST   /api/v1/agency/dossiers/<dossier_id>/request-supplement             submitted  401  403 403 ok  404 ok  401 404 403
POST   /api/v1/agency/dossiers/<dossier_id>/request-fees                   submitted  401  403 403 ok  404 ok  401 404 403
POST   /api/v1/agency/dossiers/<dossier_id>/confirm-fees                   submitted  401  403 403 ok  404 ok  401 404 403
POST   /api/v1/agency/dossiers/<dossier_id>/result                         submitted  401  403 403 ok  404 ok  401 403 403
POST   /api/v1/agency/dossiers/<dossier_id>/decide                         submitted  401  403 403 ok  404 ok  401 404 403
POST   /api/v1/agency/dossiers/<dossier_id>/return                         submitted  401  403 403 ok  404 ok  401 404 403
POST   /api/v1/agency/dossiers/<dossier_id>/stop                           submitted  401  403 403 ok  404 ok  401 404 403
POST   /api/v1/agency/dossiers/<dossier_id>/extend                         submitted  401  403 403 ok  404 ok  401 404 403
# petitions: senders (an account or a proven phone), officers, everyone
POST   /api/v1/feedback/phone-proofs                                       -          pub  pub pub pub pub pub pub pub pub
POST   /api/v1/feedback/phone-proofs/verify                                -          pub  pub pub pub pub pub pub pub pub
POST   /api/v1/feedback                                                    -          401  ok  ok  403 403 403 ok 403 403
GET    /api/v1/feedback                                                    -          401  ok  ok  403 403 403 ok 403 403
GET    /api/v1/feedback/<string(length=26):feedback_id>                    -          401  ok  404 403 403 403 404 403 403
POST   /api/v1/feedback/<string(length=26):feedback_id>/attachments        -          401  ok  404 403 403 403 404 403 403
POST   /api/v1/feedback/<string(length=26):feedback_id>/supplement         -          401  ok  404 403 403 403 404 403 403
POST   /api/v1/feedback/<string(length=26):feedback_id>/helpful            published  401  ok  404 403 403 403 404 403 403
GET    /api/v1/feedback/public                                             -          pub  pub pub pub pub pub pub pub pub
GET    /api/v1/feedback/public/<string(length=26):feedback_id>             published  pub  pub pub pub pub pub pub pub pub
GET    /api/v1/agency/feedback                                             -          401  403 403 ok  ok  ok  401 403 403
GET    /api/v1/agency/feedback/<feedback_id>                               -          401  403 403 ok  404 ok  401 403 403
GET    /api/v1/agency/feedback/<feedback_id>/attachments/<attachment_id>   -          401  403 403 ok  404 ok  401 403 403
POST   /api/v1/agency/feedback/<feedback_id>/start                         -          401  403 403 ok  404 ok  401 403 403
POST   /api/v1/agency/feedback/<feedback_id>/refuse                        -          401  403 403 ok  404 ok  401 403 403
POST   /api/v1/agency/feedback/<feedback_id>/request-supplement            -          401  403 403 ok  404 ok  401 403 403
POST   /api/v1/agency/feedback/<feedback_id>/answer                        -          401  403 403 ok  404 ok  401 403 403
POST   /api/v1/agency/feedback/<feedback_id>/publish                       -          401  403 403 ok  404 ok  401 403 403
# quality figures of agency X
GET    /api/v1/reports/quality                                             -          401  403 403 ok  404 ok  401 403 403
GET    /api/v1/reports/quality.csv                                         -          401  403 403 ok  404 ok  401 403 403
GET    /api/v1/reports/quality/chart.svg                                   -          401  403 403 ok  404 ok  401 403 403
"""


def _parse(text: str) -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    rows = {}
    for line in text.strip().splitlines():
        if line.startswith("#"):
            continue
        method, rule, using, *cells = line.split()
        assert len(cells) == len(PRINCIPALS), line
        assert (method, rule) not in rows, f"two rows for {method} {rule}"
        rows[(method, rule)] = (using, dict(zip(PRINCIPALS, cells, strict=True)))
    return rows


ROWS = _parse(MATRIX)
PERIOD = {"agency": WARD, "from": "2026-01-01", "to": "2026-12-31"}
PKCE = {
    "redirect_uri": "vn.dvcmobile.app:/oauth2/callback",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
}
CONTENT = {
    "name": "Đăng ký giám hộ",
    "field": "Hộ tịch",
    "delivery_mode": "partial",
    "min_assurance_level": 1,
    "processing_time": {"amount": 3, "unit": "working_days"},
}


def _multipart(content: bytes, name: str) -> dict:
    return {
        "data": {"file": (io.BytesIO(content), name)},
        "content_type": "multipart/form-data",
    }


def request_for(method: str, rule: str, world, principal: str) -> dict:
    """A minimal valid request: it reaches the ownership checks and succeeds for the owner."""
    ids = world.ids
    query, headers = {}, {}
    body = {
        "/api/v1/auth/otp": {"phone": "0944555666"},
        "/api/v1/auth/otp/verify": {
            "challenge_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "code": "000000",
            "device": {"name": "P", "platform": "android"},
        },
        "/api/v1/auth/token": {"grant_type": "refresh_token", "refresh_token": "x" * 43},
        "/api/v1/auth/step-up": {"code": "000000"},
        "/api/v1/auth/cross-device": {
            "client_id": ids["signin_client"],
            "code_challenge": SCREEN_CHALLENGE,
        },
        "/api/v1/auth/cross-device/<request_id>/token": {"code_verifier": SCREEN_VERIFIER},
        "/api/v1/me/cross-device/<request_id>/approve": {"code": world.shown["cross_device"]},
        "/api/v1/auth/passkey/options": {},
        "/api/v1/auth/passkey/verify": {
            "challenge_id": "x" * 43,
            "credential": {
                "id": "AAAA",
                "rawId": "AAAA",
                "type": "public-key",
                "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"},
            },
            "device": {"name": "P", "platform": "android"},
        },
        "/api/v1/me/passkeys": {
            "challenge_id": "x" * 43,
            "credential": {
                "id": "AAAA",
                "rawId": "AAAA",
                "type": "public-key",
                "response": {"clientDataJSON": "e30", "attestationObject": "AA"},
            },
        },
        "/api/v1/me/passkeys/<passkey_id>": {"name": "Điện thoại"},
        "/api/v1/admin/signin-clients": {"agency": WARD, "kind": "portal", "name": "Cổng"},
        "/api/v1/me": {"preferred_language": "en"},
        "/api/v1/me/totp/confirm": {"code": "000000"},
        "/api/v1/me/totp/recovery-codes": {"code": "000000"},
        "/api/v1/me/totp/disable": {"code": "000000"},
        "/api/v1/me/identities/link": {**PKCE, "provider": ids["provider"]},
        "/api/v1/me/devices": {"token": "fcm-token-of-the-caller-0002", "platform": "android"},
        "/api/v1/me/notification-preferences": {
            "items": [{"kind": "dossier.accepted", "channels": ["inbox"]}]
        },
        "/api/v1/admin/staff": {
            "phone": "0911100008",
            "full_name": "Cán bộ",
            "agency": WARD,
            "role": "receiving_officer",
        },
        "/api/v1/admin/staff/<account_id>/roles": {"agency": WARD, "role": "leader"},
        "/api/v1/admin/identity-providers": {
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
        },
        "/api/v1/admin/identity-providers/<slug>": {"name": "Định danh phường"},
        "/api/v1/admin/identity-providers/<slug>/staff-links": {
            "account_id": ids["staff"],
            "subject": "officer-subject-1",
        },
        "/api/v1/admin/catalog/procedures": {
            "code": "1.000999",
            "agency": WARD,
            "content": CONTENT,
        },
        "/api/v1/admin/catalog/procedures/<code>/draft": {"content": CONTENT},
        "/api/v1/admin/catalog/procedures/<code>/status": {"status": "published"},
        "/api/v1/admin/catalog/procedures/<code>/pilot-members": {"phone": "0987654321"},
        "/api/v1/admin/calendar/overrides": {
            "day": "2026-12-19",
            "kind": "working_day",
            "note": "Làm bù",
        },
        "/api/v1/dossiers": {"procedure_code": BIRTH, "data": BIRTH_DATA},
        "/api/v1/dossiers/<dossier_id>": {"data": {"child_full_name": "Nguyễn Minh Anh"}},
        "/api/v1/dossiers/<dossier_id>/resubmit": {},
        "/api/v1/dossiers/<dossier_id>/withdraw": {"reason": "Nộp nhầm"},
        "/api/v1/dossiers/<dossier_id>/attachments/<slot>/reuse": {"document_id": ids["document"]},
        "/api/v1/dossiers/<dossier_id>/attachments/<slot>/uploads": {"file_name": "a.pdf"},
        "/api/v1/dossiers/<dossier_id>/rating": {
            "time": 4,
            "staff_attitude": 4,
            "clarity": 4,
            "online_ease": 4,
        },
        "/api/v1/agency/dossiers": {
            "procedure_code": BIRTH,
            "channel": "counter",
            "applicant": {"full_name": "Trần Thị Lan", "phone": "0912000111"},
            "data": {**BIRTH_DATA, "requester_phone": "0912000111"},
        },
        "/api/v1/agency/dossiers/<dossier_id>/accept": {},
        "/api/v1/agency/dossiers/<dossier_id>/refuse": {"reason": "Thiếu giấy tờ"},
        "/api/v1/agency/dossiers/<dossier_id>/start": {},
        "/api/v1/agency/dossiers/<dossier_id>/request-supplement": {"items": ["Bản sao CCCD"]},
        "/api/v1/agency/dossiers/<dossier_id>/request-fees": {"amount": 50000},
        "/api/v1/agency/dossiers/<dossier_id>/confirm-fees": {},
        "/api/v1/agency/dossiers/<dossier_id>/decide": {},
        "/api/v1/agency/dossiers/<dossier_id>/return": {},
        "/api/v1/agency/dossiers/<dossier_id>/stop": {"reason": "Dừng"},
        "/api/v1/agency/dossiers/<dossier_id>/extend": {
            "due_at": "2026-12-31T10:00:00+00:00",
            "apology": "Xin lỗi vì chậm trễ",
        },
        "/api/v1/feedback/phone-proofs": {"phone": "0944555667"},
        "/api/v1/feedback/phone-proofs/verify": {
            "challenge_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "code": "000000",
        },
        "/api/v1/feedback": PETITION,
        "/api/v1/feedback/<string(length=26):feedback_id>/supplement": {"note": "Bổ sung"},
        "/api/v1/feedback/<string(length=26):feedback_id>/helpful": {"helpful": True},
        "/api/v1/agency/feedback/<feedback_id>/start": {},
        "/api/v1/agency/feedback/<feedback_id>/refuse": {"reason": "Không thuộc thẩm quyền"},
        "/api/v1/agency/feedback/<feedback_id>/request-supplement": {"items": ["Ảnh chụp"]},
        "/api/v1/agency/feedback/<feedback_id>/answer": {"answer": "Đã xử lý."},
        "/api/v1/agency/feedback/<feedback_id>/publish": {},
    }.get(rule)
    if principal in world.totp and rule in (
        "/api/v1/auth/step-up",
        "/api/v1/me/totp/recovery-codes",
    ):
        # A code of the next step: inside the window, and not the one used at enrolment.
        body = {"code": world.totp[principal].at(time.time() + 30)}
    kwargs: dict = {}
    if rule.endswith("/attachments/<slot>") and method == "POST":
        kwargs = _multipart(png(), "chung-sinh.png")
    elif method == "POST" and rule.endswith(("feedback_id>/attachments", "/result")):
        kwargs = _multipart(pdf(), "tai-lieu.pdf")
    elif body is not None and method in ("POST", "PUT", "PATCH"):
        kwargs = {"json": body}
    if rule == "/api/v1/dossiers/<dossier_id>" and method == "PATCH":
        headers["If-Match"] = '"not-the-current-etag"'
    if rule.endswith("/submit"):
        headers["Idempotency-Key"] = "matrix-submit-0001"
    if rule.startswith("/api/v1/reports/"):
        query = PERIOD
    if rule.endswith("/authorize"):
        query = PKCE
    if rule.endswith("/callback"):
        query = {"state": "x" * 43, "code": "abc"}
    if rule == "/signin":
        query = {"client": ids["signin_client"]}
    if rule == "/api/v1/tracking/<code>":
        query = {"secret": ids["tracking_secret"]}
    return {"query_string": query, "headers": headers, **kwargs}


def path_for(rule: str, using: str, world) -> str:
    ids = world.ids
    values = {
        "path:filename": "nothing.txt",
        "path:path": "swagger-ui.css",
        "session_id": ids["session"],
        "notification_id": ids["notification"],
        "account_id": ids["staff"],
        "grant_id": ids["grant"],
        "slug": ids["provider"],
        "code": PILOT,
        "day": ids["override_day"],
        "slot": "giay_chung_sinh",
        "upload_id": ids["upload"],
        "feedback_id": ids["feedback"],
        "string(length=26):feedback_id": ids["feedback"],
        "attachment_id": ids["feedback_attachment"],
        "request_id": ids["cross_device"],
        "client_id": ids["signin_client"],
        "passkey_id": ids["passkey"],
    }
    values.update(
        {
            "draft": {"dossier_id": ids["draft"]},
            "submitted": {"dossier_id": ids["submitted"]},
            "returned": {"dossier_id": ids["returned"]},
            "published": {"string(length=26):feedback_id": ids["published"]},
            "pilot": {"code": PILOT, "account_id": ids["account_a"]},
            "ward": {"code": WARD},
            "birth": {"code": BIRTH},
            "tracking": {"code": ids["tracking"]},
            "staff": {"account_id": ids["staff"]},
            "crossdev": {"request_id": ids["cross_device"]},
            "screen": {"client_id": ids["signin_client"]},
            "-": {},
        }[using]
    )
    path = rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", value)
    assert "<" not in path, path
    return path


@pytest.fixture(scope="module", autouse=True)
def _passkeys_stay_fresh(app):
    """The world's sessions grow older than PASSKEY_FRESH_SECONDS while the table runs: the table
    is about who may, not how recently (tests/identity/test_passkeys.py checks that)."""
    before = app.config["PASSKEY_FRESH_SECONDS"]
    app.config["PASSKEY_FRESH_SECONDS"] = 10**7
    yield
    app.config["PASSKEY_FRESH_SECONDS"] = before


def routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_the_table_covers_every_endpoint(app):
    served = routes(app)
    assert sorted(served - set(ROWS)) == [], "endpoints without an authorization row"
    assert sorted(set(ROWS) - served) == [], "rows for endpoints that no longer exist"


# Bookkeeping that a refusal may leave: the refusal itself is a security event, and a key
# sent with it keeps its answer.
_REFUSAL_TRAIL = {"security_events", "idempotency_keys"}


def _state(app) -> tuple:
    """Rows per table, versions of dossiers and petitions, sessions still live."""
    from backend.dossiers.models import Dossier
    from backend.engagement.models import Feedback
    from backend.identity.models import Session

    counts = [
        sa.select(sa.func.count()).select_from(table).scalar_subquery()
        for table in db.metadata.sorted_tables
        if table.name not in _REFUSAL_TRAIL
    ]
    extras = [
        sa.select(sa.func.coalesce(sa.func.sum(Dossier.version), 0)).scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.sum(Feedback.version), 0)).scalar_subquery(),
        sa.select(sa.func.count()).where(Session.revoked_at.is_(None)).scalar_subquery(),
    ]
    connection = app.extensions["sqlalchemy"]._app_engines[app][None]
    return tuple(connection.execute(sa.select(*counts, *extras)).one())


def _meets(expected: str, response) -> bool:
    status = response.status_code
    if status >= 500:
        return False
    if expected == "ok":
        return status not in (401, 403, 404)
    if expected == "pub":
        problem = response.get_json(silent=True) or {}
        return status != 403 and not str(problem.get("type", "")).endswith(
            ":authentication-required"
        )
    return status == int(expected)


@pytest.mark.parametrize(("method", "rule"), sorted(ROWS), ids=lambda v: v)
def test_row(app, world, method, rule):
    using, expected = ROWS[(method, rule)]
    client = app.test_client()
    path = path_for(rule, using, world)
    # Refusals first; each must change nothing (checked), and every call is rolled back.
    order = sorted(PRINCIPALS, key=lambda p: expected[p] in ("ok", "pub"))
    wrong, public_answers = {}, set()
    for principal in order:
        request = request_for(method, rule, world, principal)
        request["headers"] = {**request["headers"], **world.headers[principal]}
        response = within_savepoint(app, lambda r=request: client.open(path, method=method, **r))
        if expected[principal] == "pub":
            public_answers.add(response.status_code)
        if not _meets(expected[principal], response):
            problem = response.get_json(silent=True) or {}
            wrong[principal] = (
                f"{expected[principal]} != {response.status_code} {problem.get('type', '')}"
            )
        elif expected[principal] in ("401", "403", "404"):
            assert response.mimetype == PROBLEM_CONTENT_TYPE, (principal, response.mimetype)
    assert not wrong, f"{method} {path}: {wrong}"
    assert len(public_answers) <= 1, f"{method} {path}: a public answer depends on the caller"


# Lists answer 200 to everyone allowed to call them; what they must not hold is someone else's.
LISTS = {
    "B": [
        "/api/v1/dossiers",
        "/api/v1/feedback",
        "/api/v1/me/documents",
        "/api/v1/me/notifications",
        "/api/v1/me/sessions",
        "/api/v1/me/identities",
    ],
    "proof": ["/api/v1/feedback"],
    "Y": [
        "/api/v1/agency/dossiers",
        f"/api/v1/agency/dossiers?agency={WARD}",
        "/api/v1/agency/feedback",
        "/api/v1/admin/staff",
        "/api/v1/admin/identity-providers",
        "/api/v1/admin/catalog/procedures",
    ],
    "Xc": ["/api/v1/agency/dossiers", "/api/v1/me/notifications"],
}


@pytest.mark.parametrize("principal", sorted(LISTS))
def test_lists_hold_nothing_of_anyone_else(app, world, principal):
    client = app.test_client()
    theirs = (set(world.ids.values()) | {PILOT}) - {WARD, BIRTH}
    for url in LISTS[principal]:
        answer = client.get(url, headers=world.headers[principal])
        assert answer.status_code == 200, (url, answer.get_json())
        leaked = {value for value in theirs if value in answer.get_data(as_text=True)}
        assert not leaked, (principal, url, leaked)
