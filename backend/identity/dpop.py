"""Device-bound tokens: DPoP proofs (RFC 9449).

The app keeps a key pair on the phone (in its secure hardware where it has one) and sends, with
every token request and every call made with a bound token, a ``DPoP`` header: a JWS signed by
that key, naming the method and URL of this request, the time, a single-use ``jti`` and, with an
access token, its SHA-256 (``ath``). A session that was opened with a proof is bound to the
key's RFC 7638 thumbprint: its access tokens carry it as ``cnf.jkt`` and are honoured only with
a proof by that key, and its refresh token only refreshes with one. A copied token is then
useless without the phone.

What we check, cheapest first: the size and shape of the proof; ``typ`` ``dpop+jwt``; an
asymmetric ``alg`` from ``DPOP_SIGNING_ALGS`` (never ``none``, never HMAC); a ``jwk`` with no
private member; the signature by that jwk (joserfc); ``htm`` and ``htu`` against this request;
``iat`` within ``DPOP_IAT_PAST_SECONDS`` / ``DPOP_IAT_FUTURE_SECONDS``; ``ath``; a nonce of ours
when ``DPOP_NONCE_REQUIRED``; and last the ``jti``, remembered for the window (Redis ``SET NX EX``
shared by every pod, or this process's memory on the embedded default, as the rate limits).
The header and its key are parsed once per distinct header (a phone sends the same one on every
call), so a check costs one signature verification and a little JSON.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, has_request_context, request
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key, RSAKey

from backend.apiheaders import DPOP_TOKEN_ENDPOINT_MARK
from backend.crypto import derive_key
from backend.errors import DomainError
from backend.extensions import get_redis
from backend.i18n import Text

HEADER = "DPoP"
NONCE_HEADER = "DPoP-Nonce"
# A proof with a 4096-bit RSA key is about 2,500 characters; anything much larger is not one.
MAX_PROOF_CHARS = 6000
_TOO_LONG = ("Bằng chứng DPoP quá dài.", "The DPoP proof is too long.")
MAX_JTI_CHARS = 256
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"})
MIN_RSA_BITS = 2048
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Refused(Exception):
    """Why a proof is not accepted; the caller says it the way its endpoint must."""

    def __init__(self, detail: Text, *, nonce_needed: bool = False):
        super().__init__(detail[1])
        self.detail = detail
        self.nonce_needed = nonce_needed


class InvalidDpopProof(DomainError):
    """At a token endpoint: RFC 9449 section 5, a 400 with ``error`` ``invalid_dpop_proof``."""

    code = "invalid-dpop-proof"
    kind = "bad_request"
    title = ("Bằng chứng DPoP không hợp lệ", "Invalid DPoP proof")

    def __init__(self, detail: Text):
        super().__init__(detail, extra={"error": "invalid_dpop_proof"})


class UseDpopNonce(DomainError):
    """At a token endpoint: send the proof again with the nonce in ``DPoP-Nonce``."""

    code = "use-dpop-nonce"
    kind = "bad_request"
    title = ("Cần nonce DPoP", "A DPoP nonce is required")

    def __init__(self, detail: Text):
        super().__init__(
            detail, extra={"error": "use_dpop_nonce"}, headers={NONCE_HEADER: current_nonce()}
        )


class DpopTokenRefused(DomainError):
    """A call with a bound access token whose proof fails: 401 with the DPoP challenge."""

    code = "invalid-dpop-proof"
    kind = "unauthorized"
    title = ("Bằng chứng DPoP không hợp lệ", "Invalid DPoP proof")

    def __init__(self, detail: Text, *, error: str = "invalid_dpop_proof"):
        headers = {"WWW-Authenticate": _challenge(error)}
        if error == "use_dpop_nonce":
            self.code = "use-dpop-nonce"
            headers[NONCE_HEADER] = current_nonce()
        super().__init__(detail, extra={"error": error}, headers=headers)


class BoundTokenAsBearer(DpopTokenRefused):
    """A bound token is only good with its proof: sent as a bearer token it is refused."""

    code = "dpop-bound-token"

    def __init__(self):
        super().__init__(
            (
                "Mã truy cập này gắn với khóa của thiết bị: gửi bằng Authorization: DPoP kèm "
                "bằng chứng DPoP.",
                "This access token is bound to the device's key: send it as "
                "Authorization: DPoP with a DPoP proof.",
            ),
            error="invalid_token",
        )


class BindingRequired(DpopTokenRefused):
    """The policy wants this session bound, and its token is a bearer token."""

    code = "dpop-required"

    def __init__(self):
        super().__init__(
            (
                "Phiên đăng nhập này phải gắn với khóa của thiết bị; hãy đăng nhập lại với DPoP.",
                "This session must be bound to the device's key; sign in again with DPoP.",
            ),
            error="invalid_token",
        )


def _challenge(error: str) -> str:
    algs = " ".join(current_app.config["DPOP_SIGNING_ALGS"])
    return f'DPoP error="{error}", algs="{algs}"'


class _ProofRegistry(jws.JWSRegistry):
    # Room for a 4096-bit RSA key in the header; a proof's claims are a few hundred bytes.
    max_header_length = 2048
    max_payload_length = 2048


@lru_cache(maxsize=16)
def _registry(alg: str) -> jws.JWSRegistry:
    return _ProofRegistry(algorithms=[alg])


@dataclass(frozen=True)
class _ProofKey:
    alg: str
    key: Key
    jkt: str


def _b64decode(segment: str) -> bytes:
    if not _SEGMENT.match(segment):
        raise _Refused(
            ("Bằng chứng DPoP không phải base64url.", "The DPoP proof is not base64url.")
        )
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as error:
        raise _Refused(
            ("Bằng chứng DPoP không phải base64url.", "The DPoP proof is not base64url.")
        ) from error


def _json_object(segment: str, what: str) -> dict[str, Any]:
    not_json = (f"{what} của bằng chứng DPoP không phải JSON.", f"The proof's {what} is not JSON.")
    try:
        value = json.loads(_b64decode(segment))
    except (UnicodeDecodeError, ValueError) as error:
        raise _Refused(not_json) from error
    if not isinstance(value, dict):
        raise _Refused(not_json)
    return value


@lru_cache(maxsize=2048)
def _proof_key(segment: str, allowed: tuple[str, ...]) -> _ProofKey:
    """The algorithm, key and thumbprint a proof header names (a phone sends the same one)."""
    header = _json_object(segment, "header")
    if header.get("typ") != "dpop+jwt":
        raise _Refused(("typ phải là dpop+jwt.", 'The proof\'s "typ" must be "dpop+jwt".'))
    alg = header.get("alg")
    if alg not in allowed:
        raise _Refused(
            (
                f"Thuật toán không được chấp nhận; dùng một trong: {' '.join(allowed)}.",
                f"The proof's algorithm is not accepted; use one of: {' '.join(allowed)}.",
            )
        )
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise _Refused(("Thiếu khóa công khai jwk.", 'The proof carries no public "jwk".'))
    if PRIVATE_MEMBERS & jwk.keys():
        raise _Refused(
            (
                "jwk chứa phần bí mật của khóa; chỉ gửi khóa công khai.",
                'The "jwk" holds private key material; send the public key only.',
            )
        )
    try:
        key = JWKRegistry.import_key(jwk)
        jws.JWSRegistry.algorithms[alg].check_key(key)
    except (JoseError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise _Refused(
            ("jwk không hợp lệ cho thuật toán này.", 'The "jwk" is not a key for this algorithm.')
        ) from error
    if isinstance(key, RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
        raise _Refused(("Khóa RSA quá ngắn.", f"RSA keys need {MIN_RSA_BITS} bits at least."))
    return _ProofKey(alg=alg, key=key, jkt=key.thumbprint())


def normalise_url(url: str) -> str:
    """RFC 9449 section 4.3: scheme and host in lower case, no default port, query or fragment."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port  # ValueError on a port that is no number
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None:
        raise ValueError("not an http(s) URL")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path or '/'}"


