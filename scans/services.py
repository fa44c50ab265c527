"""The use cases. Pages and the API call these (and scans.selectors for reads) and nothing else."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, connection, transaction

from audit.models import AuditEvent
from audit.trail import record
from lib.rows import discard, pipelined, read_keys
from scans.apps import STARTED
from scans.classify import NewScan, classify, model_status, store, stored_scans
from scans.intake.errors import InferenceFailed, ScanRejected
from scans.intake.ingest import CheckedImage, read_image
from scans.intake.uploads import REQUEST_MEMORY_BYTES
from scans.models import Review, Scan
from scans.patients import clean_reference
from scans.reviews import review_scan  # noqa: F401 - a use case, kept beside the reviewers' worklist

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Submission:
    scan: Scan
    created: bool  # False: the same file was already uploaded by this user


def health() -> tuple[bool, dict]:
    """Whether this process can serve: the database answers and the model is loaded."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = True
    except DatabaseError:
        database = False
    model = model_status()
    healthy = database and model["loaded"]
    return healthy, {"status": "ok" if healthy else "error", "database": database, "model": model,
                     "uptime_s": round(time.monotonic() - STARTED, 1)}


def check_upload(uploaded_file: UploadedFile) -> CheckedImage:
    if uploaded_file.size is not None and uploaded_file.size > settings.MAX_UPLOAD_BYTES:
        raise ScanRejected("file_too_large", f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit.")
    return read_image(
        uploaded_file.read(),
        max_bytes=settings.MAX_UPLOAD_BYTES,
        min_side=settings.MIN_IMAGE_SIDE,
        max_side=settings.MAX_IMAGE_SIDE,
        name=uploaded_file.name or "",
    )


def submit_scan(user, uploaded_file: UploadedFile, patient_ref: str = "", note: str = "") -> Submission:
    """Check, classify and store one upload. Raises ScanRejected or InferenceFailed, storing nothing."""
    patient_ref = clean_reference(patient_ref)  # before the model runs: a bad reference costs no forward pass
    outcome = _submit(user, [uploaded_file], heatmaps=True, patient_ref=patient_ref, note=note)[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def submit_scans(user, uploaded_files: list[UploadedFile]) -> list[Submission | ScanRejected | InferenceFailed]:
    """submit_scan for several files: each file's Submission, or the exception that file raised (the
    others go on). A chunk at a time (`chunks`) is read, decoded, classified in one forward pass and
    stored in one transaction (three INSERTs), so memory stays bounded however many are sent. Heat
    maps as for batches (BATCH_HEATMAPS)."""
    heatmaps = settings.BATCH_HEATMAPS or len(uploaded_files) == 1
    outcomes: list = []
    for chunk in chunks(uploaded_files):
        outcomes += _submit(user, chunk, heatmaps=heatmaps, detail="API batch")
    return outcomes


def chunks(uploaded_files: list[UploadedFile], most_bytes: int = REQUEST_MEMORY_BYTES) -> list[list[UploadedFile]]:
    """The files in order, BATCH_CHUNK at a time and never more than `most_bytes` of them in one chunk
    (a single larger file goes alone): a chunk's files are read whole and their images decoded together."""
    found: list[list[UploadedFile]] = []
    held = 0
    for f in uploaded_files:
        size = f.size or 0
        if not found or len(found[-1]) >= settings.BATCH_CHUNK or (found[-1] and held + size > most_bytes):
            found.append([])
            held = 0
        found[-1].append(f)
        held += size
    return found


def _submit(user, uploaded_files: list[UploadedFile], *, heatmaps: bool, detail: str = "", patient_ref: str = "",
            note: str = "") -> list:
    """Check, de-duplicate, classify (one forward pass) and store these files (one transaction)."""
    if len(uploaded_files) == 1:
        checked = [_checked_or_rejected(uploaded_files[0])]
    else:
        with ThreadPoolExecutor(2) as pool:  # decoding and hashing let go of the GIL
            checked = list(pool.map(_checked_or_rejected, uploaded_files))
    accepted = [c for c in checked if isinstance(c, CheckedImage)]
    known = stored_scans(user, [c.sha256 for c in accepted])
    fresh: dict[str, tuple[CheckedImage, str]] = {}  # the first of each new file, with its name
    for f, c in zip(uploaded_files, checked):
        if isinstance(c, CheckedImage) and c.sha256 not in known:
            fresh.setdefault(c.sha256, (c, f.name or "upload"))
    created: dict[str, Scan] = {}
    failed: dict[str, InferenceFailed] = {}
    if fresh:
        results = classify([c for c, _ in fresh.values()], heatmaps=heatmaps)
        failed = {c.sha256: r for (c, _), r in zip(fresh.values(), results) if isinstance(r, InferenceFailed)}
        new = [NewScan(c, r, name, "", patient_ref, note)
               for (c, name), r in zip(fresh.values(), results) if not isinstance(r, InferenceFailed)]
        if new:
            created = _store_new(user, new, detail)
            if len(created) < len(new):  # lost a race to a simultaneous upload of the same file
                known.update(stored_scans(user, [n.checked.sha256 for n in new if n.checked.sha256 not in created]))
    outcomes: list = []
    reported: set[str] = set()
    for c in checked:
        if isinstance(c, ScanRejected):
            outcomes.append(c)
        elif c.sha256 in created and c.sha256 not in reported:
            reported.add(c.sha256)
            outcomes.append(Submission(created[c.sha256], created=True))
        elif c.sha256 in created or c.sha256 in known:  # uploaded before, or earlier in this request
            outcomes.append(Submission(created.get(c.sha256) or known[c.sha256], created=False))
        else:
            outcomes.append(failed.get(c.sha256) or InferenceFailed("The model could not analyse this image; please try again."))
    return outcomes


def _checked_or_rejected(uploaded_file: UploadedFile) -> CheckedImage | ScanRejected:
    try:
        return check_upload(uploaded_file)
    except ScanRejected as exc:
        return exc


def _store_new(user, new: list[NewScan], detail: str) -> dict[str, Scan]:
    """Files first (random names), then every row in one transaction; the files go if it fails. A
    simultaneous upload of one of these files makes the bulk insert fail: then one at a time, and
    the ones that lost the race are left out (their files removed)."""
    field = Scan._meta.get_field("image")
    stored: list[NewScan] = []
    try:
        for n in new:
            name = field.storage.save(field.generate_filename(None, f"upload{n.checked.extension}"),
                                      ContentFile(n.checked.data))
            stored.append(NewScan(n.checked, n.result, n.name, name, n.patient_ref, n.note))
        later: list = []
        try:
            with pipelined(), transaction.atomic():  # the last INSERTs go with the COMMIT (lib.rows.pipelined)
                scans = store(user, stored, detail, later=later)
            read_keys(later)
        finally:
            discard(later)  # left unread only when the transaction failed
    except IntegrityError:
        return _store_each(user, stored, detail)
    except BaseException:
        for n in stored:
            field.storage.delete(n.file_name)
        raise
    return {s.sha256: s for s in scans}


def _store_each(user, new: list[NewScan], detail: str) -> dict[str, Scan]:
    storage = Scan._meta.get_field("image").storage
    created = {}
    for i, n in enumerate(new):
        try:
            with transaction.atomic():
                created[n.checked.sha256] = store(user, [n], detail)[0]
        except IntegrityError:
            storage.delete(n.file_name)
            log.info("simultaneous duplicate upload by user %s; kept the first", user.pk)
        except BaseException:
            for left in new[i:]:
                storage.delete(left.file_name)
            raise
    return created


class ReasonRequired(ValueError):
    """Deleting a reviewed scan removes a reviewer's verdict: the one who deletes says why."""


def delete_scan(scan: Scan, by=None, reason: str = "") -> None:
    """Remove the rows, then the files they pointed at. A reviewed scan needs a reason (ReasonRequired
    otherwise), which the audit entry keeps."""
    name, storage = scan.image.name, scan.image.storage
    reason = " ".join(reason.split())
    if by is not None and not reason and Review.objects.filter(scan=scan).exists():
        raise ReasonRequired("This scan has a reviewer's verdict: say why it is deleted.")
    with transaction.atomic():
        if by is not None:
            record(by, AuditEvent.DELETED, scan, f"{scan.original_name}; reason: {reason}" if reason
                   else scan.original_name)
        scan.delete()
    try:
        storage.delete(name)
    except OSError:
        log.exception("could not delete %s", name)
