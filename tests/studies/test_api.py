"""STOW-RS intake, the studies API and pages: visibility as for scans, the SR and FHIR downloads,
the administrator's hand-over."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from PIL import Image
from pydicom import dcmread
from pydicom.uid import Comprehensive3DSRStorage

from audit.models import AuditEvent
from scans.models import Scan, Series, Slice, Study
from scans.studies import fhir
from scans.studies.multipart import encode
from tests.api.conftest import assert_error, token_client
from tests.helpers import client_for, stored_files
from tests.studies.series import mr_series, stow, stow_series, to_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def stowed(owner):
    """A 6-slice series sent by STOW-RS and classified."""
    return stow_series(token_client(owner), "glioma", 6).study


def test_stow_rs_stores_de_identifies_and_classifies_a_series(owner):
    datasets = mr_series("glioma", 6)
    response = stow(token_client(owner), datasets)
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom+json"
    assert len(response.json()["00081199"]["Value"]) == 6
    study = Study.objects.get()
    assert response["Location"].endswith(f"/api/v1/studies/{study.pk}")
    assert study.owner.username == "pacs" and study.source == "stow"
    series = study.series.get()
    assert series.status == Series.DONE and series.slices.count() == 6 and series.sr
    assert series.sent is None  # no destination configured: kept for download, not marked sent
    assert AuditEvent.objects.filter(action=AuditEvent.UPLOADED, username="owner", object_type="series").exists()


def test_stow_rs_refuses_a_ct_instance_and_keeps_the_mr_ones(owner):
    response = stow(token_client(owner), mr_series("glioma", 2) + mr_series("glioma", 1, series=2, modality="CT"))
    assert response.status_code == 202
    [failed] = response.json()["00081198"]["Value"]
    assert failed["00081197"]["Value"] == [0x0122]
    assert Slice.objects.count() == 2


def test_stow_rs_with_only_ct_stores_nothing(owner, settings):
    response = stow(token_client(owner), mr_series("glioma", 2, modality="CT"))
    assert response.status_code == 409
    assert not Study.objects.exists() and stored_files(settings) == []


@pytest.mark.parametrize("content_type, status, code", [
    ("application/json", 415, "unsupported_media_type"),
    ('multipart/related; type="image/png"; boundary=x', 415, "unsupported_media_type"),
    ('multipart/related; type="application/dicom"', 400, "bad_multipart"),
])
def test_stow_rs_says_what_is_wrong_with_the_request(owner, content_type, status, code):
    response = stow(token_client(owner), mr_series("glioma", 1), content_type=content_type)
    assert_error(response, status, code)
    assert not Study.objects.exists()


def test_a_truncated_stow_body_stores_nothing(owner, settings):
    body, content_type = encode([to_bytes(ds) for ds in mr_series("glioma", 2)])
    response = token_client(owner).post("/dicomweb/studies", body[:-40], content_type=content_type)
    assert_error(response, 400, "bad_multipart")
    assert not Study.objects.exists() and stored_files(settings) == []


def test_stow_rs_needs_an_api_token_of_a_role_that_uploads(owner, researcher):
    assert_error(stow(client_for(owner), mr_series("glioma", 1)), 401)
    assert_error(stow(token_client(researcher), mr_series("glioma", 1)), 403)


def test_network_studies_are_seen_by_reviewers_and_staff_not_by_other_clinicians(stowed, owner, reviewer, staff):
    assert token_client(owner).get("/api/v1/studies").json()["count"] == 0
    assert_error(token_client(owner).get(f"/api/v1/studies/{stowed.pk}"), 404)
    assert client_for(owner).get(f"/studies/{stowed.pk}/").status_code == 404
    body = token_client(reviewer).get(f"/api/v1/studies/{stowed.pk}").json()
    [series] = body["series"]
    assert len(series["slices"]) == 6 and series["result"]["rule"] and "single 2-D slices" in body["note"]
    assert all(s["label"] or s["out_of_scope"] for s in series["slices"])
    assert token_client(staff).get("/api/v1/studies").json()["count"] == 1


def test_an_administrator_hands_a_study_to_a_clinician(stowed, owner, staff):
    response = client_for(staff).post(f"/studies/{stowed.pk}/hand-over", {"clinician": owner.pk})
    assert response.status_code == 302
    assert token_client(owner).get("/api/v1/studies").json()["count"] == 1
    assert set(Scan.objects.filter(slices__series__study=stowed).values_list("owner__username", flat=True)) == {"owner"}
    assert AuditEvent.objects.filter(action=AuditEvent.ASSIGNED, object_id=str(stowed.pk)).exists()


def test_only_administrators_hand_studies_over(stowed, owner, reviewer):
    assert client_for(reviewer).post(f"/studies/{stowed.pk}/hand-over", {"clinician": owner.pk}).status_code == 403


def test_the_sr_downloads_as_dicom_filed_under_the_original_study(stowed, reviewer):
    response = token_client(reviewer).get(f"/api/v1/studies/{stowed.pk}/sr")
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom"
    sr = dcmread(io.BytesIO(response.content))
    assert sr.SOPClassUID == Comprehensive3DSRStorage
    assert sr.StudyInstanceUID == mr_series("glioma", 1)[0].StudyInstanceUID
    assert_error(token_client(reviewer).get(f"/api/v1/studies/{stowed.pk}/sr?series=x"), 400, field="series")
    assert_error(token_client(reviewer).get(f"/api/v1/studies/{stowed.pk}/sr?series=999999"), 409)


def test_the_fhir_bundle_validates_and_holds_the_required_codes(stowed, reviewer):
    response = token_client(reviewer).get(f"/api/v1/studies/{stowed.pk}/fhir")
    assert response.status_code == 200 and response["Content-Type"] == "application/fhir+json"
    data = response.json()
    bundle = Bundle.model_validate(data)
    assert fhir.problems(data) == []
    kinds = [e.resource.__resource_type__ for e in bundle.entry]
    assert kinds.count("DiagnosticReport") == 1 and kinds.count("Observation") == 5
    report = next(e.resource for e in bundle.entry if e.resource.__resource_type__ == "DiagnosticReport")
    assert report.status == "preliminary" and "not a diagnosis" in report.conclusion
    broken = {**data, "entry": [{**e, "resource": {**e["resource"], "status": "done"}}
                                if e["resource"]["resourceType"] == "DiagnosticReport" else e for e in data["entry"]]}
    assert fhir.problems(broken) == ["DiagnosticReport.status 'done' is not in its required value set"]


def test_the_series_page_shows_the_result_beside_its_slices_with_window_level(stowed, reviewer):
    client = client_for(reviewer)
    series = stowed.series.get()
    page = client.get(f"/studies/series/{series.pk}/").content.decode()
    assert "trained on single 2-D slices" in page and "Key images" in page and "series-viewer.js" in page
    assert "Slice thickness (mm)" in page  # the kept technical attributes
    first = series.slices.first()
    narrow = client.get(f"/studies/slices/{first.pk}.png?c=1000&w=200")
    wide = client.get(f"/studies/slices/{first.pk}.png?c=2000&w=4000")
    assert narrow["Content-Type"] == "image/png" and narrow.content != wide.content
    assert Image.open(io.BytesIO(wide.content)).size == (256, 256)
    assert client.get(f"/studies/slices/{first.pk}.png?c=x").status_code == 400


def test_stow_rs_reports_an_instance_whose_pixels_cannot_be_decoded_and_stores_nothing(owner, settings):
    ds = mr_series("glioma", 1)[0]
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    response = stow(token_client(owner), [ds])
    assert response.status_code == 409
    [failed] = response.json()["00081198"]["Value"]
    assert failed["00081197"]["Value"] == [0xC000]
    assert failed["00081155"]["Value"] == [str(ds.SOPInstanceUID)]
    assert not Study.objects.exists() and not Scan.objects.exists() and stored_files(settings) == []


def test_the_openapi_schema_documents_stow_rs_with_its_body_answers_and_token(db):
    schema = Client().get("/api/schema/", headers={"Accept": "application/json"}).json()
    op = schema["paths"]["/dicomweb/studies"]["post"]
    assert list(op["requestBody"]["content"]) == ["multipart/related"]
    assert op["security"] == [{"tokenAuth": []}]
    for code in ("200", "202", "409"):
        assert list(op["responses"][code]["content"]) == ["application/dicom+json"]
    assert {"400", "401", "403", "413", "415", "429"} <= set(op["responses"])
    assert "FailedSOPSequence" in op["description"] and "0xC000" in op["description"]
