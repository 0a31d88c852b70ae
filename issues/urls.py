from django.urls import path

from issues.core import views as issue_views
from issues.filing import push_views
from issues.filing import views as filing_views
from issues.sync import views as sync_views

app_name = "issues"

# Mounted at projects/<str:key>/issues/ (testmanager/urls.py); issues are addressed by number.
urlpatterns = [
    path("", issue_views.issue_list, name="list"),
    path("new/", issue_views.issue_create, name="create"),
    path("markdown-preview/", issue_views.markdown_preview, name="markdown_preview"),
    path(
        "artefacts/<str:kind>/<int:pk>/attachments/",
        issue_views.artefact_attachment_add,
        name="artefact_attachment_add",
    ),
    path(
        "artefacts/<str:kind>/<int:pk>/attachments/<int:attachment_pk>/",
        issue_views.artefact_attachment_download,
        name="artefact_attachment",
    ),
    path(
        "artefacts/<str:kind>/<int:pk>/attachments/<int:attachment_pk>/delete/",
        issue_views.artefact_attachment_delete,
        name="artefact_attachment_delete",
    ),
    path("<int:number>/", issue_views.issue_detail, name="detail"),
    path("<int:number>/edit/", issue_views.issue_edit, name="edit"),
    path("<int:number>/attachments/", issue_views.attachment_add, name="attachment_add"),
    path("<int:number>/attachments/<int:pk>/", issue_views.attachment_download, name="attachment"),
    path("<int:number>/attachments/<int:pk>/delete/", issue_views.attachment_delete, name="attachment_delete"),
    path("<int:number>/links/", issue_views.link_add, name="link_add"),
    path("<int:number>/links/<int:pk>/delete/", issue_views.link_remove, name="link_remove"),
    # Internal issues to a tracker: push one (preview, then push), link one to a tracker issue, push several.
    path("<int:number>/push/<int:integration_id>/", push_views.push_issue, name="push"),
    path("<int:number>/link-tracker/", push_views.link_tracker, name="link_tracker"),
    path("<int:number>/link-tracker/search/", push_views.link_tracker_search, name="link_tracker_search"),
    path("push/", push_views.push_selected, name="push_selected"),
    # Tracker issues from test artefacts: file (one or a run's failures in bulk), link existing, unlink.
    path("file/", filing_views.file_issue, name="file_issue"),
    path("file/users/", filing_views.file_users, name="file_users"),
    path("file/runs/<int:run_pk>/", filing_views.file_bulk, name="file_bulk"),
    path("file/jobs/<int:pk>/", filing_views.filing_job, name="filing_job"),
    path("file/jobs/<int:pk>/status/", filing_views.filing_job_status, name="filing_job_status"),
    path("file/jobs/<int:pk>/retry/", filing_views.filing_job_retry, name="filing_job_retry"),
    path("sync/cases/<int:pk>/", filing_views.case_sync, name="case_sync"),
    path("sync/cases/<int:pk>/<int:sync_pk>/refresh/", filing_views.case_sync_refresh, name="case_sync_refresh"),
    path("link/", filing_views.link_issue, name="link_issue"),
    path("link/search/", filing_views.link_search, name="link_search"),
    path("link/check/", filing_views.link_check, name="link_check"),
    path("links/<int:pk>/unlink/", filing_views.unlink, name="unlink"),
    path("refresh/", sync_views.refresh_links, name="refresh_links"),
    path("<int:number>/comments/", sync_views.comment_add, name="comment_add"),
]
