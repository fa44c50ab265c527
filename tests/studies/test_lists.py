"""A PACS series appears once, with its series result, wherever scans are listed: the history, the
patients and a patient's page; the reviewers' worklist offers its key images, not every slice;
analytics says it counts slices. Visibility is the scans' rule."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scans.models import Patient, Slice
from scans.studies import access
from scans.studies.result import KEY_IMAGES
from tests.api.conftest import token_client
from tests.helpers import client_for, make_scan
from tests.studies.series import mr_series, stow, stow_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def series(owner):
    """A 6-slice glioma series sent by STOW-RS and classified, owned by the PACS service account."""
    return stow_series(token_client(owner), "glioma", 6)


def rows(response, testid: str) -> int:
    return response.content.decode().count(f'data-testid="{testid}"')


def test_the_history_shows_a_series_once_with_its_result_not_its_slices(series, reviewer):
    make_scan(reviewer, "own.png")
    page = client_for(reviewer).get(reverse("scans:history"))
    html = page.content.decode()
    assert rows(page, "series-row") == 1 and rows(page, "scan-row") == 1  # not 6 slice rows
    assert f'href="/studies/series/{series.pk}/"' in html
    assert series.result["label_display"] in html and "trained on single 2-D slices" in html
    assert "glioma tumor" in html.lower() and "out of scope" in html


def test_the_history_filters_series_by_label_and_leaves_them_out_under_a_per_slice_filter(series, reviewer):
    other = "notumor" if series.label != "notumor" else "glioma"
    client = client_for(reviewer)
    assert rows(client.get(reverse("scans:history"), {"label": series.label}), "series-row") == 1
    assert rows(client.get(reverse("scans:history"), {"label": other}), "series-row") == 0
    page = client.get(reverse("scans:history"), {"min_confidence": "50"})
    assert rows(page, "series-row") == 0 and "not listed under a confidence, scope or review filter" in page.content.decode()


def test_a_clinician_sees_no_one_elses_series_until_it_is_handed_to_them(series, owner, staff):
    assert rows(client_for(owner).get(reverse("scans:history")), "series-row") == 0
    access.hand_over(staff, series.study, owner)
    assert rows(client_for(owner).get(reverse("scans:history")), "series-row") == 1


def test_the_history_reads_the_same_number_of_queries_for_one_series_or_three(series, owner, reviewer):
    client = client_for(reviewer)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("scans:history"))
    stow(token_client(owner), mr_series("meningioma", 3, series=2) + mr_series("glioma", 3, series=3))
    with CaptureQueriesContext(connection) as three:
        page = client.get(reverse("scans:history"))
    assert rows(page, "series-row") == 3
    assert len(three) == len(one)


def test_the_patients_page_counts_a_series_once_and_the_patient_page_lists_it(series, reviewer):
    client = client_for(reviewer)
    page = client.get(reverse("scans:patients")).content.decode()
    assert 'data-testid="patient-scans">0<' in page and 'data-testid="patient-series">1<' in page
    patient = Patient.objects.get(reference=series.study.patient_ref)
    page = client.get(reverse("scans:patient", args=[patient.public_id]))
    assert rows(page, "series-row") == 1 and rows(page, "scan-row") == 0
    assert f'href="/studies/series/{series.pk}/"' in page.content.decode()


def test_the_worklist_offers_a_series_key_images_not_every_slice(series, reviewer):
    make_scan(reviewer, "own.png")
    keys = set(series.result["key_slices"])
    assert set(Slice.objects.filter(key=True).values_list("pk", flat=True)) == keys
    page = client_for(reviewer).get(reverse("scans:worklist"))
    assert rows(page, "worklist-row") == 1 + min(KEY_IMAGES, series.result["in_scope"])
    assert rows(page, "key-slice") == len(keys)
    assert f'href="/studies/series/{series.pk}/"' in page.content.decode()


def test_analytics_says_it_counts_each_slice_of_a_series(series, reviewer):
    page = client_for(reviewer).get(reverse("analytics:dashboard")).content.decode()
    assert "each slice of a series received from the PACS is one prediction" in page


def test_the_patient_page_and_the_worklist_read_as_many_queries_for_two_series_as_for_one(series, owner, reviewer):
    client = client_for(reviewer)
    patient = Patient.objects.get(reference=series.study.patient_ref)
    pages = [reverse("scans:patient", args=[patient.public_id]), reverse("scans:worklist")]
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            answers = [client.get(url) for url in pages]
        counts.append(len(queries))
        if len(counts) == 1:
            stow(token_client(owner), mr_series("meningioma", 4, series=2))
    assert rows(answers[0], "series-row") == 2 and rows(answers[1], "key-slice") > len(series.result["key_slices"])
    assert counts[1] == counts[0]


def test_the_patient_pdf_gives_a_series_one_row_and_one_section_with_its_key_and_reviewed_slices(series, reviewer):
    from tests.scans.test_reports import pdf_text

    ordinary = Slice.objects.filter(series=series, key=False).select_related("scan").order_by("position").first()
    client = client_for(reviewer)
    answer = client.post(reverse("scans:review", args=[ordinary.scan_id]),
                         {"status": "corrected", "corrected_label": "pituitary", "comment": "Sellar mass."})
    assert answer.status_code in (200, 302), answer.content[:300]
    patient = Patient.objects.get(reference=series.study.patient_ref)
    text = pdf_text(client.get(reverse("scans:patient-report", args=[patient.public_id])))
    flat = " ".join(text.split())
    assert "0 scan(s) and 1 PACS series" in flat and "6 slices" in flat
    assert f"Series result: {series.result['label_display']}" in flat and "trained on single 2-D slices" in flat
    shown = {int(n) for n in __import__("re").findall(r"Scan (\d+): ", flat)}
    keys = set(Slice.objects.filter(series=series, key=True).values_list("scan_id", flat=True))
    assert shown == keys | {ordinary.scan_id} and len(keys) == KEY_IMAGES  # not all six slices
    assert "Pituitary" in flat and "reviewer's verdict" in flat
