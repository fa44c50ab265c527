"""The batch tasks: they send work (to the broker, or to this process's batch thread) and call the
work functions (scans.batches.work); config/celery.py says where they run. The use cases above
(scans.batches.services) import this module; it never imports them back."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from django.conf import settings
from django.db import IntegrityError, OperationalError, close_old_connections, connections
from django.db.models import Q
from django.utils import timezone

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
    #  Before sending: if the send fails (the broker is down), the sweep sends them again after this.
    BatchItem.objects.filter(pk__in=ids, attempts=0).update(retry_at=timezone.now() + retry_delay(0))
    chunks = [ids[start:start + settings.BATCH_CHUNK] for start in range(0, len(ids), settings.BATCH_CHUNK)]
    for chunk in chunks:
        _send(chunk)
    finish_if_settled(batch_id)
    return len(chunks)


def retry_delay(attempts: int) -> timedelta:
    """How long the sweep leaves an item to the work sent for it: BATCH_RETRY_S, doubled per attempt, at most 10 min."""
    return timedelta(seconds=min(settings.BATCH_RETRY_S * 2 ** attempts, 600))


def sweep() -> int:
    """Send again every pending item of an unfinished batch whose retry time has passed (work lost to a
    broker or database fault, or to a process that died), each batch's in BATCH_CHUNK chunks, and put
    their next retry further off. Recovery without a restart; a second copy of a task is harmless."""
    now = timezone.now()
    due = list(BatchItem.objects.filter(status=BatchItem.PENDING, batch__finished__isnull=True)
               .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
               .order_by("batch_id", "position").values_list("pk", "batch_id", "attempts"))
    for attempts in {a for _, _, a in due}:
        BatchItem.objects.filter(pk__in=[pk for pk, _, a in due if a == attempts]).update(
            retry_at=now + retry_delay(attempts))
    sent = 0
    for batch_id in dict.fromkeys(b for _, b, _ in due):
        ids = [pk for pk, b, _ in due if b == batch_id]
        for start in range(0, len(ids), settings.BATCH_CHUNK):
            _send(ids[start:start + settings.BATCH_CHUNK])
            sent += 1
    if due:
        log.info("sweep: sent %d pending items again in %d tasks", len(due), sent)
    return len(due)


def _sweep_forever() -> None:
    """A worker's own timer (no beat process to run): the sweep every BATCH_SWEEP_S seconds."""
    while True:
        time.sleep(settings.BATCH_SWEEP_S)
        try:
            close_old_connections()
            sweep()
        except Exception:  # the broker or the database still down: the next round retries
            log.exception("the batch sweep failed; it runs again in %s s", settings.BATCH_SWEEP_S)
        finally:
            connections.close_all()


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
    """A web process without a broker takes up, in the background, what a process before it left,
    and its batch thread sweeps whenever it is idle."""
    if classify_items.app.conf.task_always_eager and settings.BATCH_BACKGROUND:
        inprocess.idle_job, inprocess.idle_every = sweep, settings.BATCH_SWEEP_S
        inprocess.submit(resume_unfinished)


@worker_ready.connect
def _resume_on_start(**kwargs) -> None:
    queued = resume_unfinished()
    if queued:
        log.info("queued %d tasks for unfinished batches", queued)
    threading.Thread(target=_sweep_forever, name="neurolens-sweep", daemon=True).start()


@worker_process_init.connect
def _warm_model(**kwargs) -> None:
    """Each worker process loads the model before its first task, as a web process does."""
    if settings.WARM_MODEL:
        warm_model()
