"""Existing scans get their Patient rows, without loss.

A reference that is not one line of printable text (a newline or other control character, which once
made the history answer 500) is repaired first: each unprintable character becomes a space, runs of
spaces become one, and the result is cut to 64 characters. Then every (clinician, reference) becomes
one patient of that clinician, and every DICOM pseudonym (`dcm-…` on a DICOM scan) one patient
without an owner, shared by whoever uploaded it. Two clinicians' equal references stay two patients."""

import re
import uuid

from django.db import migrations
from django.db.models import OuterRef, Q, Subquery


def repaired(text: str) -> str:
    return re.sub(r" +", " ", "".join(ch if ch.isprintable() else " " for ch in text)).strip()[:64].strip()


def is_pseudonym(scan_format: str, ref: str) -> bool:
    return scan_format == "DICOM" and ref.startswith("dcm-")


def forwards(apps, schema_editor):
    Scan = apps.get_model("scans", "Scan")
    Patient = apps.get_model("scans", "Patient")
    #  Python's isprintable decides, on every database: only the rows that need it are rewritten.
    for pk, ref in Scan.objects.exclude(patient_ref="").values_list("pk", "patient_ref").iterator(chunk_size=2000):
        fixed = repaired(ref)
        if fixed != ref:
            Scan.objects.filter(pk=pk).update(patient_ref=fixed)
    owned, shared = set(), set()
    rows = Scan.objects.exclude(patient_ref="").values_list("owner_id", "format", "patient_ref").distinct()
    for owner_id, scan_format, ref in rows.iterator(chunk_size=2000):
        (shared.add(ref) if is_pseudonym(scan_format, ref) else owned.add((owner_id, ref)))
    Patient.objects.bulk_create([Patient(public_id=uuid.uuid4(), owner_id=None, reference=r) for r in sorted(shared)],
                                batch_size=1000)
    Patient.objects.bulk_create([Patient(public_id=uuid.uuid4(), owner_id=o, reference=r) for o, r in sorted(owned)],
                                batch_size=1000)
    dicom = Q(format="DICOM", patient_ref__startswith="dcm-")
    Scan.objects.filter(dicom).update(patient_id=Subquery(
        Patient.objects.filter(owner__isnull=True, reference=OuterRef("patient_ref")).values("pk")[:1]))
    Scan.objects.exclude(patient_ref="").exclude(dicom).update(patient_id=Subquery(
        Patient.objects.filter(owner_id=OuterRef("owner_id"), reference=OuterRef("patient_ref")).values("pk")[:1]))


def backwards(apps, schema_editor):
    apps.get_model("scans", "Scan").objects.update(patient=None)
    apps.get_model("scans", "Patient").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("scans", "0009_verdicts_and_patients")]

    operations = [migrations.RunPython(forwards, backwards)]
