"""URLs of traceability, coverage, plans, pulls and failure triage (namespace ``traceability``),
mounted at projects/<str:key>/."""

from django.urls import path

from issues.pulls import views as pulls_views
from issues.quality import views as quality_views
from issues.reports import views as reports_views

app_name = "traceability"


# Mounted at projects/<str:key>/ (testmanager/urls.py).
urlpatterns = [
    path("traceability/", reports_views.matrix, name="matrix"),
    path("traceability/export.csv", reports_views.matrix_csv, name="matrix_csv"),
    path("requirements/<int:pk>/coverage/", reports_views.requirement_coverage, name="coverage"),
    path("cases/<int:pk>/coverage/", reports_views.case_coverage, name="case_coverage"),
    path("requirement-pulls/<int:pk>/", pulls_views.pull_settings, name="pull_settings"),
    path("requirement-pulls/<int:pk>/now/", pulls_views.pull_now, name="pull_now"),
    path("plans/", reports_views.plans_page, name="plans"),
    path("plans/sync/", pulls_views.plans_sync, name="plans_sync"),
    path("plans/trackers/", pulls_views.plans_choose, name="plans_choose"),
    path("known-failures/", quality_views.rules, name="known_failures"),
    path("known-failures/<int:pk>/delete/", quality_views.rule_delete, name="known_failure_delete"),
    path("known-failures/<int:pk>/toggle/", quality_views.rule_toggle, name="known_failure_toggle"),
    path("runs/<int:run_pk>/new-failures/", quality_views.new_failures, name="new_failures"),
    path("runs/<int:run_pk>/recurring-failures/", quality_views.recurring, name="recurring"),
    path("recurring-failures/policy/", quality_views.recurrence_policy, name="recurrence_policy"),
]
