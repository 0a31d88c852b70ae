from django.urls import path

from . import sync_views, views

app_name = "issues"

# Mounted at projects/<str:key>/issues/ (testmanager/urls.py); issues are addressed by number.
urlpatterns = [
    path("", views.issue_list, name="list"),
    path("new/", views.issue_create, name="create"),
    path("<int:number>/", views.issue_detail, name="detail"),
    path("<int:number>/edit/", views.issue_edit, name="edit"),
    path("<int:number>/attachments/", views.attachment_add, name="attachment_add"),
    path("<int:number>/attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("<int:number>/attachments/<int:pk>/delete/", views.attachment_delete, name="attachment_delete"),
    path("<int:number>/links/", views.link_add, name="link_add"),
    path("<int:number>/links/<int:pk>/delete/", views.link_remove, name="link_remove"),
    # Tracker issues from test artefacts: file (one or a run's failures in bulk), link existing, unlink.
    path("file/", views.file_issue, name="file_issue"),
    path("file/users/", views.file_users, name="file_users"),
    path("file/runs/<int:run_pk>/", views.file_bulk, name="file_bulk"),
    path("file/jobs/<int:pk>/", views.filing_job, name="filing_job"),
    path("file/jobs/<int:pk>/status/", views.filing_job_status, name="filing_job_status"),
    path("file/jobs/<int:pk>/retry/", views.filing_job_retry, name="filing_job_retry"),
    path("link/", views.link_issue, name="link_issue"),
    path("link/search/", views.link_search, name="link_search"),
    path("link/check/", views.link_check, name="link_check"),
    path("links/<int:pk>/unlink/", views.unlink, name="unlink"),
    path("refresh/", sync_views.refresh_links, name="refresh_links"),
    path("<int:number>/comments/", sync_views.comment_add, name="comment_add"),
]
