"""/api/v1/ (the native API), /api/ (the prototype's calls), the schema and its docs."""

from csp.decorators import csp_update
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from api.errors import not_found
from api.views import batches, clinical, legacy, meta, results, scans, studies, tokens


def _public(pattern):
    """API views answer 401 themselves; the site-wide login redirect must not catch them."""
    pattern.callback = login_not_required(pattern.callback)
    return pattern


app_name = "api"

v1 = [
    path("health", meta.health, name="health"),
    path("classes", meta.classes, name="classes"),
    path("model", meta.model, name="model"),
    path("model/card", meta.model_card, name="model-card"),
    path("model/metrics", meta.model_metrics, name="model-metrics"),
    path("scans", scans.ScanList.as_view(), name="scans"),
    path("scans/<int:pk>", scans.ScanDetail.as_view(), name="scan"),
    path("scans/<int:pk>/image", scans.ScanImage.as_view(), name="scan-image"),
    path("scans/<int:pk>/heatmap", scans.ScanHeatmap.as_view(), name="scan-heatmap"),
    path("scans/<int:pk>/reviews", clinical.scan_reviews, name="scan-reviews"),
    path("scans/<int:pk>/report.pdf", clinical.scan_report, name="scan-report"),
    path("batches", batches.BatchList.as_view(), name="batches"),
    path("batches/<int:pk>", batches.BatchDetail.as_view(), name="batch"),
    path("batches/<int:pk>/results.csv", batches.BatchCsv.as_view(), name="batch-csv"),
    path("patients", clinical.patients, name="patients"),
    path("patients/<uuid:pid>", clinical.patient, name="patient"),
    path("patients/<uuid:pid>/report.pdf", clinical.patient_report, name="patient-report"),
    path("predictions", scans.PredictionList.as_view(), name="predictions"),
    path("predictions/<int:pk>", scans.PredictionDetail.as_view(), name="prediction"),
    path("statistics", results.statistics_view, name="statistics"),
    path("export.csv", results.export_csv, name="export-csv"),
    path("export.json", results.export_json, name="export-json"),
    path("studies", studies.StudyList.as_view(), name="studies"),
    path("studies/<int:pk>", studies.StudyDetail.as_view(), name="study"),
    path("studies/<int:pk>/sr", studies.StudySr.as_view(), name="study-sr"),
    path("studies/<int:pk>/fhir", studies.StudyFhir.as_view(), name="study-fhir"),
    path("tokens", tokens.token_list, name="tokens"),
    path("tokens/<int:pk>", tokens.token_detail, name="token"),
    path("auth/token", tokens.obtain_token, name="obtain-token"),
]

prototype = [
    path("health", meta.health, name="legacy-health"),
    path("classes", legacy.classes, name="legacy-classes"),
    path("predict", legacy.predict, name="legacy-predict"),
    path("predict/batch", legacy.predict_batch, name="legacy-predict-batch"),
    path("model/info", legacy.model_info, name="legacy-model-info"),
    path("predictions/history", legacy.History.as_view(), name="legacy-history"),
    path("results/charts", legacy.charts, name="legacy-charts"),
    path("results/statistics", legacy.statistics, name="legacy-statistics"),
]

docs = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    #  The split view serves Swagger UI's start-up script as a file of its own: no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    #  ReDoc writes its styles inline and searches in a worker made from a blob.
    path("redoc/", csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})(
        SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
]

urlpatterns = [
    *[_public(p) for p in docs],
    path("v1/", include([_public(p) for p in v1])),
    *[_public(p) for p in prototype],
    _public(re_path(r"^.*$", csrf_exempt(not_found), name="not-found")),
]
