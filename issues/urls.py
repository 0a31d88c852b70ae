from django.urls import path

from . import views

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
]
