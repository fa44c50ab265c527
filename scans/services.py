"""The use cases. Pages and the API call these and nothing else."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from audit.trail import record, record_many
from ml.infer import get_classifier
from scans.heat import heat_png
from scans.ingest import CheckedImage, ScanRejected, read_image
from scans.models import Prediction, Review, Scan

log = logging.getLogger(__name__)


class InferenceFailed(Exception):
    """The model could not produce a result; nothing was stored."""


@dataclass(frozen=True)
class Submission:
    scan: Scan
    created: bool  # False: the same file was already uploaded by this user


def warm_model() -> None:
    """Load the classifier now rather than on the first upload."""
    try:
        clf = get_classifier()
        log.info("model %s loaded", clf.version)
    except Exception:
        log.exception("the model could not be loaded; uploads will fail until it can")


def model_status() -> dict:
    try:
        return {"loaded": True, "version": get_classifier().version}
    except Exception:
        log.exception("model unavailable")
        return {"loaded": False, "version": None}


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
    checked = check_upload(uploaded_file)
    existing = find_duplicate(user, checked.sha256)
    if existing:
        return Submission(existing, created=False)
    try:
        result = get_classifier().classify([checked.image], heatmaps=True)[0]
    except Exception as exc:
        log.exception("inference failed for an upload by user %s", user.pk)
        raise InferenceFailed("The model could not analyse this image; please try again.") from exc
    return store_result(user, checked, result, uploaded_file.name or "upload", patient_ref, note)


def submit_scans(user, uploaded_files: list[UploadedFile]) -> list[Submission | ScanRejected | InferenceFailed]:
    """submit_scan for several files: each file's Submission, or the exception that file raised (the
    others go on). BATCH_CHUNK files at a time are decoded, classified in one forward pass and stored
    in one transaction (three INSERTs), so memory stays bounded however many are sent. Heat maps as
    for batches (BATCH_HEATMAPS): drawn when a scan is first viewed."""
    heat, chunk = settings.BATCH_HEATMAPS or len(uploaded_files) == 1, settings.BATCH_CHUNK
    return [outcome for start in range(0, len(uploaded_files), chunk)
            for outcome in _submit_some(user, uploaded_files[start:start + chunk], heat)]


def _submit_some(user, uploaded_files: list[UploadedFile], heat: bool) -> list:
    with ThreadPoolExecutor(2) as pool:  # decoding and hashing let go of the GIL
        checked = list(pool.map(_checked_or_rejected, uploaded_files))
    shas = {c.sha256 for c in checked if isinstance(c, CheckedImage)}
    known = {s.sha256: s for s in Scan.objects.select_related("prediction").filter(owner=user, sha256__in=shas)}
    fresh: dict[str, tuple[CheckedImage, str]] = {}
    for f, c in zip(uploaded_files, checked):
        if isinstance(c, CheckedImage) and c.sha256 not in known:
            fresh.setdefault(c.sha256, (c, f.name or "upload"))
    try:
        results = get_classifier().classify([c.image for c, _ in fresh.values()], heatmaps=heat)
    except Exception:
        log.exception("inference failed for %d uploads by user %s", len(fresh), user.pk)
        results = None
    created = _store_new(user, list(fresh.values()), results) if results else {}
    out: list = []
    for c in checked:
        if isinstance(c, ScanRejected):
            out.append(c)
        elif c.sha256 in created:
            out.append(Submission(created.pop(c.sha256), created=True))  # a repeat in the request: below
        elif (existing := known.get(c.sha256) or find_duplicate(user, c.sha256)) is not None:
            out.append(Submission(existing, created=False))
        else:
            out.append(InferenceFailed("The model could not analyse this image; please try again."))
    return out


def _checked_or_rejected(uploaded_file: UploadedFile) -> CheckedImage | ScanRejected:
    try:
        return check_upload(uploaded_file)
    except ScanRejected as exc:
        return exc


def _store_new(user, fresh: list[tuple[CheckedImage, str]], results: list) -> dict[str, Scan]:
    """Files first (random names), then every row in one transaction; the files go if it fails. A
    simultaneous upload of one of these files makes the bulk insert fail: then one by one."""
    field = Scan._meta.get_field("image")
    names = [field.storage.save(field.generate_filename(None, f"upload{c.extension}"), ContentFile(c.data))
             for c, _ in fresh]
    try:
        with transaction.atomic():
            scans = store_scans(user, [(c, r, n, f) for (c, n), r, f in zip(fresh, results, names)], "API batch")
    except IntegrityError:
        for name in names:
            field.storage.delete(name)
        stored = [store_result(user, c, r, n).scan for (c, n), r in zip(fresh, results)]
        return {s.sha256: s for s in stored}
    except BaseException:
        for name in names:
            field.storage.delete(name)
        raise
    return {s.sha256: s for s in scans}


def store_result(user, checked: CheckedImage, result, name: str, patient_ref: str = "", note: str = "") -> Submission:
    """Store a classified upload: its file, Scan and Prediction (one transaction) and the audit entry."""
    scan = build_scan(user, checked, name, patient_ref, note)
    scan.image.save(f"upload{checked.extension}", ContentFile(checked.data), save=False)
    prediction = build_prediction(result)
    try:
        with transaction.atomic():
            scan.save()
            prediction.scan = scan
            prediction.save()
            record(user, AuditEvent.UPLOADED, scan, checked.format)
    except BaseException as exc:
        scan.image.storage.delete(scan.image.name)
        if isinstance(exc, IntegrityError):
            #  The same file arrived twice at once; the first one wins.
            existing = find_duplicate(user, checked.sha256)
            if existing:
                log.info("simultaneous duplicate upload by user %s; kept scan %s", user.pk, existing.pk)
                return Submission(existing, created=False)
        raise
    return Submission(scan, created=True)


def store_scans(user, classified: list[tuple[CheckedImage, object, str, str]], detail: str) -> list[Scan]:
    """Scans whose files are stored already, with their predictions and audit entries: one INSERT
    per table for them all, inside the caller's transaction. `classified` holds (checked image,
    classifier result, original name, stored file name)."""
    scans = []
    for checked, _, name, file_name in classified:
        scan = build_scan(user, checked, name)
        scan.image.name = file_name
        scans.append(scan)
    Scan.objects.bulk_create(scans)
    predictions = [build_prediction(result) for _, result, _, _ in classified]
    for scan, prediction in zip(scans, predictions):
        prediction.scan = scan
    Prediction.objects.bulk_create(predictions)
    record_many(user, AuditEvent.UPLOADED, [(s, f"{s.format}, {detail}") for s in scans])
    return scans


def build_scan(user, checked: CheckedImage, name: str, patient_ref: str = "", note: str = "") -> Scan:
    """The unsaved Scan for a checked image (its file not yet stored)."""
    is_dicom = checked.format == "DICOM"
    return Scan(
        owner=user,
        #  A DICOM file's name often is the patient's: it is not kept.
        original_name=_dicom_name(checked) if is_dicom else name[-255:],
        sha256=checked.sha256,
        format=checked.format,
        width=checked.width,
        height=checked.height,
        size_bytes=len(checked.data),
        #  For DICOM the pseudonymous key, so that one patient's files group together.
        patient_ref=(checked.patient_key if is_dicom and checked.patient_key else patient_ref.strip()),
        note=note.strip(),
        dicom_meta=checked.metadata,
    )


def build_prediction(result) -> Prediction:
    """The unsaved Prediction for one of the classifier's results."""
    return Prediction(
        label=result.label,
        confidence=result.confidence,
        **{f"prob_{c}": p for c, p in result.probabilities.items()},
        out_of_scope=result.out_of_scope,
        out_of_scope_reason=(result.out_of_scope_reason or "")[:255],
        model_version=result.model_version,
        inference_ms=result.ms,
        heat=heat_png(result.heatmap) if result.heatmap is not None else b"",
    )


