"""Sessions in Chromium: an expired session met by an HTMX action or a posted form, the warning
before expiry with "Stay signed in", and the login lockout as a person meets it.

A session "expires" here the way the server sees it: the browser still sends a session cookie that
no longer names a live session."""

import re

import pytest

from tests.e2e.web_support import BROWSER_TEST, chromium, new_page, session_cookie, violations
from tests.helpers import PASSWORD, make_scan

pytestmark = BROWSER_TEST


def expire(page, base_url):
    page.context.add_cookies([{"name": "sessionid", "value": "a-session-that-has-ended", "url": base_url}])


def log_in(page, username="staff", password=PASSWORD):
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def scans(staff):
    return [make_scan(staff, f"s{i}.png", label, 0.9, seed=i) for i, label in enumerate(["glioma", "notumor"])]


def test_an_htmx_filter_after_expiry_takes_the_whole_page_to_login_and_back(scans, staff, live_server):
    from playwright.sync_api import expect

    cookie = session_cookie(staff)
    with chromium() as browser:
        page = new_page(browser, live_server.url, cookie)
        page.goto(live_server.url + "/scans/?sort=-created")
        expect(page.get_by_test_id("scan-row")).to_have_count(2)
        expire(page, live_server.url)
        page.get_by_label("Label").select_option("glioma")  # an HTMX request
        expect(page.get_by_test_id("session-expired")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fscans%2F%3Fsort%3D-created&expired=1$"))
        expect(page.locator("nav")).to_have_count(1)  # the login page, not nested in the results
        log_in(page)
        expect(page).to_have_url(live_server.url + "/scans/?sort=-created")
        expect(page.get_by_test_id("scan-row")).to_have_count(2)
        assert violations(page) == []


def test_a_review_typed_when_the_session_ended_survives_signing_in_again(scans, staff, live_server):
    from playwright.sync_api import expect

    scan = scans[0]
    cookie = session_cookie(staff)
    with chromium() as browser:
        page = new_page(browser, live_server.url, cookie)
        page.goto(f"{live_server.url}/scans/{scan.pk}/")
        form = page.get_by_test_id("review-form")
        form.get_by_label("Confirmed").check()
        form.get_by_label("Comment").fill("Enhancing rim, agree with glioma.")
        expire(page, live_server.url)
        form.get_by_role("button", name="Save review").click()
        expect(page.get_by_test_id("session-expired")).to_be_visible()
        log_in(page)
        expect(page).to_have_url(f"{live_server.url}/scans/{scan.pk}/")  # a page, not the POST-only address
        expect(page.get_by_test_id("draft-restored")).to_be_visible()
        form = page.get_by_test_id("review-form")
        expect(form.get_by_label("Comment")).to_have_value("Enhancing rim, agree with glioma.")
        expect(form.get_by_label("Confirmed")).to_be_checked()
        form.get_by_role("button", name="Save review").click()
        expect(page.get_by_test_id("review-status")).to_have_text("confirmed")
        expect(page.get_by_test_id("reviews")).to_contain_text("Enhancing rim, agree with glioma.")
        page.reload()
        expect(page.get_by_test_id("draft-restored")).to_have_count(0)  # used once, then gone


def test_a_warning_comes_before_expiry_and_stay_signed_in_extends_the_session(staff, live_server, settings):
    from playwright.sync_api import expect

    settings.SESSION_WARNING_SECONDS = 300
    cookie = session_cookie(staff, seconds=240)  # inside the warning window already
    with chromium() as browser:
        page = new_page(browser, live_server.url, cookie)
        page.goto(live_server.url + "/scans/")
        warning = page.get_by_test_id("session-warning")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text(re.compile(r"Your session ends at \d\d:\d\d \(in about 4 minutes\)"))
        warning.get_by_role("button", name="Stay signed in").click()
        expect(warning).to_be_hidden()
        remaining = page.evaluate("fetch('/session/').then(r => r.json()).then(d => d.remaining)")
        assert remaining > settings.SESSION_COOKIE_AGE - 60


def test_a_session_that_runs_out_says_so_and_the_next_action_goes_to_login(scans, staff, live_server):
    from playwright.sync_api import expect

    cookie = session_cookie(staff, seconds=10)
    with chromium() as browser:
        page = new_page(browser, live_server.url, cookie)
        page.goto(live_server.url + "/scans/")
        warning = page.get_by_test_id("session-warning")
        expect(warning).to_contain_text("Your session has ended", timeout=20000)
        expect(warning.get_by_role("link", name="Log in again")).to_be_visible()
        page.get_by_label("Label").select_option("glioma")
        expect(page.get_by_test_id("session-expired")).to_be_visible()


def test_the_login_page_locks_after_the_limit_and_says_why(staff, live_server, settings):
    from playwright.sync_api import expect

    settings.LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 3
    with chromium() as browser:
        page = new_page(browser, live_server.url, None)
        page.goto(live_server.url + "/accounts/login/")
        for _ in range(2):
            log_in(page, password="not-the-password")
            expect(page.get_by_role("alert")).to_contain_text("do not match")
        log_in(page, password="not-the-password")
        expect(page.get_by_test_id("lockout")).to_contain_text("Sign-in is blocked for 15 minutes")
        log_in(page)  # the right password, too late
        expect(page.get_by_test_id("lockout")).to_be_visible()
        expect(page).to_have_url(re.compile("/accounts/login/"))
