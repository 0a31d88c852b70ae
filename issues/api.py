"""The issues app's REST routes: internal issues (``core.api``), tracker issues of a project
integration (``filing.api``) and its pull settings (``pulls.api``). Mounted at ``/api/`` (testmanager/api_urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from issues.core.api import IssueViewSet
from issues.filing.api import (
    CreateIssueView,
    IssueFieldsView,
    IssueTypesView,
    LinkIssueView,
    SearchView,
    TestCaseSyncView,
)
from issues.filing.push_api import LinkTrackerIssueView, PushIssuesView, PushIssueView, PushJobView
from issues.pulls.api import PullSettingsView

router = SimpleRouter(trailing_slash=False)
router.register("issues", IssueViewSet, basename="issue")
# The platform we replace called internal issues "defects"; its clients keep working.
router.register("defects", IssueViewSet, basename="defect")

urlpatterns = router.urls + [
    # Pushing internal issues to a tracker (the router's issue ids are numbers or keys, never "push").
    path("issues/push", PushIssuesView.as_view(), name="api-issues-push"),
    path("issues/push/<int:id>", PushJobView.as_view(), name="api-issues-push-job"),
    path("issues/<str:issueId>/push", PushIssueView.as_view(), name="api-issue-push"),
    path("issues/<str:issueId>/link-tracker", LinkTrackerIssueView.as_view(), name="api-issue-link-tracker"),
    path("integrations/<int:id>/issue-types", IssueTypesView.as_view(), name="api-integration-issue-types"),
    path("integrations/<int:id>/fields", IssueFieldsView.as_view(), name="api-integration-fields"),
    path("integrations/<int:id>/search", SearchView.as_view(), name="api-integration-search"),
    path("integrations/<int:id>/create-issue", CreateIssueView.as_view(), name="api-integration-create-issue"),
    path("integrations/<int:id>/link-issue", LinkIssueView.as_view(), name="api-integration-link-issue"),
    path("testcases/<int:id>/sync", TestCaseSyncView.as_view(), name="api-testcase-sync"),
    path(
        "projects/<str:project>/integrations/<int:pk>/pull-settings",
        PullSettingsView.as_view(),
        name="api-project-integration-pull-settings",
    ),
]
