"""What we fetch from providers: discovery, signing keys, tokens, userinfo.

These calls happen inside a login request because they are the login itself, so each one has a
short timeout and a size cap, and every failure becomes a ``ProviderError`` (a clean problem or
an error redirect to the app), never a 500.

Discovery documents and key sets are cached in the memory of each process (so each pod has its
own cache) for ``PROVIDER_DISCOVERY_SECONDS``. A key set is fetched again at once when a token
names a ``kid`` it does not hold (the provider rotated its keys), at most once per
``PROVIDER_JWKS_REFETCH_SECONDS`` per provider: a stream of tokens with made-up key ids cannot
turn us into a tool that hammers the provider, nor make us drop the keys we hold.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import current_app
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key

from backend.errors import DomainError
from backend.providers.services.addresses import AddressRefused

if TYPE_CHECKING:
    import requests

MAX_RESPONSE_BYTES = 512 * 1024
REQUIRED_DISCOVERY = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


class ProviderError(DomainError):
    """A provider could not be used; ``oauth_error`` is what the app is told in a redirect."""

    code = "provider-error"
    kind = "unavailable"
    title = ("Nhà cung cấp định danh gặp sự cố", "The identity provider failed")
    oauth_error = "temporarily_unavailable"


class ProviderUnreachable(ProviderError):
    code = "provider-unreachable"


class ProviderAnswerInvalid(ProviderError):
    code = "provider-answer-invalid"
    kind = "bad_gateway"


class DiscoveryInvalid(ProviderError):
    code = "provider-discovery-invalid"
    kind = "bad_gateway"


class ProviderAddressRefused(ProviderError):
    code = "provider-address-refused"
    kind = "bad_gateway"


def _session() -> requests.Session:
    session = current_app.extensions.get("provider_http")
    if session is None:
        # The HTTP client (requests and what it brings, ~6 MiB) loads with a process's first
        # call to a provider: a worker that serves no provider login never holds it.
        from backend.providers.demo_adapter import InProcessAdapter
        from backend.providers.services.outbound import new_session

        session = new_session(
            allow_private=current_app.config["PROVIDER_ALLOW_PRIVATE_NETWORKS"],
            allowed_networks=current_app.config["PROVIDER_ALLOWED_NETWORKS"],
        )
        if current_app.config["DEMO_IDP_ENABLED"]:
            # The demo provider is this very app: call it in-process, so that a single-threaded
            # server does not wait on itself and `make run` can register it before serving.
            session.mount(
                current_app.config["DEMO_IDP_ISSUER"] + "/",
                InProcessAdapter(current_app._get_current_object()),
            )
        current_app.extensions["provider_http"] = session
    return session


def _detail(text: str) -> tuple[str, str]:
    return (f"Nhà cung cấp định danh: {text}", f"Identity provider: {text}")


def request_json(method: str, url: str, *, what: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """One call to a provider; (status, JSON object) or a ProviderError."""
    import requests  # loaded already by ``_session``, the first thing the call does

    headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
    timeout = current_app.config["PROVIDER_HTTP_TIMEOUT"]
    deadline = time.monotonic() + 2 * timeout  # a slow drip of bytes does not hold a worker
    try:
        with _session().request(
            method,
            url,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            **kwargs,
        ) as response:
            if response.is_redirect:
                # Never followed: the next hop could be anywhere, our own network included.
                raise ProviderAnswerInvalid(
                    _detail(f"{what}: HTTP {response.status_code}, a redirect (not followed)")
                )
            body = _read_capped(response, what=what, deadline=deadline)
    except AddressRefused as error:
        raise ProviderAddressRefused(_detail(f"{what}: {error}")) from error
    except requests.RequestException as error:
        raise ProviderUnreachable(_detail(f"{what}: no answer ({type(error).__name__})")) from error
    try:
        document = json.loads(body)
    except ValueError as error:
        raise ProviderAnswerInvalid(
            _detail(f"{what}: HTTP {response.status_code}, not JSON")
        ) from error
    if not isinstance(document, dict):
        raise ProviderAnswerInvalid(_detail(f"{what}: not a JSON object"))
    return response.status_code, document


def _read_capped(response: requests.Response, *, what: str, deadline: float) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(16 * 1024):
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise ProviderAnswerInvalid(
                _detail(f"{what}: the answer is over {MAX_RESPONSE_BYTES // 1024} KiB")
            )
        if time.monotonic() > deadline:
            raise ProviderUnreachable(_detail(f"{what}: the answer takes too long"))
    return bytes(body)


def check_url(url: object, *, name: str) -> str:
    """Provider URLs are absolute http(s) URLs; production insists on https."""
    parts = urlsplit(url) if isinstance(url, str) else None
    allowed = {"https"} if current_app.config["APP_ENV"] == "production" else {"https", "http"}
    if parts is None or parts.scheme not in allowed or not parts.netloc or parts.fragment:
        raise DiscoveryInvalid(_detail(f"{name} must be an {'/'.join(sorted(allowed))} URL"))
    return url


def fetch_discovery(issuer: str) -> dict[str, Any]:
    """The provider's metadata, checked (OpenID Connect Discovery 1.0 sections 4.2-4.3)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    status, document = request_json("GET", url, what="discovery")
    if status != 200:
        raise DiscoveryInvalid(_detail(f"discovery answered HTTP {status}"))
    if document.get("issuer") != issuer:
        raise DiscoveryInvalid(
            _detail(f"discovery names issuer {document.get('issuer')!r}, not {issuer!r}")
        )
    for name in REQUIRED_DISCOVERY:
        check_url(document.get(name), name=name)
    if "code" not in document.get("response_types_supported", ["code"]):
        raise DiscoveryInvalid(_detail("the authorization code flow is not supported"))
    return document


