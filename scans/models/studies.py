"""A study that arrived over the network, its series and their slices.

Each slice is classified as a Scan (the batch task path), so the slice's Scan carries its
Prediction; the Slice row adds its place in the series and its lossless pixels for windowing.
Nothing here is identifying: UIDs and the patient module are only in `sealed` (scans.studies.sealed).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def pixels_upload_to(instance, filename: str) -> str:
    return f"slices/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.png"


class Study(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="studies")
    created = models.DateTimeField(default=timezone.now)
    uid_digest = models.CharField(max_length=64, unique=True)
    sealed = models.BinaryField(editable=False)
    patient_ref = models.CharField("patient reference", max_length=64, blank=True)
    source = models.CharField(max_length=8, default="dimse", help_text="dimse (C-STORE) or stow (STOW-RS)")

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "-created"], name="study_owner_created")]

    def __str__(self) -> str:
        return f"Study {self.pk}"


class Series(models.Model):
    QUEUED, DONE, FAILED = "queued", "done", "failed"
    STATUS_CHOICES = [(s, s) for s in (QUEUED, DONE, FAILED)]

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="series")
    created = models.DateTimeField(default=timezone.now)
    uid_digest = models.CharField(max_length=64, unique=True)
    sealed = models.BinaryField(editable=False)
    number = models.IntegerField(null=True, blank=True)
    description = models.CharField(max_length=64, blank=True)  # de-identified SeriesDescription
    meta = models.JSONField(default=dict, blank=True)  # technical attributes kept (scans.intake.dicom.KEPT)
    status = models.CharField(max_length=8, choices=STATUS_CHOICES, default=QUEUED)
    batch = models.ForeignKey("scans.BatchJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #  The series result (scans.studies.result.series_result), filled when its slices are classified.
    label = models.CharField(max_length=16, blank=True)
    result = models.JSONField(default=dict, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    #  The last SR/SC built for it (their SOP Instance UIDs are NeuroLens's own, not the patient's).
    sr_uid = models.CharField(max_length=64, blank=True)
    sr = models.BinaryField(blank=True, default=b"", editable=False)
    sc = models.BinaryField(blank=True, default=b"", editable=False)
    sent = models.DateTimeField(null=True, blank=True)
    send_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["number", "id"]

    def __str__(self) -> str:
        return f"Series {self.pk} of study {self.study_id}"


class Slice(models.Model):
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="slices")
    #  Digest of the original SOP Instance UID and frame: the same instance sent twice is stored once.
    uid_digest = models.CharField(max_length=64)
    frame = models.PositiveIntegerField(default=1)
    position = models.FloatField(default=0, help_text="Ordering in the series (instance number, then frame).")
    sealed = models.BinaryField(editable=False)
    #  The modality-LUT values as a 16-bit grey PNG (lossless), value = stored + offset.
    pixels = models.FileField(upload_to=pixels_upload_to, max_length=200)
    offset = models.FloatField(default=0)
    window_center = models.FloatField()
    window_width = models.FloatField()
    item = models.ForeignKey("scans.BatchItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    scan = models.ForeignKey("scans.Scan", null=True, blank=True, on_delete=models.SET_NULL, related_name="slices")
    #  One of the series result's key images (set by scans.studies.finish): the reviewers' worklist
    #  offers these, not every slice.
    key = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["series", "uid_digest"], name="slice_once_per_series")]

    def __str__(self) -> str:
        return f"Slice {self.pk}"
