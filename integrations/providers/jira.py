"""Jira Cloud (REST v3) and Jira Server / Data Center (REST v2)."""

from typing import ClassVar

from integrations.errors import UpstreamError
from integrations.http import RemoteErrorDetail, TrackerResponse, generic_error_detail
from integrations.models import AUTH_TYPES_BY_PROVIDER, AuthType, Provider

from .base import EMAIL, ConnectionReport, CredentialField, TrackerProvider, rate_limit_headroom


def read_jira_error(response: TrackerResponse) -> RemoteErrorDetail:
    """Jira's ``{"errorMessages": [...], "errors": {field: problem}}``, or Cloud's plain-text sentence."""
    try:
        body = response.json()
    except UpstreamError:
        text = response.content.decode(errors="replace").strip()
        plain = (response.headers.get("Content-Type") or "").startswith("text/plain")
        return RemoteErrorDetail(text if plain and 0 < len(text) <= 300 else None)
    if not isinstance(body, dict) or "errorMessages" not in body:
        return generic_error_detail(response)
    messages = [str(message) for message in body.get("errorMessages") or []]
    errors = body.get("errors")
    field_errors = {str(name): str(problem) for name, problem in errors.items()} if isinstance(errors, dict) else {}
    return RemoteErrorDetail(" ".join(messages) or None, field_errors)


class _Jira(TrackerProvider):
    api_version: ClassVar[str]
    default_key_pattern = r"^[A-Z][A-Z0-9_]+-\d+$"
    default_issue_url_template = "{baseUrl}/browse/{key}"
    default_create_url_template = "{baseUrl}/secure/CreateIssue!default.jspa"
    external_project_hint = "Jira project key, e.g. SHOP"
    external_project_pattern = r"^[A-Z][A-Z0-9_]+$"
    read_error_detail = staticmethod(read_jira_error)

    def whoami(self) -> ConnectionReport:
        with self.client() as http:
            response = http.get(f"rest/api/{self.api_version}/myself")
        body = response.json()
        if not isinstance(body, dict):
            raise UpstreamError(f"{response.host} did not answer /myself with a user: check the base URL.")
        name = body.get("displayName") or ""
        login = body.get("emailAddress") or body.get("name") or body.get("accountId") or ""
        user = f"{name} ({login})" if name and login and name != login else name or login
        remaining, limit = rate_limit_headroom(response)
        return ConnectionReport(
            user=user, detail=f"Signed in to Jira as {user}.", rate_limit_remaining=remaining, rate_limit_limit=limit,
        )

    def check_reachable(self) -> ConnectionReport:
        """serverInfo answers anonymously and says which Jira this is."""
        with self.client() as http:
            response = http.get(f"rest/api/{self.api_version}/serverInfo")
        body = response.json()
        info = body if isinstance(body, dict) else {}
        jira = " ".join(str(part) for part in ("Jira", info.get("deploymentType"), info.get("version")) if part)
        return ConnectionReport(
            user="", detail=f"{jira} answers at {response.host}; members authorize their own accounts.",
        )


class JiraCloud(_Jira):
    key = Provider.JIRA_CLOUD
    label = Provider.JIRA_CLOUD.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.JIRA_CLOUD]
    api_version = "3"
    base_url_hint = "Your site, e.g. https://example.atlassian.net."
    credential_fields = {
        **TrackerProvider.credential_fields,
        AuthType.API_TOKEN: (
            EMAIL,
            CredentialField(
                "api_token", "API token", secret=True,
                help_text="Created at id.atlassian.com under Security > API tokens, for the account above.",
            ),
        ),
    }


class JiraServer(_Jira):
    key = Provider.JIRA_SERVER
    label = Provider.JIRA_SERVER.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.JIRA_SERVER]
    api_version = "2"
    base_url_hint = "Your Jira's address including any context path, e.g. https://jira.example.com/jira."
