"""Provider URLs cannot point the server at its own network.

With ``PROVIDER_ALLOW_PRIVATE_NETWORKS`` off (production's default), registering a provider
whose URLs resolve to loopback, a private network or the cloud metadata address is refused
before any connection is made; redirects are never followed. The loopback providers of these
tests are let through by ``PROVIDER_ALLOWED_NETWORKS``, the operator's exceptions, so that the
guarded transport itself is seen at work: by name, over TLS, and against a redirect.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask, redirect, request

from backend import config as config_module
from backend.providers.services import remote
from backend.providers.services.addresses import is_public
from backend.providers.services.outbound import new_session
from tests.helpers.providers import (
    browser_login,
    come_back,
    follow_provider,
    query_of,
    redeem,
    register,
    start,
)
from tests.providers.oidc_provider import serving

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))


def refuse_private(app, monkeypatch, *, allowed=()) -> None:
    """Production's rule on this test's app, with the given networks excepted."""
    monkeypatch.setitem(app.config, "PROVIDER_ALLOW_PRIVATE_NETWORKS", False)
    monkeypatch.setitem(app.config, "PROVIDER_ALLOWED_NETWORKS", tuple(allowed))
    app.extensions.pop("provider_http", None)  # the transport is built from those settings


@pytest.fixture(autouse=True)
def _fresh_transport(app):
    """The next test builds its provider transport from its own settings again."""
    yield
    app.extensions.pop("provider_http", None)


@pytest.fixture
def connects(monkeypatch):
    """Every outgoing socket connect of this test, recorded."""
    attempts: list = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        attempts.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.fixture
def guarded(app, monkeypatch, demo_catalog, connects):
    """Production's rule, on this test's app, with every outgoing connect recorded."""
    refuse_private(app, monkeypatch)
    return connects


@pytest.mark.parametrize(
    ("issuer", "address"),
    [
        ("http://169.254.169.254", "169.254.169.254"),  # the cloud's metadata service
        ("http://10.0.0.1", "10.0.0.1"),
        ("https://192.168.1.1:8443", "192.168.1.1"),
        ("http://[::ffff:10.0.0.1]", "::ffff:10.0.0.1"),
        ("http://[fd00::1]", "fd00::1"),
        ("http://[64:ff9b::a9fe:a9fe]", "64:ff9b::a9fe:a9fe"),  # NAT64 of the metadata service
        ("http://[2002:a00:1::1]", "2002:a00:1::1"),  # 6to4 of 10.0.0.1
        ("http://localhost", "127.0.0.1"),  # a name that resolves to loopback
    ],
)
def test_a_provider_on_a_private_address_is_refused_before_connecting(
    app, guarded, issuer, address
):
    found = register(app, slug="inward", issuer=issuer)
    assert not found["enabled"]
    assert f"resolves to {address}, which is not a public address" in found["check_error"]
    assert not [a for a in guarded if a[1] in (80, 8443)], guarded  # nothing was sent anywhere


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
        "::a00:1",  # IPv4-compatible (deprecated) 10.0.0.1
        "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254: the gateway would call it for us
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "192.88.99.1",  # the 6to4 relay anycast
        "198.18.0.1",  # benchmarking
    ],
)
def test_addresses_that_are_not_public(address):
    assert not is_public(address)


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "14.225.0.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",  # NAT64 of a public address
        "2002:808:808::1",  # 6to4 of a public address
    ],
)
def test_public_addresses(address):
    assert is_public(address)


def test_a_redirect_into_our_network_is_not_followed_with_the_guard_on(
    app, monkeypatch, demo_catalog, connects
):
    """The first hop is a provider the operator allows; its redirect leads inward."""
    reached = []
    inner = Flask("inner")

    @inner.get("/<path:anything>")
    def anything(anything):
        reached.append(anything)
        return {"issuer": "x"}

    with serving(inner, host="127.0.0.2") as target:
        outer = Flask("outer")

        @outer.get("/<path:anything>")
        def bounce(anything):
            return redirect(f"{target}/{anything}", code=302)

        with serving(outer) as base:
            refuse_private(app, monkeypatch, allowed=LOOPBACK)
            found = register(app, slug="bouncer", issuer=base)
    assert not found["enabled"]
    assert "HTTP 302, a redirect (not followed)" in found["check_error"], found
    assert reached == []
    assert not [a for a in connects if a[0] == "127.0.0.2"], connects


def test_an_allowed_network_is_reached_by_name_through_the_guard(
    app, client, monkeypatch, op, demo_catalog, connects
):
    """A whole login through the guarded transport: it connects to the address it checked,
    while every request still names the provider's host."""
    port = int(op.issuer.rsplit(":", 1)[1])
    op.issuer = f"http://localhost:{port}"
    refuse_private(app, monkeypatch, allowed=LOOPBACK)
    assert register(app, slug="byname", issuer=op.issuer)["enabled"]
    assert redeem(client, browser_login(client, "byname")).status_code == 200
    assert op.hosts and set(op.hosts) == {f"localhost:{port}"}
    assert op.jwks_hits == 1 and op.userinfo_hits == 1
    assert {a[:2] for a in connects if a[1] == port} <= {("127.0.0.1", port), ("::1", port)}


