"""The history: 25 a page, newest first, sortable, filterable, HTMX-updated in place."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from tests.helpers import client_for, make_scan

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def names(response) -> list[str]:
    return re.findall(r'data-testid="scan-row">\s*<td[^>]*>.*?</td>\s*<td[^>]*><a href="[^"]+">([^<]+)</a>',
                      response.content.decode(), re.DOTALL)


def get(client, **params):
    return client.get(reverse("scans:history"), params)


@pytest.fixture
def rows(owner):
    make_scan(owner, "a-glioma.png", "glioma", 0.95, created=T0, patient_ref="PAT-7", seed=1)
    make_scan(owner, "b-mening.png", "meningioma", 0.55, created=T0 + timedelta(days=1), seed=2)
    make_scan(owner, "c-photo.png", "notumor", 0.25, out_of_scope=True, created=T0 + timedelta(days=2), seed=3)
    make_scan(owner, "d-pit.png", "pituitary", 0.80, created=T0 + timedelta(days=3), patient_ref="pat-8", seed=4)
    return client_for(owner)


def test_it_says_what_to_do_when_empty(owner):
    html = get(client_for(owner)).content.decode()
    assert "No scans yet." in html and 'href="/scans/new/"' in html


def test_it_lists_newest_first(rows):
    assert names(get(rows)) == ["d-pit.png", "c-photo.png", "b-mening.png", "a-glioma.png"]


def test_it_pages_by_25(owner):
    for i in range(30):
        make_scan(owner, f"s{i:02}.png", created=T0 + timedelta(minutes=i), seed=100 + i)
    client = client_for(owner)
    first, second = get(client), get(client, page=2)
    assert names(first) == [f"s{i:02}.png" for i in range(29, 4, -1)]
    assert names(second) == [f"s{i:02}.png" for i in range(4, -1, -1)]
    assert "Page 1 of 2" in first.content.decode() and "30 scans" in first.content.decode()


@pytest.mark.parametrize(("sort", "expected"), [
    ("created", ["a-glioma.png", "b-mening.png", "c-photo.png", "d-pit.png"]),
    ("confidence", ["c-photo.png", "b-mening.png", "d-pit.png", "a-glioma.png"]),
    ("-confidence", ["a-glioma.png", "d-pit.png", "b-mening.png", "c-photo.png"]),
    #  By the result each scan stands at: the out-of-scope photo has no class, so it sorts first.
    ("label", ["c-photo.png", "a-glioma.png", "b-mening.png", "d-pit.png"]),
    ("-label", ["d-pit.png", "b-mening.png", "a-glioma.png", "c-photo.png"]),
])
def test_it_sorts(rows, sort, expected):
    assert names(get(rows, sort=sort)) == expected


@pytest.mark.parametrize(("params", "expected"), [
    ({"label": "meningioma"}, ["b-mening.png"]),
    ({"q": "pat-"}, ["d-pit.png", "a-glioma.png"]),
    ({"q": "PHOTO"}, ["c-photo.png"]),
    ({"min_confidence": 80}, ["d-pit.png", "a-glioma.png"]),
    ({"out_of_scope": "yes"}, ["c-photo.png"]),
    ({"out_of_scope": "no"}, ["d-pit.png", "b-mening.png", "a-glioma.png"]),
    ({"date_from": "2026-03-11", "date_to": "2026-03-12"}, ["c-photo.png", "b-mening.png"]),
    ({"label": "glioma", "min_confidence": 96}, []),
])
def test_it_filters(rows, params, expected):
    response = get(rows, **params)
    assert names(response) == expected
    if not expected:
        assert "No scans match these filters." in response.content.decode()


def test_dates_are_those_of_the_users_time_zone(owner):
    make_scan(owner, "late.png", created=datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    client = client_for(owner)
    client.cookies["tz"] = "Asia/Tokyo"
    assert names(get(client, date_from="2026-03-11")) == ["late.png"]
    assert "11 Mar 2026, 08:30" in get(client).content.decode()
    client.cookies["tz"] = "Not/AZone"
    assert "10 Mar 2026, 23:30" in get(client).content.decode()


def test_an_invalid_filter_is_ignored_and_named(rows):
    response = get(rows, min_confidence="lots", label="glioma")
    assert names(response) == ["a-glioma.png"]
    assert "Ignored:" in response.content.decode()


def test_htmx_gets_only_the_table_and_links_keep_the_filters(owner):
    for i in range(27):
        make_scan(owner, f"s{i:02}.png", "glioma", created=T0 + timedelta(minutes=i), seed=200 + i)
    response = owner_client = client_for(owner)
    response = owner_client.get(reverse("scans:history"), {"label": "glioma"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and 'data-testid="scan-row"' in html
    assert "HX-Request" in response["Vary"]
    assert 'href="?label=glioma&amp;page=2"' in html and 'hx-push-url="true"' in html
    assert 'href="?label=glioma&amp;sort=-confidence"' in html


def test_a_history_restore_gets_the_whole_page(rows):
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = rows.get(reverse("scans:history"), {"label": "glioma"}, headers=headers).content.decode()
    assert "<html" in html and 'id="filters"' in html and 'selected>Glioma Tumor' in html


def test_the_form_updates_the_table_and_the_address(rows):
    html = get(rows).content.decode()
    form = re.search(r'<form id="filters".*?>', html, re.DOTALL).group(0)
    assert 'hx-get="/scans/"' in form and 'hx-target="#results"' in form and 'hx-push-url="true"' in form
