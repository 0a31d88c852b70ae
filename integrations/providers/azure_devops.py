"""Azure DevOps Services and Azure DevOps Server work items.

One source is one organization (Services: https://dev.azure.com/{organization}; Server:
https://server/tfs/{collection}): a personal access token is issued for an organization
and every API path lives under it, so the organization belongs with the credentials. A
project integration names the project inside it.
"""

from integrations.errors import UpstreamError
from integrations.models import AUTH_TYPES_BY_PROVIDER, AuthType, Provider

from .base import ConnectionReport, TrackerProvider

API_VERSION = "7.1"


class AzureDevOps(TrackerProvider):
    key = Provider.AZURE_DEVOPS
    label = Provider.AZURE_DEVOPS.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.AZURE_DEVOPS]
    default_key_pattern = r"^\d+$"
    default_issue_url_template = "{baseUrl}/{project}/_workitems/edit/{key}"
    default_create_url_template = "{baseUrl}/{project}/_workitems/create/Bug?[System.Title]={title}"
    external_project_hint = "Azure DevOps project name (the organization is part of the base URL)"
    external_project_pattern = r"^[^/\\:*?\"<>|#%&]+$"
    base_url_hint = (
        "The organization's address, e.g. https://dev.azure.com/fabrikam, or a collection on Azure DevOps "
        "Server, e.g. https://tfs.example.com/tfs/DefaultCollection."
    )

    def authentication(self):
        # A personal access token is the password of basic auth with an empty user name.
        if self.user_token is None and self.source.auth_type == AuthType.PAT:
            return {}, ("", self.credentials.get("token", ""))
        return super().authentication()

    def whoami(self) -> ConnectionReport:
        with self.client() as http:
            # Without this header an expired token gets a sign-in page (HTTP 203) instead of a 401.
            response = http.get(
                "_apis/connectionData", params={"api-version": f"{API_VERSION}-preview"},
                headers={"X-TFS-FedAuthRedirect": "Suppress"},
            )
        body = response.json()
        account = body.get("authenticatedUser") if isinstance(body, dict) else None
        if response.status != 200 or not isinstance(account, dict):
            raise UpstreamError(
                f"{response.host} did not answer with the signed-in account: check that the base URL is the "
                "organization's address and that the token is valid.",
                status=response.status,
            )
        user = account.get("providerDisplayName") or account.get("customDisplayName") or account.get("id") or ""
        return ConnectionReport(user=user, detail=f"Signed in to Azure DevOps as {user}.")
