"""The clinical workflow in a real browser: a DICOM upload, its heat map, a review, the patient page
and the audit trail."""

import re

import pytest

from tests.dicom_files import mr_file
from tests.e2e.test_browser import ARGS, CHROMIUM, SHOTS
from tests.helpers import PASSWORD

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]


@pytest.fixture
def page(staff, live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
        yield context.new_page()
        browser.close()


def test_an_administrator_uploads_dicom_reviews_it_and_finds_it_audited(page, live_server, tmp_path):
    from playwright.sync_api import expect

    dicom = tmp_path / "study.dcm"
    dicom.write_bytes(mr_file(frames=3))
    page.goto(live_server.url + "/")
    page.get_by_label("User name").fill("staff")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.set_input_files("#id_image", str(dicom))
    page.get_by_role("button", name="Analyse").click()
    expect(page.get_by_test_id("label")).to_have_text(re.compile("Tumor"))
    #  A correction must name another class than the model's.
    other = ("pituitary", "Pituitary") if "Meningioma" in page.get_by_test_id("label").inner_text() else (
        "meningioma", "Meningioma")
    page.get_by_role("link", name="Open details").click()

    expect(page.get_by_text("2 of 3 (the middle frame was classified)")).to_be_visible()
    layer = page.locator("#heat-layer")
    expect(layer).to_be_visible()
    page.wait_for_function("() => document.getElementById('heat-layer').naturalWidth === 128")  # the scan's width
    page.get_by_label("Show heat map").uncheck()
    expect(layer).to_be_hidden()
    page.get_by_label("Show heat map").check()
    page.locator("#heat-opacity").fill("30")
    expect(layer).to_have_css("opacity", "0.3")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "detail-dicom.png", full_page=True)

    page.get_by_label("Corrected").check()
    page.get_by_label("Correct label (when correcting)").select_option(other[0])
    page.get_by_label("Comment").fill("Extra-axial, dural tail.")
    page.get_by_role("button", name="Save review").click()
    expect(page.get_by_test_id("review-status")).to_have_text(f"corrected to {other[1]} Tumor")

    page.get_by_role("link", name="Patients").click()
    page.get_by_test_id("patient-row").get_by_role("link").click()
    expect(page.get_by_test_id("review-badge")).to_have_text("corrected")

    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Action").select_option("reviewed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("audit-row")).to_have_count(1)
