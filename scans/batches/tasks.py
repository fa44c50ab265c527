"""The batch tasks: they send work (to the broker, or to this process's batch thread) and call the
work functions (scans.batches.work); config/celery.py says where they run. The use cases above
(scans.batches.services) import this module; it never imports them back."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from django.conf import settings
from django.db import IntegrityError, OperationalError

from scans.batches import inprocess, work
from scans.batches.state import finish_if_settled
from scans.classify import warm_model
from scans.models import BatchItem, BatchJob

log = logging.getLogger(__name__)


#  The name is the one this task had before the batches package existed: tasks queued by an older
#  process are still found after an upgrade.
@shared_task(name="scans.tasks.classify_items", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(IntegrityError, OperationalError), retry_backoff=1, max_retries=5)
def classify_items(item_ids: list[int]) -> int:
    """Settle these items of one batch: idempotent, so a redelivered task stores nothing twice."""
    return work.settle_items(item_ids)


def enqueue_batch(batch_id: int) -> int:
    """Queue the batch's pending items, BATCH_CHUNK per task (one forward pass); return the task count."""
    ids = list(BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.PENDING)
               .order_by("position").values_list("pk", flat=True))
    chunks = [ids[start:start + settings.BATCH_CHUNK] for start in range(0, len(ids), settings.BATCH_CHUNK)]
    for chunk in chunks:
        _send(chunk)
    finish_if_settled(batch_id)
    return len(chunks)


def _send(ids: list[int]) -> None:
    """To the broker; with none, to this process's batch thread, or (BATCH_BACKGROUND=0) run now."""
    if not classify_items.app.conf.task_always_eager:
        classify_items.delay(ids)
    elif settings.BATCH_BACKGROUND:
        inprocess.submit(_apply, ids)
    else:
        _apply(ids)


def _apply(ids: list[int]) -> None:
    classify_items.apply(args=(ids,), throw=True)  # Celery's retries included, in this thread


def resume_unfinished() -> int:
    """Queue again whatever unfinished batches still have pending: the tasks of a worker that
    died may not come back before the broker's visibility timeout, and a second copy is harmless."""
    return sum(enqueue_batch(pk) for pk in BatchJob.objects.filter(finished__isnull=True).values_list("pk", flat=True))


def resume_in_process() -> None:
    """A web process without a broker takes up, in the background, what a process before it left."""
    if classify_items.app.conf.task_always_eager and settings.BATCH_BACKGROUND:
        inprocess.submit(resume_unfinished)


@worker_ready.connect
def _resume_on_start(**kwargs) -> None:
    queued = resume_unfinished()
    if queued:
        log.info("queued %d tasks for unfinished batches", queued)


@worker_process_init.connect
def _warm_model(**kwargs) -> None:
    """Each worker process loads the model before its first task, as a web process does."""
    if settings.WARM_MODEL:
        warm_model()
