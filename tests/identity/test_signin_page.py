"""``/signin`` in Debian's Chromium: the kiosk's page, signed in by a phone played by the test.

The page starts the request, draws the QR and the number; the "phone" (this test, through the
API, as a signed-in citizen) reads the request, picks the number the page shows, and the page,
polling, signs in and says who. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import pytest
import requests

from tests.browser import requested_urls
from tests.helpers.dpop import DeviceKey, authorized, bound_sign_in
from tests.helpers.signin import bearer
from tests.providers.oidc_provider import serving

pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]

WARD = "001.01.00.H56"


@pytest.fixture
def kiosk(app, client, demo_catalog, make_staff) -> dict:
    admin = make_staff("0911300001", agency=WARD, role="agency_admin")[0]
    registered = client.post(
        "/api/v1/admin/signin-clients",
        json={"agency": WARD, "kind": "kiosk", "name": "Ki-ốt một cửa", "place": "Tầng 1"},
        headers=bearer(admin),
    )
    assert registered.status_code == 201, registered.get_json()
    return registered.get_json()


def tokens_of(browser) -> dict:
    return browser.execute_script("return JSON.parse(sessionStorage['dvc.tokens'])")


def stayed_home(browser, base: str) -> list[str]:
    """The URLs the page fetched, all on this server (no CDN, nothing outside)."""
    urls = requested_urls(browser)
    network = [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws", "wss")]
    assert [u for u in network if not u.startswith(base + "/")] == []
    return network


def test_a_phone_signs_the_kiosk_page_in(app, client, kiosk, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    phone = bound_sign_in(app, client, DeviceKey(), "0912345678")
    with serving(app) as base:
        browser.get(f"{base}/signin?client={kiosk['id']}")
        wait = WebDriverWait(browser, 30)
        page = browser.find_element(By.ID, "signin")
        wait.until(lambda d: page.get_attribute("data-state") == "waiting")
        code = browser.find_element(By.ID, "code").text
        request_id = page.get_attribute("data-request")
        qr = browser.find_element(By.ID, "qr")
        wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", qr) > 0)
        browser.save_screenshot(str(tmp_path / "signin-waiting.png"))

        # The phone: what it shows, then the number the citizen reads off the screen.
        path = f"/api/v1/me/cross-device/{request_id}"
        shown = requests.get(
            base + path, headers=authorized(phone, "GET", path, base=base), timeout=10
        ).json()
        assert shown["client"]["name"] == "Ki-ốt một cửa" and code in shown["choices"]
        path = f"/api/v1/me/cross-device/{request_id}/approve"
        approved = requests.post(
            base + path,
            json={"code": code},
            headers=authorized(phone, "POST", path, base=base),
            timeout=10,
        )
        assert approved.status_code == 200, approved.text

        wait.until(lambda d: page.get_attribute("data-state") == "signed-in")
        assert browser.find_element(By.ID, "who").text == "+84912345678"
        browser.save_screenshot(str(tmp_path / "signin-done.png"))
        tokens = tokens_of(browser)
        network = stayed_home(browser, base)
    me = client.get("/api/v1/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.get_json()["phone"] == "+84912345678"
    assert any("/signin/qr/" in u for u in network), network
    assert (tmp_path / "signin-done.png").stat().st_size > 5_000


def test_a_denied_request_offers_a_new_code(app, client, kiosk, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    phone = bound_sign_in(app, client, DeviceKey(), "0912345678")
    with serving(app) as base:
        browser.get(f"{base}/signin?client={kiosk['id']}")
        wait = WebDriverWait(browser, 30)
        page = browser.find_element(By.ID, "signin")
        wait.until(lambda d: page.get_attribute("data-state") == "waiting")
        first = page.get_attribute("data-request")
        path = f"/api/v1/me/cross-device/{first}/deny"
        denied = requests.post(
            base + path, headers=authorized(phone, "POST", path, base=base), timeout=10
        )
        assert denied.status_code == 204
        wait.until(lambda d: page.get_attribute("data-state") == "denied")
        browser.find_element(By.ID, "again").click()
        wait.until(lambda d: page.get_attribute("data-state") == "waiting")
        assert page.get_attribute("data-request") != first


def test_the_page_and_its_qr_refuse_what_is_not_theirs(app, client, kiosk):
    unknown = client.get("/signin?client=01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"] == "application/problem+json"
    assert client.get("/signin").status_code == 404
    assert client.get("/signin/qr/unknown.svg").status_code == 404
    page = client.get(f"/signin?client={kiosk['id']}")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "Ki-ốt một cửa" in page.get_data(as_text=True)


def test_a_computer_makes_a_passkey_and_signs_in_with_it(
    app, client, kiosk, browser, tmp_path, monkeypatch
):
    """The QR path end to end, then a passkey made on this computer (Chromium's virtual
    authenticator: a platform one with user verification), then a sign-in with it alone."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.virtual_authenticator import (
        Protocol,
        Transport,
        VirtualAuthenticatorOptions,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    phone = bound_sign_in(app, client, DeviceKey(), "0912345678")
    with serving(app) as served:
        base = served.replace("127.0.0.1", "localhost")  # an RP id is a name, never an address
        monkeypatch.setitem(app.config, "WEBAUTHN_RP_ID", "localhost")
        monkeypatch.setitem(app.config, "WEBAUTHN_ORIGINS", (base,))
        browser.get(f"{base}/signin?client={kiosk['id']}")
        browser.add_virtual_authenticator(
            VirtualAuthenticatorOptions(
                protocol=Protocol.CTAP2,
                transport=Transport.INTERNAL,
                has_resident_key=True,
                has_user_verification=True,
                is_user_verified=True,
            )
        )
        wait = WebDriverWait(browser, 30)
        page = browser.find_element(By.ID, "signin")
        wait.until(lambda d: page.get_attribute("data-state") == "waiting")
        request_id, code = page.get_attribute("data-request"), browser.find_element(By.ID, "code")
        path = f"/api/v1/me/cross-device/{request_id}/approve"
        approved = requests.post(
            served + path,
            json={"code": code.text},
            headers=authorized(phone, "POST", path, base=served),
            timeout=10,
        )
        assert approved.status_code == 200, approved.text
        wait.until(lambda d: page.get_attribute("data-state") == "signed-in")

        browser.find_element(By.ID, "make-passkey").click()
        wait.until(lambda d: page.get_attribute("data-passkey") == "made")
        [made] = browser.get_credentials()
        assert made.is_resident_credential and made.sign_count >= 0
        listed = client.get("/api/v1/me/passkeys", headers=bearer(tokens_of(browser)))
        assert [p["name"] for p in listed.get_json()["items"]] == ["Máy tính · Computer"]

        browser.find_element(By.ID, "sign-out").click()
        wait.until(lambda d: page.get_attribute("data-state") == "waiting")
        browser.find_element(By.ID, "passkey").click()
        wait.until(lambda d: page.get_attribute("data-state") == "signed-in")
        assert browser.find_element(By.ID, "who").text == "+84912345678"
        browser.save_screenshot(str(tmp_path / "signin-passkey.png"))
        tokens = tokens_of(browser)
        network = stayed_home(browser, base)
    me = client.get("/api/v1/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.get_json()["phone"] == "+84912345678"
    assert any(u.endswith("/api/v1/auth/passkey/verify") for u in network), network
