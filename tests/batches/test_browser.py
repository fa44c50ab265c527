"""A batch in a real browser (Debian's chromium, driven by Playwright): files chosen in the picker
and more dropped on the drop zone, the progress bar moving through HTMX polling while the
in-process thread works, then the results and the file that failed, with its reason."""

import threading

import pytest

from scans.batches.work import settle_items
from scans.models import BatchItem
from tests.e2e.test_browser import ARGS, CHROMIUM
from tests.helpers import PASSWORD, jpeg, png

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]

DROP = """([files]) => {
    const dt = new DataTransfer();
    for (const [name, bytes] of files) dt.items.add(new File([new Uint8Array(bytes)], name));
    return dt;
}"""


@pytest.fixture
def page(owner, live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        browser.close()


def in_another_thread(fn) -> None:
    """Playwright's event loop holds this thread, where Django refuses database calls."""
    worker = threading.Thread(target=fn)
    worker.start()
    worker.join()


def settle_first(n: int) -> None:
    """What a worker does with the batch's first task, here while the in-process thread is held."""
    from django.db import connection

    settle_items(list(BatchItem.objects.order_by("position").values_list("pk", flat=True)[:n]))
    connection.close()


def test_files_chosen_and_dropped_become_a_batch_whose_progress_moves_to_the_results(
        held_thread, page, live_server, tmp_path):
    from playwright.sync_api import expect

    chosen = []
    for i in range(3):
        chosen.append(tmp_path / f"chosen-{i}.png")
        chosen[-1].write_bytes(png(128, seed=20 + i))
    dropped = [["dropped-0.jpg", list(jpeg(128, seed=30))], ["dropped-1.jpg", list(jpeg(128, seed=31))],
               ["notes.jpg", list(b"not an image at all")]]

    page.goto(live_server.url + "/accounts/login/?next=/scans/batches/new")
    page.get_by_label("User name").fill("owner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Upload a batch")).to_be_visible()

    page.set_input_files("input[name=files]", [str(p) for p in chosen])
    expect(page.locator("[data-file-name]")).to_have_text("3 files")
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": page.evaluate_handle(DROP, [dropped])})
    expect(page.locator("[data-file-name]")).to_have_text("6 files")
    page.get_by_role("button", name="Analyse all").click()

    #  The upload answered before any work: the thread is held, so nothing is done yet.
    progress = page.get_by_test_id("progress")
    expect(progress).to_contain_text("0 done")
    expect(progress).to_contain_text("6 remaining")
    expect(progress).to_contain_text("waiting for a worker")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")

    in_another_thread(lambda: settle_first(3))
    expect(progress).to_contain_text("3 done", timeout=15000)  # no reload: HTMX polled it
    expect(progress).to_contain_text("3 remaining")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "50")
    expect(progress).to_contain_text("left")  # a rate and a time left once items settle

    held_thread.set()
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible(timeout=60000)
    expect(page.get_by_test_id("result-count")).to_have_text("5 scans.")
    expect(page.get_by_test_id("scan-row")).to_have_count(5)
    problem = page.get_by_test_id("problem-row")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("notes.jpg")
    expect(problem).to_contain_text("not an image")
    expect(progress).to_contain_text("5 done")
    expect(progress).to_contain_text("1 failed")
    expect(progress).to_contain_text("finished")
