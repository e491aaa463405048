"""A demo OpenID provider for local trials ("Sign in with the demo e-ID"). NOT an identity provider.

Mounted at ``/demo-idp`` only when ``DEMO_IDP_ENABLED=1``, which the configuration refuses when
``APP_ENV=production``. Anyone can pick any of its made-up people: it exists so that a newcomer
can walk through the real relying-party code (discovery, PKCE, nonce, ES256 ID token, RFC 9207
``iss``, userinfo) in a browser. It keeps no state: codes and access tokens are sealed with the
app's data key, and its signing key is derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from functools import cache
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from flask import Blueprint, Flask, current_app, redirect, request
from joserfc import jwt
from joserfc.jwk import ECKey
from markupsafe import escape

from backend.crypto import CannotDecrypt, derive_key, vault
from backend.identity.access import public
from backend.web import FORM, body_accepts

CLIENT_ID = "dvc-demo"
LEVELS = {"urn:dvc-demo:level1": 1, "urn:dvc-demo:level2": 2, "urn:dvc-demo:basic": 0}
PEOPLE: dict[str, dict[str, Any]] = {
    "demo-citizen-1": {
        "name": "Nguyễn Văn An",
        "national_id": "001090000001",
        "birthdate": "1990-01-15",
        "phone_number": "+84912000001",
        "acr": "urn:dvc-demo:level2",
    },
    "demo-citizen-2": {
        "name": "Trần Thị Bình",
        "national_id": "079185000002",
        "birthdate": "1985-07-02",
        "acr": "urn:dvc-demo:level1",
    },
    "demo-citizen-3": {"name": "Lê Văn Cường", "acr": "urn:dvc-demo:basic"},
}
CODE_SECONDS = 60

blp = Blueprint("demo_idp", __name__)


def issuer() -> str:
    return current_app.config["DEMO_IDP_ISSUER"]


def client_secret() -> str:
    return base64.urlsafe_b64encode(
        derive_key(current_app.config["SECRET_KEY"], "demo-idp")
    ).decode()


@cache
def _signing_key(secret_key: str) -> ECKey:
    scalar = int.from_bytes(derive_key(secret_key, "demo-idp-signing"), "big")
    private = ec.derive_private_key(scalar % (2**255) + 1, ec.SECP256R1())
    return ECKey.import_key(private, parameters={"kid": "demo-1", "use": "sig", "alg": "ES256"})


def signing_key() -> ECKey:
    return _signing_key(current_app.config["SECRET_KEY"])


def _seal(payload: dict[str, Any], purpose: str) -> str:
    return vault().encrypt(json.dumps(payload), context=f"demo-idp:{purpose}")


def _open(token: str, purpose: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(vault().decrypt(token, context=f"demo-idp:{purpose}"))
    except (CannotDecrypt, ValueError):
        return None
    return payload if payload.get("exp", 0) > time.time() else None


def _oauth_error(error: str, status: int = 400):
    return {"error": error}, status


@blp.route("/.well-known/openid-configuration")
@public
def discovery():
    base = issuer()
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "acr_values_supported": sorted(LEVELS),
        "authorization_response_iss_parameter_supported": True,
    }


@blp.route("/jwks")
@public
def jwks():
    return {"keys": [signing_key().as_dict(private=False)]}


_PAGE = """<!doctype html><html lang="vi"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo e-ID (không phải định danh thật)</title>
<body style="font-family:sans-serif;max-width:32rem;margin:2rem auto">
<p style="background:#fde68a;padding:.5rem"><b>DEMO</b> — nhà cung cấp định danh thử nghiệm, không
dùng cho hồ sơ thật. / A demo identity provider for local trials only.</p>
<h1>Chọn người dùng thử / Pick a demo identity</h1>{body}</body></html>"""


@blp.route("/authorize", methods=["GET", "POST"])
@public
@body_accepts(FORM)
def authorize():
    params = request.values
    if params.get("client_id") != CLIENT_ID or params.get("response_type") != "code":
        return _PAGE.format(body="<p>Unknown client or response type.</p>"), 400
    if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        return _PAGE.format(body="<p>PKCE S256 is required.</p>"), 400
    if request.method == "GET":
        hidden = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in params.items(multi=True)
        )
        buttons = "".join(
            f'<p><button name="sub" value="{escape(sub)}">{escape(person["name"])} '
            f"(acr {escape(person['acr'])})</button></p>"
            for sub, person in PEOPLE.items()
        )
        deny = '<p><button name="deny" value="1">Từ chối / Deny</button></p>'
        return _PAGE.format(body=f'<form method="post">{hidden}{buttons}{deny}</form>')
    answer = {"state": params.get("state", ""), "iss": issuer()}
    if params.get("deny") or params.get("sub") not in PEOPLE:
        answer["error"] = "access_denied"
    else:
        answer["code"] = _seal(
            {
                "sub": params["sub"],
                "nonce": params.get("nonce"),
                "redirect_uri": params.get("redirect_uri"),
                "code_challenge": params["code_challenge"],
                "exp": time.time() + CODE_SECONDS,
            },
            "code",
        )
    separator = "&" if "?" in params.get("redirect_uri", "") else "?"
    return redirect(f"{params.get('redirect_uri')}{separator}{urlencode(answer)}", code=302)


def _client_authenticated() -> bool:
    auth = request.authorization
    return bool(
        auth
        and unquote(auth.username or "") == CLIENT_ID
        # RFC 6749 section 2.3.1: the client form-encodes both parts.
        and hmac.compare_digest(unquote(auth.password or "").encode(), client_secret().encode())
    )


@blp.route("/token", methods=["POST"])
@public
@body_accepts(FORM)
def token():
    if not _client_authenticated():
        return _oauth_error("invalid_client", 401)
    form = request.form
    code = _open(form.get("code", ""), "code")
    verifier = form.get("code_verifier", "")
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    if (
        code is None
        or form.get("grant_type") != "authorization_code"
        or form.get("redirect_uri") != code["redirect_uri"]
        or not hmac.compare_digest(challenge, code["code_challenge"])
    ):
        return _oauth_error("invalid_grant")
    person = PEOPLE[code["sub"]]
    now = int(time.time())
    claims = {
        "iss": issuer(),
        "aud": CLIENT_ID,
        "sub": code["sub"],
        "iat": now,
        "exp": now + 300,
        "nonce": code["nonce"],
        "amr": ["pwd", "mfa"] if person["acr"].endswith("level2") else ["pwd"],
        **person,
    }
    key = signing_key()
    id_token = jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "JWT"}, claims, key)
    access = _seal({"sub": code["sub"], "exp": now + 300}, "access")
    return {"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token}


@blp.route("/userinfo")
@public
def userinfo():
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    access = _open(value, "access") if scheme.lower() == "bearer" else None
    if access is None:
        return _oauth_error("invalid_token", 401)
    person = {k: v for k, v in PEOPLE[access["sub"]].items() if k != "acr"}
    return {"sub": access["sub"], **person}


@blp.route("/app")
@public
def demo_app():
    """Stands in for the mobile app: shows the one-time code and how to redeem it."""
    if "code" not in request.args:
        text = f"Error: {escape(request.args.get('error', '?'))} — "
        text += f"{escape(request.args.get('error_description', ''))}"
        return _PAGE.format(body=f"<p>{text}</p>")
    base = request.host_url.rstrip("/")
    command = (
        f"curl -s -X POST {base}/api/v1/auth/token -H 'Content-Type: application/json' -d "
        f"""'{{"grant_type": "authorization_code", "code": "{escape(request.args["code"])}", """
        f'"code_verifier": "&lt;verifier&gt;", "redirect_uri": "{escape(issuer())}/app"}}\''
    )
    return _PAGE.format(
        body=f"<p>One-time code (60 s). Redeem it with your PKCE verifier:</p><pre "
        f'style="white-space:pre-wrap">{command}</pre>'
    )


def init_app(app: Flask) -> None:
    if app.config["DEMO_IDP_ENABLED"]:
        app.register_blueprint(blp, url_prefix=urlsplit(app.config["DEMO_IDP_ISSUER"]).path)
