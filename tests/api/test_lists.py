"""Lists of scans and predictions: the history page's filters, ordering and pagination."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import assert_error, token_client
from tests.helpers import make_scan

pytestmark = pytest.mark.django_db
SCANS, PREDICTIONS = "/api/v1/scans", "/api/v1/predictions"
DAY = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def rows(owner, colleague):
    return {
        "old": make_scan(owner, "old-glioma.png", "glioma", 0.95, created=DAY - timedelta(days=5), seed=1),
        "mid": make_scan(owner, "mid-pituitary.png", "pituitary", 0.55, created=DAY, patient_ref="P-42", seed=2),
        "new": make_scan(owner, "new-odd.png", "notumor", 0.25, out_of_scope=True, created=DAY + timedelta(days=2),
                         seed=3),
        "theirs": make_scan(colleague, "their-glioma.png", "glioma", 0.99, created=DAY, seed=4),
    }


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["original_name"] for r in response.json()["results"]]


def test_it_lists_the_callers_scans_newest_first(owner, rows):
    body = token_client(owner).get(SCANS).json()
    assert body["count"] == 3 and body["next"] is None and body["previous"] is None
    assert [r["original_name"] for r in body["results"]] == ["new-odd.png", "mid-pituitary.png", "old-glioma.png"]


def test_a_reviewer_lists_every_scan(reviewer, rows):
    assert token_client(reviewer).get(SCANS).json()["count"] == 4


@pytest.mark.parametrize(("query", "expected"), [
    ({"label": "glioma"}, ["old-glioma.png"]),
    ({"q": "p-42"}, ["mid-pituitary.png"]),
    ({"q": "odd"}, ["new-odd.png"]),
    ({"date_from": "2026-03-10", "date_to": "2026-03-11"}, ["mid-pituitary.png"]),
    ({"min_confidence": 0.5}, ["mid-pituitary.png", "old-glioma.png"]),
    ({"out_of_scope": "yes"}, ["new-odd.png"]),
    ({"out_of_scope": "no", "sort": "confidence"}, ["mid-pituitary.png", "old-glioma.png"]),
    ({"sort": "created"}, ["old-glioma.png", "mid-pituitary.png", "new-odd.png"]),
    ({"sort": "-confidence"}, ["old-glioma.png", "mid-pituitary.png", "new-odd.png"]),
    ({"sort": "label"}, ["new-odd.png", "old-glioma.png", "mid-pituitary.png"]),  # out of scope: no class
])
def test_it_filters_and_orders_like_the_history_page(owner, rows, query, expected):
    assert names(token_client(owner).get(SCANS, query)) == expected


@pytest.mark.parametrize(("query", "field"), [
    ({"label": "tumour"}, "label"), ({"date_from": "10/03/2026x"}, "date_from"),
    ({"min_confidence": 1.01}, "min_confidence"), ({"min_confidence": 87}, "min_confidence"), ({"sort": "owner"}, "sort"), ({"out_of_scope": "maybe"}, "out_of_scope"),
    ({"date_to": ""}, "date_to"), ({"page_size": 0}, "page_size"), ({"page_size": "ten"}, "page_size"),
])
def test_an_invalid_filter_is_a_400_naming_it(owner, rows, query, field):
    assert_error(token_client(owner).get(SCANS, query), 400, field=field)


def test_it_pages_through_the_results(owner, rows, settings):
    client = token_client(owner)
    first = client.get(SCANS, {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and "page=2" in first["next"]
    second = client.get(first["next"]).json()
    assert [r["original_name"] for r in second["results"]] == ["old-glioma.png"] and second["next"] is None
    settings.API_PAGE_SIZE = 1
    assert len(client.get(SCANS).json()["results"]) == 1
    assert_error(client.get(SCANS, {"page": 9}), 404, "not_found")


def test_it_lists_visible_predictions_with_the_same_filters(owner, rows):
    client = token_client(owner)
    body = client.get(PREDICTIONS).json()
    assert [p["scan"] for p in body["results"]] == [rows[k].pk for k in ("new", "mid", "old")]
    only = client.get(PREDICTIONS, {"label": "glioma"}).json()["results"]
    assert [p["scan"] for p in only] == [rows["old"].pk]
    assert set(only[0]) == {"id", "scan", "label", "label_display", "confidence", "probabilities", "out_of_scope",
                            "out_of_scope_reason", "model_version", "inference_ms", "created"}
    assert_error(client.get(PREDICTIONS, {"label": "x"}), 400, field="label")


def test_it_retrieves_a_prediction_only_when_its_scan_is_visible(owner, rows):
    client = token_client(owner)
    mine = client.get(f"{PREDICTIONS}/{rows['mid'].prediction.pk}").json()
    assert (mine["scan"], mine["label"], mine["label_display"]) == (rows["mid"].pk, "pituitary", "Pituitary Tumor")
    assert_error(client.get(f"{PREDICTIONS}/{rows['theirs'].prediction.pk}"), 404, "not_found")


def test_a_researcher_sees_no_single_scans(researcher, rows):
    client = token_client(researcher)
    assert client.get(SCANS).json()["count"] == 0 and client.get(PREDICTIONS).json()["count"] == 0
    assert_error(client.get(f"{SCANS}/{rows['old'].pk}"), 404)
