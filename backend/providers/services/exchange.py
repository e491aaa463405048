"""The back channel: redeeming the provider's code as a confidential client, and userinfo.

Client authentication is ``client_secret_basic``, ``client_secret_post`` (RFC 6749 section
2.3.1) or ``private_key_jwt`` (OpenID Connect Core section 9, RFC 7523) signed with our own
client key, whose public half is published at ``/.well-known/client-jwks.json``.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import current_app
from joserfc import jwt

from backend.crypto import vault
from backend.db import new_id
from backend.identity import tokens
from backend.providers.models import ClientAuthMethod, IdentityProvider
from backend.providers.services.remote import ProviderAnswerInvalid, ProviderError, request_json

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 60
CLIENT_KEY_ALGORITHM = tokens.ALGORITHM


class ClientKeyMissing(ProviderError):
    code = "client-key-missing"
    kind = "unavailable"

    def __init__(self):
        super().__init__(
            (
                "Chưa có khóa ký của hệ thống để xác thực với nhà cung cấp định danh.",
                "Our client signing key is not set up (flask providers rotate-client-key).",
            )
        )


class TokenRequestRefused(ProviderError):
    code = "provider-token-refused"
    kind = "unauthorized"
    oauth_error = "access_denied"


def secret_context(provider_id: str) -> str:
    return f"idp-client-secret:{provider_id}"


def client_keys() -> tokens.SigningKeys | None:
    """Our private_key_jwt keys: made under instance/ in development, a file in production."""
    loaded = current_app.extensions.get("client_signing_keys")
    if loaded is None:
        path = Path(current_app.config["CLIENT_SIGNING_KEYS_FILE"])
        if not path.exists() and current_app.config["APP_ENV"] == "production":
            return None
        loaded = tokens.SigningKeys(tokens.load_entries(path, create=True))
        current_app.extensions["client_signing_keys"] = loaded
    return loaded


def published_client_keys() -> list[dict[str, Any]]:
    keys = client_keys()
    if keys is None:
        return []
    return keys.published(now=time.time(), max_token_age=ASSERTION_SECONDS + 60)


def client_assertion(*, client_id: str, audience: str, now: datetime) -> str:
    keys = client_keys()
    if keys is None:
        raise ClientKeyMissing()
    issued = int(now.timestamp())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": new_id(),
        "iat": issued,
        "exp": issued + ASSERTION_SECONDS,
    }
    header = {"alg": CLIENT_KEY_ALGORITHM, "kid": keys.signing.kid, "typ": "JWT"}
    return jwt.encode(header, claims, keys.signing)


def _client_authentication(
    provider: IdentityProvider, *, token_endpoint: str, now: datetime
) -> tuple[dict[str, str], tuple[str, str] | None]:
    method = provider.client_auth_method
    if method is ClientAuthMethod.PRIVATE_KEY_JWT:
        assertion = client_assertion(client_id=provider.client_id, audience=token_endpoint, now=now)
        return {
            "client_id": provider.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }, None
    secret = vault().decrypt(
        provider.client_secret_ciphertext or "", context=secret_context(provider.id)
    )
    if method is ClientAuthMethod.CLIENT_SECRET_POST:
        return {"client_id": provider.client_id, "client_secret": secret}, None
    # RFC 6749 section 2.3.1: both parts are form-encoded before they go into Basic.
    return {}, (quote(provider.client_id, safe=""), quote(secret, safe=""))


def redeem_provider_code(
    *,
    provider: IdentityProvider,
    discovery: dict[str, Any],
    code: str,
    redirect_uri: str,
    code_verifier: str,
    now: datetime,
) -> dict[str, Any]:
    """The provider's token response (with an ``id_token``), or a ProviderError."""
    endpoint = discovery["token_endpoint"]
    extra, auth = _client_authentication(provider, token_endpoint=endpoint, now=now)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
        **extra,
    }
    status, answer = request_json("POST", endpoint, data=data, auth=auth, what="token endpoint")
    if status != 200 or "error" in answer:
        error = answer.get("error") if isinstance(answer.get("error"), str) else f"HTTP {status}"
        raise TokenRequestRefused(
            (
                f"Nhà cung cấp định danh từ chối cấp mã ({error[:60]}).",
                f"The identity provider refused the code ({error[:60]}).",
            )
        )
    if not isinstance(answer.get("id_token"), str):
        raise ProviderAnswerInvalid(
            ("Nhà cung cấp định danh không trả về id_token.", "The provider sent no id_token.")
        )
    return answer


def fetch_userinfo(*, discovery: dict[str, Any], access_token: Any) -> dict[str, Any] | None:
    """Claims from the userinfo endpoint, when the provider has one (plain JSON answers only)."""
    endpoint = discovery.get("userinfo_endpoint")
    if not isinstance(endpoint, str) or not isinstance(access_token, str):
        return None
    status, claims = request_json(
        "GET", endpoint, headers={"Authorization": f"Bearer {access_token}"}, what="userinfo"
    )
    if status != 200:
        raise ProviderAnswerInvalid(
            (f"Userinfo trả lời HTTP {status}.", f"Userinfo answered HTTP {status}.")
        )
    return claims
