from django.urls import path

from scans import batch_views, clinical_views, views

app_name = "scans"

urlpatterns = [
    path("", views.history, name="history"),
    path("new/", views.upload, name="upload"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/image", views.image, name="image"),
    path("<int:pk>/delete", views.delete, name="delete"),
    path("<int:pk>/heatmap.png", clinical_views.heat_layer, name="heat-layer"),
    path("<int:pk>/review", clinical_views.review, name="review"),
    path("<int:pk>/report.pdf", clinical_views.scan_report, name="report"),
    path("batches/new", batch_views.batch_new, name="batch-new"),
    path("batches/<int:pk>/", batch_views.batch_detail, name="batch"),
    path("batches/<int:pk>/progress", batch_views.batch_progress, name="batch-progress"),
    path("batches/<int:pk>/results.csv", batch_views.batch_csv, name="batch-csv"),
    path("patients/", clinical_views.patients, name="patients"),
    path("patients/report/<path:ref>", clinical_views.patient_report, name="patient-report"),
    path("patients/<path:ref>", clinical_views.patient, name="patient"),
]
