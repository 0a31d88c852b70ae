"""GitLab Issues on gitlab.com and self-managed GitLab."""

from integrations.errors import UpstreamError
from integrations.models import AUTH_TYPES_BY_PROVIDER, AuthType, Provider

from .base import ConnectionReport, TrackerProvider, rate_limit_headroom


class GitLab(TrackerProvider):
    key = Provider.GITLAB
    label = Provider.GITLAB.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.GITLAB]
    default_key_pattern = r"^#?\d+$"
    default_issue_url_template = "{baseUrl}/{project}/-/issues/{number}"
    default_create_url_template = (
        "{baseUrl}/{project}/-/issues/new?issue[title]={title}&issue[description]={description}"
    )
    external_project_hint = "project path, e.g. group/subgroup/project"
    external_project_pattern = r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+$"
    base_url_hint = "https://gitlab.com, or your GitLab's address including any relative URL root."

    @property
    def api_base_url(self) -> str:
        return f"{self.source.base_url}/api/v4"

    def authentication(self):
        # GitLab takes personal access tokens in its own header; OAuth tokens as Bearer.
        if self.user_token is None and self.source.auth_type == AuthType.PAT:
            return {"PRIVATE-TOKEN": self.credentials.get("token", "")}, None
        return super().authentication()

    def whoami(self) -> ConnectionReport:
        with self.client() as http:
            response = http.get("user")
        body = response.json()
        if not isinstance(body, dict) or not body.get("username"):
            raise UpstreamError(f"{response.host} did not answer /user with an account: check the base URL.")
        user = f"{body['name']} ({body['username']})" if body.get("name") else body["username"]
        remaining, limit = rate_limit_headroom(response)
        return ConnectionReport(
            user=user, detail=f"Signed in to GitLab as {user}.", rate_limit_remaining=remaining, rate_limit_limit=limit,
        )
