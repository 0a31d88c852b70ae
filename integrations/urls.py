from django.urls import path
from django.views.decorators.http import require_http_methods

from . import services, views

app_name = "integrations"

urlpatterns = [
    path("", views.integration_list, name="list"),
    path("new/", views.integration_create, name="create"),
    path("<int:pk>/", views.integration_edit, name="edit"),
    path("<int:pk>/remove/", views.integration_remove, name="remove"),
    path("<int:pk>/check/", views.integration_check, name="check"),
    path("<int:pk>/refresh/", views.integration_refresh, name="refresh"),
    path("<int:pk>/field-mappings/", views.field_mappings, name="field_mappings"),
    path("<int:pk>/my-token/", views.member_token, name="member_token"),
    path(
        "authorizations/<int:token_pk>/revoke/",
        require_http_methods(["GET", "POST"])(views.authorization_revoke),
        name="authorization_revoke",
    ),
] + [
    path(f"<int:pk>/{transition}/", views.integration_transition, {"transition": transition}, name=transition)
    for transition in services.INTEGRATION_TRANSITIONS
]
