import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.utils import timezone

from ml.infer import CLASSES, DISPLAY_NAMES
from scans.models.patients import validate_reference

LABEL_CHOICES = [(c, DISPLAY_NAMES[c]) for c in CLASSES]


def scan_upload_to(instance: "Scan", filename: str) -> str:
    """A random name, so nothing about the patient or the original file leaks into the path."""
    suffix = PurePath(filename).suffix.lower()
    return f"scans/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Scan(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="scans")
    created = models.DateTimeField(default=timezone.now)
    original_name = models.CharField(max_length=255)
    image = models.FileField(upload_to=scan_upload_to, max_length=200)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=16)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    #  The patient this scan belongs to (scans.models.patients); patient_ref is its reference, copied here
    #  for search and the exports. Neither changes after upload.
    patient = models.ForeignKey("scans.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="scans")
    patient_ref = models.CharField("patient reference", max_length=64, blank=True, validators=[validate_reference])
    note = models.TextField(blank=True, max_length=2000)
    #  DICOM uploads only: the technical attributes kept after de-identification (label -> text).
    dicom_meta = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "sha256"], name="scan_unique_file_per_owner"),
        ]
        indexes = [
            models.Index(fields=["owner", "-created"], name="scan_owner_created"),
            models.Index(fields=["-created"], name="scan_created"),
            models.Index(fields=["patient_ref"], name="scan_patient_ref"),
        ]

    def __str__(self) -> str:
        return f"Scan {self.pk} ({self.original_name})"

    @property
    def image_content_type(self) -> str:
        """The stored file's type: a DICOM upload is kept as the PNG derived from it."""
        return "image/jpeg" if self.image.name.lower().endswith((".jpg", ".jpeg")) else "image/png"


class PredictionQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        """Bulk inserts skip save(): each row takes its scan's owner here as well."""
        objs = list(objs)
        for p in objs:
            p.fill_owner()
        return super().bulk_create(objs, *args, **kwargs)


class ModelOutput(models.Model):
    """What one model version said about a scan: the served result (Prediction) and a shadow re-score
    (scans.models.shadows.ShadowPrediction) keep the same columns."""

    label = models.CharField(max_length=16, choices=LABEL_CHOICES)
    confidence = models.FloatField(help_text="Calibrated probability of the label, 0 to 1.")
    prob_glioma = models.FloatField()
    prob_meningioma = models.FloatField()
    prob_notumor = models.FloatField()
    prob_pituitary = models.FloatField()
    out_of_scope = models.BooleanField(default=False)
    out_of_scope_reason = models.CharField(max_length=255, blank=True)
    model_version = models.CharField(max_length=64)
    inference_ms = models.FloatField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def fill_owner(self) -> None:
        if self.owner_id is None and self.scan_id is not None:
            self.owner_id = self.scan.owner_id

    def save(self, *args, **kwargs):
        self.fill_owner()
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.get_label_display()} ({self.confidence:.0%})"

    @property
    def probabilities(self) -> dict[str, float]:
        return {c: getattr(self, f"prob_{c}") for c in CLASSES}

    @property
    def shows_class(self) -> bool:
        """False for an out-of-scope image: the model's class and probabilities are not a result then
        (kept in the row as the model computed them, never shown as one)."""
        return not self.out_of_scope


class Prediction(ModelOutput):
    """What the served model said about a scan when it was stored: the scan's result. Never edited
    afterwards: reviews are kept apart, and re-scores by other versions are shadows (never this row)."""

    scan = models.OneToOneField(Scan, on_delete=models.CASCADE, related_name="prediction")
    #  The scan's owner, copied (a scan never changes hands) so that the analytics filter and group by
    #  user on this table alone, without joining every prediction to its scan. Filled by save() and
    #  bulk_create from the scan; nobody sets it by hand.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="predictions",
                              editable=False, db_index=False)  # prediction_owner_created leads with it
    #  The class-activation map as a small 8-bit grey PNG (scans.models.heat); empty for older rows.
    heat = models.BinaryField(blank=True, default=b"", editable=False)

    objects = PredictionQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["label"], name="prediction_label"),
            models.Index(fields=["confidence"], name="prediction_confidence"),
            models.Index(fields=["created"], name="prediction_created"),
            #  Analytics: filters on class and version, and their per-group figures read from the index
            #  alone (PostgreSQL's INCLUDE; elsewhere plain indexes).
            models.Index(fields=["label", "confidence"], include=["out_of_scope"], name="prediction_label_conf"),
            models.Index(fields=["model_version", "inference_ms"], include=["created"], name="prediction_version_ms"),
            #  A clinician's own predictions (their analytics), in time order.
            models.Index(fields=["owner", "created"], name="prediction_owner_created"),
        ]

    def class_rows(self) -> list[dict]:
        """One row per class for the result bars, the predicted class marked."""
        return [
            {"key": c, "name": DISPLAY_NAMES[c], "probability": p, "is_label": c == self.label}
            for c, p in self.probabilities.items()
        ]


class Review(models.Model):
    """A reviewer's verdict on a prediction. The prediction itself is never changed. A scan may be
    reviewed again: every review is kept, and only the newest is `current` (its status)."""

    CONFIRMED, CORRECTED, NOT_ASSESSABLE = "confirmed", "corrected", "not_assessable"
    UNREVIEWED = "unreviewed"  # no review row: the status of a scan nobody has reviewed yet
    STATUS_CHOICES = [(CONFIRMED, "Confirmed"), (CORRECTED, "Corrected"), (NOT_ASSESSABLE, "Not assessable")]
    REASON_CHOICES = [("wrong_modality", "Wrong modality"), ("poor_quality", "Poor quality"),
                      ("not_brain", "Not a brain slice"), ("other", "Other")]

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="reviews", related_query_name="review")
    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="reviews",
                                   related_query_name="review")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    status = models.CharField(max_length=16, choices=STATUS_CHOICES)
    corrected_label = models.CharField(max_length=16, choices=LABEL_CHOICES, blank=True)
    #  Not assessable only: why no class can be given.
    reason = models.CharField(max_length=16, choices=REASON_CHOICES, blank=True)
    #  The class the reviewer stands by: the model's when confirmed, the corrected one otherwise; empty
    #  when not assessable.
    label = models.CharField(max_length=16, choices=LABEL_CHOICES, blank=True)
    current = models.BooleanField(default=True)
    comment = models.TextField(max_length=2000, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["scan", "-created"], name="review_scan_created")]
        constraints = [
            models.UniqueConstraint(fields=["scan"], condition=models.Q(current=True), name="review_one_current"),
            models.CheckConstraint(
                condition=(models.Q(status="confirmed", corrected_label="", reason="") & ~models.Q(label="")
                           | models.Q(status="corrected", reason="") & ~models.Q(corrected_label="")
                           | models.Q(status="not_assessable", corrected_label="", label="") & ~models.Q(reason="")),
                name="review_verdict_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} by {self.reviewer} ({self.created:%Y-%m-%d})"

    @property
    def verdict(self) -> str:
        """The verdict in words: "confirmed", "corrected to Pituitary Tumor", "not assessable (poor quality)"."""
        if self.status == self.NOT_ASSESSABLE:
            return f"not assessable ({self.get_reason_display().lower()})"
        if self.status == self.CORRECTED:
            return f"corrected to {self.get_corrected_label_display()}"
        return self.get_status_display().lower()
