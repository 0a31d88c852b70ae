"""Linear (linear.app): the web app at linear.app/<workspace>, the GraphQL API at api.linear.app."""

from integrations.errors import AuthenticationFailed, RemoteValidationError, UpstreamError
from integrations.models import AUTH_TYPES_BY_PROVIDER, AuthType, Provider

from .base import ConnectionReport, TrackerProvider, rate_limit_headroom

API_URL = "https://api.linear.app"


class Linear(TrackerProvider):
    key = Provider.LINEAR
    label = Provider.LINEAR.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.LINEAR]
    default_key_pattern = r"^[A-Z]+-\d+$"
    default_issue_url_template = "{baseUrl}/issue/{key}"
    default_create_url_template = "{baseUrl}/team/{project}/new?title={title}&description={description}"
    external_project_hint = "Linear team key, e.g. ENG"
    external_project_pattern = r"^[A-Z][A-Z0-9]*$"
    base_url_hint = "Your workspace's address, e.g. https://linear.app/example."

    @property
    def api_base_url(self) -> str:
        return API_URL

    def authentication(self):
        # Personal API keys go in the Authorization header as they are; OAuth tokens as Bearer.
        if self.user_token is None and self.source.auth_type == AuthType.PAT:
            return {"Authorization": self.credentials.get("token", "")}, None
        return super().authentication()

    def whoami(self) -> ConnectionReport:
        with self.client() as http:
            # GraphQL errors, a missing or bad key among them, come as HTTP 400 with an "errors" list.
            response = http.post(
                "graphql", json={"query": "{ viewer { name email } }"}, idempotent=True, accept=(400,),
            )
            body = response.json()
            if not isinstance(body, dict):
                raise UpstreamError("Linear did not answer with a GraphQL result.", status=response.status)
            errors = [error for error in body.get("errors") or [] if isinstance(error, dict)]
            if errors or response.status != 200:
                first = errors[0] if errors else {}
                message = http.redact(" ".join(str(first.get("message") or "no reason given").split())[:300])
                extensions = first.get("extensions") if isinstance(first.get("extensions"), dict) else {}
                if extensions.get("code") == "AUTHENTICATION_ERROR":
                    raise AuthenticationFailed(
                        f"Linear rejected the credentials ({message}): check the API key or authorize again.",
                        status=response.status,
                    )
                raise RemoteValidationError(f"Linear refused the request: {message}", status=response.status)
        viewer = (body.get("data") or {}).get("viewer")
        if not isinstance(viewer, dict) or not viewer.get("name"):
            raise UpstreamError("Linear did not answer with the signed-in account.", status=response.status)
        user = f"{viewer['name']} ({viewer['email']})" if viewer.get("email") else viewer["name"]
        remaining, limit = rate_limit_headroom(response)
        return ConnectionReport(
            user=user, detail=f"Signed in to Linear as {user}.", rate_limit_remaining=remaining, rate_limit_limit=limit,
        )
