"""The dashboard page: every chart with its table, HTMX fragments, filters kept in the URL,
Chart.js from the configured address, and the agreement chart's 'no reviews yet' state."""

import json
import re

import pytest
from django.urls import reverse

from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def page(user, htmx: bool = False, **params):
    headers = {"HX-Request": "true"} if htmx else {}
    response = client_for(user).get(reverse("analytics:dashboard"), params, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def configs(html: str) -> dict[str, dict]:
    found = re.findall(r'<script id="chart-([a-z-]+)-config" type="application/json">(.*?)</script>', html, re.DOTALL)
    return {name: json.loads(body) for name, body in found}


def test_every_chart_has_a_configuration_and_a_table(known, staff):
    html = page(staff)
    assert set(configs(html)) == {"classes", "confidence", "timeline", "out-of-scope", "inference", "usage", "users"}
    assert html.count('<canvas id="chart-') == 7 and html.count("<caption") == 7
    assert 'data-testid="totals">6 predictions' in html


def test_the_charts_carry_the_hand_computed_figures(known, staff):
    charts = configs(page(staff, period="day"))
    assert charts["classes"]["data"]["datasets"][0]["data"] == [3, 1, 0, 1]  # the out-of-scope "notumor" is no notumor result
    assert charts["confidence"]["data"]["datasets"][0]["data"] == [0, 0, 0, 0, 0, 1, 1, 0, 0, 1]
    assert len(charts["timeline"]["data"]["labels"]) == 10
    assert charts["out-of-scope"]["data"]["datasets"][0]["data"][8] == 50.0
    #  p95 of (10, 20, 30) and (40, 50, 60) ms is 29 and 59, within the log bins' 6 %.
    assert charts["inference"]["data"]["datasets"][1]["data"] == pytest.approx([29.0, 59.0], rel=0.06)
    assert charts["users"]["data"]["labels"] == ["owner", "colleague"]


def usage_figures(user) -> tuple[list, dict[str, list], list]:
    """The usage chart of the API: its days, {dataset: counts per day}, and its table."""
    chart = next(c for c in client_for(user).get(reverse("analytics-charts")).json()["charts"] if c["id"] == "usage")
    data = chart["config"]["data"]
    return data["labels"], {d["label"]: d["data"] for d in data["datasets"]}, chart["table"]


def test_the_usage_chart_stacks_each_users_scans_per_day_for_staff(known, staff):
    days, users, table = usage_figures(staff)
    assert days[0] == "2026-03-02" and len(days) == 10
    assert users == {"owner": [1, 2, 0, 0, 0, 0, 0, 0, 1, 0], "colleague": [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]}
    assert table["head"] == ["Day", "owner", "colleague", "Total"]
    assert table["rows"][1] == ["2026-03-03", 2, 0, 2] and table["rows"][8] == ["2026-03-10", 1, 1, 2]


def test_the_usage_chart_folds_the_less_busy_into_others(known, staff, monkeypatch):
    from analytics import charts

    monkeypatch.setattr(charts, "USAGE_SHOWN", 1)
    _, users, table = usage_figures(staff)
    assert users == {"owner": [1, 2, 0, 0, 0, 0, 0, 0, 1, 0], "Others": [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]}
    assert table["head"] == ["Day", "owner", "Others", "Total"]


def test_researchers_see_the_usage_per_user_by_rank_not_by_name(known, researcher):
    _, users, table = usage_figures(researcher)
    assert users == {"User 1": [1, 2, 0, 0, 0, 0, 0, 0, 1, 0], "User 2": [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]}
    assert table["head"] == ["Day", "User 1", "User 2", "Total"]
    html = page(researcher)
    assert "Scans per user and day" in html and "User 1 uploaded 66.7% of the scans." in html
    assert "colleague" not in html and 'data-chart-id="users"' not in html


def test_a_clinicians_usage_chart_is_their_own(known, owner):
    days, users, table = usage_figures(owner)
    assert len(days) == 9 and users == {"You": [1, 2, 0, 0, 0, 0, 0, 0, 1]}
    assert table["head"] == ["Day", "You", "Total"]


def test_the_agreement_chart_says_there_are_no_reviews_yet(known, researcher):
    html = page(researcher)
    assert "No reviews yet" in html and "chart-agreement-config" not in html


def test_an_htmx_request_gets_only_the_results_fragment(known, researcher):
    fragment = page(researcher, htmx=True, label="glioma")
    assert "<html" not in fragment and 'id="filters"' not in fragment
    assert 'data-testid="totals">3 predictions' in fragment
    assert 'href="/analytics/export.csv?label=glioma"' in fragment


def test_the_filters_are_in_the_url_and_the_form(known, researcher):
    html = page(researcher, label="meningioma", min_confidence="50", period="day")
    assert 'hx-push-url="true"' in html and '<option value="meningioma" selected>' in html
    assert 'value="50"' in html and '<option value="day" selected>' in html


def test_nothing_to_show_is_said_in_words(db, researcher):
    html = page(researcher)
    assert "0 predictions" in html and "No predictions match these filters." in html
    assert "<canvas" not in html


def test_chartjs_comes_from_the_setting_with_its_integrity_hash(known, researcher, settings):
    html = page(researcher)
    assert f'data-cdn="{settings.CHARTJS_URL}" data-integrity="{settings.CHARTJS_INTEGRITY}"' in html
    assert 'data-local="/static/vendor/chartjs/chart.umd.js"' in html  # used when the CDN fails
    settings.CHARTJS_URL, settings.CHARTJS_INTEGRITY = "/static/vendor/chart.umd.js", ""
    html = page(researcher)
    assert 'data-cdn="/static/vendor/chart.umd.js" data-integrity=""' in html


def test_the_statistics_page_shows_the_figures(known, staff):
    html = client_for(staff).get(reverse("analytics:statistics")).content.decode()
    assert '<dt class="col-sm-4">Predictions</dt><dd class="col-sm-8">6</dd>' in html
    assert "Low confidence (below 60.0%)" in html and 'data-testid="busiest-users"' in html
    #  One presentation: per cent with one decimal, 24-hour times (in the user's zone)
    assert "<td>60.0%</td>" in html  # glioma: 3 of the 5 in-scope predictions
    assert re.search(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d</time>", html) and "p.m." not in html and "a.m." not in html


def test_the_charts_api_returns_the_same_charts(known, researcher):
    body = client_for(researcher).get(reverse("analytics-charts"), {"label": "glioma"}).json()
    assert body["totals"]["total"] == 3
    assert [c["id"] for c in body["charts"]] == ["classes", "confidence", "timeline", "out-of-scope", "inference",
                                                 "usage", "agreement", "version-verdicts", "version-pairs"]


def test_a_table_row_is_escaped_and_shows_a_missing_figure_as_a_dash():
    from analytics.templatetags.chart_tables import table_rows

    assert table_rows([["<b>v1</b>", None, 29.0, 3]]) == (
        '<tr><th scope="row">&lt;b&gt;v1&lt;/b&gt;</th><td>–</td><td>29.0</td><td>3</td></tr>')


@pytest.mark.parametrize("page", ["analytics:dashboard", "analytics:statistics"])
def test_both_pages_say_that_a_series_counts_once_per_slice(known, researcher, page):
    text = client_for(researcher).get(reverse(page)).content.decode()
    assert 'data-testid="count-unit"' in text and "each slice of a series received from the PACS is one prediction" in text
