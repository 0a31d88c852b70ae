"""Members' own tokens entered by hand: a personal access token (Linear: personal API key) used instead
of the source's shared credential for what the member does, so that the tracker shows them as the
author; and, on an OAuth 2.0 source, an access token (with its refresh token) issued outside a browser
flow. Against each tracker's fake over real HTTP: the fakes record which credential each request
carried. Stored encrypted, checked with the tracker first, never shown, logged or put in an error."""

import base64
import logging
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from integrations import services
from integrations.errors import AuthenticationFailed, AuthorizationRequired
from integrations.models import AuditAction, AuditEvent, AuthType, Provider, TokenKind, UserToken
from integrations.providers.base import IssueDraft
from projects.models import Project, Role
from tests.factories import MembershipFactory, ProjectIntegrationFactory, SourceFactory
from tests.fakes.fixtures import ADO_PAT, GITHUB_TOKEN, GITLAB_PAT, LINEAR_API_KEY, SERVER_PAT
from tests.fakes.gitlab import DEVELOPER
from tests.integrations.oauth_support import CLIENT_ID, github_with_oauth, member, oauth_source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


@dataclass
class World:
    """A source on a shared credential, the project SHOP filing through it, and the member Mia whose own
    token ``mine`` the fake knows as her account."""

    fake: object
    source: object
    project: str
    issue_type: str
    mine: str
    shared: str
    header: str  # the request header a personal access token travels in

    def credential_sent(self, token: str) -> str:
        """What the header carries for ``token`` as this tracker takes personal access tokens."""
        if self.source.provider == Provider.AZURE_DEVOPS:
            return "Basic " + base64.b64encode(f":{token}".encode()).decode()
        if self.source.provider == Provider.LINEAR:
            return token
        if self.source.provider == Provider.GITLAB:
            return token
        return f"Bearer {token}"

    def credentials_seen(self) -> list[str]:
        return [request.headers.get(self.header, "") for request in self.fake.server.requests]


def _world(fake, provider, base_url, project, issue_type, shared, mine, header="Authorization") -> World:
    source = SourceFactory(
        provider=provider,
        name="Acme tracker",
        base_url=base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": shared},
        issue_url_template="",
        can_create_issues=True,
        can_add_comments=True,
    )
    shop = Project.objects.get_or_create(key="SHOP", defaults={"name": "Shop"})[0]
    ProjectIntegrationFactory(project=shop, source=source, external_project=project, default_issue_type=issue_type)
    return World(fake, source, project, issue_type, mine, shared, header)


@pytest.fixture
def jira_data_center(fake_jira_server):
    fake_jira_server.add_project("SHOP")
    fake_jira_server.add_user("mia", display_name="Mia Krystof")
    fake_jira_server.add_personal_access_token("mia", "mia-jira-pat")
    world = _world(
        fake_jira_server, Provider.JIRA_SERVER, fake_jira_server.base_url, "SHOP", "Bug", SERVER_PAT, "mia-jira-pat"
    )
    world.author_of = lambda key: fake_jira_server.issue(key).reporter.login
    return world


