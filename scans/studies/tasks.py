"""The series tasks: its slices go through the batch task (scans.batches.tasks.classify_items), then
finish_series makes the series result and sends the SR and Secondary Capture."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, OperationalError

from scans.batches import inprocess
from scans.batches.state import finish_if_settled
from scans.batches.tasks import classify_items, enqueue_batch
from scans.models import BatchItem

log = logging.getLogger(__name__)


def queue_series(series_id: int, batch_id: int) -> None:
    """Classify the batch's slices, then finish the series: in that order on the in-process thread;
    with a broker finish_series waits (retrying) until the batch is settled."""
    enqueue_batch(batch_id)
    if not finish_series.app.conf.task_always_eager:
        finish_series.delay(series_id, batch_id)
    elif settings.BATCH_BACKGROUND:
        inprocess.submit(_apply, series_id, batch_id)
    else:
        _apply(series_id, batch_id)


def _apply(series_id: int, batch_id: int) -> None:
    finish_series.apply(args=(series_id, batch_id), throw=True)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=600)
def finish_series(self, series_id: int, batch_id: int) -> str:
    from scans.studies.finish import finish

    if not finish_if_settled(batch_id):
        if self.app.conf.task_always_eager:  # in order on one thread: a task that failed left these
            pending = list(BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.PENDING)
                           .values_list("pk", flat=True))
            classify_items.apply(args=(pending,), throw=True)
        else:
            raise self.retry(countdown=0.25)
    try:
        return finish(series_id, batch_id)
    except (IntegrityError, OperationalError) as exc:
        raise self.retry(exc=exc, countdown=1) from exc


def resume_series() -> int:
    """Queue again the series a stopped process left unfinished (a second copy is harmless)."""
    from scans.models import Series

    left = list(Series.objects.filter(status=Series.QUEUED).exclude(batch=None).values_list("pk", "batch_id"))
    for series_id, batch_id in left:
        queue_series(series_id, batch_id)
    return len(left)
