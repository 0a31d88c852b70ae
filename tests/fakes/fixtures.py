"""Pytest fixtures that start fake trackers; registered in tests/conftest.py's pytest_plugins."""

import pytest
from django.core.cache import cache

from tests.fakes.azure_devops import AzureDevOpsFake
from tests.fakes.github import GitHubFake
from tests.fakes.gitlab import GitLabFake
from tests.fakes.jira import JiraFake
from tests.fakes.linear import LinearFake
from tests.fakes.redmine import RedmineFake

CLOUD_LOGIN = "automation@example.com"
CLOUD_API_TOKEN = "cloud-api-token"
SERVER_LOGIN = "automation"
SERVER_PASSWORD = "server-password"
SERVER_PAT = "server-personal-access-token"
ADO_LOGIN = "automation@fabrikam.example"
ADO_PAT = "ado-personal-access-token"
ADO_OAUTH_TOKEN = "ado-oauth-access-token"
GITHUB_LOGIN = "testbot"
GITHUB_TOKEN = "ghp_testbotclassictoken"
GITLAB_USERNAME = "testbot"
GITLAB_PAT = "glpat-testbotpersonaltoken"
GITLAB_OAUTH_TOKEN = "gloauth-testbotaccesstoken"
LINEAR_LOGIN = "automation@example.com"
LINEAR_API_KEY = "lin_api_fake0123456789abcdef"
LINEAR_OAUTH_TOKEN = "lin_oauth_fake0123456789abcdef"
REDMINE_LOGIN = "testbot"
REDMINE_API_KEY = "0123456789abcdef0123456789abcdef01234567"
REDMINE_PASSWORD = "redmine-password"


@pytest.fixture
def fake_jira_cloud():
    """A started Jira Cloud fake with one service account (`CLOUD_LOGIN` / `CLOUD_API_TOKEN`)."""
    fake = JiraFake("cloud")
    fake.set_credentials(CLOUD_LOGIN, CLOUD_API_TOKEN)
    with fake:
        yield fake


@pytest.fixture
def fake_jira_server():
    """A started Jira Data Center fake mounted at /jira, as an intranet Jira usually is.

    Its service account signs in with `SERVER_LOGIN` / `SERVER_PASSWORD` or the personal access
    token `SERVER_PAT`.
    """
    fake = JiraFake("server", context_path="/jira", deployment_type="DataCenter")
    fake.set_credentials(SERVER_LOGIN, SERVER_PASSWORD)
    fake.add_personal_access_token(SERVER_LOGIN, SERVER_PAT)
    with fake:
        yield fake


@pytest.fixture
def fake_azure_devops():
    """A started Azure DevOps fake for the organization `fabrikam` (mounted at /fabrikam, as on
    dev.azure.com) with one account, `ADO_LOGIN`, signing in with the personal access token `ADO_PAT`
    or the OAuth access token `ADO_OAUTH_TOKEN`. Tests add the projects they need."""
    fake = AzureDevOpsFake("/fabrikam")
    fake.add_personal_access_token(ADO_LOGIN, ADO_PAT)
    fake.add_oauth_token(ADO_LOGIN, ADO_OAUTH_TOKEN)
    with fake:
        yield fake


@pytest.fixture
def fake_linear():
    """A started Linear fake for the workspace `example` with one account, `LINEAR_LOGIN`, signing
    in with the personal API key `LINEAR_API_KEY` or the OAuth access token `LINEAR_OAUTH_TOKEN`
    (both with read and write scope). Tests add the teams they need."""
    fake = LinearFake("example")
    fake.add_api_key(LINEAR_LOGIN, LINEAR_API_KEY)
    fake.add_oauth_token(LINEAR_LOGIN, LINEAR_OAUTH_TOKEN)
    with fake:
        yield fake


@pytest.fixture
def fake_github():
    """A started GitHub Enterprise Server fake (API under /api/v3 of `web_url`) with one account,
    `GITHUB_LOGIN`, whose classic personal access token `GITHUB_TOKEN` has the `repo` scope.
    Tests add the repositories, collaborators and issues they need."""
    fake = GitHubFake(enterprise=True)
    fake.add_user(GITHUB_LOGIN, "Test Bot")
    fake.add_token(GITHUB_LOGIN, GITHUB_TOKEN, scopes=("repo", "read:org"))
    with fake:
        yield fake


@pytest.fixture
def fake_gitlab():
    """A started self-managed GitLab fake under the relative URL root /gitlab (API at
    `web_url` + /api/v4) with one account, `GITLAB_USERNAME`, signing in with the personal access
    token `GITLAB_PAT` or the OAuth access token `GITLAB_OAUTH_TOKEN` (both with the `api` scope).
    Tests add the projects, members and issues they need."""
    fake = GitLabFake("/gitlab")
    fake.add_user(GITLAB_USERNAME, "Test Bot")
    fake.add_token(GITLAB_USERNAME, GITLAB_PAT)
    fake.add_token(GITLAB_USERNAME, GITLAB_OAUTH_TOKEN, kind="oauth")
    with fake:
        yield fake


@pytest.fixture
def trackers_on_loopback(settings):
    """Let the tracker client reach fakes on 127.0.0.1, which production refuses as private addresses."""
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def fresh_cache():
    """Start and end with an empty cache: trackers' metadata and remembered markers are cached."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fake_redmine():
    """A started Redmine 5.0 fake under the sub-URI /redmine with one account, `REDMINE_LOGIN`
    ("Test Bot", no administrator), signing in with the API key `REDMINE_API_KEY` or the password
    `REDMINE_PASSWORD`. Tests add the projects, members and issues they need."""
    fake = RedmineFake("/redmine")
    fake.add_user(REDMINE_LOGIN, "Test Bot", api_key=REDMINE_API_KEY, password=REDMINE_PASSWORD)
    with fake:
        yield fake
