"""Without a broker a batch runs on the web process's background thread: the upload answers at
once and the progress bar moves by polling (held_thread: tests/batches/conftest.py)."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from scans import inprocess
from scans.batch_models import BatchItem, BatchJob
from scans.batch_work import scan_file_name
from scans.models import Prediction, Scan
from scans.tasks import resume_in_process
from tests.batches.helpers import bad_files, good_files, post_batch
from tests.helpers import client_for, stored_files

pytestmark = pytest.mark.django_db(transaction=True)  # the thread has its own connection: it must see commits


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


def test_scan_files_a_killed_delivery_left_are_replaced_or_removed_never_kept_twice(owner, held_thread, settings):
    """A delivery killed after writing its scan files and before its commit leaves files with no row;
    the next delivery writes the same names, and removes the one an item no longer needs."""
    files = good_files(2)
    repeat = ContentFile(files[0].read(), name="again.jpg")
    files[0].seek(0)
    post_batch(client_for(owner), [*files, repeat])
    batch = BatchJob.objects.get()
    items = list(batch.items.order_by("position"))
    storage = Scan._meta.get_field("image").storage
    #  What the killed delivery left: the first two items' files, and one for the repeat (written
    #  when, say, it was chunked apart from the first and so made a scan of its own).
    left = [storage.save(scan_file_name(i, ext), ContentFile(b"half-written")) for i, ext in
            zip(items, [".jpg", ".png", ".jpg"])]
    held_thread.set()
    assert inprocess.wait(300)
    assert [i.status for i in batch.items.order_by("position")] == ["done"] * 3
    scans = {s.image.name: s for s in Scan.objects.all()}
    assert set(scans) == set(left[:2])
    assert sorted(str(p.relative_to(settings.MEDIA_ROOT)) for p in stored_files(settings)) == sorted(left[:2])
    assert all(storage.open(name).read() != b"half-written" for name in scans)
