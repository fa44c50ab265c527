"""A series whose slices are classified: link them to their scans, make the series result, build
the SR and Secondary Capture, and send them where DICOM_RESULTS_* say."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from scans.models import BatchItem, Prediction, Series, Slice
from scans.studies.result import series_result

log = logging.getLogger(__name__)


def finish(series_id: int, batch_id: int) -> str:
    with transaction.atomic():
        series = Series.objects.select_for_update().select_related("study").filter(pk=series_id).first()
        if series is None or series.batch_id != batch_id:
            return "superseded"  # a later arrival's batch finishes it
        Slice.objects.filter(item__batch_id=batch_id).update(
            scan=Subquery(BatchItem.objects.filter(pk=OuterRef("item_id")).values("scan_id")[:1]))
        scan_ids = list(series.slices.exclude(scan=None).values_list("scan_id", flat=True))
        predictions = {p.scan_id: p for p in Prediction.objects.filter(scan_id__in=scan_ids)}
        slices = [(s.pk, predictions[s.scan_id]) for s in series.slices.all() if s.scan_id in predictions]
        series.result = series_result(slices)
        series.label = series.result["label"]
        series.status = Series.DONE if slices else Series.FAILED
        series.finished = timezone.now()
        series.save(update_fields=["result", "label", "status", "finished"])
        key = series.result["key_slices"]
        series.slices.exclude(pk__in=key).filter(key=True).update(key=False)
        series.slices.filter(pk__in=key).update(key=True)
    if series.status != Series.DONE:
        return series.status
    from scans.studies import outbound

    try:
        outbound.build_and_send(series)
    except Exception as exc:  # noqa: BLE001 - the result stays, and is shown; the SR is not sent
        #  The kind of error only: its message can quote the patient's own attributes (issue 12).
        log.error("building the SR of series %s failed: %s", series.pk, type(exc).__name__)
        Series.objects.filter(pk=series.pk).update(send_error="The SR and key image could not be built.")
    return series.status
