"""The scan and prediction answers are written out by hand (api.serializers: DRF rebuilds a
ModelSerializer's fields for every object, the largest part of an answer's time). They must stay
exactly what DRF's declared fields give, for every kind of scan and in any active time zone."""

from zoneinfo import ZoneInfo

import pytest
from django.test import RequestFactory
from django.utils import timezone

from api.serializers import PredictionSerializer, ScanSerializer, UploadResultSerializer
from scans.models import Scan
from scans.reviews import review_scan
from tests.api.conftest import token_client
from tests.helpers import make_scan, png

pytestmark = pytest.mark.django_db


@pytest.fixture
def kinds(owner, reviewer):
    plain = make_scan(owner, "plain.png", "glioma", 0.91, seed=1)
    outside = make_scan(owner, "odd.png", "notumor", 0.4, out_of_scope=True, seed=2)
    confirmed = make_scan(owner, "confirmed.png", "pituitary", 0.88, patient_ref="P-7", seed=3)
    corrected = make_scan(owner, "corrected.png", "meningioma", 0.6, patient_ref="P-7", seed=4)
    unassessable = make_scan(owner, "poor.png", "notumor", 0.7, seed=5)
    review_scan(reviewer, confirmed, "confirmed")
    review_scan(reviewer, corrected, "corrected", corrected_label="glioma")
    review_scan(reviewer, unassessable, "not_assessable", reason="poor_quality")
    dicom = make_scan(owner, "MR 1 of 1", "glioma", 0.97, seed=6)
    dicom.format, dicom.dicom_meta = "DICOM", {"Modality": "MR", "Rows": 256, "SliceThickness": None}
    dicom.save()
    #  The one the model classified through the API (real model, real stored row).
    uploaded = token_client(owner).post("/api/v1/scans", {"image": _file(png(256, 9))})
    assert uploaded.status_code == 201, uploaded.content
    return [plain, outside, confirmed, corrected, unassessable, dicom, Scan.objects.get(pk=uploaded.json()["id"])]


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("slice.png", data, content_type="image/png")


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_the_written_out_answers_equal_what_drf_gives(kinds, zone):
    request = RequestFactory().get("/api/v1/scans", HTTP_HOST="testserver")
    with timezone.override(ZoneInfo(zone)):
        for scan in kinds:
            scan = Scan.objects.select_related("owner", "patient").get(pk=scan.pk)  # fresh, as a view reads it
            serializer = ScanSerializer(scan, context={"request": request})
            ours, drf = serializer.data, serializer.drf_representation(scan)
            assert ours == drf and list(ours) == list(drf), scan.original_name
            p = PredictionSerializer(scan.prediction)
            assert p.data == p.drf_representation(scan.prediction), scan.original_name
            scan.duplicate = True
            result = UploadResultSerializer(scan, context={"request": request})
            assert result.data == {**result.drf_representation(scan)}, scan.original_name
    #  Every kind was there: the answers compared cover what differs between them.
    shown = [ScanSerializer(s, context={"request": request}).data for s in kinds]
    assert {d["status"] for d in shown} == {"unreviewed", "confirmed", "corrected", "not_assessable"}
    assert any(d["patient"] for d in shown) and any(d["note"] == "" for d in shown)
    assert any(d["prediction"] and d["prediction"]["label"] is None for d in shown)
    assert any(d["dicom_meta"] for d in shown)


def test_a_page_of_scans_is_the_same_either_way(owner, kinds):
    body = token_client(owner).get("/api/v1/scans").json()
    request = RequestFactory().get("/api/v1/scans", HTTP_HOST="testserver")
    for row in body["results"]:
        scan = Scan.objects.get(pk=row["id"])
        assert row == ScanSerializer(scan, context={"request": request}).drf_representation(scan)