def find_duplicate(user, sha256: str) -> Scan | None:
    return Scan.objects.select_related("prediction").filter(owner=user, sha256=sha256).first()


def _dicom_name(checked: CheckedImage) -> str:
    sequence = checked.metadata.get("Sequence", "")
    return f"DICOM MR {sequence} {checked.sha256[:8]}.dcm".replace("  ", " ")


def delete_scan(scan: Scan, by=None) -> None:
    """Remove the rows, then the files they pointed at."""
    names = [scan.image.name]
    prediction = getattr(scan, "prediction", None)
    if prediction is not None and prediction.heatmap:
        names.append(prediction.heatmap.name)
    storage = scan.image.storage
    with transaction.atomic():
        if by is not None:
            record(by, AuditEvent.DELETED, scan, scan.original_name)
        scan.delete()
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            log.exception("could not delete %s", name)


def review_scan(reviewer, scan: Scan, status: str, corrected_label: str = "", comment: str = "") -> Review:
    """Record a reviewer's verdict. The prediction is left as the model made it."""
    if status == Review.CONFIRMED:
        corrected_label = ""
    elif status != Review.CORRECTED or not corrected_label:
        raise ValueError("a correction names the right label")
    with transaction.atomic():
        Scan.objects.select_for_update().filter(pk=scan.pk).first()  # one review at a time per scan
        Review.objects.filter(scan=scan, current=True).update(current=False)
        review = Review.objects.create(scan=scan, prediction=scan.prediction, reviewer=reviewer, status=status,
                                       corrected_label=corrected_label, label=corrected_label or scan.prediction.label,
                                       comment=comment.strip())
        record(reviewer, AuditEvent.REVIEWED, scan, f"{status} {corrected_label}".strip())
    return review
