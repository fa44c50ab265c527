"""The one path from checked images to stored results, and the one writer of Scan and Prediction rows.

Every way in (a single upload, the prototype's /api/predict/batch, the batch workers) does the same
four steps with these functions: find the files this user stored before (`stored_scans`), classify
the new ones in one forward pass (`classify`), put their files in storage (each caller its own way:
a random name, or a batch's staged file adopted), then `store` the rows, one INSERT per table, with
their audit entries. The model runs before anything is written, so a failure stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from audit.models import AuditEvent
from audit.trail import record_many
from lib.prepared import prepared_cursor
from lib.rows import insert
from ml.infer import ImageResult, get_classifier
from scans.intake.errors import InferenceFailed
from scans.intake.ingest import CheckedImage
from scans.models import Prediction, Scan
from scans.models.heat import pack_cam
from scans.patients import clean_reference, patients_for
from scans.verdicts import no_review_yet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewScan:
    """One classified image whose file is in storage, ready to become a Scan and its Prediction."""

    checked: CheckedImage
    result: ImageResult  # what the model said about it
    name: str  # the name it was uploaded under (a DICOM file's is not kept: see build_scan)
    file_name: str  # where its file is stored already
    patient_ref: str = ""
    note: str = ""


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


def stored_scans(user, sha256s: Iterable[str]) -> dict[str, Scan]:
    """The scans this user already has of these files (by content), with their predictions."""
    wanted = sorted(set(sha256s))
    if not wanted:
        return {}
    #  Most files are new: a short query says so, before the one that reads every column of the scans
    #  and their predictions (a tenth of an upload's CPU time when it ran alone). Written as SQL since
    #  every upload asks it: the ORM's exists() took 0.55 ms a call, round trip included, this 0.25 ms.
    with prepared_cursor() as cursor:
        q = connection.ops.quote_name
        cursor.execute(f"SELECT 1 FROM {q(Scan._meta.db_table)} WHERE {q(Scan._meta.get_field('owner').column)} = %s "
                       f"AND {q('sha256')} IN ({', '.join(['%s'] * len(wanted))}) LIMIT 1", [user.pk, *wanted])
        if cursor.fetchone() is None:
            return {}
    return {s.sha256: s for s in Scan.objects.filter(owner=user, sha256__in=wanted).select_related("prediction")}


def classify(images: list[CheckedImage], *, heatmaps: bool) -> list[ImageResult | InferenceFailed]:
    """One forward pass over the images: each image's result, or InferenceFailed in its place. If the
    pass fails, each image is tried alone, so that one bad image fails only itself, not its pass."""
    try:
        #  Only the map's cells are kept (scans.models.heat): nothing is enlarged or encoded here.
        return get_classifier().classify([c.image for c in images], cams=heatmaps)
    except Exception:
        log.exception("inference failed for a pass of %d images", len(images))
    if len(images) == 1:
        return [InferenceFailed("The model could not analyse this image; please try again.")]
    return [r for c in images for r in classify([c], heatmaps=heatmaps)]


def store(user, new: list[NewScan], detail: str = "", *, later: list | None = None) -> list[Scan]:
    """The rows for scans whose files are stored already: one INSERT per table (scans, audit entries,
    predictions; lib.rows.insert, a statement built once) inside the caller's transaction. The audit
    detail is the format, then `detail`.

    The predictions go last: their INSERT's rollup trigger locks summary rows that every other
    upload of the hour needs too, until the transaction ends. With `later` (inside
    lib.rows.pipelined) the audit and prediction INSERTs go to the server with the COMMIT, and
    lib.rows.read_keys(later) sets their keys afterwards."""
    scans = []
    for n in new:
        scan = build_scan(user, n.checked, n.name, n.patient_ref, n.note)
        scan.image.name = n.file_name
        scans.append(scan)
    found = patients_for({patient_key(s) for s in scans})
    for scan in scans:
        scan.patient = found.get(patient_key(scan))
    insert(scans)
    record_many(user, AuditEvent.UPLOADED, [(s, f"{s.format}, {detail}" if detail else s.format) for s in scans],
                later=later)
    predictions = [build_prediction(n.result) for n in new]
    for scan, prediction in zip(scans, predictions):
        prediction.scan = scan
        prediction.fill_owner()
    insert(predictions, later=later)
    for scan in scans:
        no_review_yet(scan)  # the answer shows the scan's verdict: no query needed to know there is none
    return scans


def build_scan(user, checked: CheckedImage, name: str, patient_ref: str = "", note: str = "") -> Scan:
    """The unsaved Scan for a checked image (its file not yet named)."""
    is_dicom = checked.format == "DICOM"
    return Scan(
        owner=user,
        #  A DICOM file's name often is the patient's: it is not kept.
        original_name=_dicom_name(checked) if is_dicom else name[-255:],
        sha256=checked.sha256,
        format=checked.format,
        width=checked.width,
        height=checked.height,
        size_bytes=checked.size,
        #  For DICOM the pseudonymous key, so that one patient's files group together.
        patient_ref=(checked.patient_key if is_dicom and checked.patient_key else clean_reference(patient_ref)),
        note=note.strip(),
        dicom_meta=checked.metadata,
    )


def build_prediction(result: ImageResult) -> Prediction:
    """The unsaved Prediction for one of the classifier's results."""
    heat = b"" if result.cam is None else pack_cam(result.cam, get_classifier(result.model_version).input_size)
    return Prediction(**output_fields(result), heat=heat)


def output_fields(result: ImageResult) -> dict:
    """The columns every model output row keeps (scans.models.clinical.ModelOutput) for one result."""
    return {
        "label": result.label, "confidence": result.confidence,
        **{f"prob_{c}": p for c, p in result.probabilities.items()},
        "out_of_scope": result.out_of_scope, "out_of_scope_reason": (result.out_of_scope_reason or "")[:255],
        "model_version": result.model_version, "inference_ms": result.ms,
    }


def patient_key(scan: Scan) -> tuple[int | None, str]:
    """Whose patient a new scan's reference names: a DICOM pseudonym is everyone's (no owner)."""
    pseudonym = scan.format == "DICOM" and scan.patient_ref.startswith("dcm-")
    return (None if pseudonym else scan.owner_id, scan.patient_ref)


def _dicom_name(checked: CheckedImage) -> str:
    sequence = checked.metadata.get("Sequence", "")
    return f"DICOM MR {sequence} {checked.sha256[:8]}.dcm".replace("  ", " ")