def request_url() -> str:
    """This request's URL as the app sees itself from outside (``PUBLIC_BASE_URL`` first)."""
    base = current_app.config["PUBLIC_BASE_URL"] or request.root_url.rstrip("/")
    try:
        return normalise_url(base + request.path)
    except ValueError as error:  # a Host header no proof can name
        raise _Refused(("Tên máy chủ không hợp lệ.", "The request's host is not valid.")) from error


def ath_of(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- nonces: stateless, so any pod checks what another issued -------------------------------


def _nonce_for(window: int) -> str:
    key = current_app.extensions.get("dpop_nonce_key")
    if key is None:
        key = current_app.extensions["dpop_nonce_key"] = derive_key(
            current_app.config["SECRET_KEY"], "dpop-nonce"
        )
    mac = hmac.new(key, str(window).encode(), hashlib.sha256).digest()[:16]
    return f"{window}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def current_nonce(now: float | None = None) -> str:
    seconds = current_app.config["DPOP_NONCE_SECONDS"]
    return _nonce_for(int((now or time.time()) // seconds))


def _nonce_is_fresh(nonce: Any, now: float) -> bool:
    """Ours, from this window or the one before (so a nonce lives one to two windows)."""
    if not isinstance(nonce, str) or len(nonce) > 64:
        return False
    window = int(now // current_app.config["DPOP_NONCE_SECONDS"])
    return any(hmac.compare_digest(nonce, _nonce_for(w)) for w in (window, window - 1))


# --- jti: each used once within the window --------------------------------------------------


class _MemorySeen:
    """The embedded default's replay cache: this process only, like its rate limits."""

    def __init__(self):
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def first_use(self, key: str, ttl: int, now: float) -> bool:
        with self._lock:
            if now >= self._next_sweep:
                self._expiry = {k: t for k, t in self._expiry.items() if t > now}
                self._next_sweep = now + 1
            if self._expiry.get(key, 0) > now:
                return False
            self._expiry[key] = now + ttl
            return True


def _first_use(jkt: str, jti: str, now: float) -> bool:
    config = current_app.config
    ttl = config["DPOP_IAT_PAST_SECONDS"] + config["DPOP_IAT_FUTURE_SECONDS"] + 1
    key = "dvc-dpop:jti:" + hashlib.sha256(f"{jkt}:{jti}".encode()).hexdigest()[:40]
    client = get_redis()
    if client is not None:
        return bool(client.set(key, b"1", nx=True, ex=ttl))
    seen = current_app.extensions.get("dpop_seen")
    if seen is None:
        seen = current_app.extensions.setdefault("dpop_seen", _MemorySeen())
    return seen.first_use(key, ttl, now)


# --- the check ------------------------------------------------------------------------------


def verify_proof(
    proof: str, *, method: str, url: str, access_token: str | None = None, now: float
) -> str:
    """The thumbprint of the key that signed a valid proof for ``method url``; _Refused if not."""
    config = current_app.config
    if len(proof) > MAX_PROOF_CHARS:
        raise _Refused(_TOO_LONG)
    parts = proof.split(".")
    if len(parts) != 3 or not all(parts):
        raise _Refused(("Bằng chứng DPoP không phải JWS.", "The DPoP proof is not a compact JWS."))
    proof_key = _proof_key(parts[0], config["DPOP_SIGNING_ALGS"])
    _b64decode(parts[2])
    try:
        jws.deserialize_compact(proof, proof_key.key, registry=_registry(proof_key.alg))
    except (JoseError, ValueError, TypeError) as error:
        raise _Refused(
            ("Chữ ký của bằng chứng DPoP sai.", "The DPoP proof's signature does not verify.")
        ) from error
    claims = _json_object(parts[1], "payload")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_CHARS:
        raise _Refused(("Thiếu jti.", 'The proof needs a "jti" (at most 256 characters).'))
    if claims.get("htm") != method:
        raise _Refused(
            (f"htm phải là {method}.", f'The proof is for another method ("htm" must be {method}).')
        )
    htu = claims.get("htu")
    try:
        same_url = isinstance(htu, str) and normalise_url(htu) == url
    except ValueError:
        same_url = False
    if not same_url:
        raise _Refused(
            (f"htu phải là {url}.", f'The proof is for another URL ("htu" must be {url}).')
        )
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise _Refused(("Thiếu iat.", 'The proof needs a numeric "iat".'))
    if not now - config["DPOP_IAT_PAST_SECONDS"] <= iat <= now + config["DPOP_IAT_FUTURE_SECONDS"]:
        raise _Refused(
            (
                "iat của bằng chứng DPoP quá cũ hoặc ở tương lai; hãy tạo bằng chứng mới.",
                'The proof\'s "iat" is too old or in the future; make a new proof.',
            )
        )
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or not hmac.compare_digest(ath, ath_of(access_token)):
            raise _Refused(
                ("ath không khớp với mã truy cập.", "The proof's \"ath\" is not this token's hash.")
            )
    if config["DPOP_NONCE_REQUIRED"] and not _nonce_is_fresh(claims.get("nonce"), now):
        raise _Refused(
            ("Hãy dùng nonce trong DPoP-Nonce.", "Use the nonce sent in DPoP-Nonce."),
            nonce_needed=True,
        )
    if not _first_use(proof_key.jkt, jti, now):
        raise _Refused(
            ("Bằng chứng DPoP này đã được dùng.", "This DPoP proof was used already (jti).")
        )
    return proof_key.jkt


def _proof_header() -> str | None:
    values = request.headers.getlist(HEADER)
    if len(values) > 1:
        raise _Refused(("Chỉ gửi một tiêu đề DPoP.", "Send one DPoP header only."))
    return values[0].strip() if values else None


# --- token endpoints ------------------------------------------------------------------------


def must_be_bound(*, kind: str, acr: int) -> bool:
    """``DPOP_REQUIRED_FOR``: whether a session of this kind and level must hold a key."""
    policy = current_app.config["DPOP_REQUIRED_FOR"]
    return (
        "all" in policy
        or ("staff" in policy and kind == "staff")
        or ("level2" in policy and acr >= 2)
    )


def token_endpoint(view):
    """Check the request's proof (when sent) before the view issues tokens; they are bound to
    its key (``request_key``). Declares the DPoP header and DPoP-Nonce in the document."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.dpop_jkt = _token_request_key()
        return view(*args, **kwargs)

    wrapper._apidoc = dict(getattr(wrapper, "_apidoc", {}))
    wrapper._apidoc["manual_doc"] = {
        **wrapper._apidoc.get("manual_doc", {}),
        DPOP_TOKEN_ENDPOINT_MARK: True,
    }
    return wrapper


def _token_request_key() -> str | None:
    try:
        proof = _proof_header()
        if proof is None:
            if "all" in current_app.config["DPOP_REQUIRED_FOR"]:
                raise InvalidDpopProof(_PROOF_REQUIRED)
            return None
        return verify_proof(proof, method=request.method, url=request_url(), now=time.time())
    except _Refused as refused:
        raise (UseDpopNonce if refused.nonce_needed else InvalidDpopProof)(refused.detail) from None


_PROOF_REQUIRED: Text = (
    "Cần bằng chứng DPoP (tiêu đề DPoP) ký bằng khóa của thiết bị.",
    "A DPoP proof (the DPoP header) signed by the device's key is required.",
)


def request_key() -> str | None:
    """The key thumbprint a token endpoint's proof showed, or None (no proof, or no request)."""
    return g.get("dpop_jkt") if has_request_context() else None


def require_holder(*, bound_jkt: str | None) -> None:
    """A bound session's refresh needs a proof by its key; nothing changes when it is missing."""
    if bound_jkt is not None and request_key() != bound_jkt:
        raise InvalidDpopProof(
            (
                "Phiên này gắn với khóa của thiết bị khác; cần bằng chứng DPoP bằng khóa đó.",
                "This session is bound to another key: a DPoP proof by that key is required.",
            )
        )


def require_binding(*, kind: str, acr: int, bound_jkt: str | None) -> None:
    """Refuse to issue unbound tokens to a session the policy wants bound."""
    if bound_jkt is None and must_be_bound(kind=kind, acr=acr):
        raise InvalidDpopProof(_PROOF_REQUIRED)


# --- calls with an access token -------------------------------------------------------------


def check_access(*, scheme: str, access_token: str, claims: dict[str, Any]) -> None:
    """``Authorization: DPoP`` with a proof for a bound token; a bearer one only where allowed."""
    confirmation = claims.get("cnf")
    bound_jkt = confirmation.get("jkt") if isinstance(confirmation, dict) else None
    if bound_jkt is None:
        # A proof beside an unbound token is not read, but one longer than any proof can be is
        # refused as it is everywhere else: the contract declares the limit on every operation.
        if len(request.headers.get(HEADER, "")) > MAX_PROOF_CHARS:
            raise DpopTokenRefused(_TOO_LONG)
        if scheme == "dpop":
            raise DpopTokenRefused(
                (
                    "Mã truy cập này không gắn với khóa nào; gửi bằng Authorization: Bearer.",
                    "This access token is not bound to a key; send it as Authorization: Bearer.",
                ),
                error="invalid_token",
            )
        if must_be_bound(kind=claims["kind"], acr=int(claims["acr"])):
            raise BindingRequired()
        return
    if scheme != "dpop":
        raise BoundTokenAsBearer()
    try:
        proof = _proof_header()
        if proof is None:
            raise _Refused(_PROOF_REQUIRED)
        proven = verify_proof(
            proof,
            method=request.method,
            url=request_url(),
            access_token=access_token,
            now=time.time(),
        )
    except _Refused as refused:
        error = "use_dpop_nonce" if refused.nonce_needed else "invalid_dpop_proof"
        raise DpopTokenRefused(refused.detail, error=error) from None
    if not hmac.compare_digest(proven, bound_jkt):
        raise DpopTokenRefused(
            (
                "Bằng chứng DPoP được ký bằng khóa khác với khóa của mã truy cập.",
                "The DPoP proof is signed by another key than the one the token is bound to.",
            )
        )