@pytest.fixture(scope="module")
def localhost_tls(tmp_path_factory):
    """A certificate for the name localhost only, from a CA of this test: (context, CA file)."""
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)

    def certificate(subject, key, issuer, issuer_key, extension):
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(extension, critical=False)
            .sign(issuer_key, hashes.SHA256())
        )

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("test CA", ca_key, "test CA", ca_key, x509.BasicConstraints(True, None))
    leaf = certificate(
        "localhost",
        key,
        "test CA",
        ca_key,
        x509.SubjectAlternativeName([x509.DNSName("localhost")]),
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "leaf.pem", folder / "key.pem")
    return context, str(folder / "ca.pem")


def test_tls_checks_the_host_name_while_connecting_to_the_checked_address(
    app, localhost_tls, connects
):
    context, ca_file = localhost_tls
    names: list = []
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    hosts = []
    provider = Flask("tls")

    @provider.get("/document")
    def document():
        hosts.append(request.host)
        return {"ok": True}

    session = new_session(allow_private=False, allowed_networks=LOOPBACK)
    session.verify = ca_file
    app.extensions["provider_http"] = session
    with serving(provider, ssl_context=context) as base:
        port = int(base.rsplit(":", 1)[1])
        with app.test_request_context():
            answer = remote.request_json("GET", f"https://localhost:{port}/document", what="doc")
            assert answer == (200, {"ok": True})
            # The certificate names localhost, not 127.0.0.1: the check is still made.
            with pytest.raises(remote.ProviderUnreachable):
                remote.request_json("GET", f"https://127.0.0.1:{port}/document", what="doc")
    assert names[0] == "localhost" and hosts == [f"localhost:{port}"]
    assert {a[0] for a in connects if a[1] == port} <= {"127.0.0.1", "::1"}


def test_a_login_meets_the_refusal_as_a_clear_problem(app, client, monkeypatch, registered):
    refuse_private(app, monkeypatch)
    response, _ = start(client, "testidp")
    assert response.status_code == 502
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith("provider-address-refused")
    assert "not a public address" in problem["detail"]


def test_a_refusal_after_the_browser_leg_reaches_the_app(app, client, monkeypatch, registered):
    """Discovery was fetched while allowed; the token endpoint is refused on the way back."""
    response, _ = start(client, "testidp")
    callback = follow_provider(response.headers["Location"])
    refuse_private(app, monkeypatch)
    back = come_back(client, callback)
    assert back.status_code == 302
    answer = query_of(back.headers["Location"])
    assert answer["error_code"] == "provider-address-refused" and "code" not in answer


def test_an_oversized_answer_is_cut_off(app, demo_catalog):
    huge = Flask("huge")

    @huge.get("/.well-known/openid-configuration")
    def discovery():
        return {"issuer": "x", "padding": "x" * (remote.MAX_RESPONSE_BYTES + 1)}

    with serving(huge) as base:
        found = register(app, slug="huge", issuer=base)
    assert not found["enabled"] and "the answer is over 512 KiB" in found["check_error"], found


def test_production_refuses_private_networks_unless_told(tmp_path):
    production = {"APP_ENV": "production", "SECRET_KEY": "x" * 40}
    loaded = config_module.load(str(tmp_path), production)
    assert loaded["PROVIDER_ALLOW_PRIVATE_NETWORKS"] is False
    assert loaded["PROVIDER_ALLOWED_NETWORKS"] == ()
    development = config_module.load(str(tmp_path), {"APP_ENV": "development"})
    assert development["PROVIDER_ALLOW_PRIVATE_NETWORKS"] is True
    allowed = config_module.load(
        str(tmp_path), {**production, "PROVIDER_ALLOWED_NETWORKS": "10.20.0.0/16, fd12:3456::/48"}
    )
    assert allowed["PROVIDER_ALLOWED_NETWORKS"] == (
        ipaddress.ip_network("10.20.0.0/16"),
        ipaddress.ip_network("fd12:3456::/48"),
    )


@pytest.mark.parametrize("value", ["10.20.0.1/16", "internal", "10.0.0.0/33"])
def test_allowed_networks_must_be_networks(tmp_path, value):
    with pytest.raises(RuntimeError, match="PROVIDER_ALLOWED_NETWORKS"):
        config_module.load(str(tmp_path), {"PROVIDER_ALLOWED_NETWORKS": value})
