"""/studies/: the pages of studies from a PACS (scans/views/studies.py)."""

from django.urls import path

from scans.views import studies as views

app_name = "studies"

urlpatterns = [
    path("", views.study_list, name="list"),
    path("<int:pk>/", views.study_detail, name="study"),
    path("<int:pk>/hand-over", views.hand_over, name="hand-over"),
    path("series/<int:pk>/", views.series_detail, name="series"),
    path("slices/<int:pk>.png", views.slice_image, name="slice"),
]
