"""GitHub Issues on github.com and GitHub Enterprise Server."""

from urllib.parse import urlsplit

from integrations.errors import UpstreamError
from integrations.models import AUTH_TYPES_BY_PROVIDER, Provider

from .base import ConnectionReport, TrackerProvider, rate_limit_headroom


class GitHub(TrackerProvider):
    key = Provider.GITHUB
    label = Provider.GITHUB.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.GITHUB]
    default_key_pattern = r"^#?\d+$"
    default_issue_url_template = "{baseUrl}/{project}/issues/{number}"
    default_create_url_template = "{baseUrl}/{project}/issues/new?title={title}&body={description}"
    external_project_hint = "repository as owner/repo"
    external_project_pattern = r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9_.-]+$"
    base_url_hint = "https://github.com, or your GitHub Enterprise Server's address."

    @property
    def api_base_url(self) -> str:
        """github.com serves its API on api.github.com; Enterprise Server under /api/v3."""
        if urlsplit(self.source.base_url).hostname in ("github.com", "www.github.com"):
            return "https://api.github.com"
        return f"{self.source.base_url}/api/v3"

    def whoami(self) -> ConnectionReport:
        with self.client(headers={"Accept": "application/vnd.github+json"}) as http:
            response = http.get("user")
        body = response.json()
        if not isinstance(body, dict) or not body.get("login"):
            raise UpstreamError(f"{response.host} did not answer /user with an account: check the base URL.")
        user = f"{body['name']} ({body['login']})" if body.get("name") else body["login"]
        remaining, limit = rate_limit_headroom(response)
        return ConnectionReport(
            user=user, detail=f"Signed in to GitHub as {user}.", rate_limit_remaining=remaining, rate_limit_limit=limit,
        )
