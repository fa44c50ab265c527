"""Each filter, and a combination, narrows the statistics to the rows worked out by hand."""

import pytest
from django.urls import reverse

from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def stats(viewer, /, **params):
    response = client_for(viewer).get(reverse("analytics-statistics"), params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(("params", "total"), [
    ({}, 6),
    ({"label": "glioma"}, 3),
    ({"min_confidence": 0.6}, 4),
    ({"model_version": "v2"}, 3),
    ({"date_from": "2026-03-03", "date_to": "2026-03-10"}, 4),
    ({"date_to": "2026-03-02"}, 1),
    ({"user": "colleague"}, 2),
    ({"label": "glioma", "min_confidence": 0.6}, 2),
    ({"model_version": "v3"}, 0),
    ({"review": "unreviewed"}, 6),
    ({"review": "confirmed"}, 0),
    ({"out_of_scope": "yes"}, 1),
    ({"out_of_scope": "no", "min_confidence": 0.6}, 4),
])
def test_each_filter_narrows_the_totals(known, staff, params, total):
    assert stats(staff, **params)["total"] == total


def test_filters_reach_every_figure(known, staff):
    body = stats(staff, label="glioma", min_confidence=0.6)
    assert body["mean_confidence"] == pytest.approx(0.8)  # exact
    assert body["median_confidence"] == pytest.approx(0.8, abs=0.005 + 1e-9)  # from 1 % bins
    assert [c["count"] for c in body["by_class"]] == [2, 0, 0, 0]
    assert [d["count"] for d in body["per_day"]] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert [u["username"] for u in body["busiest_users"]] == ["colleague", "owner"]


def test_a_date_is_a_day_in_the_viewers_time_zone(known, staff):
    client = client_for(staff)
    url = reverse("analytics-statistics")
    assert client.get(url, {"date_to": "2026-03-03"}).json()["total"] == 3
    client.cookies["tz"] = "Pacific/Kiritimati"  # UTC+14: 10:00 UTC is midnight of the next day there
    assert client.get(url, {"date_to": "2026-03-03"}).json()["total"] == 1


def test_the_low_confidence_threshold_is_a_setting(known, staff, settings):
    settings.ANALYTICS_LOW_CONFIDENCE_PCT = 90
    body = stats(staff)
    assert (body["low_confidence"], body["low_confidence_threshold"]) == (4, 0.9)  # of the 5 in scope


def test_an_invalid_filter_is_a_400_in_the_api(known, staff):
    response = client_for(staff).get(reverse("analytics-statistics"), {"min_confidence": 60})  # a fraction in the API: 60 is no confidence
    assert response.status_code == 400 and "min_confidence" in response.content.decode()


def test_an_invalid_filter_is_shown_and_ignored_on_the_page(known, staff):
    response = client_for(staff).get(reverse("analytics:statistics"), {"min_confidence": "lots", "label": "glioma"})
    html = response.content.decode()
    assert response.status_code == 200 and "Ignored: Min. confidence (%)" in html
    assert '<dt class="col-sm-4">Predictions</dt><dd class="col-sm-8">3</dd>' in html
