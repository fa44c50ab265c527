"""Patients at upload: the typed reference checked, and each scan's Patient found or made.

The one rule for every way in (the page, API v1, the prototype's API, batches): a reference is one
line of printable text of at most 64 characters, refused with `invalid_patient_ref` (400) otherwise.
A DICOM file with a Patient ID belongs to its keyed pseudonym, shared by every uploader; anything
else to the uploader's own patient of that reference."""

from __future__ import annotations

from scans.intake.errors import ScanRejected
from scans.models import Patient
from scans.models.patients import reference_problem


def clean_reference(text: str | None) -> str:
    """The reference as stored (surrounding spaces removed), or ScanRejected."""
    text = (text or "").strip()
    problem = reference_problem(text)
    if problem is None and text.lower().startswith("dcm-"):
        problem = "References starting with dcm- are kept for the pseudonyms of DICOM files."
    if problem:
        raise ScanRejected("invalid_patient_ref", problem)
    return text


def patients_for(keys: set[tuple[int | None, str]]) -> dict[tuple[int | None, str], Patient]:
    """The Patient of each (owner id or None, reference), made where missing (inside the caller's
    transaction; a simultaneous upload making the same one is settled by get_or_create)."""
    found = {}
    for owner_id, reference in keys:
        if reference:
            found[(owner_id, reference)] = Patient.objects.get_or_create(owner_id=owner_id, reference=reference)[0]
    return found
