"""Switching a source's authentication in the admin (issue 11): links and references stay, the old
credentials and the members' tokens that no longer apply go, and every member concerned is told on
their pages until they authorize again or dismiss the notice. Audited."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from integrations import services
from integrations.models import (
    AuditAction,
    AuditEvent,
    AuthType,
    Provider,
    ReauthorizationNotice,
    TokenKind,
    UserToken,
)
from issues.links.models import ExternalReference, Link
from projects.models import Role
from tests.factories import (
    ExternalReferenceFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestCaseFactory,
    UserFactory,
)
from tests.integrations.oauth_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    MIA,
    authorize,
    jira_with_oauth,
    member,
    oauth_source,
    seeded_token,
    shop,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

API_TOKEN = "old-api-token-123"


@pytest.fixture
def jira(monkeypatch):
    with jira_with_oauth(monkeypatch) as fake:
        yield fake


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def linked_reference(source):
    reference = ExternalReferenceFactory(source=source, key="SHOP-1", title="Checkout fails", status="Open")
    Link.objects.create(project=shop(), external_reference=reference, test_case=TestCaseFactory(project=shop()))
    return reference


def references_and_links():
    return sorted(
        (ref.key, ref.source_id, ref.title, ref.status, ref.links.count()) for ref in ExternalReference.objects.all()
    )


def edit(client, source, **changes):
    """The admin saves the source's change form with these changes."""
    data = {
        "provider": source.provider,
        "name": source.name,
        "enabled": "on",
        "base_url": source.base_url,
        "allow_http": "on",
        "auth_type": source.auth_type,
        "all_projects": "on",
        "can_read_details": "on",
        "refresh_interval_minutes": "15",
        "rate_limit_per_minute": "120",
        **changes,
    }
    return client.post(reverse("admin:integrations_source_change", args=[source.pk]), data)


def switch_message(response) -> str:
    """What the admin is told about the switch, next to Django's "changed successfully"."""
    return next(str(message) for message in get_messages(response.wsgi_request) if " switched from " in str(message))


def api_token_source(jira):
    source = SourceFactory(
        provider=Provider.JIRA_CLOUD,
        name="Acme Jira",
        base_url=jira.base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        credentials={"email": "bot@acme.test", "api_token": API_TOKEN},
    )
    ProjectIntegrationFactory(project=shop(), source=source, external_project="SHOP")
    return source


