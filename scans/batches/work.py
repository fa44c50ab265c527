"""Settling batch items: many images through one forward pass, each result stored exactly once.

A task may run twice (delivery is at least once): the items are locked and only pending ones are
taken, so a second run, or a second worker, finds nothing left to do. A worker killed before the
commit leaves its items pending for the next delivery, and no file without its row:

- a JPEG or PNG is staged under the name its scan keeps (scans.batches.services), so the scan adopts the
  staged file in the same transaction that clears the item's `staged`: nothing is written;
- a DICOM file's scan is the PNG derived from it, written under a name fixed by the item
  (scan_file_name), so the next delivery writes over what a killed one left, and an item that ends
  without a scan of its own removes it.

Per item the cost is kept to the file read, the decode (on two threads: Pillow and hashing let go
of the GIL) and its share of one INSERT per table and one UPDATE per task.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from scans.batches.state import finish_if_settled, staging
from scans.classify import NewScan, classify, store, stored_scans
from scans.intake.errors import InferenceFailed, ScanRejected
from scans.intake.ingest import CheckedImage, read_image
from scans.models import BatchItem, Scan

log = logging.getLogger(__name__)
THREADS = 2  # decoding and file writes; the forward pass already uses every core


def settle_items(item_ids: list[int]) -> int:
    """Classify and store the pending items among `item_ids` (one batch); return how many this call settled."""
    given_up = _begin_attempt(item_ids)
    written: list[str] = []
    try:
        with transaction.atomic():
            items = list(BatchItem.objects.select_for_update(skip_locked=True, of=("self",))
                         .filter(pk__in=item_ids, status=BatchItem.PENDING)
                         .select_related("batch__owner").order_by("position"))
            if items:
                _settle(items, written)
    except BaseException:
        for name in written:  # what a killed process cannot do, the next delivery's overwrite does
            Scan._meta.get_field("image").storage.delete(name)
        raise
    if not items:
        if given_up:
            finish_if_settled(given_up)
        return 0
    staged = [i.staged for i in items if i.staged]  # those the scans did not adopt
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(staging().delete, staged))
    BatchItem.objects.filter(pk__in=[i.pk for i in items]).update(staged="")
    finish_if_settled(items[0].batch_id)
    return len(items)


def _begin_attempt(item_ids: list[int]) -> int | None:
    """Count this attempt on the pending items, committed before the work starts, so that a process
    killed during it (for memory, say) has counted too; an item begun BATCH_MAX_ATTEMPTS times fails
    instead of taking the next process down again. Returns the batch of such items, if any."""
    with transaction.atomic():
        pending = BatchItem.objects.filter(pk__in=list(BatchItem.objects.select_for_update(skip_locked=True)
                                                       .filter(pk__in=item_ids, status=BatchItem.PENDING)
                                                       .values_list("pk", flat=True)))
        spent = pending.filter(attempts__gte=settings.BATCH_MAX_ATTEMPTS)
        batch = spent.values_list("batch_id", flat=True).first()
        spent.update(status=BatchItem.FAILED, error_code="gave_up", settled=timezone.now(),
                     error_message=f"Processing this file stopped {settings.BATCH_MAX_ATTEMPTS} times; "
                                   "NeuroLens gave up on it. Upload it again on its own.")
        pending.filter(status=BatchItem.PENDING).update(attempts=F("attempts") + 1)
    return batch


def scan_file_name(item: BatchItem, extension: str) -> str:
    """Where an item's scan file goes: the same name on every delivery, random to anyone else (the
    staged file's); for a JPEG or PNG the staged file itself."""
    return str(PurePosixPath(item.staged).with_suffix(extension))


def _settle(items: list[BatchItem], written: list[str]) -> None:
    batch, now = items[0].batch, timezone.now()
    with ThreadPoolExecutor(THREADS) as pool:
        checked = dict(zip([i.pk for i in items], pool.map(_read, items)))
        for item in items:
            if isinstance(checked[item.pk], ScanRejected):
                _fail(item, checked.pop(item.pk))
        shas = {c.sha256 for c in checked.values()}
        known = stored_scans(batch.owner, shas)
        first: dict[str, BatchItem] = {}  # the item that makes each new scan
        for item in items:
            c = checked.get(item.pk)
            if c is not None and c.sha256 not in known:
                first.setdefault(c.sha256, item)
        new = _classify(batch, first, checked, pool, written)
        known.update(new)
        _clear_leftovers(items, {first[sha].pk for sha in new}, checked, pool)
    for item in items:
        c = checked.get(item.pk)
        if c is not None and c.sha256 in known:
            item.status, item.scan = BatchItem.DONE, known[c.sha256]
            item.duplicate = first.get(c.sha256) is not item
        elif c is not None:
            _fail(item, ScanRejected("inference_failed", "The model could not analyse this image."))
        item.settled = now
    _save_items(items, now)


