from django.urls import path

from api import pages

app_name = "account"

urlpatterns = [
    path("tokens/", pages.token_page, name="tokens"),
    path("tokens/<int:pk>/revoke", pages.revoke, name="revoke-token"),
]
