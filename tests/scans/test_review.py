"""Reviewers confirm or correct; nobody else may; the model's output is never changed."""

import pytest
from django.urls import reverse

from scans.models import Prediction, Review
from tests.helpers import client_for, make_scan


@pytest.fixture
def scan(owner):
    return make_scan(owner, label="glioma", confidence=0.81)


def review(user, scan, **data):
    return client_for(user).post(reverse("scans:review", args=[scan.pk]), data)


@pytest.mark.parametrize("persona", ["reviewer", "staff"])
def test_reviewers_and_administrators_may_confirm(request, scan, persona):
    user = request.getfixturevalue(persona)
    response = review(user, scan, status="confirmed", comment="Agree.")
    assert response.status_code == 302
    r = Review.objects.get()
    assert (r.status, r.label, r.corrected_label, r.comment, r.reviewer) == ("confirmed", "glioma", "", "Agree.", user)


@pytest.mark.parametrize(("persona", "status"), [("owner", 403), ("colleague", 404), ("researcher", 404),
                                                 ("outsider", 404)])
def test_others_may_not_review(request, scan, persona, status):
    assert review(request.getfixturevalue(persona), scan, status="confirmed").status_code == status
    assert not Review.objects.exists()


def test_a_correction_keeps_the_original_prediction(reviewer, scan):
    before = Prediction.objects.filter(pk=scan.prediction.pk).values().get()
    review(reviewer, scan, status="corrected", corrected_label="meningioma", comment="Dural tail.")
    assert Prediction.objects.filter(pk=scan.prediction.pk).values().get() == before
    r = Review.objects.get()
    assert (r.status, r.corrected_label, r.label) == ("corrected", "meningioma", "meningioma")


@pytest.mark.parametrize("label", ["", "glioma"])
def test_a_correction_must_name_another_label(reviewer, scan, label):
    response = review(reviewer, scan, status="corrected", corrected_label=label)
    assert response.status_code == 302 and not Review.objects.exists()


def test_a_second_review_supersedes_the_first_and_both_are_kept(reviewer, staff, scan):
    review(reviewer, scan, status="confirmed")
    review(staff, scan, status="corrected", corrected_label="notumor")
    first, second = Review.objects.order_by("id")
    assert (first.current, second.current) == (False, True)
    page = client_for(reviewer).get(reverse("scans:detail", args=[scan.pk])).text
    assert "corrected to No Tumor" in page and "(superseded)" in page


def test_the_detail_page_offers_the_form_to_reviewers_only(owner, reviewer, scan):
    assert 'data-testid="review-form"' in client_for(reviewer).get(reverse("scans:detail", args=[scan.pk])).text
    owner_page = client_for(owner).get(reverse("scans:detail", args=[scan.pk])).text
    assert 'data-testid="review-form"' not in owner_page and ">unreviewed<" in owner_page


def test_history_shows_and_filters_the_status(owner, reviewer):
    confirmed, corrected, _untouched = (make_scan(owner, name=f"{n}.png", seed=i)
                                       for i, n in enumerate(["confirmed", "corrected", "untouched"]))
    review(reviewer, confirmed, status="confirmed")
    review(reviewer, corrected, status="corrected", corrected_label="pituitary")
    client = client_for(owner)
    for status, name in [("confirmed", "confirmed.png"), ("corrected", "corrected.png"),
                         ("unreviewed", "untouched.png")]:
        page = client.get(reverse("scans:history"), {"review": status}).text
        assert page.count('data-testid="scan-row"') == 1 and name in page
    assert client.get(reverse("scans:history")).text.count('data-testid="review-badge"') == 3


def test_the_api_reviews_with_the_same_rules(owner, reviewer, scan):
    url = reverse("api:scan-reviews", args=[scan.pk])
    assert client_for(owner).post(url, {"status": "confirmed"}).status_code == 403
    bad = client_for(reviewer).post(url, {"status": "corrected"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "corrected_label"
    made = client_for(reviewer).post(url, {"status": "corrected", "corrected_label": "notumor", "comment": "Artefact"})
    assert made.status_code == 201 and made.json()["label"] == "notumor"
    assert client_for(owner).get(url).json()[0]["reviewer"] == "reviewer"
    listed = client_for(owner).get(reverse("api:scans"), {"review": "corrected"}).json()
    assert [s["id"] for s in listed["results"]] == [scan.pk] and listed["results"][0]["review_status"] == "corrected"
    assert client_for(owner).get(reverse("api:scan", args=[scan.pk])).json()["prediction"]["label"] == "glioma"
