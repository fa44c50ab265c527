"""Store received slices, one series at a time, and queue them on the batch task path.

A series' slices are written together (files, then every row in one transaction; the files go if
it fails), so a broken association, which never reaches here, leaves nothing. An instance already
stored (the same original SOP Instance UID and frame) is skipped: sent twice, stored once.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditEvent
from audit.trail import record
from scans.batches.state import staging
from scans.models import BatchItem, BatchJob, Series, Slice, Study
from scans.studies.receive import Frame
from scans.studies.sealed import seal

log = logging.getLogger(__name__)
WRITERS = 4
ENCODERS = 2


def service_user():
    """The account that owns network studies (DICOM_SERVICE_USER), created without a password when missing."""
    user, created = get_user_model().objects.get_or_create(username=settings.DICOM_SERVICE_USER)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def store_frames(frames: list[Frame], source: str, sender: str) -> list[Series]:
    """Store and queue each series among `frames`; return the series that got new slices."""
    by_series: dict[str, list[Frame]] = defaultdict(list)
    for f in frames:
        by_series[f.series_digest].append(f)
    stored = []
    for group in by_series.values():
        series = _store_series(group, source, sender)
        if series is not None:
            stored.append(series)
    return stored


def _store_series(frames: list[Frame], source: str, sender: str) -> Series | None:
    for attempt in range(2):  # two senders creating the same study or series at once: the second retries
        try:
            return _store_once(frames, source, sender)
        except IntegrityError:
            if attempt:
                raise
    return None


def _store_once(frames: list[Frame], source: str, sender: str) -> Series | None:
    first = frames[0]
    owner = service_user()
    known = set(Slice.objects.filter(series__uid_digest=first.series_digest).values_list("uid_digest", flat=True))
    fresh: dict[str, Frame] = {}
    for f in frames:
        if f.uid_digest not in known:
            fresh.setdefault(f.uid_digest, f)
    if not fresh:
        return None
    frames = sorted(fresh.values(), key=lambda f: f.position)
    with ThreadPoolExecutor(ENCODERS) as pool:
        list(pool.map(Frame.encode, frames))  # what the receiver has not encoded yet
    folder = f"scans/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"
    pixel_field = Slice._meta.get_field("pixels")
    written: list[tuple[object, str]] = []

    def write(job):
        storage, name, data = job
        saved = storage.save(name, ContentFile(data))
        written.append((storage, saved))
        return saved

    try:
        jobs = [(staging(), f"{folder}-{i}.dcm", f.staged) for i, f in enumerate(frames)]
        jobs += [(pixel_field.storage, pixel_field.generate_filename(None, "x.png"), f.pixels_png) for f in frames]
        with ThreadPoolExecutor(WRITERS) as pool:
            names = list(pool.map(write, jobs))
        staged, pixels = names[:len(frames)], names[len(frames):]
        with transaction.atomic():
            study, _ = Study.objects.get_or_create(
                uid_digest=first.study_digest,
                defaults={"owner": owner, "sealed": seal(first.study_sealed), "patient_ref": first.patient_ref,
                          "source": source})
            series, _ = Series.objects.select_for_update().get_or_create(
                uid_digest=first.series_digest,
                defaults={"study": study, "sealed": seal(first.series_sealed), "number": first.series_number,
                          "description": first.description, "meta": first.metadata})
            batch = BatchJob.objects.create(owner=study.owner, source="dicom",
                                            name=f"Series {series.number or series.pk}: {len(frames)} slices")
            items = BatchItem.objects.bulk_create([
                BatchItem(batch=batch, position=i, name=f"MR slice {i + 1}", staged=name)
                for i, name in enumerate(staged)])
            Slice.objects.bulk_create([
                Slice(series=series, uid_digest=f.uid_digest, frame=f.frame, position=f.position,
                      sealed=seal(f.slice_sealed), pixels=name, offset=f.offset, window_center=f.window_center,
                      window_width=f.window_width, item=item)
                for f, name, item in zip(frames, pixels, items)])
            series.batch, series.status, series.finished = batch, Series.QUEUED, None
            series.save(update_fields=["batch", "status", "finished"])
            record(study.owner, AuditEvent.UPLOADED, series, f"{len(frames)} MR slices from {sender} ({source})")
    except BaseException:
        for storage, name in written:
            storage.delete(name)
        raise
    from scans.studies.tasks import queue_series  # the tasks wrap this module

    queue_series(series.pk, batch.pk)
    return series
