"""Which addresses a call to a provider may reach: public ones, and the networks an operator
allows (``outbound`` enforces it on every new connection; see its docstring for why).

Apart from the HTTP client so that what it refuses can be named without loading the client,
which comes with a process's first call to a provider.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

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
