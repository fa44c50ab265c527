"""Thin task wrappers around the batch services (config/celery.py says where they run)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import IntegrityError, OperationalError

from scans import batch_work
from scans.batch_models import BatchItem, BatchJob
from scans.batches import finish_if_settled

log = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(IntegrityError, OperationalError),
             retry_backoff=1, max_retries=5)
def classify_items(item_ids: list[int]) -> int:
    """Settle these items of one batch: idempotent, so a redelivered task stores nothing twice."""
    return batch_work.settle_items(item_ids)


def enqueue_batch(batch_id: int) -> int:
    """Queue the batch's pending items, BATCH_CHUNK per task (one forward pass); return the task count."""
    ids = list(BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.PENDING)
               .order_by("position").values_list("pk", flat=True))
    chunk = settings.BATCH_CHUNK
    for start in range(0, len(ids), chunk):
        classify_items.delay(ids[start:start + chunk])
    finish_if_settled(batch_id)
    return -(-len(ids) // chunk)


def resume_unfinished() -> int:
    """Queue again whatever unfinished batches still have pending: the tasks of a worker that
    died may not come back before the broker's visibility timeout, and a second copy is harmless."""
    return sum(enqueue_batch(pk) for pk in BatchJob.objects.filter(finished__isnull=True).values_list("pk", flat=True))


@worker_ready.connect
def _resume_on_start(**kwargs) -> None:
    queued = resume_unfinished()
    if queued:
        log.info("queued %d tasks for unfinished batches", queued)
