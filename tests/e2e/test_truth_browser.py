"""Issue 13 in a real browser: an out-of-scope upload is "not assessed", a reviewer works through the
worklist with "Save and next", two clinicians' equal references stay two patients, and a minimum
confidence of 87 % filters the history."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import skimage.data
from PIL import Image

from tests.e2e.test_browser import ARGS, CHROMIUM
from tests.helpers import PASSWORD, make_scan

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def browser(owner, colleague, reviewer, live_server):
    """Requested after the test's data: nothing touches the database while Playwright's loop runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def logged_in(browser, live_server, username: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(live_server.url + "/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


def test_an_out_of_scope_photo_is_not_assessed_in_the_page(live_server, tmp_path, browser):
    from playwright.sync_api import expect

    photo = tmp_path / "holiday.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    page = logged_in(browser, live_server, "owner")
    page.set_input_files("#id_image", str(photo))
    page.get_by_role("button", name="Analyse").click()
    expect(page.get_by_test_id("label")).to_have_text("Not assessed: out of scope")
    expect(page.get_by_test_id("out-of-scope-reason")).to_contain_text(re.compile(r"Why: \S"))  # the guard's reason
    expect(page.get_by_test_id("class-bar")).to_have_count(0)
    assert not re.search("Tumor|calibrated", page.get_by_test_id("result").inner_text())
    page.get_by_role("link", name="Open details").click()
    expect(page.get_by_test_id("label")).to_have_text("Not assessed: out of scope")
    expect(page.locator("#heat-layer")).to_have_count(0)
    assert "Tumor" not in page.locator("main").inner_text()


@pytest.fixture
def to_review(owner):
    make_scan(owner, "sure-glioma.png", "glioma", 0.97, created=T0, seed=1)
    make_scan(owner, "photo.png", "notumor", 0.25, out_of_scope=True, created=T0 + timedelta(hours=1), seed=2)
    make_scan(owner, "unsure-meningioma.png", "meningioma", 0.51, created=T0 + timedelta(hours=2), seed=3)


def test_a_reviewer_works_through_the_worklist_with_save_and_next(live_server, to_review, browser):
    from playwright.sync_api import expect

    page = logged_in(browser, live_server, "reviewer")
    page.get_by_role("link", name="Worklist").click()
    expect(page.get_by_test_id("worklist-row")).to_have_count(3)
    assert "suspected tumour, low confidence" in page.get_by_test_id("worklist-row").first.inner_text()
    page.get_by_test_id("start-review").click()

    expect(page.locator("h1")).to_have_text("unsure-meningioma.png")
    #  The verdict is given beside the image, above the scan's metadata.
    form, image = page.get_by_test_id("review-form").bounding_box(), page.locator(".scan-image").bounding_box()
    assert form["x"] > image["x"] + image["width"] - 1 and form["y"] < image["y"] + image["height"]
    page.get_by_label("Corrected").check()
    page.get_by_label("Correct label (when correcting)").select_option("pituitary")
    page.get_by_role("button", name="Save and next").click()

    expect(page.locator("h1")).to_have_text("photo.png")
    page.get_by_label("Not assessable", exact=True).check()
    page.get_by_label("Reason (when not assessable)").select_option("not_brain")
    page.get_by_role("button", name="Save and next").click()

    expect(page.locator("h1")).to_have_text("sure-glioma.png")
    page.get_by_label("Confirmed").check()
    page.get_by_role("button", name="Save and next").click()
    expect(page.get_by_test_id("empty")).to_contain_text("Every scan has a verdict")

    page.get_by_role("link", name="History").click()
    rows = page.get_by_test_id("row-result")
    expect(rows).to_have_count(3)
    text = page.locator("table").inner_text()
    assert "Pituitary Tumor" in text and "model said: Meningioma Tumor, 51.0%" in text
    assert "Not assessable: not a brain slice" in text and "Glioma Tumor" in text


@pytest.fixture
def same_reference(owner, colleague):
    make_scan(owner, "a.png", patient_ref="P-0011", seed=1)
    make_scan(colleague, "b.png", patient_ref="P-0011", seed=2)


def test_equal_references_of_two_clinicians_are_two_patients_for_a_reviewer(live_server, same_reference, browser):
    from playwright.sync_api import expect

    page = logged_in(browser, live_server, "reviewer")
    page.get_by_role("link", name="Patients").click()
    expect(page.get_by_test_id("patient-row")).to_have_count(2)
    owners = sorted(page.get_by_test_id("patient-owner").all_inner_texts())
    assert owners == ["colleague", "owner"]
    page.get_by_test_id("patient-row").first.get_by_role("link").click()
    expect(page.get_by_test_id("scan-row")).to_have_count(1)
    assert re.search(r"/scans/patients/[0-9a-f-]{36}/$", page.url)


@pytest.fixture
def confidences(owner):
    for seed, conf in enumerate([0.86, 0.87, 0.99]):
        make_scan(owner, f"c{int(conf * 100)}.png", "glioma", conf, created=T0 + timedelta(hours=seed), seed=seed + 1)


def test_a_minimum_confidence_of_87_filters_the_history(live_server, confidences, browser):
    from playwright.sync_api import expect

    page = logged_in(browser, live_server, "owner")
    page.get_by_role("link", name="History").click()
    page.locator("#id_min_confidence").fill("87")
    page.locator("#id_min_confidence").press("Enter")
    expect(page.get_by_test_id("scan-row")).to_have_count(2)
    assert "min_confidence=87" in page.url
    assert page.evaluate("document.getElementById('id_min_confidence').validity.valid")
