"""Who sees a scan: its owner, reviewers and staff. Everyone else gets 404, whatever the URL."""

import re

import pytest
from django.urls import reverse

from scans.models import Scan
from tests.helpers import client_for, make_scan, png, stored_files, upload

pytestmark = pytest.mark.django_db

SCAN_URLS = ["scans:detail", "scans:image", "scans:delete"]
PAGES = ["/", "/scans/", "/scans/new/", "/scans/1/", "/scans/1/image", "/scans/1/delete", "/model/",
         "/accounts/password_change/"]


@pytest.fixture
def scan(owner):
    upload(client_for(owner), png(), name="owners-scan.png", patient_ref="OWN-1")
    return Scan.objects.get()


@pytest.mark.parametrize("url", PAGES)
def test_every_page_needs_a_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("persona", ["colleague", "researcher", "outsider"])
@pytest.mark.parametrize("name", SCAN_URLS)
def test_it_hides_the_scan_from_others(request, scan, persona, name):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse(name, args=[scan.pk])).status_code == 404


@pytest.mark.parametrize("persona", ["colleague", "researcher", "outsider"])
def test_others_cannot_delete_by_posting(request, scan, persona, settings):
    client = client_for(request.getfixturevalue(persona))
    assert client.post(reverse("scans:delete", args=[scan.pk])).status_code == 404
    assert Scan.objects.filter(pk=scan.pk).exists() and len(stored_files(settings)) == 1


def test_a_missing_scan_looks_the_same_as_a_hidden_one(owner, colleague, scan):
    client = client_for(colleague)
    hidden = client.get(reverse("scans:detail", args=[scan.pk]))
    missing = client.get(reverse("scans:detail", args=[scan.pk + 1000]))
    assert hidden.status_code == missing.status_code == 404
    without_token = [re.sub(rb'(CSRFToken": "|csrfmiddlewaretoken" value=")[^"]+', rb"\1", r.content) for r in (hidden, missing)]
    assert without_token[0] == without_token[1]


@pytest.mark.parametrize("persona", ["colleague", "researcher", "outsider"])
def test_others_see_no_rows_in_the_history(request, scan, persona):
    response = client_for(request.getfixturevalue(persona)).get(reverse("scans:history"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "owners-scan.png" not in html and "OWN-1" not in html and 'data-testid="scan-row"' not in html


@pytest.mark.parametrize("persona", ["owner", "reviewer", "staff"])
def test_owner_reviewer_and_staff_see_the_scan(request, scan, persona):
    client = client_for(request.getfixturevalue(persona))
    assert "owners-scan.png" in client.get(reverse("scans:history")).content.decode()
    assert client.get(reverse("scans:detail", args=[scan.pk])).status_code == 200
    image = client.get(reverse("scans:image", args=[scan.pk]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == png()


def test_a_reviewer_may_not_delete_someone_elses_scan(reviewer, scan):
    client = client_for(reviewer)
    assert client.get(reverse("scans:delete", args=[scan.pk])).status_code == 403
    assert client.post(reverse("scans:delete", args=[scan.pk])).status_code == 403
    assert Scan.objects.filter(pk=scan.pk).exists()


def test_media_files_are_not_served_publicly(client, owner, scan):
    assert client.get("/media/" + scan.image.name).status_code in (302, 404)
    assert client_for(owner).get("/media/" + scan.image.name).status_code == 404


def test_history_rows_are_only_ones_own(owner, colleague):
    make_scan(owner, name="mine.png", seed=1)
    make_scan(colleague, name="theirs.png", seed=2)
    html = client_for(owner).get(reverse("scans:history")).content.decode()
    assert "mine.png" in html and "theirs.png" not in html
