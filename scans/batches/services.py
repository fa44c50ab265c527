"""Batch use cases: take many files (or ZIPs) in, stage them, queue them.

The raw bytes are staged in the default storage before anything is queued, so that a worker on
another machine can read them (MEDIA_ROOT shared, or object storage); scans.batches.work settles
the items, keeps a staged JPEG or PNG as its scan's file and deletes the rest. This module sends
the work through scans.batches.tasks, which never import it back.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from audit.models import AuditEvent
from audit.trail import record
from scans.batches.state import staging
from scans.batches.tasks import enqueue_batch
from scans.intake.archive import Member, is_zip, read_archive
from scans.intake.dicom import staged_upload
from scans.intake.errors import ScanRejected
from scans.intake.ingest import ACCEPTED, sniff_format
from scans.models import BatchItem, BatchJob

log = logging.getLogger(__name__)
STAGING_THREADS = 4  # writing files is mostly waiting on the file system (or object storage)


def create_batch(user, files: Iterable[UploadedFile], source: str = "page") -> BatchJob:
    """One batch with an item per file (a ZIP's members opened), its work queued. Raises
    ScanRejected when the upload as a whole is refused; nothing is kept then."""
    #  Staged where a JPEG or PNG stays as its scan's file: a worker only has to adopt it (scans.batches.work).
    folder = f"scans/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"
    items, names = [], []
    try:
        with ThreadPoolExecutor(STAGING_THREADS) as pool:
            writing: deque = deque()  # bounded: a ZIP's members are read one at a time, and so held
            for member in _members(files):
                writing.append(pool.submit(_stage, member, folder, len(items) + len(writing), names))
                if len(writing) > 4 * STAGING_THREADS:
                    items.append(writing.popleft().result())
            items.extend(f.result() for f in writing)
        queued = sum(i.status == BatchItem.PENDING for i in items)
        if not items:
            raise ScanRejected("no_files", "Choose one or more images or a ZIP archive.")
        if queued > settings.BATCH_MAX_FILES:
            raise ScanRejected("too_many_files", f"At most {settings.BATCH_MAX_FILES} images per batch.")
        with transaction.atomic():
            batch = BatchJob.objects.create(owner=user, source=source, name=_batch_name(files, items))
            for item in items:
                item.batch = batch
            BatchItem.objects.bulk_create(items)
            record(user, AuditEvent.UPLOADED, batch, f"{queued} images, {len(items) - queued} skipped ({source})")
    except BaseException:
        for name in names:
            staging().delete(name)
        raise

    try:
        enqueue_batch(batch.pk)
    except BrokerDown:
        #  The items stay pending; the next worker to start queues them (scans.batches.tasks.resume_unfinished).
        log.exception("batch %s stored but not queued: the broker is unreachable", batch.pk)
    return batch


def _members(files: Iterable[UploadedFile]):
    limit = settings.BATCH_ZIP_MAX_UNPACKED_MB * 1024 * 1024
    for f in files:
        name = (f.name or "upload")[-255:]
        head = f.read(4)
        f.seek(0)
        if is_zip(head):
            if f.size and f.size > limit:
                raise ScanRejected("archive_too_large", f"{name} is larger than NeuroLens unpacks.")
            yield from read_archive(f, max_members=settings.BATCH_ZIP_MAX_MEMBERS, max_bytes=limit, label=name)
        elif f.size is not None and f.size > settings.MAX_UPLOAD_BYTES:
            yield Member(name, skipped=f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit.",
                         code="file_too_large")
        else:
            yield Member(name, f.read())


def _stage(member: Member, folder: str, position: int, names: list[str]) -> BatchItem:
    item = BatchItem(position=position, name=member.name[-255:])
    if member.skipped:
        item.status = BatchItem.SKIPPED if member.code == "skipped" else BatchItem.FAILED
        item.error_code, item.error_message, item.settled = member.code, member.skipped[:255], timezone.now()
        return item
    try:
        #  A DICOM file is de-identified before it is staged: nothing identifying may be stored.
        sniffed = sniff_format(member.data)
        data, item.name = staged_upload(member.data, item.name, settings.PATIENT_KEY_SECRET, sniffed)
    except ScanRejected as exc:  # only a DICOM file gets here: its name is not kept either
        item.name = "DICOM file.dcm"
        item.status, item.error_code, item.error_message = BatchItem.FAILED, exc.code, exc.message[:255]
        item.settled = timezone.now()
        return item
    suffix = ACCEPTED.get(sniffed or "", ".dcm" if item.name.endswith(".dcm") else ".upload")
    item.staged = staging().save(f"{folder}-{position}{suffix}", ContentFile(data))
    names.append(item.staged)
    return item


def _batch_name(files, items: list[BatchItem]) -> str:
    """A single upload's file name, unless the batch holds DICOM: a DICOM file is often named
    after its patient, and its own name is never kept either."""
    files = list(files)
    if len(files) == 1 and files[0].name and not any(i.name == "DICOM file.dcm" for i in items):
        return files[0].name[-255:]
    return f"{len(items)} files"
