from django.contrib import admin
from django.urls import include, path

from scans.views import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("health", pages.health, name="health"),
    path("model/", pages.model_card, name="model-card"),
    path("scans/", include("scans.urls")),
    path("studies/", include("scans.study_urls")),
    path("dicomweb/", include("api.stow_urls")),
    path("audit/", include("audit.urls")),
    path("analytics/", include("analytics.urls")),
    path("api/v1/analytics/", include("api.views.analytics")),
    path("api/", include("api.urls")),
    path("account/", include("api.page_urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("session/", include("accounts.urls")),
    path("admin/", admin.site.urls),
]
