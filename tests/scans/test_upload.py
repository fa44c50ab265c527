"""The upload flow end to end, with the real model and the real database."""

import numpy as np
import pytest
import skimage.data
from django.urls import reverse
from PIL import Image

from ml.infer import CLASSES, DISPLAY_NAMES, get_classifier
from scans.intake.deid import strip_image_metadata
from scans.models import Prediction, Scan
from tests.helpers import client_for, dataset_images, encode, jpeg, png, stored_files, upload

pytestmark = pytest.mark.django_db


def assert_result_page(html: str, scan: Scan) -> None:
    p = scan.prediction
    if p.out_of_scope:  # a result of its own: no class, no probabilities
        assert "Not assessed: out of scope" in html and p.out_of_scope_reason in html
        assert 'data-testid="class-bar"' not in html and not any(DISPLAY_NAMES[c] in html for c in CLASSES)
    else:
        assert DISPLAY_NAMES[p.label] in html
        assert html.count('data-testid="class-bar"') == 4
        assert all(DISPLAY_NAMES[c] in html for c in CLASSES)
    assert p.model_version in html
    assert "supports a decision; it is not a diagnosis" in html
    assert reverse("scans:image", args=[scan.pk]) in html


def test_it_shows_the_page_with_a_drop_zone(owner):
    response = client_for(owner).get(reverse("scans:upload"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-dropzone" in html and 'hx-post="/scans/new/"' in html and 'id="working"' in html


@pytest.mark.parametrize(("cls", "path"), dataset_images(per_class=1), ids=lambda v: str(v)[-30:])
def test_it_classifies_a_real_mri_slice(owner, settings, cls, path):
    data = path.read_bytes()
    response = upload(client_for(owner), data, name=path.name, patient_ref="P-0042", note="follow-up")
    assert response.status_code == 200
    scan = Scan.objects.get()
    p = scan.prediction
    assert (scan.owner, scan.original_name, scan.format, scan.patient_ref, scan.note) == (
        owner, path.name, "JPEG", "P-0042", "follow-up")
    assert (scan.width, scan.height) == Image.open(path).size
    assert p.label in CLASSES and 0 <= p.confidence <= 1
    assert sum(p.probabilities.values()) == pytest.approx(1, abs=1e-3)
    assert p.model_version == get_classifier().version and p.inference_ms > 0
    assert_result_page(response.content.decode(), scan)
    [stored] = stored_files(settings)
    #  Stored without its metadata segments (tests/privacy), the same pixels otherwise.
    assert stored.read_bytes() == strip_image_metadata(data, "JPEG") and path.stem not in stored.name
    assert np.array_equal(np.asarray(Image.open(stored)), np.asarray(Image.open(path)))


@pytest.mark.parametrize(("maker", "fmt"), [
    (lambda: png(256, mode="L"), "PNG"),
    (lambda: png(300, seed=2, mode="RGBA"), "PNG"),
    (lambda: encode(Image.fromarray((np.arange(128 * 96).reshape(96, 128) * 5).astype(np.uint16)), "PNG"), "PNG"),
    (lambda: jpeg(512, seed=3), "JPEG"),
], ids=["gray-png", "rgba-png", "16bit-png", "rgb-jpeg"])
def test_it_classifies_generated_images(owner, settings, maker, fmt):
    response = upload(client_for(owner), maker(), name="generated")
    assert response.status_code == 200, response.content.decode()
    scan = Scan.objects.get()
    assert scan.format == fmt and scan.image.name.endswith(".png" if fmt == "PNG" else ".jpg")
    assert_result_page(response.content.decode(), scan)
    assert len(stored_files(settings)) == 1


def test_it_warns_when_the_image_is_not_an_mri_slice(owner):
    photo = encode(Image.fromarray(skimage.data.astronaut()), "PNG")
    response = upload(client_for(owner), photo, name="astronaut.png")
    p = Prediction.objects.get()
    assert p.out_of_scope and p.out_of_scope_reason
    html = response.content.decode()
    assert "Not assessed: out of scope" in html and p.out_of_scope_reason in html
    assert not any(DISPLAY_NAMES[c] in html for c in CLASSES) and "calibrated" not in html


def test_it_shows_the_existing_result_for_the_same_file(owner, settings):
    client = client_for(owner)
    first = upload(client, png(200, seed=5), name="a.png")
    again = upload(client, png(200, seed=5), name="renamed.png")
    assert first.status_code == again.status_code == 200
    scan = Scan.objects.get()
    assert scan.original_name == "a.png"
    assert "You uploaded this file before" in again.content.decode()
    assert_result_page(again.content.decode(), scan)
    assert len(stored_files(settings)) == 1


def test_without_javascript_a_duplicate_goes_to_the_earlier_scan_with_a_note(owner):
    client = client_for(owner)
    first = upload(client, png(200, seed=8), htmx=False)
    again = upload(client, png(200, seed=8), name="other.png", htmx=False)
    assert first["Location"] == again["Location"]
    assert "You uploaded this file before" in client.get(again["Location"]).content.decode()


def test_the_same_file_from_another_user_is_their_own_scan(owner, colleague):
    upload(client_for(owner), png(200, seed=6))
    upload(client_for(colleague), png(200, seed=6))
    assert sorted(Scan.objects.values_list("owner__username", flat=True)) == ["colleague", "owner"]


def test_without_javascript_it_redirects_to_the_scan(owner):
    response = upload(client_for(owner), png(), htmx=False)
    scan = Scan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("scans:detail", args=[scan.pk])


@pytest.mark.parametrize("persona", ["researcher", "outsider"])
def test_it_refuses_accounts_without_an_uploading_role(request, persona, settings):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("scans:upload")).status_code == 403
    assert upload(client, png()).status_code == 403
    assert not Scan.objects.exists() and not stored_files(settings)


def test_staff_may_upload(staff):
    assert upload(client_for(staff), png()).status_code == 200
    assert Scan.objects.get().owner == staff
