from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from oauth2_provider import views as oauth_views

from issues.sync import views as sync_views
from projects.login_throttle import ThrottledAdminAuthenticationForm, login_view
from testmanager.health import healthz

admin.site.site_header = "testmanager administration"
admin.site.site_title = "testmanager admin"
admin.site.index_title = "Configuration"
admin.site.login_form = ThrottledAdminAuthenticationForm

# OAuth 2.0 for API clients (projects/oauth_clients.py): the toolkit's endpoints a client uses.
# Applications are registered in the admin, so its self-service pages are not mounted.
oauth_urlpatterns = [
    path("authorize/", oauth_views.AuthorizationView.as_view(), name="authorize"),
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", oauth_views.IntrospectTokenView.as_view(), name="introspect"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="projects:list", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/login/", login_view, name="login"),
    path("accounts/sso/", include("integrations.signin.urls")),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", include("projects.token_views")),
    path("projects/", include("projects.urls")),
    path("projects/<str:key>/issues/", include("issues.urls")),
    path("projects/<str:key>/integrations/", include("integrations.urls")),
    path("projects/<str:key>/", include("issues.reports.urls")),
    path("projects/<str:key>/import/", include("issues.imports.urls")),
    # Members' OAuth 2.0 authorization (login, callback, revoke): before the API's catch-all.
    path("api/auth/", include("integrations.oauth_urls")),
    path("api/", include("testmanager.api_urls")),
    path("oauth/", include((oauth_urlpatterns, "oauth2_provider"))),
    path("hooks/<uuid:source_uuid>/", sync_views.receive, name="webhook"),
    path("healthz", healthz, name="healthz"),
]
