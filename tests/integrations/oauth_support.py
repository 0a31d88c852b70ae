"""Shared by the OAuth tests: a Jira Cloud site behind Atlassian's gateway path with Atlassian's OAuth
2.0 (3LO) on the same fake, a GitHub Enterprise Server with its OAuth app flow, the sources and
project that use them, and a member's browser going through the authorization by hand."""

from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import requests
from django.utils import timezone

from integrations.models import AuthType, IntegrationState, Provider, TokenKind, UserToken
from integrations.providers import jira as jira_provider
from projects.models import Project, Role
from tests.factories import MembershipFactory, ProjectIntegrationFactory, SourceFactory
from tests.fakes.github import GitHubFake
from tests.fakes.jira import JiraFake

CLIENT_ID = "testmanager-oauth-client"
CLIENT_SECRET = "oauth-client-secret-value"
CLOUD_ID = "1324a887-45db-1bf4-1e99-ef0ff456d421"
JIRA_CALLBACK = "http://testserver/api/auth/jira/callback"  # the documented one; jira_cloud/callback still works
GITHUB_CALLBACK = "http://testserver/api/auth/github/callback"
TRACKERS_PAGE = "/projects/SHOP/integrations/"
JIRA_SCOPES = ("read:jira-work", "write:jira-work", "read:jira-user", "offline_access")
MIA, NOAH = "mia@example.com", "noah@example.com"  # Jira accounts (logins) of two members


@contextmanager
def jira_with_oauth(monkeypatch):
    """A started Jira Cloud fake mounted where Atlassian's gateway serves it, with Atlassian's OAuth
    for the OAuth app (CLIENT_ID, CLIENT_SECRET, JIRA_CALLBACK); the Jira provider's Atlassian
    addresses point at it. Two accounts (MIA, NOAH) and the project SHOP with one issue."""
    fake = JiraFake("cloud", context_path=f"/ex/jira/{CLOUD_ID}")
    fake.add_user(MIA, display_name="Mia Krystof")
    fake.add_user(NOAH, display_name="Noah Berg")
    fake.add_project("SHOP")
    fake.add_issue("SHOP", "Checkout fails")
    fake.enable_oauth(CLIENT_ID, CLIENT_SECRET, JIRA_CALLBACK)
    with fake:
        monkeypatch.setattr(jira_provider, "ATLASSIAN_AUTH", fake.server.origin)
        monkeypatch.setattr(jira_provider, "ATLASSIAN_API", fake.server.origin)
        yield fake


@contextmanager
def github_with_oauth(*, expiring: bool = False):
    """A started GitHub Enterprise Server fake with an OAuth app (CLIENT_ID, CLIENT_SECRET,
    GITHUB_CALLBACK), the accounts mia and noah, and the repository acme/shop both may write to;
    ``expiring``: user tokens expire and come with refresh tokens (a GitHub App's)."""
    fake = GitHubFake(enterprise=True)
    for login, name in (("mia", "Mia Krystof"), ("noah", "Noah Berg")):
        fake.add_user(login, name)
    fake.add_repo("acme/shop", private=True)
    fake.grant("acme/shop", "mia", "write")
    fake.grant("acme/shop", "noah", "write")
    fake.enable_oauth(CLIENT_ID, CLIENT_SECRET, GITHUB_CALLBACK, expiring=expiring)
    with fake:
        yield fake


def oauth_source(provider: str, base_url: str, name: str):
    """An OAuth 2.0 source of the OAuth app, used by the project SHOP."""
    source = SourceFactory(
        provider=provider,
        name=name,
        base_url=base_url,
        allow_http=True,
        auth_type=AuthType.OAUTH2,
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        can_create_issues=True,
    )
    external_project = "SHOP" if provider == Provider.JIRA_CLOUD else "acme/shop"
    ProjectIntegrationFactory(
        project=shop(), source=source, external_project=external_project, state=IntegrationState.ACTIVE
    )
    return source


def shop() -> Project:
    return Project.objects.get_or_create(key="SHOP", defaults={"name": "Shop"})[0]


def member(role=Role.MEMBER):
    """A user with ``role`` in SHOP."""
    return MembershipFactory(project=shop(), role=role).user


def seeded_token(fake, source, user, login, *, expires_in=timedelta(hours=1), scopes=JIRA_SCOPES) -> UserToken:
    """A token the member got earlier from the fake's authorization server, as authorizing stores it."""
    answer = fake.oauth.grant(CLIENT_ID, login, scopes)
    jira_site = {"resource_id": fake.cloud_id, "resource_url": fake.base_url} if isinstance(fake, JiraFake) else {}
    return UserToken.objects.create(
        user=user,
        source=source,
        kind=TokenKind.OAUTH2,
        access_token=answer["access_token"],
        refresh_token=answer.get("refresh_token"),
        expires_at=timezone.now() + expires_in,
        scopes=answer["scope"],
        remote_account=login,
        **jira_site,
    )


def start(client, source, next_url=TRACKERS_PAGE):
    """The member presses Authorize: testmanager's answer (a redirect to the tracker)."""
    return client.get(f"/api/auth/{source.provider}/login/", {"source": str(source.uuid), "next": next_url})


def consent(authorize_url: str) -> str:
    """The member's browser at the tracker's consent page: where the tracker sends it back to."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def back_to_testmanager(client, callback_url: str):
    """The browser follows the tracker's redirect to testmanager's callback."""
    parts = urlsplit(callback_url)
    assert parts.netloc == "testserver", callback_url
    return client.get(parts.path, {name: values[0] for name, values in parse_qs(parts.query).items()})


def authorize(client, source, next_url=TRACKERS_PAGE):
    """The whole authorization, by hand: start, consent at the tracker, callback."""
    started = start(client, source, next_url)
    assert started.status_code == 302, started.content
    return back_to_testmanager(client, consent(started["Location"]))
