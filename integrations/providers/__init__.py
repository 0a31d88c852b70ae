"""The registry of trackers: one line per provider.

Adding a tracker: a choice in ``models.Provider`` (with its auth types), a module here
subclassing ``base.TrackerProvider``, and one line below. Views, tasks and templates
read everything from the provider class.
"""

from integrations.models import Provider

from .azure_devops import AzureDevOps
from .base import TrackerProvider
from .custom import CustomTracker
from .github import GitHub
from .gitlab import GitLab
from .jira import JiraCloud, JiraServer
from .linear import Linear
from .redmine import Redmine

REGISTRY: dict[str, type[TrackerProvider]] = {
    Provider.JIRA_CLOUD: JiraCloud,
    Provider.JIRA_SERVER: JiraServer,
    Provider.GITHUB: GitHub,
    Provider.GITLAB: GitLab,
    Provider.AZURE_DEVOPS: AzureDevOps,
    Provider.LINEAR: Linear,
    Provider.REDMINE: Redmine,
    Provider.CUSTOM: CustomTracker,
}


def provider_class(provider: str) -> type[TrackerProvider]:
    return REGISTRY[provider]


def provider_for(source, user_token=None) -> TrackerProvider:
    """The provider for ``source``; ``CredentialsUnreadable`` before any request when its
    credentials (or the member's token) no longer decrypt."""
    return provider_class(source.provider)(source, user_token)
