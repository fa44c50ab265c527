"""The detail page, and deleting a scan with its file."""

import pytest
from django.urls import reverse

from scans.models import Prediction, Scan
from tests.helpers import client_for, png, stored_files, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def scan(owner):
    upload(client_for(owner), png(), name="brain.png", patient_ref="REF-9", note="second opinion")
    return Scan.objects.get()


def test_it_shows_the_image_prediction_and_metadata(owner, scan):
    html = client_for(owner).get(reverse("scans:detail", args=[scan.pk])).content.decode()
    for text in ["brain.png", "REF-9", "second opinion", "PNG, 256 × 256 px", scan.sha256,
                 scan.prediction.model_version, reverse("scans:image", args=[scan.pk]),
                 reverse("scans:delete", args=[scan.pk])]:
        assert text in html


def test_it_asks_before_deleting(owner, scan, settings):
    response = client_for(owner).get(reverse("scans:delete", args=[scan.pk]))
    assert response.status_code == 200 and "cannot be undone" in response.content.decode()
    assert Scan.objects.exists() and len(stored_files(settings)) == 1


def test_deleting_removes_the_rows_and_the_file(owner, scan, settings):
    response = client_for(owner).post(reverse("scans:delete", args=[scan.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("scans:history")
    assert "Deleted brain.png" in response.content.decode()
    assert not Scan.objects.exists() and not Prediction.objects.exists()
    assert stored_files(settings) == []


def test_staff_may_delete_any_scan(staff, scan, settings):
    client_for(staff).post(reverse("scans:delete", args=[scan.pk]))
    assert not Scan.objects.exists() and stored_files(settings) == []


def test_after_deleting_the_same_file_can_be_uploaded_again(owner, scan):
    client = client_for(owner)
    client.post(reverse("scans:delete", args=[scan.pk]))
    response = upload(client, png(), name="brain.png")
    assert "You uploaded this file before" not in response.content.decode()
    assert Scan.objects.count() == 1
