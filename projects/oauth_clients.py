"""API clients holding OAuth 2.0 access tokens this installation issued (django-oauth-toolkit).

The toolkit does the token handling (grants, PKCE, hashing, revocation, introspection); this module
adds the three things it leaves to us:

- who a token acts as: a member who consented (authorization code with PKCE), or for a machine
  (client credentials) the *service user* its application names, so that project membership
  limits a CI job exactly as it limits a person;
- how far a token reaches: the scopes ``read`` and ``write`` (read-write is both); roles decide
  the rest, through projects/permissions.py as for every other caller;
- how the API and its OpenAPI schema see such a token, next to personal tokens (``tm_...``).
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .authentication import KEYWORD
from .models import API_TOKEN_PREFIX

READ_SCOPE, WRITE_SCOPE = "read", "write"
INVALID_TOKEN = _("Invalid, expired or revoked token.")


def service_user_problem(user) -> str:
    """Why this user cannot be the one a client-credentials application acts as ("" when it can)."""
    if user is None:
        return "A client-credentials application acts as a service user: choose one."
    if not user.is_active:
        return f"The service user {user.get_username()} is deactivated."
    if user.is_superuser:
        # A site admin sees every project: the token would not be limited to any.
        return "A service user must not be a site admin; make it a member of the projects it may reach."
    return ""


class ApiClientValidator(OAuth2Validator):
    """The toolkit's validator, with client-credentials tokens acting as the application's service user."""

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        if grant_type == "client_credentials" and service_user_problem(client.user):
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        # The toolkit leaves a client-credentials token without a user; ours acts as the service user.
        if request.grant_type == "client_credentials":
            request.user = request.client.user
        return super()._create_access_token(expires, request, token, source_refresh_token)


class OAuthAccessTokenAuthentication(OAuth2Authentication):
    """`Authorization: Bearer <access token>` issued at /oauth/token/; `request.auth` is the AccessToken.

    Personal tokens (`tm_...`) and malformed headers are left to BearerTokenAuthentication, requests
    without a Bearer header to the session. Any other bearer value must be a valid access token.
    """

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if parts[1].startswith(API_TOKEN_PREFIX.encode()):
            return None
        authenticated = super().authenticate(request)
        if authenticated is None:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        user, token = authenticated
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        if _is_machine_token(token) and service_user_problem(user):
            # The service user changed since the token was issued (made a site admin, say).
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        return user, token

    def authenticate_header(self, request):
        # One challenge for every bearer token, personal or OAuth (makes 401 rather than 403).
        return f'{KEYWORD} realm="api"'


def _is_machine_token(token) -> bool:
    return token.application is not None and (
        token.application.authorization_grant_type == token.application.GRANT_CLIENT_CREDENTIALS
    )


class TokenScopeAllows(BasePermission):
    """An OAuth access token reads with the `read` scope and writes with the `write` scope.

    Personal tokens and browser sessions carry no scope: they are left to the role checks.
    """

    message = _("This token's scope does not allow this request.")

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, AccessToken):
            return True
        needed = needed_scope(request.method)
        if token.allow_scopes([needed]):
            return True
        self.message = (
            f"This token's scope is '{token.scope}': {request.method} needs the '{needed}' scope. "
            f"Ask for scope '{READ_SCOPE} {WRITE_SCOPE}' to read and write."
        )
        return False


def needed_scope(method: str) -> str:
    return READ_SCOPE if method in SAFE_METHODS else WRITE_SCOPE


class OAuthScheme(DjangoOAuthToolkitScheme):
    """The OAuth 2.0 security scheme in the OpenAPI schema: its flows, and per operation its scope."""

    target_class = "projects.oauth_clients.OAuthAccessTokenAuthentication"

    def get_security_requirement(self, auto_schema):
        return {self.name: [needed_scope(auto_schema.method)]}

    def get_security_definition(self, auto_schema):
        definition = super().get_security_definition(auto_schema)
        definition["description"] = (
            "Access tokens issued by this installation at /oauth/token/: client credentials for machines "
            "(acting as the application's service user), authorization code with PKCE (S256) for tools "
            f"acting as a member. Scopes: {', '.join(settings.OAUTH_API_SCOPES)}."
        )
        return definition
