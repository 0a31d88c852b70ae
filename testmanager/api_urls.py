"""REST API routes: each app contributes the routes of its api.py."""

from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE"])
@permission_classes([AllowAny])
def api_not_found(request):
    return Response({"message": "No such API endpoint.", "errors": {}}, status=404)


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("projects.api")),
    path("", include("issues.api")),
    path("", include("integrations.api")),
    # Anything else under /api/ answers JSON, not Django's HTML 404 page.
    re_path(r"^.*$", api_not_found),
]
