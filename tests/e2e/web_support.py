"""Shared by the browser tests of tests/e2e/test_web_*.py: a signed-in browser context that records
Content-Security-Policy violations, the app's pages with data on them, and the checks each page must
pass (axe-core, no horizontal overflow)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from accounts.sessions import DEADLINE
from tests.e2e.test_browser import ARGS, CHROMIUM

#  The marks of every browser test module here.
BROWSER_TEST = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]
CHARTJS_FILE = Path(settings.BASE_DIR) / "static" / "vendor" / "chartjs" / "chart.umd.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}

#  Every CSP violation the page reports, kept in the page (read back by `violations`).
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", e => {
  window.__csp.push(e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""
OVERFLOW = """() => {
  const doc = document.documentElement;
  const wide = [...document.querySelectorAll("body *")].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > doc.clientWidth + 1 && getComputedStyle(el).position !== "fixed";
  }).slice(0, 3).map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + [...el.classList].join("."));
  return {scroll: doc.scrollWidth, client: doc.clientWidth, wide};
}"""


def session_cookie(user, seconds: int = 3600) -> dict:
    """A signed-in session made in the database (before Playwright starts: no ORM call runs while
    it holds the thread)."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[DEADLINE] = time.time() + seconds
    store.create()
    return {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key}


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, base_url: str, cookie: dict | None, theme: str = "dark", viewport: dict = DESKTOP,
             chartjs: str = "serve"):
    """A page in its own context; `chartjs`: "serve" answers the CDN address with the real file (as
    the CDN would, there is no internet here), "block" makes it unreachable."""
    context = browser.new_context(viewport=viewport, color_scheme=theme, timezone_id="Europe/Berlin",
                                  device_scale_factor=1)
    if cookie:
        context.add_cookies([{**cookie, "url": base_url}])
    context.add_init_script(RECORD_CSP)
    cdn = settings.CHARTJS_URL
    if chartjs == "block":
        context.route(cdn, lambda route: route.abort("internetdisconnected"))
    else:
        context.route(cdn, lambda route: route.fulfill(
            status=200, body=cdn_chartjs(),
            headers={"Content-Type": "application/javascript", "Access-Control-Allow-Origin": "*"}))
    return context.new_page()


def cdn_chartjs() -> bytes:
    """The CDN's file, byte for byte (its integrity hash must match): ours less its last line."""
    return CHARTJS_FILE.read_bytes() + b"//# sourceMappingURL=chart.umd.js.map\n"


def violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


def serious_axe_findings(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {node['target']} {_detail(node)}"
            for v in found if v["impact"] in ("serious", "critical") for node in v["nodes"]]


def _detail(node) -> str:
    data = next((check.get("data") for check in node.get("any", []) if isinstance(check.get("data"), dict)), None)
    if data and "contrastRatio" in data:
        return f"{data['fgColor']} on {data['bgColor']} = {data['contrastRatio']}:1"
    return node.get("failureSummary", "")[:160]


def overflow(page) -> dict:
    return page.evaluate(OVERFLOW)