def test_switching_to_oauth_keeps_the_links_clears_the_old_credentials_and_tells_who_files_through_it(
    client, admin_user, jira
):
    source = api_token_source(jira)
    linked_reference(source)
    filer, viewer = member(Role.MEMBER), member(Role.VIEWER)
    before = references_and_links()
    client.force_login(admin_user)

    response = edit(
        client, source, auth_type="oauth2", credential_client_id=CLIENT_ID, credential_client_secret=CLIENT_SECRET
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert switch_message(response) == (
        "Acme Jira switched from API token (email + token) to OAuth 2.0: links and references are kept; 0 member "
        "token(s) that no longer apply were removed and 1 member(s) were told on their pages."
    )
    source.refresh_from_db()
    assert source.auth_type == AuthType.OAUTH2
    assert source.credentials == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert references_and_links() == before
    assert [notice.user for notice in ReauthorizationNotice.objects.all()] == [filer]
    assert viewer not in [notice.user for notice in ReauthorizationNotice.objects.all()]
    event = AuditEvent.objects.get(action=AuditAction.AUTH_SWITCHED)
    assert (event.actor, event.source) == (admin_user, source)
    assert event.details == {"from": "api_token", "to": "oauth2", "tokens_removed": 0, "users_told": 1}
    assert API_TOKEN not in str(event.details) + event.message and CLIENT_SECRET not in str(event.details)


def test_the_notice_shows_on_the_members_pages_until_they_authorize_again(client, admin_user, jira):
    source = api_token_source(jira)
    mia = member()
    client.force_login(admin_user)
    edit(client, source, auth_type="oauth2", credential_client_id=CLIENT_ID, credential_client_secret=CLIENT_SECRET)
    client.force_login(mia)

    project_page = client.get(reverse("projects:home", args=["SHOP"])).content.decode()
    account_page = client.get(reverse("tokens:list")).content.decode()

    for page in (project_page, account_page):
        assert "Acme Jira now acts as each member (OAuth 2.0): authorize your own account" in page
        assert f'id="reauthorize-{source.pk}"' in page
    jira.oauth.sign_in(MIA)
    authorize(client, source)
    assert not ReauthorizationNotice.objects.filter(user=mia).exists()
    assert "now acts as each member" not in client.get(reverse("projects:home", args=["SHOP"])).content.decode()


def test_switching_away_from_oauth_removes_the_members_tokens_and_tells_their_holders(client, admin_user, jira):
    source = oauth_source(Provider.JIRA_CLOUD, jira.base_url, "Acme Jira")
    linked_reference(source)
    mia = member()
    member()  # files through the source too, holds no token: nothing to tell them
    seeded_token(jira, source, mia, MIA)
    before = references_and_links()
    client.force_login(admin_user)

    response = edit(
        client, source, auth_type="api_token", credential_email="bot@acme.test", credential_api_token=API_TOKEN
    )

    assert "1 member token(s) that no longer apply were removed and 1 member(s) were told" in switch_message(response)
    source.refresh_from_db()
    assert source.credentials == {"email": "bot@acme.test", "api_token": API_TOKEN}
    assert not UserToken.objects.filter(source=source).exists()
    assert references_and_links() == before
    notice = ReauthorizationNotice.objects.get()
    assert notice.user == mia
    assert "your own authorization for it no longer applies and was removed" in notice.message
    client.force_login(mia)
    page = client.get(reverse("projects:home", args=["SHOP"])).content.decode()
    assert notice.message in page and f'id="reauthorize-{source.pk}"' not in page  # nothing to authorize now
    assert AuditEvent.objects.get(action=AuditAction.AUTH_SWITCHED).details == {
        "from": "oauth2",
        "to": "api_token",
        "tokens_removed": 1,
        "users_told": 1,
    }


def test_a_member_dismisses_their_own_notice_and_no_one_elses(client, jira):
    source = api_token_source(jira)
    mia, noah = member(), member()
    source.auth_type, source.credentials = AuthType.OAUTH2, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    source.save()
    services.switch_authentication(source, AuthType.API_TOKEN, actor=None)
    mine, theirs = (ReauthorizationNotice.objects.get(user=user) for user in (mia, noah))
    client.force_login(mia)

    refused = client.post(reverse("oauth:dismiss_notice", args=[theirs.pk]), {"next": "/projects/SHOP/"})
    dismissed = client.post(reverse("oauth:dismiss_notice", args=[mine.pk]), {"next": "/projects/SHOP/"})

    assert refused.status_code == 404
    assert dismissed.status_code == 302 and dismissed["Location"] == "/projects/SHOP/"
    assert list(ReauthorizationNotice.objects.values_list("user", flat=True)) == [noah.pk]
    assert client.get(reverse("oauth:dismiss_notice", args=[theirs.pk])).status_code == 405


def test_a_switch_between_shared_credentials_tells_no_one(client, admin_user):
    source = SourceFactory(
        provider=Provider.JIRA_SERVER,
        name="Jira DC",
        base_url="https://jira.acme.test",
        auth_type=AuthType.BASIC,
        credentials={"username": "bot", "password": "pw-123"},
    )
    ProjectIntegrationFactory(project=shop(), source=source, external_project="SHOP")
    member()
    client.force_login(admin_user)

    response = edit(client, source, auth_type="pat", credential_token="pat-456")

    assert switch_message(response).endswith(
        "0 member token(s) that no longer apply were removed and 0 member(s) were told on their pages."
    )
    assert not ReauthorizationNotice.objects.exists()
    source.refresh_from_db()
    assert source.credentials == {"token": "pat-456"}


def test_a_member_pat_stays_when_the_source_keeps_using_personal_access_tokens(admin_user):
    source = SourceFactory(
        provider=Provider.GITHUB,
        name="GitHub",
        base_url="https://github.com",
        auth_type=AuthType.PAT,
        credentials={"token": "ghp-shared"},
    )
    holder = UserFactory()
    UserToken.objects.create(user=holder, source=source, kind=TokenKind.PAT, access_token="ghp-own")

    switch = services.switch_authentication(source, AuthType.OAUTH2, actor=admin_user)

    assert (switch.tokens_removed, switch.users_told) == (0, 0)
    assert UserToken.objects.filter(user=holder, source=source).exists()


def test_saving_a_source_without_changing_its_auth_type_switches_nothing(client, admin_user, jira):
    source = api_token_source(jira)
    member()
    client.force_login(admin_user)

    edit(client, source, description="Renamed")

    assert not AuditEvent.objects.filter(action=AuditAction.AUTH_SWITCHED).exists()
    assert not ReauthorizationNotice.objects.exists()


def test_switching_back_replaces_the_notices_of_the_earlier_switch(jira):
    source = api_token_source(jira)
    mia = member()
    source.auth_type, source.credentials = AuthType.OAUTH2, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    source.save()
    services.switch_authentication(source, AuthType.API_TOKEN, actor=None)
    assert ReauthorizationNotice.objects.get().user == mia

    source.auth_type, source.credentials = AuthType.API_TOKEN, {"email": "bot@acme.test", "api_token": API_TOKEN}
    source.save()
    services.switch_authentication(source, AuthType.OAUTH2, actor=None)

    assert not ReauthorizationNotice.objects.exists()  # no longer asked to authorize: nothing to tell
