from django.urls import path

from scans.batches import views as batch_views
from scans.views import clinical, pages

app_name = "scans"

urlpatterns = [
    path("", pages.history, name="history"),
    path("new/", pages.upload, name="upload"),
    path("<int:pk>/", pages.detail, name="detail"),
    path("<int:pk>/image", pages.image, name="image"),
    path("<int:pk>/delete", pages.delete, name="delete"),
    path("<int:pk>/heatmap.png", clinical.heat_layer, name="heat-layer"),
    path("<int:pk>/review", clinical.review, name="review"),
    path("<int:pk>/report.pdf", clinical.scan_report, name="report"),
    path("batches/new", batch_views.batch_new, name="batch-new"),
    path("batches/<int:pk>/", batch_views.batch_detail, name="batch"),
    path("batches/<int:pk>/progress", batch_views.batch_progress, name="batch-progress"),
    path("batches/<int:pk>/results.csv", batch_views.batch_csv, name="batch-csv"),
    path("patients/", clinical.patients, name="patients"),
    path("patients/<uuid:pid>/", clinical.patient, name="patient"),
    path("patients/<uuid:pid>/report.pdf", clinical.patient_report, name="patient-report"),
    path("review/", clinical.worklist, name="worklist"),
]
