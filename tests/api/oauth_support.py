"""OAuth 2.0 API clients in tests: registering applications, and the requests a client sends to /oauth/."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

from oauth2_provider.models import Application
from rest_framework.test import APIClient

SECRET = "a-client-secret-the-ci-job-keeps"
REDIRECT_URI = "https://tool.example.test/callback"


def machine_app(service_user, name="Nightly CI") -> Application:
    """A client-credentials application acting as the service user (its secret is SECRET)."""
    return Application.objects.create(
        name=name,
        user=service_user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=SECRET,
    )


def tool_app(name="Test CLI") -> Application:
    """An authorization-code application (public: a command-line tool holds no secret; PKCE instead)."""
    return Application.objects.create(
        name=name,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        client_secret="",
        hash_client_secret=False,
    )


def basic_auth(app, secret=SECRET) -> str:
    return "Basic " + base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()


def client_credentials(app, scope="read", secret=SECRET):
    """POST /oauth/token/ as a machine: the response."""
    body = {"grant_type": "client_credentials", "scope": scope}
    return APIClient().post("/oauth/token/", body, HTTP_AUTHORIZATION=basic_auth(app, secret))


def token_client(access_token: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {access_token}")


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 4.1, 4.2)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_query(app, challenge, method="S256", scope="read write", state="state-1") -> dict:
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": state,
    }
    if challenge is not None:
        query.update(code_challenge=challenge, code_challenge_method=method)
    return query


def redirect_query(response) -> dict:
    """The parameters of the redirect back to the tool."""
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI, response["Location"]
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def exchange_code(app, code, verifier):
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": app.client_id,
        "code_verifier": verifier,
    }
    return APIClient().post("/oauth/token/", body)
