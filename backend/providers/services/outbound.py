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

import ipaddress
import socket
from collections.abc import Iterable

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The ipaddress module of Python 3.11 counts these as global; they are not: the deprecated
# 6to4 relay anycast (RFC 7526) and the local-use NAT64 prefix (RFC 8215).
_NOT_GLOBAL = (ipaddress.ip_network("192.88.99.0/24"), ipaddress.ip_network("64:ff9b:1::/48"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits


class AddressRefused(Exception):
    """The host resolves to an address the server must not call."""

    def __init__(self, host: str, address: str):
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host, self.address = host, address


def _ip(address: str) -> IPAddress:
    """The address a connection really reaches: the IPv4 one inside mapped, 6to4 or NAT64."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public(address: str) -> bool:
    ip = _ip(address)
    return (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not any(ip in network for network in _NOT_GLOBAL)
    )


class AddressGuard:
    """Public addresses, and those in the networks the operator allows."""

    def __init__(self, allowed_networks: Iterable[Network] = ()):
        self.allowed_networks = tuple(allowed_networks)

    def permits(self, address: str) -> bool:
        if is_public(address):
            return True
        ip = _ip(address)
        return any(ip in network for network in self.allowed_networks)

    def addresses(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, once each one of them is permitted."""
        found = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(info[4][0] for info in found))
        for address in addresses:
            if not self.permits(address):
                raise AddressRefused(host, address)
        return addresses


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
