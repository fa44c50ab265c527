"""Reviewers' verdicts are the headline everywhere once given (the model's output beside them as
"model said"), and the worklist puts what most needs a human first, with "next" after each verdict."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from pypdf import PdfReader

from ml.infer import DISPLAY_NAMES
from scans.models import Review, Scan
from tests.api.conftest import token_client
from tests.helpers import DATASETS, client_for, make_scan, upload

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def mri(owner):
    """A real MRI slice through the real upload path: in scope, with the model's own class."""
    found = sorted((DATASETS / "brain-tumor-mri" / "Training" / "glioma").glob("*.jpg"))[:1]
    if not found:
        pytest.skip(f"the shared data sets are not at {DATASETS}")
    upload(client_for(owner), found[0].read_bytes(), name="study.jpg", patient_ref="P-7")
    scan = Scan.objects.get()
    assert not scan.prediction.out_of_scope
    return scan


def other_label(label: str) -> str:
    return "pituitary" if label != "pituitary" else "meningioma"


def headline_everywhere(owner, staff, scan) -> dict:
    """The scan's result as each way out gives it."""
    client = client_for(owner)
    page = client.get(reverse("scans:detail", args=[scan.pk])).text
    history = client.get(reverse("scans:history")).text
    [row] = re.findall(r'<tr data-testid="scan-row">.*?</tr>', history, re.DOTALL)
    pdf = PdfReader(io.BytesIO(client.get(reverse("scans:report", args=[scan.pk])).content))
    api = token_client(owner).get(reverse("api:scan", args=[scan.pk])).json()
    export = b"".join(token_client(owner).get(reverse("api:export-csv")).streaming_content).decode()
    charts = client_for(staff).get(reverse("analytics-charts")).json()["charts"]
    return {
        "page": re.search(r'data-testid="label">([^<]+)<', page).group(1),
        "page_model_said": re.search(r'data-testid="model-said">([^<]+)<', page),
        "row": row,
        "pdf": " ".join(p.extract_text() for p in pdf.pages).replace("\n", " "),
        "api": api,
        "export": next(csv.DictReader(io.StringIO(export))),
        "agreement": next(c for c in charts if c["id"] == "agreement"),
    }


def test_before_a_verdict_the_headline_is_the_models(owner, staff, mri):
    seen = headline_everywhere(owner, staff, mri)
    model = DISPLAY_NAMES[mri.prediction.label]
    assert seen["page"] == model and seen["page_model_said"] is None
    assert (seen["api"]["status"], seen["api"]["effective_label"]) == ("unreviewed", mri.prediction.label)
    assert f"Result: {model}" in seen["pdf"] and seen["export"]["effective_label"] == mri.prediction.label
    assert "No reviews yet" in seen["agreement"]["empty"]


def test_a_correction_is_the_headline_everywhere(owner, reviewer, staff, mri):
    model, right = mri.prediction.label, other_label(mri.prediction.label)
    client_for(reviewer).post(reverse("scans:review", args=[mri.pk]), {"status": "corrected", "corrected_label": right})
    seen = headline_everywhere(owner, staff, mri)
    said = f"Model said: {DISPLAY_NAMES[model]}, {mri.prediction.confidence * 100:.1f}%"
    assert seen["page"] == DISPLAY_NAMES[right] and seen["page_model_said"].group(1) == said
    assert DISPLAY_NAMES[right] in seen["row"] and f"model said: {DISPLAY_NAMES[model]}" in seen["row"]
    assert (seen["api"]["status"], seen["api"]["effective_label"]) == ("corrected", right)
    assert seen["api"]["review_status"] == "corrected" and seen["api"]["prediction"]["label"] == model
    assert f"Result: {DISPLAY_NAMES[right]} (reviewer's verdict). {said}" in seen["pdf"]
    assert (seen["export"]["review_status"], seen["export"]["reviewed_label"], seen["export"]["effective_label"],
            seen["export"]["label"]) == ("corrected", right, right, model)
    assert "agreed with the model on 0 of 1" in seen["agreement"]["summary"]


def test_a_confirmation_is_the_headline_everywhere(owner, reviewer, staff, mri):
    model = mri.prediction.label
    client_for(reviewer).post(reverse("scans:review", args=[mri.pk]), {"status": "confirmed"})
    seen = headline_everywhere(owner, staff, mri)
    assert seen["page"] == DISPLAY_NAMES[model] and "Reviewer's verdict (confirmed)" in client_for(owner).get(
        reverse("scans:detail", args=[mri.pk])).text
    assert (seen["api"]["status"], seen["api"]["effective_label"]) == ("confirmed", model)
    assert "(reviewer's verdict)" in seen["pdf"] and seen["export"]["review_status"] == "confirmed"
    assert "agreed with the model on 1 of 1" in seen["agreement"]["summary"]


def test_not_assessable_is_the_headline_everywhere(owner, reviewer, staff, mri):
    client_for(reviewer).post(reverse("scans:review", args=[mri.pk]),
                              {"status": "not_assessable", "reason": "poor_quality", "comment": "motion"})
    seen = headline_everywhere(owner, staff, mri)
    assert seen["page"] == "Not assessable: poor quality" and seen["page_model_said"] is not None
    assert "Not assessable: poor quality" in seen["row"]
    assert (seen["api"]["status"], seen["api"]["effective_label"], seen["api"]["not_assessable_reason"]) == (
        "not_assessable", None, "poor_quality")
    assert "Result: Not assessable: poor quality (reviewer's verdict)" in seen["pdf"]
    assert (seen["export"]["review_status"], seen["export"]["review_reason"], seen["export"]["effective_label"]) == (
        "not_assessable", "poor_quality", "")
    assert "on 0 of 0 in-scope scans" in seen["agreement"]["summary"]
    assert "1 marked not assessable" in seen["agreement"]["summary"]
    #  The history and the API filter by it.
    assert 'data-testid="scan-row"' in client_for(owner).get(reverse("scans:history"), {"review": "not_assessable"}).text
    assert token_client(owner).get(reverse("api:scans"), {"review": "not_assessable"}).json()["count"] == 1


