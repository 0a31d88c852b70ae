"""social-core backends with the two things we need on top: a server address read from the
provider's configuration (GitHub Enterprise Server, self-managed GitLab) and the account's
*verified* email, which the pipeline matches users by (``verified_email`` in the details)."""

from social_core.backends.atlassian import AtlassianOAuth2
from social_core.backends.azuread_tenant import AzureADTenantOAuth2
from social_core.backends.github import GithubOAuth2
from social_core.backends.gitlab import GitLabOAuth2


class GitHubSignIn(GithubOAuth2):
    """github.com, or a GitHub Enterprise Server at SERVER_URL (API under /api/v3)."""

    # /user/emails needs user:email; it is the only place GitHub says whether an address is verified.
    DEFAULT_SCOPE = ["read:user", "user:email"]
    # GitHub documents `scope` as space-delimited (social-core joins with commas).
    SCOPE_SEPARATOR = " "

    def _server(self) -> str:
        return (self.setting("SERVER_URL") or "").rstrip("/")

    def api_url(self) -> str:
        server = self._server()
        return f"{server}/api/v3/" if server else self.API_URL

    def authorization_url(self) -> str:
        server = self._server()
        return f"{server}/login/oauth/authorize" if server else self.AUTHORIZATION_URL

    def access_token_url(self) -> str:
        server = self._server()
        return f"{server}/login/oauth/access_token" if server else self.ACCESS_TOKEN_URL

    def get_user_details(self, response):
        details = super().get_user_details(response)
        details["verified_email"] = _github_verified_email(response.get("emails") or [])
        return details


def _github_verified_email(emails: list) -> str:
    """The primary address if verified, else any verified one; GitHub lists them at /user/emails."""
    verified = [entry for entry in emails if isinstance(entry, dict) and entry.get("verified")]
    verified.sort(key=lambda entry: not entry.get("primary"))
    return verified[0]["email"] if verified else ""


class GitLabSignIn(GitLabOAuth2):
    """gitlab.com or a self-managed GitLab at SERVER_URL."""

    def api_url(self, path) -> str:
        server = (self.setting("SERVER_URL") or self.API_URL).rstrip("/")
        return f"{server}/{path.lstrip('/')}"

    def authorization_url(self):
        return self.api_url("/oauth/authorize")

    def access_token_url(self):
        return self.api_url("/oauth/token")

    def get_user_details(self, response):
        details = super().get_user_details(response)
        # /user's `email` is the primary address, which GitLab sets only once it is confirmed;
        # a user whose confirmation is pending has `confirmed_at` null where GitLab shows it.
        confirmed = response.get("confirmed_at", True)
        details["verified_email"] = (response.get("email") or "") if confirmed else ""
        return details


class AtlassianSignIn(AtlassianOAuth2):
    """Atlassian accounts through the User Identity API (`GET /me`, scope read:me), which says
    whether the address is verified; Jira's /myself hides it behind profile visibility."""

    DEFAULT_SCOPE = ["read:me"]
    ID_KEY = "account_id"
    EXTRA_DATA = []

    def user_data(self, access_token: str, *args, **kwargs):
        return self.get_json("https://api.atlassian.com/me", headers={"Authorization": f"Bearer {access_token}"})

    def get_user_details(self, response):
        email = response.get("email") or ""
        return {
            "username": response.get("nickname") or response.get("account_id"),
            "email": email,
            "fullname": response.get("name") or "",
            "first_name": "",
            "last_name": "",
            "verified_email": email if response.get("email_verified") else "",
        }


class EntraSignIn(AzureADTenantOAuth2):
    """Microsoft Entra ID, one tenant. The tenant's administrators own its addresses, so the
    user principal name of a tenant account counts as verified."""

    def get_user_details(self, response):
        details = super().get_user_details(response)
        details["verified_email"] = response.get("upn") or response.get("email") or ""
        return details
