"""Results out: the SR and Secondary Capture of a finished series, kept with it and sent to the
configured destination (DICOM_RESULTS_AE by C-STORE, DICOM_RESULTS_STOW_URL by STOW-RS), and the
study's FHIR Bundle POSTed to FHIR_SERVER_URL when set. Every send, good or failed, goes into the
audit trail."""

from __future__ import annotations

import io
import json
import logging
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.utils import timezone
from pydicom import Dataset, dcmread
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.sop_class import Comprehensive3DSRStorage, SecondaryCaptureImageStorage

from audit.models import AuditEvent
from audit.trail import record
from scans.models import Series
from scans.reports.heatmaps import heatmap_png
from scans.studies import dimse, fhir, multipart, sr
from scans.studies.sealed import lock, unlock, unseal

log = logging.getLogger(__name__)


class SendFailed(Exception):
    pass


def build(series: Series) -> tuple[Dataset, Dataset]:
    study, original = unseal(series.study.sealed), unseal(series.sealed)
    slices = list(series.slices.select_related("scan__prediction"))
    instances = [unseal(s.sealed) for s in slices]
    by_id = {s.pk: (s, i) for s, i in zip(slices, instances)}
    key = [by_id[pk] for pk in series.result["key_slices"] if pk in by_id]
    report = sr.build_sr(study, original, instances, [i for _, i in key], series.result)
    capture = sr.build_sc(study, original, key[0][1], sr.overlay_rgb(heatmap_png(key[0][0].scan)), series.result)
    return report, capture


def build_and_send(series: Series) -> None:
    started = time.monotonic()
    report, capture = build(series)
    #  They carry the original patient module: kept encrypted, like the rest of what was sealed.
    series.sr, series.sc, series.sr_uid = lock(sr.to_bytes(report)), lock(sr.to_bytes(capture)), report.SOPInstanceUID
    series.save(update_fields=["sr", "sc", "sr_uid"])
    built = time.monotonic()
    send(series)
    log.info("series %s: SR and key image built in %.2f s, sent in %.2f s", series.pk, built - started,
             time.monotonic() - built)
    if settings.FHIR_SERVER_URL:
        post_fhir(series)


def post_fhir(series: Series) -> bool:
    """POST the study's FHIR transaction Bundle (scans.studies.fhir) to FHIR_SERVER_URL, trying
    FHIR_SEND_ATTEMPTS times. Every try is in the audit trail; a failure is logged and kept in the
    series' send_error, and never undoes the series' result."""
    url = settings.FHIR_SERVER_URL
    finished = list(series.study.series.filter(status=Series.DONE).order_by("-finished"))
    body = json.dumps(fhir.bundle(series.study, finished)).encode()
    error = ""
    for attempt in range(1, settings.FHIR_SEND_ATTEMPTS + 1):
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/fhir+json", "Accept": "application/fhir+json"})
        try:
            with urllib.request.urlopen(request, timeout=settings.FHIR_SEND_TIMEOUT_S) as response:
                response.read()
            record(series.study.owner, AuditEvent.SENT, series, f"FHIR bundle sent to {url}")
            return True
        except (OSError, ValueError) as exc:  # urllib's HTTPError and URLError are OSErrors
            error = f"HTTP {exc.code}" if isinstance(exc, urllib.error.HTTPError) else type(exc).__name__
            log.warning("posting the FHIR bundle of series %s to %s failed (try %d of %d): %s", series.pk, url,
                        attempt, settings.FHIR_SEND_ATTEMPTS, error)
            record(series.study.owner, AuditEvent.SENT, series, f"FHIR bundle to {url} FAILED (try {attempt}): {error}")
            if isinstance(exc, urllib.error.HTTPError) and exc.code < 500 and exc.code != 429:
                break  # the server refused this Bundle: sending it again would not change that
            if attempt < settings.FHIR_SEND_ATTEMPTS:
                time.sleep(min(0.5 * 2 ** (attempt - 1), 5))
    note = f"FHIR: {error}"
    Series.objects.filter(pk=series.pk).update(send_error=f"{series.send_error}; {note}"[:255] if series.send_error
                                               else note)
    return False


def send(series: Series) -> bool:
    """Send the series' SR and SC to every configured destination; True when all took them."""
    destinations = list(_destinations())
    if not destinations:
        return True  # nowhere configured: kept for download only, and not marked sent
    objects = [dcmread(io.BytesIO(unlock(series.sr))), dcmread(io.BytesIO(unlock(series.sc)))]
    ok, errors = True, []
    for name, fn in destinations:
        try:
            fn(objects)
            record(series.study.owner, AuditEvent.SENT, series, f"SR and key image sent to {name}")
        except Exception as exc:  # noqa: BLE001 - a destination down must not lose the result
            ok = False
            errors.append(f"{name}: {exc}"[:120])
            log.warning("sending series %s to %s failed: %s", series.pk, name, exc)
            record(series.study.owner, AuditEvent.SENT, series, f"sending SR and key image to {name} FAILED")
    series.send_error = "; ".join(errors)[:255]
    if ok:
        series.sent = timezone.now()
    series.save(update_fields=["send_error", "sent"])
    return ok


def _destinations():
    if settings.DICOM_RESULTS_AE:
        aet, _, address = settings.DICOM_RESULTS_AE.partition("@")
        host, _, port = address.rpartition(":")
        yield f"AE {aet} at {host}:{port}", lambda objs: c_store(objs, aet, host, int(port))
    if settings.DICOM_RESULTS_STOW_URL:
        yield settings.DICOM_RESULTS_STOW_URL, lambda objs: stow(objs, settings.DICOM_RESULTS_STOW_URL)


def c_store(objects: list[Dataset], aet: str, host: str, port: int) -> None:
    ae = AE(ae_title=settings.DICOM_AE_TITLE)
    for context in {o.SOPClassUID for o in objects} & {Comprehensive3DSRStorage, SecondaryCaptureImageStorage}:
        ae.add_requested_context(context, ExplicitVRLittleEndian)
    assoc = dimse.associate(ae, host, port, aet)
    if not assoc.is_established:
        raise SendFailed("association rejected or not answered")
    try:
        for ds in objects:
            status = assoc.send_c_store(ds)
            if not status or status.Status != 0x0000:
                raise SendFailed(f"C-STORE status {getattr(status, 'Status', 'none')}")
    finally:
        assoc.release()


def stow(objects: list[Dataset], url: str) -> None:
    body, content_type = multipart.encode([sr.to_bytes(o) for o in objects])
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, "Accept": "application/dicom+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status not in (200, 202):
            raise SendFailed(f"STOW-RS answered {response.status}")