@pytest.mark.parametrize(("data", "field"), [
    ({"status": "not_assessable"}, "reason"), ({"status": "not_assessable", "reason": "blurry"}, "reason"),
    ({"status": "corrected"}, "corrected_label"), ({"status": "maybe"}, "status")])
def test_a_verdict_missing_its_detail_is_refused_by_the_api(owner, reviewer, data, field):
    scan = make_scan(owner)
    response = token_client(reviewer).post(reverse("api:scan-reviews", args=[scan.pk]), data)
    assert response.status_code == 400 and response.json()["error"]["field"] == field
    assert not Review.objects.exists()


def test_an_out_of_scope_image_cannot_be_confirmed_but_can_be_marked_or_corrected(owner, reviewer):
    scan = make_scan(owner, label="meningioma", confidence=0.25, out_of_scope=True)
    client = token_client(reviewer)
    refused = client.post(reverse("api:scan-reviews", args=[scan.pk]), {"status": "confirmed"})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "status"
    marked = client.post(reverse("api:scan-reviews", args=[scan.pk]), {"status": "not_assessable", "reason": "not_brain"})
    assert marked.status_code == 201 and marked.json()["label"] == "" and marked.json()["reason"] == "not_brain"
    fixed = client.post(reverse("api:scan-reviews", args=[scan.pk]), {"status": "corrected", "corrected_label": "meningioma"})
    assert fixed.status_code == 201  # the guard was wrong: a reviewer may give the class, even the model's
    assert token_client(owner).get(reverse("api:scan", args=[scan.pk])).json()["effective_label"] == "meningioma"


@pytest.fixture
def queue(owner, colleague):
    """Unreviewed scans of each kind, with when they were uploaded; and one reviewed."""
    made = {
        "confident-glioma": make_scan(owner, "a.png", "glioma", 0.95, created=T0, seed=1),
        "unsure-meningioma": make_scan(colleague, "b.png", "meningioma", 0.50, created=T0 + timedelta(hours=3), seed=2),
        "unsure-notumor": make_scan(owner, "c.png", "notumor", 0.40, created=T0 + timedelta(hours=1), seed=3),
        "photo": make_scan(owner, "d.png", "notumor", 0.25, out_of_scope=True, created=T0 + timedelta(hours=2), seed=4),
        "unsure-pituitary": make_scan(owner, "e.png", "pituitary", 0.55, created=T0 + timedelta(hours=4), seed=5),
        "reviewed": make_scan(owner, "f.png", "glioma", 0.30, created=T0 - timedelta(days=1), seed=6),
    }
    from scans.reviews import review_scan
    from tests.helpers import make_user

    review_scan(make_user("earlier-reviewer", "reviewer"), made["reviewed"], "confirmed")
    return made


def worklist_names(client) -> list[str]:
    html = client.get(reverse("scans:worklist")).text
    return re.findall(r'data-testid="worklist-row">.*?<a href="[^"]+">([^<]+)</a>', html, re.DOTALL)


def test_the_worklist_puts_unsure_tumours_first_then_out_of_scope_then_the_rest_oldest_first(reviewer, queue):
    #  Suspected tumours under 60 %: b (3 h), e (4 h); out of scope: d; then a (0 h), c (1 h).
    assert worklist_names(client_for(reviewer)) == ["b.png", "e.png", "d.png", "a.png", "c.png"]


def test_save_and_next_opens_the_next_scan_until_the_worklist_is_empty(reviewer, queue):
    client = client_for(reviewer)
    order = [queue[k] for k in ("unsure-meningioma", "unsure-pituitary", "photo", "confident-glioma", "unsure-notumor")]
    for scan, following in zip(order, [*order[1:], None]):
        verdict = {"status": "not_assessable", "reason": "other"} if scan.prediction.out_of_scope else {
            "status": "confirmed"}
        response = client.post(reverse("scans:review", args=[scan.pk]), {**verdict, "then": "next"})
        expected = reverse("scans:detail", args=[following.pk]) if following else reverse("scans:worklist")
        assert response.status_code == 302 and response["Location"] == expected
    assert worklist_names(client) == [] and "Every scan has a verdict" in client.get(reverse("scans:worklist")).text


def test_the_review_form_sits_beside_the_image_before_the_metadata(reviewer, queue):
    html = client_for(reviewer).get(reverse("scans:detail", args=[queue["photo"].pk])).text
    result = html.index('data-testid="result"')
    assert result < html.index('data-testid="review-form"') < html.index("SHA-256")
    assert html.index('data-testid="review-form"') < html.index('<h2 class="h5">Scan</h2>')


def test_only_reviewers_have_a_worklist(owner, researcher, queue):
    for user in (owner, researcher):
        assert client_for(user).get(reverse("scans:worklist")).status_code == 403
    assert "review-form" not in client_for(owner).get(reverse("scans:detail", args=[queue["photo"].pk])).text
