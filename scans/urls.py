from django.urls import path

from scans import views

app_name = "scans"

urlpatterns = [
    path("", views.history, name="history"),
    path("new/", views.upload, name="upload"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/image", views.image, name="image"),
    path("<int:pk>/delete", views.delete, name="delete"),
]
