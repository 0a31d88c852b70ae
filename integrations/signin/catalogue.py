"""The sign-in providers this installation supports, one row each: the social-core backend, the
label on the login page, and which server settings an admin may give."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    backend: str  # social-core's backend name, used in URLs and settings names
    label: str
    takes_server_url: bool = False  # GitHub Enterprise Server, self-managed GitLab
    takes_tenant: bool = False  # Microsoft Entra ID


KINDS = {
    kind.backend: kind
    for kind in (
        Kind("github", "GitHub", takes_server_url=True),
        Kind("gitlab", "GitLab", takes_server_url=True),
        Kind("atlassian", "Atlassian"),
        Kind("azuread-tenant-oauth2", "Microsoft Entra ID", takes_tenant=True),
    )
}

BACKEND_PATHS = (
    "integrations.signin.backends.GitHubSignIn",
    "integrations.signin.backends.GitLabSignIn",
    "integrations.signin.backends.AtlassianSignIn",
    "integrations.signin.backends.EntraSignIn",
)
