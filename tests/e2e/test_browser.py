"""A clinician's path through the app in a real browser (Debian's chromium, driven by Playwright).

It also saves the screenshots the README shows, into docs/screenshots/.
"""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import DATASETS, PASSWORD, make_scan, png

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, timezone_id="Europe/Berlin",
                                      color_scheme="dark")
        yield context.new_page()
        browser.close()


def drop_file(page, name: str, data: bytes) -> None:
    """Drop a file on the drop zone as a user dragging it from their desktop would."""
    transfer = page.evaluate_handle(
        """([name, bytes]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name));
            return dt;
        }""", [name, list(data)])
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})


def sample_image(tmp_path: Path) -> Path:
    real = DATASETS / "brain-tumor-mri" / "Testing" / "meningioma"
    found = sorted(real.glob("*.jpg"))[:1] if real.is_dir() else []
    if found:
        return found[0]
    path = tmp_path / "generated-slice.png"
    path.write_bytes(png(320, seed=11))
    return path


@pytest.fixture
def earlier_scans(owner):
    t0 = datetime.now(UTC) - timedelta(days=3)
    for i, (label, conf) in enumerate([("glioma", 0.91), ("pituitary", 0.84), ("notumor", 0.97), ("glioma", 0.62)]):
        make_scan(owner, f"earlier-{i}.png", label, conf, created=t0 + timedelta(hours=i), patient_ref=f"ST-{i}",
                  seed=50 + i)


#  The database is filled before the browser starts (fixture order): no ORM call runs while
#  Playwright holds the thread.
def test_a_clinician_uploads_sees_the_result_and_filters_the_history(earlier_scans, page, live_server, tmp_path):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Log in to NeuroLens")).to_be_visible()
    page.screenshot(path=SHOTS / "login.png")
    page.get_by_label("User name").fill("owner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Upload an MRI slice")).to_be_visible()

    drop_file(page, "notes.txt", b"not a picture at all")
    expect(page.locator("[data-file-name]")).to_have_text("notes.txt")
    page.get_by_role("button", name="Analyse").click()
    expect(page.get_by_role("alert")).to_contain_text("This file is not an image")

    image = sample_image(tmp_path)
    page.set_input_files("#id_image", str(image))
    page.get_by_label("Patient reference").fill("ST-99")
    page.get_by_role("button", name="Analyse").click()
    result = page.get_by_test_id("result")
    expect(result).to_be_visible()
    expect(page.get_by_test_id("label")).to_have_text(re.compile("Tumor"))
    expect(page.get_by_test_id("class-bar")).to_have_count(4)
    expect(result).to_contain_text("supports a decision; it is not a diagnosis")
    expect(result).to_contain_text(re.compile(r"CES?T"))  # the browser's zone, Europe/Berlin
    expect(result.get_by_role("img")).to_have_js_property("complete", True)
    page.screenshot(path=SHOTS / "upload-result.png", full_page=True)

    page.get_by_role("link", name="History").click()
    expect(page.get_by_test_id("scan-row")).to_have_count(5)
    page.screenshot(path=SHOTS / "history.png", full_page=True)
    page.get_by_label("Label").select_option("glioma")
    expect(page.get_by_test_id("scan-row")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"label=glioma"))
    page.get_by_role("link", name=re.compile("^Confidence")).click()
    expect(page).to_have_url(re.compile(r"sort=-confidence"))
    expect(page.get_by_test_id("scan-row").first).to_contain_text("earlier-0.png")
    page.screenshot(path=SHOTS / "history-filtered.png", full_page=True)
    page.go_back()
    page.go_back()
    expect(page.get_by_test_id("scan-row")).to_have_count(5)

    page.get_by_role("link", name=image.name).click()
    expect(page.get_by_role("heading", name=image.name)).to_be_visible()
    expect(page.get_by_text("ST-99")).to_be_visible()
    page.screenshot(path=SHOTS / "detail.png", full_page=True)

    page.get_by_role("link", name="Model").click()
    expect(page.get_by_test_id("confusion")).to_be_visible()
    page.screenshot(path=SHOTS / "model.png", full_page=True)

    page.set_viewport_size({"width": 768, "height": 1024})  # a tablet held upright
    page.get_by_role("link", name="History").click()
    expect(page.get_by_test_id("scan-row")).to_have_count(5)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("button", name="Light theme").click()
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
    expect(page.get_by_role("button", name="Dark theme")).to_be_visible()
