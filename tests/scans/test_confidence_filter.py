"""A minimum confidence takes any value: pages in whole or decimal per cent, the API as a fraction
like every confidence it returns."""

import re

import pytest
from django.urls import reverse

from tests.api.conftest import assert_error, token_client
from tests.helpers import client_for, make_scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(owner):
    for seed, conf in enumerate([0.86, 0.87, 0.875, 0.99]):
        make_scan(owner, f"c{int(conf * 1000)}.png", "glioma", conf, seed=seed + 1)
    return owner


def shown(html: str) -> list[str]:
    return sorted(re.findall(r'<td[^>]*><a href="/scans/\d+/">([^<]+)</a>', html))


@pytest.mark.parametrize(("value", "expected"), [
    ("87", ["c870.png", "c875.png", "c990.png"]), ("87.5", ["c875.png", "c990.png"]),
    ("99", ["c990.png"]), ("86.01", ["c870.png", "c875.png", "c990.png"])])
def test_the_history_takes_any_percent(rows, value, expected):
    html = client_for(rows).get(reverse("scans:history"), {"min_confidence": value}).text
    assert shown(html) == expected and "Ignored" not in html
    assert f'value="{value}"' in html and 'step="any"' in html and 'step="5"' not in html


def test_the_statistics_page_takes_87(rows):
    html = client_for(rows).get(reverse("analytics:statistics"), {"min_confidence": "87"}).text
    assert '<dt class="col-sm-4">Predictions</dt><dd class="col-sm-8">3</dd>' in html and 'step="any"' in html


def test_the_api_takes_a_fraction_like_the_confidences_it_returns(rows):
    client = token_client(rows)
    body = client.get(reverse("api:scans"), {"min_confidence": "0.87"}).json()
    assert sorted(r["prediction"]["confidence"] for r in body["results"]) == [0.87, 0.875, 0.99]
    assert client.get(reverse("api:statistics"), {"min_confidence": "0.875"}).json()["total"] == 2
    assert client.get(reverse("analytics-statistics"), {"min_confidence": "0.87"}).json()["total"] == 3
    #  87 is no fraction: refused, never read as 87 % or as "everything".
    assert_error(client.get(reverse("api:scans"), {"min_confidence": "87"}), 400, "invalid_filter", "min_confidence")
    assert_error(client.get(reverse("api:export-csv"), {"min_confidence": "87"}), 400, field="min_confidence")
