"""Checking an ID token the way OpenID Connect Core 1.0 section 3.1.3.7 says, and then some.

- The signature is checked with a key from the provider's JWKS, chosen by ``kid`` (or the only
  key when the token names none), never with a key the token carries (``jwk``, ``jku``, ``x5u``,
  ``x5c`` in the header are refused outright).
- Only the provider's pinned algorithms, and only asymmetric ones: ``none`` and HMAC can never
  be pinned, so an HS256 token "signed" with the provider's public key is refused.
- ``iss`` equals the configured issuer, ``aud`` contains our client id, several audiences need
  ``azp``, and ``azp`` (when present) is our client id.
- ``exp``, ``iat`` and ``nbf`` with at most ``LEEWAY_SECONDS`` of clock skew; ``sub`` present.
- ``nonce`` equals the one this login sent.
- ``at_hash``, when the provider sends one, matches the access token that came with the ID
  token (section 3.1.3.8): an access token swapped in transit is refused before userinfo is
  asked with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import Key
from joserfc.jwt import JWTClaimsRegistry

from backend.providers.models import IdentityProvider
from backend.providers.services.remote import ProviderError, cache

LEEWAY_SECONDS = 60
ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
HEADER_KEYS_REFUSED = ("jwk", "jku", "x5u", "x5c")
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


class IdTokenInvalid(ProviderError):
    code = "id-token-invalid"
    kind = "unauthorized"
    title = ("Không xác minh được danh tính", "The identity could not be verified")
    oauth_error = "access_denied"

    def __init__(self, reason: str):
        super().__init__(
            (
                f"Thông tin đăng nhập từ nhà cung cấp định danh không hợp lệ ({reason}).",
                f"The identity provider's answer is not valid ({reason}).",
            )
        )
        self.reason = reason


def _fits(key: Key, alg: str) -> bool:
    """A key can verify an algorithm: right key type (and curve), and no other ``alg`` pinned."""
    if key.get("alg") not in (None, alg):
        return False
    if alg.startswith(("RS", "PS")):
        return key.key_type == "RSA"
    if alg in _CURVES:
        return key.key_type == "EC" and key.get("crv") == _CURVES[alg]
    return key.key_type == "OKP" and alg == "EdDSA"


def _verifying_key(provider: IdentityProvider, header: dict[str, Any], now: datetime) -> Key:
    where = {"provider_id": provider.id, "issuer": provider.issuer, "now": now}
    keys = cache().keys(**where)
    kid = header.get("kid")
    if kid is None:
        # Without a kid the choice must be unambiguous: a set of one key.
        if len(keys) != 1:
            raise IdTokenInvalid("no kid while the provider publishes several keys")
        candidates = keys
    else:
        candidates = [key for key in keys if key.kid == kid]
        if not candidates:
            # The provider may have rotated its keys since we fetched them.
            candidates = [k for k in cache().refetch_keys(**where) if k.kid == kid]
        if not candidates:
            raise IdTokenInvalid("unknown key id")
    fitting = [key for key in candidates if _fits(key, header["alg"])]
    if len(fitting) != 1:
        raise IdTokenInvalid("no usable key for this algorithm")
    return fitting[0]


def verify_id_token(
    token: str,
    *,
    provider: IdentityProvider,
    nonce: str,
    now: datetime,
    access_token: str | None = None,
) -> dict[str, Any]:
    """The claims of a genuine ID token for this login; IdTokenInvalid otherwise."""
    try:
        signed = jws.extract_compact(token.encode())
        header = signed.headers()
    except (JoseError, ValueError, TypeError) as error:
        raise IdTokenInvalid("not a signed JWT") from error
    alg = header.get("alg")
    if alg not in ASYMMETRIC_ALGORITHMS or alg not in provider.signing_algorithms:
        raise IdTokenInvalid(f"algorithm {alg!r} is not allowed")
    if any(name in header for name in HEADER_KEYS_REFUSED):
        raise IdTokenInvalid("keys carried in the token header are not trusted")
    if header.get("crit"):
        raise IdTokenInvalid("critical header extensions are not supported")
    key = _verifying_key(provider, header, now)
    try:
        genuine = jws.validate_compact(signed, key, algorithms=[alg])
    except (JoseError, ValueError, TypeError):
        genuine = False
    if not genuine:
        raise IdTokenInvalid("bad signature")
    try:
        claims = json.loads(signed.payload)
    except ValueError as error:
        raise IdTokenInvalid("the payload is not JSON") from error
    if not isinstance(claims, dict):
        raise IdTokenInvalid("the payload is not a JSON object")
    _check_claims(claims, provider=provider, nonce=nonce, now=now)
    if "at_hash" in claims:
        _check_at_hash(claims["at_hash"], access_token=access_token, alg=alg)
    return claims


_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def access_token_hash(access_token: str, alg: str) -> str:
    """OpenID Connect's ``at_hash``: the left half of the token's hash under the ID token's alg.

    EdDSA names no hash; Ed25519 uses SHA-512, as the OpenID Foundation's errata settled.
    """
    digest = _HASHES.get(alg[-3:], hashlib.sha512)(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _check_at_hash(at_hash: Any, *, access_token: str | None, alg: str) -> None:
    if not isinstance(at_hash, str) or not isinstance(access_token, str):
        raise IdTokenInvalid("at_hash without an access token to match")
    try:
        expected = access_token_hash(access_token, alg)
    except UnicodeEncodeError as error:
        raise IdTokenInvalid("the access token is not ASCII") from error
    if not hmac.compare_digest(at_hash.encode(), expected.encode()):
        raise IdTokenInvalid("at_hash does not match the access token")


def _check_claims(
    claims: dict[str, Any], *, provider: IdentityProvider, nonce: str, now: datetime
) -> None:
    registry = JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": provider.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as error:
        raise IdTokenInvalid(error.description or error.error) from error
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and "azp" not in claims:
        raise IdTokenInvalid("several audiences without azp")
    if "azp" in claims and claims["azp"] != provider.client_id:
        raise IdTokenInvalid("azp is not our client id")
    if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 255:
        raise IdTokenInvalid("sub is not a usable identifier")
