"""The HTTP transport for calls to identity providers: no way into our own network.

An agency administrator registers a provider by its URLs, and the server fetches them. Left
alone, that lets anyone holding that role make the server call its own private network, the
cloud's metadata service (169.254.169.254) or loopback services. So, unless
``PROVIDER_ALLOW_PRIVATE_NETWORKS`` is set (the default outside production, where the demo and
test providers run on loopback), each new connection:

- resolves the host itself and refuses when any address it resolves to is not a public unicast
  address (loopback, private, shared, link-local, multicast, unspecified, reserved, documentation,
  IPv4 inside IPv6 included): an attacker's name that answers with one public and one private
  address is refused too;
- then connects to exactly the address it checked, so a second lookup (DNS rebinding) cannot
  send it elsewhere; TLS still checks the certificate against the host name.

Redirects are never followed (``remote.request_json``), so a public URL cannot bounce the call
inward, and answers are capped in size and in total time.
"""

from __future__ import annotations

import ipaddress
import socket

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class AddressRefused(Exception):
    """The host resolves to an address the server must not call."""

    def __init__(self, host: str, address: str):
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host, self.address = host, address


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def public_address(host: str, port: int) -> str:
    """The first address ``host`` resolves to, once every one of them is found public."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise OSError(f"cannot resolve {host}") from error
    addresses = [info[4][0] for info in found]
    for address in addresses:
        if not is_public(address):
            raise AddressRefused(host, address)
    return addresses[0]


class _Guarded:
    """Mixed into urllib3's connections: check, then connect to the checked address."""

    def _new_conn(self):
        self._dns_host = public_address(self._dns_host, self.port)
        return super()._new_conn()


class _GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def new_session(*, allow_private: bool) -> requests.Session:
    session = requests.Session()
    if not allow_private:
        # Straight to the provider, never through HTTP(S)_PROXY: the address checked must be
        # the address called.
        session.trust_env = False
        adapter = PublicOnlyAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session
