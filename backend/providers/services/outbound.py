"""The HTTP transport for calls to identity providers: no way into our own network.

An agency administrator registers a provider by its URLs, and the server fetches them. Left
alone, that lets anyone holding that role make the server call its own private network, the
cloud's metadata service (169.254.169.254) or loopback services. So, unless
``PROVIDER_ALLOW_PRIVATE_NETWORKS`` is set (the default outside production, where the demo and
test providers run on loopback), each new connection:

- resolves the host itself and refuses when any address it resolves to is not a public unicast
  address (loopback, private, shared, link-local, multicast, unspecified, reserved, documentation),
  looking through the IPv6 forms that carry an IPv4 address to an IPv4 host (mapped, 6to4,
  NAT64): an attacker's name that answers with one public and one private address is refused too;
- then connects to exactly an address it checked, so a second lookup (DNS rebinding) cannot
  send it elsewhere, while the ``Host`` header, TLS SNI and the certificate check still name
  the host: pinning the address must not turn certificate checks into checks of an IP.

``PROVIDER_ALLOWED_NETWORKS`` names the exceptions an operator vouches for (a provider reached
over a government network, say). Redirects are never followed (``remote.request_json``), so a
public URL cannot bounce the call inward, and answers are capped in size and in total time.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from backend.providers.services.addresses import AddressGuard, Network


class _Guarded:
    """Mixed into urllib3's connections: check, then connect to a checked address."""

    address_guard: AddressGuard

    def _new_conn(self):
        host = self._dns_host
        try:
            addresses = self.address_guard.addresses(host, self.port)
        except (socket.gaierror, UnicodeError) as error:
            raise NameResolutionError(self.host, self, socket.gaierror(str(error))) from error
        failure: Exception | None = None
        for address in addresses:
            # urllib3 connects to _dns_host and takes SNI, the certificate's expected name and
            # the Host header from it too: point it at the address for the connect only.
            self._dns_host = address
            try:
                return super()._new_conn()
            except (NewConnectionError, ConnectTimeoutError) as error:
                failure = error
            finally:
                self._dns_host = host
        raise failure


def _guarded_pools(guard: AddressGuard) -> dict[str, type]:
    http = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), {"address_guard": guard})
    https = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), {"address_guard": guard})
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class PublicOnlyAdapter(HTTPAdapter):
    def __init__(self, guard: AddressGuard, **kwargs):
        self.guard = guard  # before HTTPAdapter's __init__, which builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pools(self.guard)


def new_session(
    *, allow_private: bool, allowed_networks: Iterable[Network] = ()
) -> requests.Session:
    session = requests.Session()
    if not allow_private:
        # Straight to the provider, never through HTTP(S)_PROXY: the address checked must be
        # the address called.
        session.trust_env = False
        adapter = PublicOnlyAdapter(AddressGuard(allowed_networks))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session
