"""An OpenID provider of our own for the tests (Flask + joserfc), honest unless told otherwise.

It runs on 127.0.0.1 in a background thread. By default it is a strict provider: client
authentication (basic, post or private_key_jwt against our published client JWKS), PKCE S256,
single-use codes bound to the redirect URI, nonce echoed, userinfo behind the access token.
A test makes it hostile by setting ``mint`` (how the ID token is made) or the other knobs.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlencode

from flask import Flask, redirect, request
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from werkzeug.serving import make_server

CLIENT_ID = "dvc-test-client"
CLIENT_SECRET = "s3cret/with+odd=chars"
SUBJECT = "subject-0001"
CLAIMS = {
    "name": "Phạm Thị Dung",
    "cccd": "001195000123",
    "birthdate": "1995-03-08",
    "phone_number": "0912000123",
    "address": {"formatted": "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "region": "Hà Nội"},
    "acr": "urn:test:loa2",
}


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_RSA_POOL: list[dict[str, Any]] = []
_next_rsa = itertools.count()


def new_rsa(kid: str | None) -> RSAKey:
    """A fresh-looking RSA key: drawn in turn from a few generated once (2048-bit is slow)."""
    if not _RSA_POOL:
        _RSA_POOL.extend(
            RSAKey.generate_key(2048, private=True).as_dict(private=True) for _ in range(5)
        )
    data = {k: v for k, v in _RSA_POOL[next(_next_rsa) % 5].items() if k != "kid"}
    return RSAKey.import_key({**data, "kid": kid} if kid else data)


def new_ec(kid: str | None) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid} if kid else None, private=True)


def algorithm_of(key) -> str:
    return "ES256" if key.key_type == "EC" else "RS256"


class LoopbackProvider:
    """State and knobs of one provider instance; ``app`` serves it."""

    def __init__(self) -> None:
        self.issuer = ""  # set once the server listens
        self.keys = [new_rsa("rsa-1")]
        self.signing_key = self.keys[0]
        self.subject = SUBJECT
        self.claims: dict[str, Any] = dict(CLAIMS)
        self.client_auth = "client_secret_basic"
        self.client_jwks: dict[str, Any] | None = None  # ours, for private_key_jwt
        self.discovery_issuer: str | None = None  # a lie about who it is
        self.advertise_iss = False
        self.callback_iss: str | None = None  # None: the real issuer when advertised
        self.userinfo_sub: str | None = None
        # (header, claims) -> compact JWT; None signs honestly with signing_key.
        self.mint: Callable[[dict[str, Any], dict[str, Any]], str] | None = None
        self.serve_id_token: str | None = None  # answer this one instead (a replay)
        self.id_tokens: list[str] = []
        self.codes: dict[str, dict[str, Any]] = {}
        self.jwks_hits = 0
        self.userinfo_hits = 0
        self.hosts: list[str] = []  # the Host header of every request, in order
        # "right": an at_hash of the access token sent with the ID token; "wrong": of another.
        self.at_hash: str | None = None
        self.token_requests: list[dict[str, str]] = []
        self.app = self._build()

    # --- what the tests change -----------------------------------------------------------

    def rotate(self, key) -> None:
        """Publish a new key and sign with it from now on (the old one is dropped)."""
        self.keys = [key]
        self.signing_key = key

    def base_claims(self, nonce: str | None) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": self.subject,
            "iat": now,
            "exp": now + 300,
            **self.claims,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return claims

    def honest_header(self) -> dict[str, Any]:
        header = {"alg": algorithm_of(self.signing_key), "typ": "JWT"}
        if self.signing_key.kid:
            header["kid"] = self.signing_key.kid
        return header

    def id_token(self, nonce: str | None, access_token: str = "") -> str:
        header, claims = self.honest_header(), self.base_claims(nonce)
        if self.at_hash is not None:
            hashed = access_token if self.at_hash == "right" else access_token + "-swapped"
            # RS256 and ES256 hash with SHA-256: the left 128 bits, base64url (OIDC Core 3.1.3.6)
            claims["at_hash"] = b64(hashlib.sha256(hashed.encode()).digest()[:16])
        if self.mint is not None:
            return self.mint(header, claims)
        return jwt.encode(header, claims, self.signing_key)

    # --- the provider ----------------------------------------------------------------------

    def _client_ok(self, form) -> bool:
        if self.client_auth == "client_secret_basic":
            auth = request.authorization
            return bool(
                auth
                and unquote(auth.username or "") == CLIENT_ID
                and unquote(auth.password or "") == CLIENT_SECRET
            )
        if self.client_auth == "client_secret_post":
            return form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET
        if form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return False
        try:
            token = jwt.decode(
                form.get("client_assertion", ""),
                KeySet.import_key_set(self.client_jwks),
                algorithms=["ES256"],
            )
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": CLIENT_ID},
                sub={"essential": True, "value": CLIENT_ID},
                aud={"essential": True, "value": f"{self.issuer}/token"},
                exp={"essential": True},
                jti={"essential": True},
            ).validate(token.claims)
        except Exception:
            return False
        return True

    def _build(self) -> Flask:
        app = Flask("test_provider")
        provider = self

        @app.before_request
        def note_host():
            provider.hosts.append(request.host)

        @app.get("/.well-known/openid-configuration")
        def discovery():
            document = {
                "issuer": provider.discovery_issuer or provider.issuer,
                "authorization_endpoint": f"{provider.issuer}/authorize",
                "token_endpoint": f"{provider.issuer}/token",
                "userinfo_endpoint": f"{provider.issuer}/userinfo",
                "jwks_uri": f"{provider.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            }
            if provider.advertise_iss:
                document["authorization_response_iss_parameter_supported"] = True
            return document

        @app.get("/jwks")
        def jwks():
            provider.jwks_hits += 1
            return {"keys": [key.as_dict(private=False) for key in provider.keys]}

        @app.get("/authorize")
        def authorize():
            args = request.args
            if args.get("client_id") != CLIENT_ID or args.get("code_challenge_method") != "S256":
                return {"error": "invalid_request"}, 400
            code = secrets.token_urlsafe(16)
            provider.codes[code] = {
                "nonce": args.get("nonce"),
                "redirect_uri": args["redirect_uri"],
                "challenge": args["code_challenge"],
            }
            answer = {"code": code, "state": args["state"]}
            if provider.advertise_iss or provider.callback_iss:
                answer["iss"] = provider.callback_iss or provider.issuer
            return redirect(f"{args['redirect_uri']}?{urlencode(answer)}")

        @app.post("/token")
        def token():
            form = request.form
            provider.token_requests.append(dict(form))
            if not provider._client_ok(form):
                return {"error": "invalid_client"}, 401
            grant = provider.codes.pop(form.get("code", ""), None)  # single use
            verifier = form.get("code_verifier", "")
            challenge = b64(hashlib.sha256(verifier.encode()).digest())
            if (
                grant is None
                or grant["redirect_uri"] != form.get("redirect_uri")
                or grant["challenge"] != challenge
            ):
                return {"error": "invalid_grant"}, 400
            access_token = "at-" + secrets.token_urlsafe(8)
            id_token = provider.serve_id_token or provider.id_token(grant["nonce"], access_token)
            provider.id_tokens.append(id_token)
            return {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }

        @app.get("/userinfo")
        def userinfo():
            provider.userinfo_hits += 1
            if not request.headers.get("Authorization", "").startswith("Bearer at-"):
                return {"error": "invalid_token"}, 401
            return {"sub": provider.userinfo_sub or provider.subject, **provider.claims}

        return app


@contextmanager
def serving(app: Flask, host: str = "127.0.0.1", ssl_context=None) -> Iterator[str]:
    """Serve a WSGI app on loopback in a thread (over TLS given a context); yields its base URL."""
    server = make_server(host, 0, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"{'https' if ssl_context else 'http'}://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
