"""Settling batch items: many images through one forward pass, each result stored exactly once.

A task may run twice (delivery is at least once): the items are locked and only pending ones are
taken, so a second run, or a second worker, finds nothing left to do. A worker killed before the
commit leaves its items pending for the next delivery, and nothing stored.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from ml.infer import get_classifier
from scans.batch_models import BatchItem
from scans.batches import finish_if_settled, staging
from scans.ingest import ScanRejected, read_image
from scans.models import Prediction, Scan
from scans.services import build_prediction, build_scan

log = logging.getLogger(__name__)


def settle_items(item_ids: list[int]) -> int:
    """Classify and store the pending items among `item_ids` (one batch); return how many this call settled."""
    saved: list[str] = []
    try:
        with transaction.atomic():
            items = list(BatchItem.objects.select_for_update(skip_locked=True, of=("self",))
                         .filter(pk__in=item_ids, status=BatchItem.PENDING)
                         .select_related("batch__owner").order_by("position"))
            if items:
                _settle(items, saved)
    except BaseException:
        for name in saved:
            staging().delete(name)
        raise
    if not items:
        return 0
    staged = [i.staged for i in items if i.staged]
    for name in staged:
        staging().delete(name)
    BatchItem.objects.filter(pk__in=[i.pk for i in items]).update(staged="")
    finish_if_settled(items[0].batch_id)
    return len(items)


def _settle(items: list[BatchItem], saved: list[str]) -> None:
    batch, now = items[0].batch, timezone.now()
    checked = {}
    for item in items:
        try:
            with staging().open(item.staged, "rb") as f:
                data = f.read()
            checked[item.pk] = read_image(data, max_bytes=settings.MAX_UPLOAD_BYTES, min_side=settings.MIN_IMAGE_SIDE,
                                          max_side=settings.MAX_IMAGE_SIDE, name=item.name)
        except ScanRejected as exc:
            _fail(item, exc.code, exc.message)
        except OSError:
            _fail(item, "file_lost", "The uploaded file could not be read back from storage.")
    shas = {c.sha256 for c in checked.values()}
    known = {s.sha256: s for s in Scan.objects.filter(owner=batch.owner, sha256__in=shas)}
    first: dict[str, BatchItem] = {}  # the item that makes each new scan
    for item in items:
        c = checked.get(item.pk)
        if c is not None and c.sha256 not in known:
            first.setdefault(c.sha256, item)
    scans = _classify(batch, first, checked, saved)
    known.update(scans)
    for item in items:
        c = checked.get(item.pk)
        if c is not None and c.sha256 in known:
            item.status, item.scan = BatchItem.DONE, known[c.sha256]
            item.duplicate = first.get(c.sha256) is not item
        elif c is not None:
            _fail(item, "inference_failed", "The model could not analyse this image.")
        item.settled = now
    for item in items:  # one plain UPDATE each: bulk_update's CASE expressions cost more than the queries
        item.save(update_fields=["status", "scan", "duplicate", "error_code", "error_message", "settled"])


def _classify(batch, first: dict[str, BatchItem], checked: dict, saved: list[str]) -> dict[str, Scan]:
    if not first:
        return {}
    images = [checked[item.pk] for item in first.values()]
    try:
        results = get_classifier().classify([c.image for c in images], heatmaps=settings.BATCH_HEATMAPS)
    except Exception:
        log.exception("inference failed for %d items of batch %s", len(images), batch.pk)
        return {}
    scans = []
    for item, c in zip(first.values(), images):
        scan = build_scan(batch.owner, c, item.name)
        scan.image.save(f"upload{c.extension}", ContentFile(c.data), save=False)
        saved.append(scan.image.name)
        scans.append(scan)
    Scan.objects.bulk_create(scans)
    predictions = [build_prediction(r) for r in results]
    for scan, p in zip(scans, predictions):
        p.scan = scan
    Prediction.objects.bulk_create(predictions)
    owner = batch.owner
    AuditEvent.objects.bulk_create([
        AuditEvent(user=owner, username=owner.get_username(), action=AuditEvent.UPLOADED, object_type="scan",
                   object_id=str(s.pk), detail=f"{s.format}, batch {batch.pk}") for s in scans])
    return {s.sha256: s for s in scans}


def _fail(item: BatchItem, code: str, message: str) -> None:
    item.status, item.error_code, item.error_message = BatchItem.FAILED, code, message[:255]
