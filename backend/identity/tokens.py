"""Our own tokens: short-lived ES256 access JWTs and the signing keys behind them.

Keys live in a JWK set (``SIGNING_KEYS_FILE``; generated under instance/ in development). The
first key signs; the others only verify, and stay published in ``/.well-known/jwks.json`` until
every token they signed has expired. Verification accepts ES256 only, from our own keys only,
so ``alg=none``, HMAC tricks and keys carried in a token's header are refused by construction.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from backend.db import new_id
from backend.errors import DomainError

ALGORITHM = "ES256"


class InvalidToken(DomainError):
    code = "invalid-token"
    kind = "unauthorized"
    title = ("Phiên đăng nhập không hợp lệ", "Invalid access token")

    def __init__(self, detail=None, **kwargs):
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        kwargs.setdefault("extra", {"error": "invalid_token"})
        super().__init__(
            detail or ("Hãy đăng nhập lại.", "Sign in again."),
            **kwargs,
        )


class SigningKeys:
    """The key set, its signing key, and what is published."""

    def __init__(self, entries: list[dict[str, Any]]):
        if not entries:
            raise RuntimeError("no token signing key configured")
        self.entries = entries
        self.keys = [ECKey.import_key(entry["jwk"]) for entry in entries]
        self.signing = self.keys[0]
        self.verifying = KeySet(self.keys)

    def published(self, *, now: float, max_token_age: int) -> list[dict[str, Any]]:
        """Public JWKs of the signing key and of retired keys whose tokens may still be alive."""
        live = []
        for entry, key in zip(self.entries, self.keys, strict=True):
            retired = entry.get("retired_at")
            if retired is None or retired + max_token_age > now:
                live.append(key.as_dict(private=False) | {"use": "sig", "alg": ALGORITHM})
        return live


def new_key_entry() -> dict[str, Any]:
    key = ECKey.generate_key("P-256", parameters={"kid": new_id()}, private=True)
    return {"jwk": key.as_dict(private=True), "created_at": int(time.time())}


def rotate(entries: list[dict[str, Any]], *, now: int) -> list[dict[str, Any]]:
    """A new signing key in front; the old one retires (verifies, is published, signs no more)."""
    for entry in entries:
        entry.setdefault("retired_at", now)
    return [new_key_entry(), *entries]


def prune(entries: list[dict[str, Any]], *, now: int, max_token_age: int) -> list[dict[str, Any]]:
    return [
        e for e in entries if e.get("retired_at") is None or e["retired_at"] + max_token_age > now
    ]


def load_entries(path: Path, *, create: bool) -> list[dict[str, Any]]:
    if path.exists():
        return json.loads(path.read_text())
    if not create:
        raise RuntimeError(f"token signing keys not found at {path}; run `flask keys rotate`")
    entries = [new_key_entry()]
    save_entries(path, entries)
    return entries


def save_entries(path: Path, entries: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(entries, indent=1))
    temporary.chmod(0o600)
    temporary.replace(path)


def keys() -> SigningKeys:
    """The app's signing keys, read once (and made under instance/ outside production)."""
    loaded = current_app.extensions.get("signing_keys")
    if loaded is None:
        path = Path(current_app.config["SIGNING_KEYS_FILE"])
        entries = load_entries(path, create=current_app.config["APP_ENV"] != "production")
        loaded = current_app.extensions["signing_keys"] = SigningKeys(entries)
    return loaded


def issue_access_token(
    *,
    account_id: str,
    session_id: str,
    kind: str,
    acr: int,
    amr: list[str],
    now: datetime,
    dpop_jkt: str | None = None,
) -> tuple[str, int]:
    lifetime = current_app.config["ACCESS_TOKEN_SECONDS"]
    issued = int(now.timestamp())
    claims = {
        "iss": current_app.config["TOKEN_ISSUER"],
        "aud": current_app.config["TOKEN_AUDIENCE"],
        "sub": account_id,
        "sid": session_id,
        "kind": kind,
        "acr": str(acr),
        "amr": amr,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": new_id(),
    }
    if dpop_jkt is not None:
        claims["cnf"] = {"jkt": dpop_jkt}  # RFC 9449 section 6.1: bound to the device's key
    signing = keys().signing
    token = jwt.encode({"alg": ALGORITHM, "kid": signing.kid, "typ": "at+jwt"}, claims, signing)
    return token, lifetime


_REGISTRY_OPTIONS = {"sub": {"essential": True}, "sid": {"essential": True}}


def verify_access_token(token: str, *, now: datetime) -> dict[str, Any]:
    """The claims of a token we issued and that is still valid; InvalidToken otherwise."""
    config = current_app.config
    try:
        decoded = jwt.decode(token, keys().verifying, algorithms=[ALGORITHM])
        if decoded.header.get("typ") != "at+jwt":
            raise InvalidToken()
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=5,
            iss={"essential": True, "value": config["TOKEN_ISSUER"]},
            aud={"essential": True, "value": config["TOKEN_AUDIENCE"]},
            exp={"essential": True},
            iat={"essential": True},
            **_REGISTRY_OPTIONS,
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise InvalidToken() from error
    return decoded.claims
