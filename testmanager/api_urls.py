"""REST API routes: each app contributes the routes of its api.py."""

from django.urls import include, path

urlpatterns = [
    path("", include("projects.api")),
    path("", include("issues.api")),
    path("", include("integrations.api")),
]
