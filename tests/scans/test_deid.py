"""De-identification: no identifying value of a DICOM upload survives anywhere, and one patient's
files still group together under a pseudonymous key."""

import io
import logging

import pytest
from django.core import serializers
from django.urls import reverse
from pypdf import PdfReader

from audit.models import AuditEvent
from scans.intake.deid import deidentify
from scans.intake.dicom import patient_key
from scans.models import Prediction, Review, Scan
from tests.dicom_files import PATIENT_ID, SECRETS, leaked, mr_dataset, mr_file
from tests.helpers import client_for, stored_files, upload
from tests.test_settings import manage


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages) + str(reader.metadata)


def database_dump() -> str:
    rows = [*Scan.objects.all(), *Prediction.objects.all(), *Review.objects.all(), *AuditEvent.objects.all()]
    return serializers.serialize("json", rows)


def test_the_dataset_loses_every_identifying_attribute():
    ds = mr_dataset()
    deidentify(ds)
    assert not any(elem.tag.is_private for elem in ds)
    assert not any(elem.VR in ("PN", "DA", "DT", "TM") for elem in ds.iterall())
    for keyword in ("PatientID", "InstitutionName", "DeviceSerialNumber", "AccessionNumber", "PatientAddress",
                    "StationName"):
        assert keyword not in ds
    assert ds.StudyInstanceUID != SECRETS["study_uid"] and ds.StudyInstanceUID.is_valid
    assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID  # replaced consistently
    assert ds.SOPInstanceUID != "1.2.826.0.1.3680043.8.498.777888999"
    assert ds.SeriesDescription == "T1 AX POST"  # cleaned of the patient's name, kept for the reader
    assert leaked(str(ds)) == [] and leaked(str(ds.file_meta)) == []


def test_no_identifying_value_survives_anywhere(owner, reviewer, staff, settings, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_for(owner)
    response = upload(client, mr_file(), name=f"{SECRETS['name']}_{SECRETS['given']}.dcm", htmx=False)
    assert response.status_code == 302
    scan = Scan.objects.get()
    client_for(reviewer).post(reverse("scans:review", args=[scan.pk]), {"status": "confirmed"})
    answers = {
        "page": client.get(reverse("scans:detail", args=[scan.pk])).text,
        "history": client.get(reverse("scans:history")).text,
        "patients": client.get(reverse("scans:patients")).text,
        "api scan": client.get(reverse("api:scan", args=[scan.pk])).text,
        "api list": client.get(reverse("api:scans")).text,
        "api patient": client.get(reverse("api:patient", args=[scan.patient.public_id])).text,
        "csv": b"".join(client.get(reverse("api:export-csv")).streaming_content).decode(),
        "json": b"".join(client.get(reverse("api:export-json")).streaming_content).decode(),
        "audit page": client_for(staff).get(reverse("audit:trail")).text,
        "scan pdf": pdf_text(client.get(reverse("scans:report", args=[scan.pk])).content),
        "patient pdf": pdf_text(client.get(reverse("scans:patient-report", args=[scan.patient.public_id])).content),
    }
    for where, text in answers.items():
        assert leaked(text) == [], where
    assert "T1 AX POST" in answers["scan pdf"] and "Slice thickness" in answers["patient pdf"]
    for path in stored_files(settings):
        assert leaked(path.read_bytes()) == [] and leaked(str(path)) == [], path
    assert leaked(database_dump()) == []
    assert leaked(caplog.text) == []


def test_one_patients_files_share_a_key_that_is_not_the_id(owner, settings):
    client = client_for(owner)
    for seed, pid in [(1, PATIENT_ID), (2, PATIENT_ID), (3, "PID-0000001")]:
        assert upload(client, mr_file(seed=seed, patient_id=pid), name="s.dcm").status_code == 200
    first, second, other = Scan.objects.order_by("id")
    assert first.patient_ref == second.patient_ref != other.patient_ref
    assert first.patient_ref == patient_key(PATIENT_ID, settings.PATIENT_KEY_SECRET)
    assert first.patient_ref.startswith("dcm-") and "9938271" not in first.patient_ref


def test_the_key_depends_on_the_secret():
    assert patient_key(PATIENT_ID, "one secret") != patient_key(PATIENT_ID, "another secret")


def test_a_typed_reference_does_not_replace_the_dicom_key(owner):
    upload(client_for(owner), mr_file(), name="s.dcm", patient_ref="typed-ref")
    assert Scan.objects.get().patient_ref.startswith("dcm-")


def test_a_file_without_patient_id_keeps_the_typed_reference(owner):
    upload(client_for(owner), mr_file(patient_id=""), name="s.dcm", patient_ref="P-17")
    assert Scan.objects.get().patient_ref == "P-17"


@pytest.mark.parametrize("value", ["", "short"])
def test_production_needs_a_patient_key_secret(value):
    result = manage("check", PRODUCTION="1", SECRET_KEY="k" * 20 + "x9Q-" * 10, ALLOWED_HOSTS="example.org",
                    PATIENT_KEY_SECRET=value)
    assert result.returncode != 0 and "PATIENT_KEY_SECRET" in result.stderr


def test_malformed_identifying_values_are_not_quoted_in_the_logs(owner, caplog, recwarn):
    caplog.set_level(logging.DEBUG)
    ds = mr_dataset()
    ds.PatientBirthDate = f"{SECRETS['birth']}X"  # not a date: pydicom would complain, quoting it
    ds.StudyInstanceUID = f"1.2.{SECRETS['id']}.x{SECRETS['name']}"  # not a UID either
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    recwarn.clear()
    for cut in (None, len(buf.getvalue()) - 500):
        upload(client_for(owner), buf.getvalue()[:cut], name="bad.dcm")
    assert leaked(caplog.text) == []
    assert leaked(" ".join(str(w.message) for w in recwarn)) == []
