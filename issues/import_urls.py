from django.urls import path

from . import import_views

app_name = "imports"

# Mounted at projects/<str:key>/import/ (testmanager/urls.py).
urlpatterns = [
    path("", import_views.import_start, name="start"),
    path("<int:pk>/", import_views.import_job, name="job"),
    path("<int:pk>/cancel/", import_views.import_cancel, name="cancel"),
    path("<int:pk>/status/", import_views.import_status, name="status"),
]
