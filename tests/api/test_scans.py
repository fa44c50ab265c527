"""/api/v1/scans: upload and classify, retrieve, image, heat map, delete; with the real model."""

import io

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image

from ml.infer import CLASSES, get_classifier
from scans.models import Scan
from tests.api.conftest import assert_error, token_client
from tests.helpers import encode, jpeg, make_scan, mri_slice, png, stored_files

pytestmark = pytest.mark.django_db
SCANS = "/api/v1/scans"


def post_image(client: Client, data: bytes, name: str = "slice.png", **fields):
    return client.post(SCANS, {"image": ContentFile(data, name=name), **fields})


def test_it_classifies_and_stores_an_upload(owner, settings):
    data = png(256, seed=5)
    response = post_image(token_client(owner), data, patient_ref="P-7", note="follow-up")
    assert response.status_code == 201, response.content
    body = response.json()
    scan = Scan.objects.get()
    assert (body["id"], body["owner"], body["patient_ref"], body["note"], body["duplicate"]) == (
        scan.pk, "owner", "P-7", "follow-up", False)
    p = body["prediction"]
    assert p["label"] in CLASSES and p["model_version"] == get_classifier().version
    assert p["confidence"] == pytest.approx(max(p["probabilities"].values()))
    assert sum(p["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    assert body["image_url"].endswith(f"/api/v1/scans/{scan.pk}/image")
    assert response["Location"] == f"http://testserver/api/v1/scans/{scan.pk}"
    assert [f.read_bytes() for f in stored_files(settings)] == [data]


def test_the_same_file_twice_returns_the_first_scan(owner):
    client, data = token_client(owner), jpeg(256, seed=2)
    first = post_image(client, data, name="a.jpg").json()
    again = post_image(client, data, name="b.jpg")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == first["id"] and Scan.objects.count() == 1


def big_png() -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((1100, 1100), 100).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(("make", "status", "code"), [
    (lambda: b"", 400, "empty_file"),
    (lambda: png()[:300], 400, "corrupt_file"),
    (lambda: png(32), 400, "image_too_small"),
    (lambda: encode(mri_slice(128), "GIF"), 415, "unsupported_format"),
    (lambda: b"%PDF-1.4 not an image at all" * 10, 415, "not_an_image"),
    (big_png, 413, "file_too_large"),
], ids=["empty", "corrupt", "too-small", "gif", "pdf", "too-big"])
def test_each_rejection_has_its_status_and_stores_nothing(owner, settings, make, status, code):
    settings.MAX_UPLOAD_MB, settings.MAX_UPLOAD_BYTES = 1, 1024 * 1024
    assert_error(post_image(token_client(owner), make()), status, code, "image")
    assert not Scan.objects.exists() and stored_files(settings) == []


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({}, "image", "required"),
    ({"image": ContentFile(b"x", name="a.png"), "patient_ref": "x" * 65}, "patient_ref", "max_length"),
])
def test_it_names_the_field_at_fault(owner, fields, field, code):
    assert_error(token_client(owner).post(SCANS, fields), 400, code, field)


def test_it_answers_415_to_a_json_upload(owner):
    response = token_client(owner).post(SCANS, {"image": "aGVsbG8="}, content_type="application/json")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("persona", ["researcher", "outsider"])
def test_only_uploaders_may_upload(request, persona):
    client = token_client(request.getfixturevalue(persona))
    assert_error(post_image(client, png()), 403, "permission_denied")
    assert not Scan.objects.exists()


def test_it_retrieves_a_visible_scan_and_its_image(owner):
    scan = make_scan(owner, name="mine.png", patient_ref="P-1")
    client = token_client(owner)
    body = client.get(f"{SCANS}/{scan.pk}").json()
    assert (body["original_name"], body["patient_ref"], body["prediction"]["label"]) == ("mine.png", "P-1", "glioma")
    image = client.get(f"{SCANS}/{scan.pk}/image")
    assert image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == scan.image.open("rb").read()


def test_the_heat_map_is_a_png_of_the_images_size(owner):
    scan = Scan.objects.get(pk=post_image(token_client(owner), jpeg(320, seed=4), name="s.jpg").json()["id"])
    response = token_client(owner).get(f"{SCANS}/{scan.pk}/heatmap")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    heat = Image.open(io.BytesIO(response.content))
    assert heat.format == "PNG" and heat.size == (scan.width, scan.height)


@pytest.mark.parametrize("suffix", ["", "/image", "/heatmap"])
def test_another_users_scan_is_not_found(owner, colleague, suffix):
    theirs = make_scan(colleague, patient_ref="SECRET-9")
    response = token_client(owner).get(f"{SCANS}/{theirs.pk}{suffix}")
    error = assert_error(response, 404, "not_found")
    assert "SECRET" not in response.content.decode() and error["message"] == "No such scan"


def test_a_reviewer_sees_every_scan_but_may_not_delete_it(owner, reviewer):
    scan = make_scan(owner)
    client = token_client(reviewer)
    assert client.get(f"{SCANS}/{scan.pk}").status_code == 200
    assert_error(client.delete(f"{SCANS}/{scan.pk}"), 403, "permission_denied")
    assert Scan.objects.filter(pk=scan.pk).exists()


def test_the_owner_deletes_a_scan_and_its_files(owner, settings):
    scan = make_scan(owner)
    client = token_client(owner)
    assert client.delete(f"{SCANS}/{scan.pk}").status_code == 204
    assert not Scan.objects.exists() and stored_files(settings) == []
    assert_error(client.get(f"{SCANS}/{scan.pk}"), 404)


def test_another_users_scan_cannot_be_deleted(owner, colleague):
    theirs = make_scan(colleague)
    assert_error(token_client(owner).delete(f"{SCANS}/{theirs.pk}"), 404, "not_found")
    assert Scan.objects.filter(pk=theirs.pk).exists()


def test_an_administrator_deletes_anyones_scan(owner, staff):
    scan = make_scan(owner)
    assert token_client(staff).delete(f"{SCANS}/{scan.pk}").status_code == 204
    assert not Scan.objects.exists()


def test_methods_a_resource_lacks_get_405(owner):
    scan = make_scan(owner)
    client = token_client(owner)
    assert_error(client.put(f"{SCANS}/{scan.pk}"), 405, "method_not_allowed")
    assert_error(client.post(f"{SCANS}/{scan.pk}/image"), 405, "method_not_allowed")


def test_an_oversized_form_field_is_a_413_not_a_crash(owner):
    response = token_client(owner).post(SCANS, {"image": ContentFile(png(), name="a.png"), "note": "x" * 3_000_000})
    assert_error(response, 413, "request_too_large")
    assert not Scan.objects.exists()
