"""PDF reports, read back as text."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from ml.infer import get_classifier
from tests.helpers import client_for, png, upload


def pdf_text(response) -> str:
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    #  A scan's page has its image and heat map (a patient's report opens with its summary table first).
    assert any(len(page.images) >= 2 for page in reader.pages)
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def uploaded(owner):
    client = client_for(owner)
    for seed in (1, 2):
        upload(client, png(seed=seed), name=f"s{seed}.png", patient_ref="P-0042")
    return client


def test_a_scan_report_has_everything_the_issue_lists(uploaded, reviewer, owner):
    scan = owner.scans.order_by("id").first()
    client_for(reviewer).post(reverse("scans:review", args=[scan.pk]),
                              {"status": "corrected", "corrected_label": "pituitary", "comment": "Sellar mass."})
    text = pdf_text(uploaded.get(reverse("scans:report", args=[scan.pk])))
    card = get_classifier().card
    for name in ("Glioma Tumor", "Meningioma Tumor", "No Tumor", "Pituitary Tumor"):
        assert name in text
    for p in scan.prediction.probabilities.values():
        assert f"{p:.1%}" in text
    assert card["version"] in text and card["intended_use"][:40] in text.replace("\n", " ")
    assert "Review: corrected to Pituitary Tumor by reviewer" in text.replace("\n", " ")
    assert "Generated" in text and "supports a clinical decision; it is not a diagnosis" in text.replace("\n", " ")


def test_a_patient_report_covers_each_scan_and_says_unreviewed(uploaded, owner):
    pid = owner.scans.first().patient.public_id
    text = pdf_text(uploaded.get(reverse("scans:patient-report", args=[pid])))
    assert "patient P-0042" in text and text.count("Review: unreviewed") == 2
    summary = text[:text.index("Scan ", text.index("Status"))]  # the table before the first scan's page
    assert "Model said" in summary and all(f"\n{s.pk}\n" in summary for s in owner.scans.all())
    assert "s1.png" in text and "s2.png" in text


def test_reports_come_from_the_api_too(uploaded, owner):
    scan = owner.scans.first()
    assert "Probability" in pdf_text(uploaded.get(reverse("api:scan-report", args=[scan.pk])))
    assert "P-0042" in pdf_text(uploaded.get(reverse("api:patient-report", args=[scan.patient.public_id])))


def test_nobody_else_gets_a_report(uploaded, owner, colleague, researcher):
    scan = owner.scans.first()
    for user in (colleague, researcher):
        assert client_for(user).get(reverse("scans:report", args=[scan.pk])).status_code == 404
        assert client_for(user).get(reverse("scans:patient-report", args=[scan.patient.public_id])).status_code == 404
        assert client_for(user).get(reverse("api:scan-report", args=[scan.pk])).status_code == 404


def test_the_pages_link_to_the_reports(uploaded, owner):
    scan = owner.scans.first()
    assert reverse("scans:report", args=[scan.pk]) in uploaded.get(reverse("scans:detail", args=[scan.pk])).text
    pid = scan.patient.public_id
    assert reverse("scans:patient-report", args=[pid]) in uploaded.get(reverse("scans:patient", args=[pid])).text
