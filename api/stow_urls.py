"""/dicomweb/: the STOW-RS endpoint (api.views.studies)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from api.views.studies import StowRs

app_name = "dicomweb"

urlpatterns = [path("studies", login_not_required(csrf_exempt(StowRs.as_view())), name="stow")]
