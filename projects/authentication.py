"""`Authorization: Bearer tm_...` authentication with personal API tokens."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .models import ApiToken

KEYWORD = "Bearer"


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates a request by a personal API token; `request.auth` is the ApiToken.

    Requests without a Bearer header are left to the next authentication class (the session).
    """

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token.")) from None
        token = ApiToken.objects.find_active(raw)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        token.touch()
        return token.user, token

    def authenticate_header(self, request):
        # Makes unauthenticated requests answer 401 with a challenge instead of 403.
        return f'{KEYWORD} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token created on /account/tokens/ or with POST /api/auth/token.",
        }
