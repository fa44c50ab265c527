from django.urls import path

from accounts import sessions

app_name = "session"
urlpatterns = [
    path("", sessions.session_status, name="status"),
    path("extend", sessions.stay_signed_in, name="extend"),
]
