"""Patients are records: one clinician's reference names their own patient, a DICOM pseudonym is one
patient for everyone, pages and the API address a patient by an opaque id, and a reference is one
line of printable text on every way in."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from scans.models import Patient, Scan
from tests.dicom_files import mr_file
from tests.helpers import client_for, make_scan, png, upload

pytestmark = pytest.mark.django_db


def patient(owner, ref) -> Patient:
    return Patient.objects.get(owner=owner, reference=ref)


def test_the_patient_page_lists_their_scans_oldest_first(owner):
    now = timezone.now()
    make_scan(owner, name="later.png", patient_ref="P-1", created=now, seed=1)
    make_scan(owner, name="earlier.png", patient_ref="P-1", created=now - timedelta(days=30), seed=2,
              label="meningioma")
    make_scan(owner, name="someone-else.png", patient_ref="P-2", seed=3)
    page = client_for(owner).get(reverse("scans:patient", args=[patient(owner, "P-1").public_id])).text
    assert page.count('data-testid="scan-row"') == 2
    assert page.index("earlier.png") < page.index("later.png") and "someone-else.png" not in page
    assert "Meningioma Tumor" in page and "unreviewed" in page


def test_the_patient_list_groups_by_patient(owner):
    for seed, ref in enumerate(["P-1", "P-1", "P-2", ""]):
        make_scan(owner, patient_ref=ref, seed=seed)
    page = client_for(owner).get(reverse("scans:patients")).text
    assert page.count('data-testid="patient-row"') == 2
    rows = client_for(owner).get(reverse("api:patients")).json()
    assert {r["reference"]: r["scans"] for r in rows} == {"P-1": 2, "P-2": 1}
    assert {r["public_id"] for r in rows} == {str(p.public_id) for p in Patient.objects.all()}


def test_a_patient_is_only_seen_through_visible_scans(owner, colleague, reviewer):
    make_scan(owner, patient_ref="P-1", seed=1)
    pid = patient(owner, "P-1").public_id
    assert client_for(colleague).get(reverse("scans:patient", args=[pid])).status_code == 404
    assert client_for(colleague).get(reverse("api:patient", args=[pid])).status_code == 404
    assert client_for(colleague).get(reverse("api:patient-report", args=[pid])).status_code == 404
    assert "P-1" not in client_for(colleague).get(reverse("scans:patients")).text
    assert client_for(reviewer).get(reverse("scans:patient", args=[pid])).status_code == 200


def test_a_reference_with_a_slash_cannot_reach_another_route(owner):
    """The address is the patient's opaque id: "report/PX-77" is a reference like any other."""
    make_scan(owner, patient_ref="report/PX-77", seed=1)
    make_scan(owner, patient_ref="PX-77", seed=2, name="px77.png")
    pid = patient(owner, "report/PX-77").public_id
    page = client_for(owner).get(reverse("scans:patient", args=[pid])).text
    assert "report/PX-77" in page and "px77.png" not in page
    assert client_for(owner).get("/scans/patients/report/PX-77").status_code == 404


@pytest.mark.parametrize("role", ["owner", "colleague", "reviewer", "staff"])
def test_two_clinicians_same_reference_stays_two_patients_for_every_role(owner, colleague, reviewer, staff, role):
    client_for(owner).post(reverse("scans:upload"), {"image": ContentFile(png(seed=1), name="a.png"),
                                                     "patient_ref": "P-0011"})
    client_for(colleague).post(reverse("scans:upload"), {"image": ContentFile(png(seed=2), name="b.png"),
                                                         "patient_ref": "P-0011"})
    assert Patient.objects.filter(reference="P-0011").count() == 2
    viewer = {"owner": owner, "colleague": colleague, "reviewer": reviewer, "staff": staff}[role]
    client = client_for(viewer)
    rows = client.get(reverse("api:patients")).json()
    page = client.get(reverse("scans:patients")).text
    if role in ("owner", "colleague"):
        assert [(r["reference"], r["scans"], r["owner_name"]) for r in rows] == [("P-0011", 1, role)]
    else:
        assert sorted((r["reference"], r["scans"], r["owner_name"]) for r in rows) == [
            ("P-0011", 1, "colleague"), ("P-0011", 1, "owner")]
        assert page.count('data-testid="patient-row"') == 2
        assert page.count('data-testid="patient-owner">owner<') == 1
        assert page.count('data-testid="patient-owner">colleague<') == 1
    for row in rows:
        scans = client.get(reverse("api:patient", args=[row["public_id"]])).json()
        assert len(scans) == 1 and scans[0]["owner"] == row["owner_name"]
        report = client.get(reverse("api:patient-report", args=[row["public_id"]]))
        assert report.status_code == 200


