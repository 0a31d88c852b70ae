from django.urls import path

from . import traceability_views as views

app_name = "traceability"

# Mounted at projects/<str:key>/ (testmanager/urls.py).
urlpatterns = [
    path("traceability/", views.matrix, name="matrix"),
    path("traceability/export.csv", views.matrix_csv, name="matrix_csv"),
    path("requirements/<int:pk>/coverage/", views.requirement_coverage, name="coverage"),
    path("requirement-pulls/<int:pk>/", views.pull_settings, name="pull_settings"),
    path("requirement-pulls/<int:pk>/now/", views.pull_now, name="pull_now"),
]
