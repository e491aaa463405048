"""Provider URLs cannot point the server at its own network.

With ``PROVIDER_ALLOW_PRIVATE_NETWORKS`` off (production's default), registering a provider
whose URLs resolve to loopback, a private network or the cloud metadata address is refused
before any connection is made; redirects are never followed.
"""

from __future__ import annotations

import socket

import pytest
from flask import Flask, redirect

from backend.providers import remote
from backend.providers.outbound import is_public
from tests.providers.conftest import register
from tests.providers.oidc_provider import serving


@pytest.fixture
def guarded(app, monkeypatch, demo_catalog):
    """Production's rule, on this test's app, with every outgoing connect recorded."""
    monkeypatch.setitem(app.config, "PROVIDER_ALLOW_PRIVATE_NETWORKS", False)
    monkeypatch.delitem(app.extensions, "provider_http", raising=False)
    attempts: list = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        attempts.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    app.extensions.pop("provider_http", None)


@pytest.mark.parametrize(
    ("issuer", "address"),
    [
        ("http://169.254.169.254", "169.254.169.254"),  # the cloud's metadata service
        ("http://10.0.0.1", "10.0.0.1"),
        ("https://192.168.1.1:8443", "192.168.1.1"),
        ("http://[::ffff:10.0.0.1]", "::ffff:10.0.0.1"),
        ("http://[fd00::1]", "fd00::1"),
        ("http://localhost", "127.0.0.1"),  # a name that resolves to loopback
    ],
)
def test_a_provider_on_a_private_address_is_refused_before_connecting(
    app, guarded, issuer, address
):
    found = register(app, slug="inward", issuer=issuer)
    assert not found["enabled"]
    assert "not a public address" in found["check_error"], found
    hosts = {a[0] for a in guarded}
    assert not hosts & {"169.254.169.254", "10.0.0.1", "192.168.1.1", "fd00::1", "::ffff:10.0.0.1"}
    assert all(a[1] != 80 for a in guarded if a[0] in ("127.0.0.1", "::1")), guarded


def test_a_provider_on_loopback_is_refused_in_production_mode(app, op, guarded):
    found = register(app, slug="loopback", issuer=op.issuer)
    assert not found["enabled"] and "127.0.0.1" in found["check_error"], found
    port = int(op.issuer.rsplit(":", 1)[1])
    assert not [a for a in guarded if a[1] == port], "a connection reached the provider"


def test_every_call_to_a_provider_goes_through_the_check(app, op, guarded):
    """Discovery, keys, token and userinfo all use one transport."""
    with app.test_request_context():
        for method, path in [("GET", "/jwks"), ("POST", "/token"), ("GET", "/userinfo")]:
            with pytest.raises(remote.ProviderAddressRefused):
                remote.request_json(method, op.issuer + path, what=path)


def test_outside_production_loopback_providers_work(app, op, demo_catalog):
    assert app.config["PROVIDER_ALLOW_PRIVATE_NETWORKS"] is True
    assert register(app, slug="loopback", issuer=op.issuer)["enabled"]


def test_a_redirect_is_never_followed(app, demo_catalog):
    reached = []
    inner = Flask("inner")

    @inner.get("/<path:anything>")
    def anything(anything):
        reached.append(anything)
        return {"issuer": "x"}

    with serving(inner) as target:
        outer = Flask("outer")

        @outer.get("/<path:anything>")
        def bounce(anything):
            return redirect(f"{target}/{anything}", code=302)

        with serving(outer) as base:
            found = register(app, slug="bouncer", issuer=base)
    assert not found["enabled"] and "HTTP 302" in found["check_error"], found
    assert reached == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "2001:db8::1",
    ],
)
def test_addresses_that_are_not_public(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "14.225.0.1", "2606:4700:4700::1111"])
def test_public_addresses(address):
    assert is_public(address)