def fetch_keys(jwks_uri: str) -> list[Key]:
    """The provider's signing keys; keys we cannot read or not meant for signatures are left out."""
    status, document = request_json("GET", jwks_uri, what="JWKS")
    entries = document.get("keys")
    if status != 200 or not isinstance(entries, list):
        raise ProviderAnswerInvalid(_detail(f"JWKS answered HTTP {status} without keys"))
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") == "oct":
            continue  # a shared secret is never a provider's public signing key
        try:
            keys.append(JWKRegistry.import_key(entry))
        except (JoseError, ValueError, TypeError, KeyError):
            continue
    return keys


@dataclass
class _Cached:
    discovery: dict[str, Any] | None = None
    discovery_at: float = 0.0
    keys: list[Key] = field(default_factory=list)
    keys_at: float | None = None
    refetched_at: float | None = None  # the last fetch asked for by an unknown kid
    refetch_lock: threading.Lock = field(default_factory=threading.Lock)


class ProviderCache:
    """Per-process cache of discovery and keys, keyed by provider and issuer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Cached] = {}

    def _entry(self, provider_id: str, issuer: str) -> _Cached:
        with self._lock:
            return self._entries.setdefault((provider_id, issuer), _Cached())

    def forget(self, provider_id: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == provider_id]:
                del self._entries[key]

    def discovery(self, *, provider_id: str, issuer: str, now: datetime) -> dict[str, Any]:
        entry = self._entry(provider_id, issuer)
        max_age = current_app.config["PROVIDER_DISCOVERY_SECONDS"]
        if entry.discovery is None or now.timestamp() - entry.discovery_at > max_age:
            entry.discovery = fetch_discovery(issuer)
            entry.discovery_at = now.timestamp()
        return entry.discovery

    def keys(self, *, provider_id: str, issuer: str, now: datetime) -> list[Key]:
        entry = self._entry(provider_id, issuer)
        # Keys also age out, so that a key the provider withdrew stops verifying within the hour.
        max_age = current_app.config["PROVIDER_DISCOVERY_SECONDS"]
        if entry.keys_at is None or now.timestamp() - entry.keys_at > max_age:
            self._fetch_keys(entry, provider_id=provider_id, issuer=issuer, now=now)
        return entry.keys

    def refetch_keys(self, *, provider_id: str, issuer: str, now: datetime) -> list[Key]:
        """Fetch the keys again at once for a ``kid`` we do not hold, unless such a refetch was
        done within ``PROVIDER_JWKS_REFETCH_SECONDS``; the keys held stay in use meanwhile.

        Only these refetches count towards the spacing, so a key the provider starts using just
        after our regular fetch is picked up by its first token. Concurrent callers wait for
        the one refetch under way and share its answer, so a burst of made-up key ids from
        many threads still costs the provider one request.
        """
        entry = self._entry(provider_id, issuer)
        interval = current_app.config["PROVIDER_JWKS_REFETCH_SECONDS"]
        with entry.refetch_lock:
            if entry.refetched_at is None or now.timestamp() - entry.refetched_at >= interval:
                entry.refetched_at = now.timestamp()  # a failed refetch counts too: no storm
                self._fetch_keys(entry, provider_id=provider_id, issuer=issuer, now=now)
        return entry.keys

    def _fetch_keys(self, entry: _Cached, *, provider_id: str, issuer: str, now: datetime) -> None:
        discovery = self.discovery(provider_id=provider_id, issuer=issuer, now=now)
        entry.keys_at = now.timestamp()  # a failed fetch counts too: no retry storm
        entry.keys = fetch_keys(discovery["jwks_uri"])


def cache() -> ProviderCache:
    found = current_app.extensions.get("provider_cache")
    if found is None:
        found = current_app.extensions["provider_cache"] = ProviderCache()
    return found
