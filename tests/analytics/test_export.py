"""CSV and JSON exports: headers, content, filters, the model version on every row."""

import csv
import io
import json

import pytest
from django.db import connection
from django.urls import reverse

from tests.analytics.conftest import CLASSES, add_prediction
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
COLUMNS = ["prediction_id", "scan_id", "created", "owner", "original_name", "patient_ref", "label", "confidence",
           "prob_glioma", "prob_meningioma", "prob_notumor", "prob_pituitary", "out_of_scope",
           "out_of_scope_reason", "model_version", "inference_ms", "review_status", "reviewed_label", "review_reason",
           "effective_label"]


def download(viewer, name: str, /, **params):
    response = client_for(viewer).get(reverse(name), params)
    assert response.status_code == 200 and response.streaming
    return response, b"".join(response.streaming_content).decode()


def csv_rows(viewer, /, **params) -> list[dict]:
    response, body = download(viewer, "analytics:export-csv", **params)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(body)))


def test_the_csv_is_an_attachment_with_a_header_row(known, staff):
    response, body = download(staff, "analytics:export-csv")
    assert response["Content-Disposition"].startswith('attachment; filename="neurolens-predictions-')
    assert response["Content-Disposition"].endswith('.csv"') and response["Cache-Control"] == "no-store"
    assert body.splitlines()[0].split(",") == COLUMNS


def test_the_csv_holds_every_visible_prediction_oldest_first(known, staff):
    rows = csv_rows(staff)
    #  The out-of-scope row has no class, confidence or probabilities: it was not assessed.
    assert [r["label"] for r in rows] == ["glioma", "glioma", "meningioma", "", "pituitary", "glioma"]
    assert rows[3]["confidence"] == "" and all(rows[3][f"prob_{c}"] == "" for c in CLASSES)
    first = rows[0]
    assert (first["created"], first["owner"], first["patient_ref"]) == ("2026-03-02T10:00:00.000000Z", "owner", "PAT-1")
    assert float(first["confidence"]) == 0.95 and float(first["inference_ms"]) == 10
    assert rows[3]["out_of_scope"] == "true" and rows[0]["out_of_scope"] == "false"
    assert [r["model_version"] for r in rows] == ["v1", "v1", "v1", "v2", "v2", "v2"]


def test_the_csv_keeps_the_filters(known, staff):
    rows = csv_rows(staff, label="glioma", min_confidence=60)
    assert [float(r["confidence"]) for r in rows] == [0.95, 0.65]
    assert [float(r["confidence"]) for r in csv_rows(staff, min_confidence=87)] == [0.95]  # any percent, not steps


@pytest.mark.parametrize(("params", "field"), [({"min_confidence": "lots"}, "min_confidence"),
                                               ({"date_from": "yesterday"}, "date_from"),
                                               ({"label": "tumour"}, "label"), ({"review": "maybe"}, "review")])
@pytest.mark.parametrize("name", ["analytics:export-csv", "analytics:export-json"])
def test_an_invalid_filter_is_a_400_naming_the_field_never_every_row(known, staff, name, params, field):
    response = client_for(staff).get(reverse(name), params)
    assert response.status_code == 400 and field in response.content.decode()
    assert "glioma" not in response.content.decode().replace(field, "")


def test_the_exports_carry_the_review_status_verdict_and_reviewers_label(known, staff, reviewer):
    from scans.models import Prediction
    from scans.reviews import review_scan

    preds = list(Prediction.objects.order_by("created", "id"))
    review_scan(reviewer, preds[0].scan, "confirmed")
    review_scan(reviewer, preds[1].scan, "corrected", corrected_label="meningioma")
    review_scan(reviewer, preds[3].scan, "not_assessable", reason="wrong_modality")
    rows = csv_rows(staff)
    assert [(r["review_status"], r["reviewed_label"], r["review_reason"], r["effective_label"]) for r in rows] == [
        ("confirmed", "glioma", "", "glioma"), ("corrected", "meningioma", "", "meningioma"),
        ("unreviewed", "", "", "meningioma"), ("not_assessable", "", "wrong_modality", ""),
        ("unreviewed", "", "", "pituitary"), ("unreviewed", "", "", "glioma")]
    assert [r["label"] for r in rows][:2] == ["glioma", "glioma"]  # the model's own class is kept beside
    records = json.loads(download(staff, "analytics:export-json")[1])
    assert [r["review_status"] for r in records] == [r["review_status"] for r in rows]
    assert records[1]["reviewed_label"] == "meningioma" and records[1]["model_version"] == "v1"


def test_a_name_a_spreadsheet_would_run_is_defused(known, staff):
    assert csv_rows(staff, user="colleague")[-1]["original_name"] == "'=HYPERLINK(evil).png"


def test_researchers_get_neither_patient_references_nor_owners(known, researcher):
    rows = csv_rows(researcher)
    assert len(rows) == 6 and "patient_ref" not in rows[0] and "owner" not in rows[0]


def test_an_empty_export_is_just_the_header(db, staff):
    assert download(staff, "analytics:export-csv")[1].splitlines() == [",".join(COLUMNS)]
    assert json.loads(download(staff, "analytics:export-json")[1]) == []


def test_the_json_is_a_list_of_records_with_the_model_version(known, staff):
    response, body = download(staff, "analytics:export-json", model_version="v2")
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].endswith('.json"')
    records = json.loads(body)
    assert [r["label"] for r in records] == [None, "pituitary", "glioma"]
    assert records[0]["confidence"] is None and records[0]["prob_notumor"] is None
    assert set(records[0]) == set(COLUMNS) and {r["model_version"] for r in records} == {"v2"}
    assert records[0]["out_of_scope"] is True and records[1]["patient_ref"] == "PAT-9"
    assert records[2]["original_name"] == "=HYPERLINK(evil).png"  # JSON is data, not a spreadsheet


def test_the_json_for_a_researcher_has_no_patient_reference(known, researcher):
    records = json.loads(download(researcher, "analytics:export-json")[1])
    assert len(records) == 6 and not {"patient_ref", "owner"} & set(records[0])


def test_the_export_streams_in_chunks(owner, staff, settings):
    from analytics import export

    for i in range(export.CHUNK + 5):
        add_prediction(owner, "glioma", 0.9, i % 20, name=f"bulk-{i}.png")
    response = client_for(staff).get(reverse("analytics:export-json"))
    chunks = list(response.streaming_content)
    assert len(chunks) >= 2 and len(json.loads(b"".join(chunks))) == export.CHUNK + 5


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner settings are PostgreSQL's")
def test_the_csv_exports_planner_settings_end_with_it(known, staff, settings):
    """The export sorts with more memory and may plan parallel workers; the page views after it on the
    same connection must plan as before (no workers, the configured work_mem, sorts allowed)."""

    def planner():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('max_parallel_workers_per_gather'), current_setting('work_mem'),"
                           " current_setting('enable_sort'), current_setting('jit')")
            return cursor.fetchone()

    before = planner()
    assert before[:3] == (str(settings.DATABASE_PARALLEL_WORKERS), f"{settings.DATABASE_WORK_MEM_MB}MB", "on")
    assert len(csv_rows(staff, date_from="2000-01-01")) == 6  # a date range: the path that turns sorts off
    assert len(csv_rows(staff)) == 6
    assert planner() == before
