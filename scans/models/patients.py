"""Patients: the record a scan belongs to, never a bare string shared between clinicians.

A reference typed at upload names a patient of the clinician who typed it: two clinicians' "P-0011"
are two patients. A DICOM file's keyed pseudonym (`dcm-…`, scans.intake.dicom.patient_key) is one
patient whoever uploads it, so it has no owner. Pages and the API address a patient by `public_id`,
an opaque random id, never by the reference itself (which may hold any printable text)."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

REFERENCE_MAX = 64


def reference_problem(text: str) -> str | None:
    """Why `text` (already stripped) cannot be a patient reference, or None when it can."""
    if len(text) > REFERENCE_MAX:
        return f"A patient reference has at most {REFERENCE_MAX} characters."
    if not text.isprintable():
        return "A patient reference is one line of printable text: no line breaks, tabs or control characters."
    return None


def validate_reference(text: str) -> None:
    problem = reference_problem(text)
    if problem:
        raise ValidationError(problem, code="invalid_patient_ref")


class Patient(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    #  The clinician whose reference this is; None for a DICOM pseudonym (the same patient for everyone).
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="patients")
    reference = models.CharField(max_length=REFERENCE_MAX, validators=[validate_reference])
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "reference"], condition=models.Q(owner__isnull=False),
                                    name="patient_reference_per_owner"),
            models.UniqueConstraint(fields=["reference"], condition=models.Q(owner__isnull=True),
                                    name="patient_pseudonym_once"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_pseudonym(self) -> bool:
        return self.owner_id is None
