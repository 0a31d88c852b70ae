"""Members' OAuth 2.0 authorization, mounted at /api/auth/ (see oauth_views)."""

from django.urls import path

from . import oauth_views

app_name = "oauth"

urlpatterns = [
    path("<str:provider>/login/", oauth_views.authorize, name="authorize"),
    path("<str:provider>/callback", oauth_views.callback, name="callback"),
    path("<str:provider>/revoke/", oauth_views.revoke, name="revoke"),
]
