"""Finding 6 of issue 12: after a short broker or database fault, pending work stalled until a restart
(0% forever). Now a sweep (the worker's timer, or the web process's batch thread when idle) sends
lost work again with backoff, the page says it is waiting and retrying, and a chunk that kills its
process is given up after BATCH_MAX_ATTEMPTS instead of looping."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from scans.batches import inprocess, state, tasks
from scans.batches.work import settle_items
from scans.models import BatchItem, BatchJob
from tests.batches.helpers import good_files, post_batch
from tests.helpers import client_for

pytestmark = pytest.mark.django_db(transaction=True)  # the batch thread has its own connection


@pytest.fixture
def outage(monkeypatch):
    """The broker refuses every send, as during an outage, until the test ends it."""
    real = tasks._send

    def refused(ids):
        raise BrokerDown("connection refused")

    monkeypatch.setattr(tasks, "_send", refused)
    yield lambda: monkeypatch.setattr(tasks, "_send", real)


def test_work_lost_to_an_outage_is_sent_again_with_backoff_and_the_page_says_so(owner, settings, outage, monkeypatch):
    settings.BATCH_RETRY_S = 1
    client = client_for(owner)
    post_batch(client, good_files(3))
    batch = BatchJob.objects.get()
    assert batch.items.filter(status=BatchItem.PENDING).count() == 3  # the upload was kept, its work lost
    monkeypatch.setattr(state, "STALLED_S", 0)
    page = client.get(reverse("scans:batch-progress", args=[batch.pk])).content.decode()
    assert "waiting, retrying" in page and "sends the remaining images again by itself" in page
    assert client.get(reverse("api:batch", args=[batch.pk])).json()["progress"]["waiting"] is True

    assert tasks.sweep() == 0  # not yet: the items wait BATCH_RETRY_S after their last send
    time.sleep(1.1)
    with pytest.raises(BrokerDown):
        tasks.sweep()  # still down: this round fails, and the next one waits twice as long
    outage()  # the broker is back
    assert tasks.sweep() == 0
    time.sleep(1.1)
    assert tasks.sweep() == 3
    batch.refresh_from_db()
    assert batch.finished is not None and batch.items.filter(status=BatchItem.DONE).count() == 3


def test_the_batch_thread_sweeps_by_itself_when_idle(owner, settings, outage):
    settings.BATCH_RETRY_S, settings.BATCH_BACKGROUND = 1, True
    post_batch(client_for(owner), good_files(2, start=10))
    outage()
    inprocess.idle_job, inprocess.idle_every = tasks.sweep, 0.3
    try:
        inprocess.submit(lambda: None)  # the thread running, as resume_in_process leaves it at start-up
        deadline = time.monotonic() + 60
        while BatchJob.objects.filter(finished__isnull=True).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        inprocess.idle_job = None
        assert inprocess.wait(120)
    assert BatchItem.objects.filter(status=BatchItem.DONE).count() == 2


def test_a_chunk_that_keeps_killing_its_process_is_given_up_not_looped(owner, settings):
    settings.BATCH_BACKGROUND = False
    post_batch(client_for(owner), good_files(1, start=20))  # settled at once; make a second one pending
    batch = BatchJob.objects.get()
    item = batch.items.get()
    BatchItem.objects.filter(pk=item.pk).update(status=BatchItem.PENDING, scan=None, settled=None,
                                                 attempts=settings.BATCH_MAX_ATTEMPTS)
    BatchJob.objects.filter(pk=batch.pk).update(finished=None)
    assert settle_items([item.pk]) == 0
    item.refresh_from_db()
    assert (item.status, item.error_code) == ("failed", "gave_up") and "gave up" in item.error_message
    assert BatchJob.objects.get().finished is not None


def test_each_attempt_is_counted_before_the_work(owner, settings):
    settings.BATCH_BACKGROUND = False
    post_batch(client_for(owner), good_files(2, start=30))
    assert list(BatchItem.objects.values_list("attempts", flat=True)) == [1, 1]
    assert all(i.retry_at and i.retry_at > timezone.now() - timezone.timedelta(minutes=1)
               for i in BatchItem.objects.all())
