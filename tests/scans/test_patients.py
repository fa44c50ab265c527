"""Scans grouped by patient reference, and one patient's results over time."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from tests.helpers import client_for, make_scan


def test_the_patient_page_lists_their_scans_oldest_first(owner):
    now = timezone.now()
    make_scan(owner, name="later.png", patient_ref="P-1", created=now, seed=1)
    make_scan(owner, name="earlier.png", patient_ref="P-1", created=now - timedelta(days=30), seed=2,
              label="meningioma")
    make_scan(owner, name="someone-else.png", patient_ref="P-2", seed=3)
    page = client_for(owner).get(reverse("scans:patient", args=["P-1"])).text
    assert page.count('data-testid="scan-row"') == 2
    assert page.index("earlier.png") < page.index("later.png") and "someone-else.png" not in page
    assert "Meningioma Tumor" in page and "unreviewed" in page


def test_the_patient_list_groups_by_reference(owner):
    for seed, ref in enumerate(["P-1", "P-1", "P-2", ""]):
        make_scan(owner, patient_ref=ref, seed=seed)
    page = client_for(owner).get(reverse("scans:patients")).text
    assert page.count('data-testid="patient-row"') == 2
    rows = client_for(owner).get(reverse("api:patients")).json()
    assert {r["patient_ref"]: r["scans"] for r in rows} == {"P-1": 2, "P-2": 1}


def test_a_patient_is_only_seen_through_visible_scans(owner, colleague, reviewer):
    make_scan(owner, patient_ref="P-1", seed=1)
    assert client_for(colleague).get(reverse("scans:patient", args=["P-1"])).status_code == 404
    assert client_for(colleague).get(reverse("api:patient", args=["P-1"])).status_code == 404
    assert "P-1" not in client_for(colleague).get(reverse("scans:patients")).text
    assert client_for(reviewer).get(reverse("scans:patient", args=["P-1"])).status_code == 200


def test_a_reference_with_a_slash_still_has_a_page(owner):
    make_scan(owner, patient_ref="ward/7 bed 2")
    assert client_for(owner).get(reverse("scans:patient", args=["ward/7 bed 2"])).status_code == 200
