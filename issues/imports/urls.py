"""URLs of the TestRail import pages (namespace ``imports``)."""

from django.urls import path

from issues.imports import views

app_name = "imports"


# Mounted at projects/<str:key>/import/ (testmanager/urls.py).
urlpatterns = [
    path("", views.import_start, name="start"),
    path("<int:pk>/", views.import_job, name="job"),
    path("<int:pk>/cancel/", views.import_cancel, name="cancel"),
    path("<int:pk>/status/", views.import_status, name="status"),
]
