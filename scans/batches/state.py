"""A batch's state, read and settled: where its files wait (staging), how far it is (progress), and
marking it finished. Used by the use cases above (services), the tasks and the work below them."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.storage import storages
from django.db.models import Count, Max, Min
from django.utils import timezone

from scans.models import BatchItem, BatchJob

STALLED_S = 20  # seconds without an item settled, items pending: the page says it is waiting and retrying


def staging():
    return storages["default"]


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    failed: int
    skipped: int
    pending: int
    rate: float | None  # items settled per second so far
    eta_s: float | None
    finished: bool
    #  Nothing settled for a while with items pending (a broker or database fault, a process that
    #  died): the sweep sends them again by itself, in about `retry_in_s` seconds.
    waiting: bool = False
    retry_in_s: float | None = None

    @property
    def settled(self) -> int:
        return self.done + self.failed

    @property
    def percent(self) -> int:
        queued = self.total - self.skipped
        return 100 if not queued else round(100 * self.settled / queued)


def progress(batch: BatchJob) -> Progress:
    batch.refresh_from_db(fields=["finished"])
    counts = dict(batch.items.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    done, failed = counts.get(BatchItem.DONE, 0), counts.get(BatchItem.FAILED, 0)
    skipped, pending = counts.get(BatchItem.SKIPPED, 0), counts.get(BatchItem.PENDING, 0)
    last = batch.finished or batch.items.exclude(status=BatchItem.SKIPPED).aggregate(t=Max("settled"))["t"]
    elapsed = (last - batch.created).total_seconds() if last else 0
    rate = (done + failed) / elapsed if elapsed > 0 and done + failed else None
    eta = pending / rate if rate and pending else (0.0 if not pending else None)
    waiting, retry_in = False, None
    if pending and batch.finished is None:
        now = timezone.now()
        waiting = (now - (last or batch.created)).total_seconds() > STALLED_S
        retry_at = batch.items.filter(status=BatchItem.PENDING).aggregate(t=Min("retry_at"))["t"]
        retry_in = max(0.0, (retry_at - now).total_seconds()) if retry_at else 0.0
    return Progress(sum(counts.values()), done, failed, skipped, pending, rate, eta, batch.finished is not None,
                    waiting, retry_in)


def finish_if_settled(batch_id: int) -> bool:
    """Mark the batch finished once no item is pending, and drop anything still staged."""
    if BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.PENDING).exists():
        return False
    BatchJob.objects.filter(pk=batch_id, finished__isnull=True).update(finished=timezone.now())
    leftover = BatchItem.objects.filter(batch_id=batch_id).exclude(staged="")
    for name in leftover.values_list("staged", flat=True):
        staging().delete(name)
    leftover.update(staged="")
    return True
