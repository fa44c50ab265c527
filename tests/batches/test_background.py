"""Without a broker a batch runs on the web process's background thread: the upload answers at
once and the progress bar moves by polling (held_thread: tests/batches/conftest.py)."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.urls import reverse

from scans.batches import inprocess
from scans.batches.tasks import resume_in_process
from scans.batches.work import scan_file_name
from scans.models import BatchItem, BatchJob, Prediction, Scan
from tests.batches.helpers import bad_files, good_files, post_batch
from tests.dicom_files import mr_file
from tests.helpers import client_for, stored_files

ROOT = Path(__file__).resolve().parents[2]
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


def test_a_staged_jpeg_or_png_becomes_its_scans_file_without_a_copy(owner, held_thread, settings):
    post_batch(client_for(owner), good_files(2))
    staged = set(BatchItem.objects.values_list("staged", flat=True))
    held_thread.set()
    assert inprocess.wait(300)
    assert set(Scan.objects.values_list("image", flat=True)) == staged
    assert {str(p.relative_to(settings.MEDIA_ROOT)) for p in stored_files(settings)} == staged
    assert set(BatchItem.objects.values_list("staged", flat=True)) == {""}


def test_files_a_killed_delivery_left_are_replaced_or_removed_never_kept_twice(owner, held_thread, settings):
    """A DICOM file's scan is a PNG the worker writes. A delivery killed after writing it and before
    its commit leaves a file with no row; the next delivery writes the same name, or removes it
    when the item ends without a scan of its own."""
    dicom = mr_file()
    post_batch(client_for(owner), [ContentFile(dicom, name="a.dcm"), ContentFile(dicom, name="b.dcm")])
    storage = Scan._meta.get_field("image").storage
    left = [storage.save(scan_file_name(i, ".png"), ContentFile(b"half-written")) for i in BatchItem.objects.all()]
    held_thread.set()
    assert inprocess.wait(300)
    assert list(BatchItem.objects.values_list("status", flat=True)) == ["done", "done"]
    scans = set(Scan.objects.values_list("image", flat=True))
    assert scans and scans <= set(left)
    assert {str(p.relative_to(settings.MEDIA_ROOT)) for p in stored_files(settings)} == scans
    assert all(storage.open(name).read() != b"half-written" for name in scans)


CHILD = """
import os, time
import django
django.setup()
from django.contrib.auth.models import User
from scans.batches import inprocess
from scans.batches.services import create_batch
from tests.batches.helpers import good_files
inprocess.submit(time.sleep, 600)  # its thread busy: the batch waits in this process's memory
create_batch(User.objects.get(pk=%d), good_files(5))
os._exit(0)  # and the process dies with it
"""


def test_a_batch_whose_web_process_died_is_finished_by_the_next_one_to_start(owner, settings):
    db = django_settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        pytest.skip("the other process needs a database server to share (DATABASE_URL=postgres://...)")
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "MEDIA_ROOT": str(settings.MEDIA_ROOT), "BATCH_BACKGROUND": "1", "CELERY_BROKER_URL": "",
           "BATCH_CHUNK": "2", "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "-c", CHILD % owner.pk], cwd=ROOT, env=env, check=True, timeout=300)
    batch = BatchJob.objects.get()
    assert batch.finished is None and batch.items.filter(status=BatchItem.PENDING).count() == 5

    settings.BATCH_BACKGROUND = True
    runpy.run_module("config.wsgi")  # a web process starting
    assert inprocess.wait(300)
    batch.refresh_from_db()
    assert batch.finished is not None and batch.items.filter(status=BatchItem.DONE).count() == 5
    assert Scan.objects.count() == 5 and Prediction.objects.count() == 5
    on_disk = {str(p.relative_to(settings.MEDIA_ROOT)) for p in stored_files(settings)}
    assert on_disk == set(Scan.objects.values_list("image", flat=True))