def test_a_dicom_pseudonym_is_one_patient_whoever_uploads(owner, colleague, reviewer):
    client_for(owner).post(reverse("scans:upload"), {"image": ContentFile(mr_file(seed=1), name="a.dcm")})
    client_for(colleague).post(reverse("scans:upload"), {"image": ContentFile(mr_file(seed=2), name="b.dcm")})
    [shared] = Patient.objects.all()
    assert shared.owner is None and shared.reference.startswith("dcm-")
    assert Scan.objects.filter(patient=shared).count() == 2
    assert [r["scans"] for r in client_for(owner).get(reverse("api:patients")).json()] == [1]
    [row] = client_for(reviewer).get(reverse("api:patients")).json()
    assert row["scans"] == 2 and row["owner_name"] is None
    assert "DICOM pseudonym" in client_for(reviewer).get(reverse("scans:patients")).text


BAD_REFERENCES = ["a\nb", "a\rb", "tab\there", "nul\x00", "bell\x07", "line\u2028sep", "x" * 65, "dcm-0123abc"]


@pytest.mark.parametrize("ref", BAD_REFERENCES, ids=repr)
def test_a_bad_reference_is_refused_on_the_page_and_stores_nothing(owner, ref):
    response = upload(client_for(owner), png(), name="a.png", patient_ref=ref)
    assert response.status_code in (400, 422)
    assert "Patient reference" in response.text and Scan.objects.count() == 0


@pytest.mark.parametrize("ref", BAD_REFERENCES, ids=repr)
@pytest.mark.parametrize("url", ["api:scans", "api:legacy-predict"])
def test_a_bad_reference_is_refused_by_both_apis(owner, ref, url):
    response = client_for(owner).post(reverse(url), {"image": ContentFile(png(), name="a.png"), "patient_ref": ref})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "patient_ref" and Scan.objects.count() == 0


def test_the_service_itself_refuses_a_bad_reference(owner):
    """The last line: whatever a caller sends, submit_scan stores no unprintable reference."""
    from scans.intake.errors import ScanRejected
    from scans.services import submit_scan

    with pytest.raises(ScanRejected) as caught:
        submit_scan(owner, ContentFile(png(), name="a.png"), patient_ref="a\nb")
    assert caught.value.code == "invalid_patient_ref" and Scan.objects.count() == 0


def test_batch_items_get_no_free_text_reference(owner):
    """Batches take no typed reference: a ZIP member's DICOM gets its pseudonym, anything else none."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x/a.png", png(seed=1))
        zf.writestr("x/b.dcm", mr_file(seed=3))
    client_for(owner).post(reverse("scans:batch-new"), {"files": [ContentFile(buf.getvalue(), name="s.zip")]})
    refs = sorted(Scan.objects.values_list("patient_ref", flat=True))
    assert refs[0] == "" and refs[1].startswith("dcm-") and all(r.isprintable() for r in refs)
    assert Scan.objects.get(format="DICOM").patient.owner is None


def test_a_good_reference_is_kept_trimmed(owner):
    upload(client_for(owner), png(), name="a.png", patient_ref="  Ward 7 / bed 2  ")
    scan = Scan.objects.get()
    assert scan.patient_ref == "Ward 7 / bed 2" and scan.patient.reference == "Ward 7 / bed 2"
    assert scan.patient.owner == owner
