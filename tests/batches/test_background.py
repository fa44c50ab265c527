"""Without a broker a batch runs on the web process's background thread: the upload answers at
once and the progress bar moves by polling. The thread is held busy (a job that waits on an event)
so that "not yet done" is certain, not a race."""

import threading

import pytest
from django.urls import reverse

from scans import inprocess
from scans.batch_models import BatchItem, BatchJob
from scans.models import Prediction, Scan
from scans.tasks import resume_in_process
from tests.batches.helpers import bad_files, good_files, post_batch
from tests.helpers import client_for

pytestmark = pytest.mark.django_db(transaction=True)  # the thread has its own connection: it must see commits


@pytest.fixture
def held_thread(settings):
    """The batch thread on, and busy until the test lets it go; idle again before the database is emptied."""
    settings.BATCH_BACKGROUND = True
    gate = threading.Event()
    inprocess.submit(gate.wait, 120)
    yield gate
    gate.set()
    assert inprocess.wait(300)


def test_the_upload_answers_before_the_work_and_the_thread_finishes_it(owner, held_thread):
    client = client_for(owner)
    response = post_batch(client, [*good_files(3), *bad_files()[:1]])
    batch = BatchJob.objects.get()
    assert response.status_code == 302
    assert batch.items.filter(status=BatchItem.PENDING).count() == 4 and batch.finished is None
    page = client.get(reverse("scans:batch", args=[batch.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page and "4 remaining" in page and "waiting for a worker" in page

    held_thread.set()
    assert inprocess.wait(300)
    fragment = client.get(reverse("scans:batch-progress", args=[batch.pk]), headers={"HX-Request": "true"})
    assert "3 done" in fragment.content.decode() and "1 failed" in fragment.content.decode()
    assert fragment["HX-Refresh"] == "true"
    assert Prediction.objects.filter(scan__owner=owner).count() == 3


def test_a_batch_queued_twice_by_a_resume_is_stored_once(owner, held_thread):
    post_batch(client_for(owner), good_files(4))
    resume_in_process()  # what a restarted web process does: the same items queued a second time
    held_thread.set()
    assert inprocess.wait(300)
    batch = BatchJob.objects.get()
    assert batch.finished is not None and batch.items.filter(status=BatchItem.DONE).count() == 4
    assert Scan.objects.count() == 4 and Prediction.objects.count() == 4
