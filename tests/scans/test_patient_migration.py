"""Migration 0010: existing scans become patients without loss, and bad references are repaired.

The rows are made as the old code stored them (a free-text reference, no Patient), then the
migration's own function runs on them."""

from importlib import import_module

import pytest
from django.apps import apps
from django.urls import reverse

from scans.models import Patient, Scan
from tests.helpers import client_for, make_scan

pytestmark = pytest.mark.django_db
migration = import_module("scans.migrations.0010_patients_from_references")


def old_row(owner, ref: str, seed: int, fmt: str = "PNG") -> Scan:
    scan = make_scan(owner, name=f"old-{seed}.png", seed=seed)
    Scan.objects.filter(pk=scan.pk).update(patient_ref=ref, patient=None, format=fmt)  # as stored before
    return scan


def test_existing_references_become_patients_per_clinician_and_bad_ones_are_repaired(owner, colleague, reviewer):
    rows = {
        "mine": old_row(owner, "P-0011", 1), "mine-again": old_row(owner, "P-0011", 2),
        "theirs": old_row(colleague, "P-0011", 3),
        "newline": old_row(owner, "a\nb", 4), "controls": old_row(owner, "\tward\x07 7\r\n", 5),
        "only-controls": old_row(owner, "\n\x1b", 6),
        "dicom-mine": old_row(owner, "dcm-0123456789abcdef01234567", 7, "DICOM"),
        "dicom-theirs": old_row(colleague, "dcm-0123456789abcdef01234567", 8, "DICOM"),
        "none": old_row(owner, "", 9),
    }
    migration.forwards(apps, None)
    ref = {k: Scan.objects.get(pk=s.pk) for k, s in rows.items()}
    assert ref["newline"].patient_ref == "a b" and ref["controls"].patient_ref == "ward 7"
    assert ref["only-controls"].patient_ref == "" and ref["only-controls"].patient is None
    assert ref["none"].patient is None
    #  Nothing lost: every scan with a reference has a patient of that reference.
    assert all(s.patient and s.patient.reference == s.patient_ref for s in ref.values() if s.patient_ref)
    assert ref["mine"].patient == ref["mine-again"].patient != ref["theirs"].patient
    assert (ref["mine"].patient.owner, ref["theirs"].patient.owner) == (owner, colleague)
    assert ref["dicom-mine"].patient == ref["dicom-theirs"].patient and ref["dicom-mine"].patient.owner is None
    assert Patient.objects.count() == 5  # P-0011 twice, "a b", "ward 7" and the shared pseudonym
    #  The pages that once answered 500 for everyone now answer.
    for user in (owner, reviewer):
        for url in (reverse("scans:history"), reverse("scans:patients"),
                    reverse("scans:detail", args=[ref["newline"].pk])):
            assert client_for(user).get(url).status_code == 200
    assert client_for(reviewer).get(reverse("scans:patients")).text.count('data-testid="patient-row"') == 5
