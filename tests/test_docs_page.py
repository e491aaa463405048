"""``/docs`` in a real browser (Debian's Chromium), with the outside world unreachable.

The page must load with every request staying on this server (its script and styles come from
a package, not a CDN), list the document's operations, and "Try it out" must call the running
app. Chromium resolves every host name but 127.0.0.1 to nothing, and its network log is read
back to show no request went elsewhere. `make browser` installs chromium and chromium-driver.
"""

from __future__ import annotations

import pytest

from tests.browser import requested_urls
from tests.providers.oidc_provider import serving

pytestmark = [pytest.mark.postgres_only, pytest.mark.committing]


def listed_operations(browser) -> int:
    """The operations the page lists, scrolled through from top to bottom: past 150 tags and
    operations Swagger UI renders only those near the window (a virtual list)."""
    from selenium.webdriver.common.by import By

    listed = set()
    while True:
        listed |= {
            b.get_attribute("id") for b in browser.find_elements(By.CSS_SELECTOR, ".opblock")
        }
        before = browser.execute_script("return window.scrollY")
        after = browser.execute_script("window.scrollBy(0, 1200); return window.scrollY")
        if after == before:
            return len(listed)
        # Let the list render what came into view.
        browser.execute_script("return new Promise(r => setTimeout(r, 100))")


def test_the_docs_page_works_offline_and_tries_a_public_operation(
    app, demo_catalog, browser, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    operations = sum(
        1
        for item in app.extensions["api"].spec.to_dict()["paths"].values()
        for method in item
        if method != "parameters"
    )
    with serving(app) as base:
        browser.get(f"{base}/docs/")
        wait = WebDriverWait(browser, 30)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
        assert listed_operations(browser) == operations
        browser.execute_script("window.scrollTo(0, 0)")

        # Swagger UI fills an operation's block in after the block itself: wait for its path.
        search = wait.until(
            lambda d: d.find_element(
                By.XPATH,
                "//div[contains(@class,'opblock-get')][.//*[@data-path='/api/v1/procedures']]",
            )
        )
        search.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
        wait.until(lambda d: search.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
        search.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
        wait.until(seen.element_to_be_clickable(search.find_element(By.CSS_SELECTOR, ".execute")))
        search.find_element(By.CSS_SELECTOR, ".execute").click()
        status = wait.until(
            lambda d: search.find_element(
                By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"
            )
        )
        wait.until(lambda d: status.text.strip())
        assert status.text.strip().startswith("200"), status.text
        body = search.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight").text
        assert "1.001193" in body  # the demo catalog's birth registration, from the live app
        browser.save_screenshot(str(tmp_path / "docs.png"))

        urls = requested_urls(browser)
    assert any(url.endswith("/openapi.json") for url in urls), urls
    assert any("/api/v1/procedures" in url for url in urls), urls
    # The browser's own pages (chrome://) are not the network; every http(s) request is ours.
    network = [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws", "wss")]
    elsewhere = [u for u in network if not u.startswith(base + "/")]
    assert elsewhere == [], elsewhere
    assert (tmp_path / "docs.png").stat().st_size > 10_000
