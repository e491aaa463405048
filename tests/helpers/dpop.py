"""A phone's DPoP key (RFC 9449): proofs made the way an app makes them, with joserfc."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time

from joserfc import jws
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

BASE = "http://localhost"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ath(access_token: str) -> str:
    return b64(hashlib.sha256(access_token.encode()).digest())


class DeviceKey:
    """A key pair kept on the phone, and the proofs it signs."""

    def __init__(self, kind: str = "EC", alg: str = "ES256"):
        if kind == "EC":
            self.key: Key = ECKey.generate_key("P-256", private=True)
        elif kind == "OKP":
            self.key = OKPKey.generate_key("Ed25519", private=True)
        else:
            self.key = RSAKey.generate_key(2048, private=True)
        self.alg = alg

    @property
    def jkt(self) -> str:
        return self.key.thumbprint()

    def public_jwk(self) -> dict:
        return self.key.as_dict(private=False)

    def proof(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        iat: float | None = None,
        jti: str | None = None,
        header: dict | None = None,
        claims: dict | None = None,
        base: str = BASE,
    ) -> str:
        """A proof for ``method base+path`` (with ``ath`` when a token is given)."""
        protected = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.public_jwk(), **(header or {})}
        payload = {
            "jti": jti or secrets.token_urlsafe(16),
            "htm": method,
            "htu": base + path,
            "iat": int(time.time() if iat is None else iat),
        }
        if token is not None:
            payload["ath"] = ath(token)
        payload.update(claims or {})
        payload = {k: v for k, v in payload.items() if v is not None}
        algorithms = [protected["alg"]] if protected.get("alg") else None
        return jws.serialize_compact(
            protected, json.dumps(payload), self.key, algorithms=algorithms
        )

    def headers(self, method: str, path: str, tokens: dict, **kwargs) -> dict:
        """``Authorization: DPoP`` and a fresh proof for a call with a bound access token."""
        token = tokens["access_token"]
        return {
            "Authorization": f"DPoP {token}",
            "DPoP": self.proof(method, path, token=token, **kwargs),
        }


def unsigned(header: dict, payload: dict, signature: bytes = b"") -> str:
    """A compact JWS put together by hand (alg none, forged headers)."""
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(payload).encode()), b64(signature)]
    )


def bound_sign_in(app, client, key: DeviceKey, phone: str = "0912345678") -> dict:
    """A citizen's tokens from a sign-in with a proof by ``key`` (kept as ``device_key``)."""
    from backend.phones import to_e164
    from tests.helpers.signin import DEVICE, last_code

    verify = "/api/v1/auth/otp/verify"
    sent = client.post("/api/v1/auth/otp", json={"phone": phone})
    assert sent.status_code == 202, sent.get_json()
    body = {
        "challenge_id": sent.get_json()["challenge_id"],
        "code": last_code(app, to_e164(phone)),
        "device": DEVICE,
    }
    verified = client.post(verify, json=body, headers={"DPoP": key.proof("POST", verify)})
    assert verified.status_code == 200 and verified.get_json()["token_type"] == "DPoP"
    return {**verified.get_json(), "device_key": key}


def authorized(tokens: dict, method: str, path: str, *, base: str = BASE) -> dict:
    """The headers of a call with these tokens: a fresh proof when they are bound to a key."""
    key = tokens.get("device_key")
    if key is None:
        return {"Authorization": f"Bearer {tokens['access_token']}"}
    return key.headers(method, path, tokens, base=base)
