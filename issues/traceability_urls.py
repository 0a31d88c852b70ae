from django.urls import path

from . import known_failure_views
from . import traceability_views as views

app_name = "traceability"

# Mounted at projects/<str:key>/ (testmanager/urls.py).
urlpatterns = [
    path("traceability/", views.matrix, name="matrix"),
    path("traceability/export.csv", views.matrix_csv, name="matrix_csv"),
    path("requirements/<int:pk>/coverage/", views.requirement_coverage, name="coverage"),
    path("requirement-pulls/<int:pk>/", views.pull_settings, name="pull_settings"),
    path("requirement-pulls/<int:pk>/now/", views.pull_now, name="pull_now"),
    path("plans/", views.plans_page, name="plans"),
    path("plans/sync/", views.plans_sync, name="plans_sync"),
    path("known-failures/", known_failure_views.rules, name="known_failures"),
    path("known-failures/<int:pk>/delete/", known_failure_views.rule_delete, name="known_failure_delete"),
    path("known-failures/<int:pk>/toggle/", known_failure_views.rule_toggle, name="known_failure_toggle"),
    path("runs/<int:run_pk>/new-failures/", known_failure_views.new_failures, name="new_failures"),
    path("runs/<int:run_pk>/recurring-failures/", known_failure_views.recurring, name="recurring"),
    path("recurring-failures/policy/", known_failure_views.recurrence_policy, name="recurrence_policy"),
]
