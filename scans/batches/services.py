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
STAGING_BYTES = 16 * 1024 * 1024  # file bytes held while they are staged, at most (with the one being read)


def create_batch(user, files: Iterable[UploadedFile], source: str = "page") -> BatchJob:
    """One batch with an item per file (a ZIP's members opened), its work queued. Raises
    ScanRejected when the upload as a whole is refused; nothing is kept then."""
    #  Staged where a JPEG or PNG stays as its scan's file: a worker only has to adopt it (scans.batches.work).
    folder = f"scans/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"
    items, names = [], []
    keep_names: set[int] = set()  # positions of files uploaded as themselves, not from an archive
    try:
        with ThreadPoolExecutor(STAGING_THREADS) as pool:
            #  Bounded, in files and in bytes: a ZIP's members are read one at a time, and so held.
            writing: deque = deque()
            for member in _members(files, keep_names):
                writing.append((pool.submit(_stage, member, folder, len(items) + len(writing), names),
                                len(member.data)))
                while len(writing) > 4 * STAGING_THREADS or sum(n for _, n in writing) > STAGING_BYTES:
                    items.append(writing.popleft()[0].result())
            items.extend(f.result() for f, _ in writing)
        queued = sum(i.status == BatchItem.PENDING for i in items)
        if not items:
            raise ScanRejected("no_files", "Choose one or more images or a ZIP archive.")
        if queued > settings.BATCH_MAX_FILES:
            raise ScanRejected("too_many_files", f"At most {settings.BATCH_MAX_FILES} images per batch.")
        _name_items(items, keep_names)
        with transaction.atomic():
            batch = BatchJob.objects.create(owner=user, source=source, name=_batch_name(files, items, keep_names))
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


def _members(files: Iterable[UploadedFile], keep_names: set[int]):
    limit = settings.BATCH_ZIP_MAX_UNPACKED_MB * 1024 * 1024
    position = 0
    for f in files:
        name = (f.name or "upload")[-255:]
        head = f.read(4)
        f.seek(0)
        if is_zip(head):
            if f.size and f.size > limit:
                raise ScanRejected("archive_too_large", f"{name} is larger than NeuroLens unpacks.")
            for member in read_archive(f, max_members=settings.BATCH_ZIP_MAX_MEMBERS, max_bytes=limit):
                position += 1
                yield member
            continue
        keep_names.add(position)
        position += 1
        if f.size is not None and f.size > settings.MAX_UPLOAD_BYTES:
            yield Member(name, skipped=f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit.",
                         code="file_too_large")
        else:
            data = f.read()
            yield Member(name, data, kind=sniff_format(data) or "file")


def _stage(member: Member, folder: str, position: int, names: list[str]) -> BatchItem:
    item = BatchItem(position=position, name=member.name[-255:])
    item.kind, item.instance = member.kind, ""  # for its neutral name, once the batch's size is known
    if member.skipped:
        item.status = BatchItem.SKIPPED if member.code == "skipped" else BatchItem.FAILED
        item.error_code, item.error_message, item.settled = member.code, member.skipped[:255], timezone.now()
        return item
    try:
        #  Nothing identifying is staged: a DICOM file is de-identified, a JPEG or PNG loses its metadata.
        sniffed = sniff_format(member.data)
        data, description = staged_upload(member.data, member.name, settings.PATIENT_KEY_SECRET, sniffed)
    except ScanRejected as exc:
        item.status, item.error_code, item.error_message = BatchItem.FAILED, exc.code, exc.message[:255]
        item.settled = timezone.now()
        item.kind = "DICOM" if member.kind == "DICOM" or member.name.lower().endswith(".dcm") else member.kind
        return item
    item.kind, _, item.instance = description.partition(", ")
    suffix = ACCEPTED.get(sniffed or "", ".dcm" if item.kind not in ("file", "PNG", "JPEG") else ".upload")
    item.staged = staging().save(f"{folder}-{position}{suffix}", ContentFile(data))
    names.append(item.staged)
    return item


def _name_items(items: list[BatchItem], keep_names: set[int]) -> None:
    """Every item of an archive, and every DICOM file, named by its kind and position alone ("MR 3
    of 24, instance 12", "PNG 5 of 40"): a path or a DICOM file's name is often the patient's."""
    for item in items:
        if item.position in keep_names and item.kind in ("PNG", "JPEG", "file"):
            continue
        item.name = f"{item.kind} {item.position + 1} of {len(items)}" + (f", {item.instance}" if item.instance else "")


def _batch_name(files, items: list[BatchItem], keep_names: set[int]) -> str:
    """A single JPEG or PNG upload's file name; otherwise the count of files (a ZIP's or a DICOM
    file's own name is never kept: see _name_items)."""
    files = list(files)
    if len(files) == 1 and len(items) == 1 and keep_names and items[0].kind in ("PNG", "JPEG"):
        return items[0].name
    return f"{len(items)} files"
