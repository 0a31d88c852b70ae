"""Members' OAuth 2.0 authorization, mounted at /api/auth/ (see oauth_views), and dismissing the notice
that a source switched how it authenticates."""

from django.urls import path

from . import oauth_views

app_name = "oauth"

urlpatterns = [
    path("<str:provider>/login/", oauth_views.authorize, name="authorize"),
    path("<str:provider>/callback", oauth_views.callback, name="callback"),
    path("<str:provider>/revoke/", oauth_views.revoke, name="revoke"),
    path("notices/<int:pk>/dismiss/", oauth_views.dismiss_notice, name="dismiss_notice"),
]