@pytest.fixture
def github(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.add_user("mia", "Mia Krystof")
    fake_github.add_token("mia", "ghp_miasowntoken")
    fake_github.grant("acme/shop", "testbot", "write")
    fake_github.grant("acme/shop", "mia", "write")
    world = _world(
        fake_github, Provider.GITHUB, fake_github.web_url, "acme/shop", "Issue", GITHUB_TOKEN, "ghp_miasowntoken"
    )
    world.author_of = lambda key: fake_github.issue("acme/shop", int(key.rsplit("#", 1)[1])).user.login
    return world


@pytest.fixture
def gitlab(fake_gitlab):
    fake_gitlab.add_project("acme/web")
    fake_gitlab.add_member("acme/web", "testbot", DEVELOPER)
    fake_gitlab.add_user("mia", "Mia Krystof")
    fake_gitlab.add_token("mia", "glpat-miasowntoken")
    fake_gitlab.add_member("acme/web", "mia", DEVELOPER)
    world = _world(
        fake_gitlab,
        Provider.GITLAB,
        fake_gitlab.web_url,
        "acme/web",
        "Issue",
        GITLAB_PAT,
        "glpat-miasowntoken",
        header="PRIVATE-TOKEN",
    )
    world.author_of = lambda key: fake_gitlab.issue("acme/web", int(key.rsplit("#", 1)[1])).author.username
    return world


@pytest.fixture
def azure_devops(fake_azure_devops):
    fake_azure_devops.add_personal_access_token("mia@fabrikam.example", "mia-ado-pat")
    fake_azure_devops.add_project("Fabrikam")  # every account writes
    world = _world(
        fake_azure_devops,
        Provider.AZURE_DEVOPS,
        fake_azure_devops.base_url,
        "Fabrikam",
        "Bug",
        ADO_PAT,
        "mia-ado-pat",
    )
    world.author_of = lambda key: fake_azure_devops.work_items[int(key)].fields["System.CreatedBy"].unique_name
    return world


@pytest.fixture
def linear(fake_linear):
    fake_linear.add_team("ENG", "Engineering")
    fake_linear.add_api_key("mia@example.com", "lin_api_miasownkey")
    world = _world(
        fake_linear, Provider.LINEAR, fake_linear.base_url, "ENG", "Issue", LINEAR_API_KEY, "lin_api_miasownkey"
    )
    world.author_of = lambda key: fake_linear.issue(key).creator.email
    return world


@pytest.fixture(params=["jira_data_center", "github", "gitlab", "azure_devops", "linear"])
def world(request) -> World:
    return request.getfixturevalue(request.param)


@pytest.fixture
def mia():
    shop = Project.objects.get_or_create(key="SHOP", defaults={"name": "Shop"})[0]
    return MembershipFactory(project=shop, role=Role.MEMBER, user__username="mia").user


def _draft(world: World, title="Checkout rejects coupons") -> IssueDraft:
    return IssueDraft(project=world.project, issue_type=world.issue_type, title=title)


def test_a_members_token_files_and_comments_as_them_instead_of_the_shared_account(world, mia):
    token = services.save_member_token(mia, world.source, access_token=f"  {world.mine}  ")
    assert (token.kind, token.access_token) == (TokenKind.PAT, world.mine)
    assert token.remote_account  # the tracker said whose it is
    world.fake.server.requests.clear()

    created = services.with_member_token(mia, world.source, lambda provider: provider.create_issue(_draft(world)))
    services.with_member_token(mia, world.source, lambda provider: provider.add_comment(created.key, "Seen again"))

    seen = world.credentials_seen()
    assert seen and set(seen) == {world.credential_sent(world.mine)}
    assert world.author_of(created.key).split("@")[0] == "mia"
    # Another member, without a token of their own, still files through the shared account.
    world.fake.server.requests.clear()
    noah = MembershipFactory(project=Project.objects.get(key="SHOP"), role=Role.MEMBER).user
    services.with_member_token(noah, world.source, lambda provider: provider.create_issue(_draft(world, "Other")))
    assert set(world.credentials_seen()) == {world.credential_sent(world.shared)}


def test_a_token_the_tracker_refuses_is_not_stored_and_never_in_the_error(world, mia, caplog):
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AuthenticationFailed) as refused:
        services.save_member_token(mia, world.source, access_token="not-a-token-of-anyone")

    assert "not-a-token-of-anyone" not in str(refused.value) + caplog.text
    assert not UserToken.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_AUTHORIZED)
    assert not event.success and "not-a-token-of-anyone" not in event.message + str(event.details)


def test_the_token_is_stored_encrypted_and_the_audit_never_holds_it(jira_data_center, mia):
    services.save_member_token(mia, jira_data_center.source, access_token="mia-jira-pat")

    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM integrations_usertoken")
        stored = bytes(cursor.fetchone()[0]).decode("latin-1")
    assert "mia-jira-pat" not in stored
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_AUTHORIZED)
    assert event.success and event.details == {"kind": "pat", "entered": True, "renewable": False}
    assert "mia-jira-pat" not in event.message + event.target + str(event.details)


