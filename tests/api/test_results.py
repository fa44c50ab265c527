"""Statistics and export over the caller's visible scans."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from tests.api.conftest import assert_error, token_client
from tests.helpers import make_scan

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def rows(owner, colleague):
    make_scan(owner, "a.png", "glioma", 0.95, created=DAY, seed=1)
    make_scan(owner, "b.png", "glioma", 0.45, created=DAY, seed=2, patient_ref="=HYPERLINK(1)")
    make_scan(owner, "c.png", "pituitary", 0.25, out_of_scope=True, created=DAY.replace(day=12), seed=3)
    make_scan(colleague, "theirs.png", "meningioma", 0.99, created=DAY, seed=4)


def content(response) -> str:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()


def test_statistics_count_only_visible_scans(owner, rows):
    body = token_client(owner).get("/api/v1/statistics").json()
    #  The out-of-scope scan is counted on its own, in no class and no confidence figure.
    assert body["total"] == 3 and body["out_of_scope"] == 1
    assert body["by_label"] == {"glioma": 2, "meningioma": 0, "notumor": 0, "pituitary": 0}
    assert body["mean_confidence"] == pytest.approx((0.95 + 0.45) / 2, abs=1e-4)
    assert body["confidence_histogram"] == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert body["by_day"] == [{"date": "2026-03-10", "count": 2}, {"date": "2026-03-12", "count": 1}]
    assert body["first"].startswith("2026-03-10") and body["last"].startswith("2026-03-12")


def test_statistics_take_the_history_filters_and_a_reviewer_sees_all(owner, reviewer, rows):
    assert token_client(owner).get("/api/v1/statistics", {"label": "glioma"}).json()["total"] == 2
    assert token_client(reviewer).get("/api/v1/statistics").json()["by_label"]["meningioma"] == 1
    assert_error(token_client(owner).get("/api/v1/statistics", {"min_confidence": "x"}), 400,
                 field="min_confidence")


def test_the_csv_export_streams_visible_rows_and_defuses_formulas(owner, rows):
    response = token_client(owner).get("/api/v1/export.csv", {"sort": "created"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="neurolens-')
    table = list(csv.DictReader(io.StringIO(content(response))))
    assert [r["original_name"] for r in table] == ["a.png", "b.png", "c.png"]
    assert table[1]["patient_ref"] == "'=HYPERLINK(1)" and table[0]["label"] == "glioma"
    assert float(table[0]["prob_glioma"]) == pytest.approx(0.95)


def test_the_json_export_has_one_object_per_visible_scan(owner, rows):
    data = json.loads(content(token_client(owner).get("/api/v1/export.json", {"out_of_scope": "yes"})))
    assert [(r["original_name"], r["out_of_scope"], r["owner"]) for r in data] == [("c.png", True, "owner")]
    assert data[0]["patient_ref"] == "" and data[0]["label"] is None and data[0]["confidence"] is None
    assert data[0]["review_status"] == "unreviewed" and data[0]["effective_label"] == ""
    #  An out-of-scope scan has no class, so no class filter finds it.
    assert json.loads(content(token_client(owner).get("/api/v1/export.json", {"label": "pituitary"}))) == []


def test_exports_need_credentials_and_valid_filters(owner, rows):
    for path in ("/api/v1/export.csv", "/api/v1/export.json", "/api/v1/statistics"):
        assert_error(Client().get(path), 401)
        assert_error(token_client(owner).get(path, {"label": "nope"}), 400, field="label")
