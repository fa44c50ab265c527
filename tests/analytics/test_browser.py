"""The dashboard in a real browser: every chart draws (its canvas is not blank), before and after
an HTMX filter change. Chart.js comes from the npm registry at set-up and is served by a local
server of its own, cross-origin, with CORS and the SRI hash computed here, as a CDN would."""

import base64
import hashlib
import os
import shutil
import subprocess
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.test_browser import ARGS, CHROMIUM
from tests.helpers import PASSWORD

CHARTJS = "chart.js@4.6.1"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]


@pytest.fixture(scope="session")
def chartjs_dir(tmp_path_factory) -> Path:
    """chart.umd.js from the npm registry, unpacked into a folder of its own."""
    if not shutil.which("npm"):
        pytest.skip("npm is not installed")
    folder = tmp_path_factory.mktemp("chartjs")
    subprocess.run(["npm", "pack", CHARTJS, "--pack-destination", str(folder), "--silent"], check=True,
                   capture_output=True, timeout=120)
    with tarfile.open(next(folder.glob("chart.js-*.tgz"))) as tar:
        data = tar.extractfile("package/dist/chart.umd.js").read()
    (folder / "chart.umd.js").write_bytes(data)
    return folder


class _CorsHandler(SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def chartjs_url(chartjs_dir, settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_CorsHandler, directory=str(chartjs_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    digest = hashlib.sha384((chartjs_dir / "chart.umd.js").read_bytes()).digest()
    settings.CHARTJS_URL = f"http://127.0.0.1:{server.server_address[1]}/chart.umd.js"
    settings.CHARTJS_INTEGRITY = "sha384-" + base64.b64encode(digest).decode()
    yield settings.CHARTJS_URL
    server.shutdown()


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        browser.close()


NOT_BLANK = """c => {
  if (!window.Chart || !Chart.getChart(c) || !c.width || !c.height) return false;
  const pixels = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
  return false;
}"""
DRAWN = f"""() => {{
  const canvases = [...document.querySelectorAll("canvas[data-chart]")];
  return canvases.length > 0 && canvases.every({NOT_BLANK});
}}"""


def test_every_chart_draws_and_redraws_after_a_filter(known, staff, chartjs_url, page, live_server):
    from playwright.sync_api import expect

    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "favicon" not in m.location["url"] else 0)
    page.goto(live_server.url + "/accounts/login/?next=/analytics/")
    page.get_by_label("User name").fill("staff")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Analytics")).to_be_visible()
    assert page.locator("canvas[data-chart]").count() == 7
    page.wait_for_function(DRAWN, timeout=15000)
    expect(page.get_by_text("No reviews yet")).to_be_visible()
    #  The usage chart (scans per user and day) drew its stacked bars, and its table names the users.
    assert page.locator("#chart-usage").evaluate(NOT_BLANK)
    expect(page.locator("#usage-title ~ .row table")).to_contain_text("colleague")
    expect(page.locator("#classes-title ~ .row table")).to_contain_text("Glioma")
    if os.environ.get("NEUROLENS_SCREENSHOTS"):
        page.screenshot(path=SHOTS / "analytics.png", full_page=True)

    page.get_by_label("Class", exact=True).select_option("glioma")
    expect(page.get_by_test_id("totals")).to_contain_text("3 predictions")
    assert "label=glioma" in page.url
    page.wait_for_function(DRAWN, timeout=15000)
    assert page.locator("#chart-usage").evaluate(NOT_BLANK)
    assert not errors, errors