def _read(item: BatchItem) -> CheckedImage | ScanRejected:
    try:
        with staging().open(item.staged, "rb") as f:
            data = f.read()
        checked = read_image(data, max_bytes=settings.MAX_UPLOAD_BYTES, min_side=settings.MIN_IMAGE_SIDE,
                             max_side=settings.MAX_IMAGE_SIDE, name=item.name)
        #  A file its scan adopts is written already: the chunk keeps its pixels, not its bytes too.
        return checked.dropped_bytes() if scan_file_name(item, checked.extension) == item.staged else checked
    except ScanRejected as exc:
        return exc
    except (OSError, ValueError):
        return ScanRejected("file_lost", "The uploaded file could not be read back from storage.")


def _classify(batch, first: dict[str, BatchItem], checked: dict, pool, written: list[str]) -> dict[str, Scan]:
    """The first item of each new file: one forward pass, its file in place, one INSERT per table."""
    if not first:
        return {}
    images = [checked[item.pk] for item in first.values()]
    results = classify(images, heatmaps=settings.BATCH_HEATMAPS)
    #  An image the model failed on is left without a scan (it fails below); the others go on.
    made = [(item, c, r) for item, c, r in zip(first.values(), images, results) if not isinstance(r, InferenceFailed)]
    if len(made) < len(images):
        log.warning("batch %s: %d items left without a result", batch.pk, len(images) - len(made))
    if not made:
        return {}
    new = [NewScan(c, r, item.name, scan_file_name(item, c.extension)) for item, c, r in made]
    fresh = [(n.file_name, n.checked.data) for (item, _, _), n in zip(made, new) if n.file_name != item.staged]
    written.extend(name for name, _ in fresh)
    list(pool.map(_write, [name for name, _ in fresh], [data for _, data in fresh]))
    for (item, _, _), n in zip(made, new):
        if n.file_name == item.staged:
            item.staged = ""  # adopted: the scan's now, in this same transaction
    return {s.sha256: s for s in store(batch.owner, new, f"batch {batch.pk}")}


def _write(name: str, data: bytes) -> None:
    """Store under exactly this name, replacing what an earlier, killed delivery left there."""
    storage = Scan._meta.get_field("image").storage
    storage.delete(name)
    saved = storage.save(name, ContentFile(data))
    if saved != name:  # another run wrote it in between: both hold the same bytes
        storage.delete(saved)


def _clear_leftovers(items: list[BatchItem], owners: set[int], checked: dict, pool) -> None:
    """An item that ends without a scan of its own (a duplicate, an inference failure) may still have
    the file an earlier delivery wrote before it was killed. (An item whose file cannot be read now
    could not be read then either: nothing was written for it.)"""
    storage = Scan._meta.get_field("image").storage
    left = []
    for item in items:
        c = checked.get(item.pk)
        if c is None or item.pk in owners:
            continue
        name = scan_file_name(item, c.extension)
        if name != item.staged:  # never the staged file itself
            left.append(name)
    list(pool.map(storage.delete, left))


def _fail(item: BatchItem, exc: ScanRejected) -> None:
    item.status, item.error_code, item.error_message = BatchItem.FAILED, exc.code, exc.message[:255]


FIELDS = ["status", "scan", "duplicate", "error_code", "error_message", "settled", "staged"]


def _save_items(items: list[BatchItem], now) -> None:
    """One UPDATE for the whole task on PostgreSQL (a VALUES list); one per item elsewhere."""
    if connection.vendor != "postgresql":
        for item in items:
            item.save(update_fields=FIELDS)
        return
    rows = ", ".join(["(%s::bigint, %s::varchar, %s::bigint, %s::boolean, %s::varchar, %s::varchar, %s::varchar)"]
                     * len(items))
    params = [v for i in items for v in (i.pk, i.status, i.scan_id, i.duplicate, i.error_code, i.error_message,
                                         i.staged)]
    table = BatchItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS b SET status = v.status, scan_id = v.scan_id, duplicate = v.duplicate, "
            f"error_code = v.error_code, error_message = v.error_message, staged = v.staged, settled = %s "
            f"FROM (VALUES {rows}) AS v(id, status, scan_id, duplicate, error_code, error_message, staged) "
            f"WHERE b.id = v.id",
            [now, *params])
