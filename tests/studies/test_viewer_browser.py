"""The series page in a real browser (Debian's chromium via Playwright): arrow keys and the mouse
wheel move through the slices, each with its result; a new window re-renders the slice."""

from __future__ import annotations

import time

import pytest

from tests.api.conftest import token_client
from tests.e2e.test_browser import ARGS, CHROMIUM
from tests.helpers import PASSWORD
from tests.studies.series import stow_series

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]


def wait_until(page, expression: str, timeout: float = 30) -> None:
    """Poll `expression` from here: page.wait_for_function polls inside the page with eval, which the
    CSP forbids (it failed whenever the first check was still false, as on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        time.sleep(0.05)


def test_a_reviewer_scrolls_through_a_series_with_keys_and_wheel_and_windows_it(live_server, owner, reviewer):
    series = stow_series(token_client(owner), "glioma", 5)
    slice_scan = series.slices.all()[2].scan_id  # the third slice's own result page
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(live_server.url + "/accounts/login/")
        page.get_by_label("User name").fill("reviewer")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server.url}/studies/series/{series.pk}/")
        position, result = page.get_by_test_id("slice-pos"), page.get_by_test_id("slice-result")
        assert position.inner_text() == "Slice 1 of 5" and "(0." in result.inner_text()  # label (confidence)
        page.get_by_test_id("viewer").focus()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        assert position.inner_text() == "Slice 3 of 5"
        page.keyboard.press("ArrowUp")
        assert position.inner_text() == "Slice 2 of 5"
        page.get_by_test_id("viewer").hover()
        page.mouse.wheel(0, 120)
        wait_until(page, "document.getElementById('slice-pos').textContent === 'Slice 3 of 5'")
        assert page.get_by_test_id("slice-scan").get_attribute("href") == f"/scans/{slice_scan}/"
        before = page.locator("#slice-img").get_attribute("src")
        page.locator("#ww").fill("500")
        page.locator("#ww").dispatch_event("change")
        after = page.locator("#slice-img").get_attribute("src")
        assert after != before and "w=500" in after
        wait_until(page, "document.getElementById('slice-img').complete && "
                         "document.getElementById('slice-img').naturalWidth === 256")
        assert "trained on single 2-D slices" in page.get_by_test_id("single-slice").inner_text()
        browser.close()