def test_a_member_pat_the_tracker_stops_accepting_is_marked_not_renewed(jira_data_center, mia):
    services.save_member_token(mia, jira_data_center.source, access_token="mia-jira-pat")
    jira_data_center.fake._bearer_tokens.pop("mia-jira-pat")  # revoked in Jira

    with pytest.raises(AuthorizationRequired, match="enter a new one"):
        services.with_member_token(mia, jira_data_center.source, lambda provider: provider.whoami())

    assert "no longer accepts your personal token" in UserToken.objects.get(user=mia).last_error


def test_sources_whose_tracker_takes_no_member_token_refuse_one(mia):
    jira_cloud = SourceFactory(provider=Provider.JIRA_CLOUD, auth_type=AuthType.API_TOKEN)
    custom = SourceFactory(provider=Provider.CUSTOM, auth_type=AuthType.NONE, base_url="https://tracker.example")

    for source in (jira_cloud, custom):
        with pytest.raises(ValidationError) as refused:
            services.save_member_token(mia, source, access_token="anything")
        assert "takes no token of yours" in str(refused.value.message_dict["token"])
    assert not UserToken.objects.exists()


def test_a_refresh_token_is_only_for_oauth_sources(jira_data_center, mia):
    with pytest.raises(ValidationError) as refused:
        services.save_member_token(mia, jira_data_center.source, access_token="mia-jira-pat", refresh_token="r")

    assert "refresh_token" in refused.value.message_dict
    assert not UserToken.objects.exists()


def test_a_blank_token_is_refused_with_the_trackers_name_for_it(linear, mia):
    with pytest.raises(ValidationError) as refused:
        services.save_member_token(mia, linear.source, access_token="   ")

    assert refused.value.message_dict["token"] == ["Enter your personal API key."]


def test_a_comment_written_here_is_posted_by_its_authors_own_account(jira_data_center, mia):
    """The two-way comment sync posts a member's comment with their token when they have one."""
    services.save_member_token(mia, jira_data_center.source, access_token="mia-jira-pat")
    key = jira_data_center.fake.add_issue("SHOP", "Checkout fails").key
    jira_data_center.fake.server.requests.clear()

    services.with_own_token_if_any(mia, jira_data_center.source, lambda provider: provider.add_comment(key, "Hi"))
    services.with_own_token_if_any(None, jira_data_center.source, lambda provider: provider.add_comment(key, "Bot"))

    authors = [comment.author.login for comment in jira_data_center.fake.issue(key).comments]
    assert authors == ["mia", "automation"]


# --- OAuth 2.0 sources: a token issued outside a browser flow -----------------------------


def test_an_oauth_source_takes_a_pasted_access_and_refresh_token_and_renews_it():
    with github_with_oauth(expiring=True) as fake:
        source = oauth_source(Provider.GITHUB, fake.web_url, "Acme GitHub")
        user = member()
        issued = fake.oauth.grant(CLIENT_ID, "mia", ("repo",))

        token = services.save_member_token(
            user, source, access_token=issued["access_token"], refresh_token=issued["refresh_token"]
        )
        assert (token.kind, token.remote_account, token.refresh_token) == (
            TokenKind.OAUTH2,
            "Mia Krystof (mia)",
            issued["refresh_token"],
        )
        fake.oauth.expire(issued["access_token"])  # the tracker stops taking it

        account = services.with_member_token(user, source, lambda provider: provider.whoami().user)

    assert account == "Mia Krystof (mia)"
    renewed = UserToken.objects.get(pk=token.pk)
    assert renewed.access_token != issued["access_token"] and renewed.last_refreshed_at is not None
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REFRESHED, success=True).exists()


def test_a_pasted_oauth_token_the_tracker_refuses_is_not_stored():
    with github_with_oauth() as fake:
        source = oauth_source(Provider.GITHUB, fake.web_url, "Acme GitHub")
        user = member()
        with pytest.raises(AuthenticationFailed) as refused:
            services.save_member_token(user, source, access_token="gho_forged", refresh_token="ghr_forged")

    assert "gho_forged" not in str(refused.value) and "ghr_forged" not in str(refused.value)
    assert not UserToken.objects.exists()
