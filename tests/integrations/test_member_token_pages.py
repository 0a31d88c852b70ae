"""Pages of members' own tokens: a member enters their token for a tracker on the Trackers page (write-only),
a project admin sees the project's authorizations there and revokes one after confirming; the source
admin lists every authorization and revoking there is audited."""

import pytest
from django.contrib.messages import get_messages
from rest_framework.test import APIClient

from integrations.models import AuditAction, AuditEvent, AuthType, Provider, TokenKind, UserToken
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.integrations.oauth_support import CLIENT_ID, github_with_oauth, member, oauth_source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

MIAS_PAT = "mia-jira-data-center-pat"
TRACKERS = "/projects/SHOP/integrations/"


@pytest.fixture
def shop():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def integration(fake_jira_server, shop):
    fake_jira_server.add_project("SHOP")
    fake_jira_server.add_user("mia", display_name="Mia Krystof")
    fake_jira_server.add_personal_access_token("mia", MIAS_PAT)
    source = SourceFactory(
        provider=Provider.JIRA_SERVER,
        name="Acme Jira",
        base_url=fake_jira_server.base_url,
        allow_http=True,
        auth_type=AuthType.BASIC,
        credentials={"username": "automation", "password": "server-password"},
    )
    return ProjectIntegrationFactory(project=shop, source=source, external_project="SHOP")


def page(integration):
    return f"{TRACKERS}{integration.pk}/my-token/"


def member_of(project, role, **user):
    return MembershipFactory(project=project, role=role, **({"user__" + k: v for k, v in user.items()})).user


def test_a_member_enters_their_token_for_a_tracker_on_basic_auth(client, shop, integration):
    mia = member_of(shop, Role.MEMBER, username="mia")
    client.force_login(mia)

    trackers = client.get(TRACKERS).content.decode()
    form = client.get(page(integration)).content.decode()
    saved = client.post(page(integration), {"token": MIAS_PAT})

    assert "Use your own personal access token" in trackers
    assert 'type="password"' in form and "refresh_token" not in form  # no refresh token for a PAT
    assert saved.status_code == 302 and saved["Location"] == TRACKERS
    assert [str(m) for m in get_messages(saved.wsgi_request)] == [
        "Your personal access token for Acme Jira is stored: Acme Jira now shows Mia Krystof (mia@example.com) as "
        "the author of what you file and comment."
    ]
    token = UserToken.objects.get(user=mia)
    assert (token.kind, token.access_token) == (TokenKind.PAT, MIAS_PAT)
    after = client.get(TRACKERS).content.decode() + client.get(page(integration)).content.decode()
    assert "Your own token" in after and MIAS_PAT not in after


def test_a_refused_token_shows_the_reason_and_is_not_put_back_in_the_form(client, shop, integration):
    client.force_login(member_of(shop, Role.MEMBER))

    response = client.post(page(integration), {"token": "wrong-token-value"})

    body = response.content.decode()
    assert response.status_code == 200 and "Nothing was stored:" in body
    assert "wrong-token-value" not in body
    assert not UserToken.objects.exists()


def test_viewers_and_outsiders_have_no_token_page(client, shop, integration):
    client.force_login(member_of(shop, Role.VIEWER))
    assert client.get(page(integration)).status_code == 403
    client.force_login(UserFactory())
    assert client.get(page(integration)).status_code == 404


def test_a_tracker_that_takes_no_member_token_has_no_token_page(client, shop):
    custom = SourceFactory(provider=Provider.CUSTOM, auth_type=AuthType.NONE, base_url="https://tracker.example")
    integration = ProjectIntegrationFactory(project=shop, source=custom)
    client.force_login(member_of(shop, Role.MEMBER))

    assert client.get(page(integration)).status_code == 404
    assert "Use your own" not in client.get(TRACKERS).content.decode()


def test_a_project_admin_sees_the_authorizations_and_revokes_one_after_confirming(client, shop, integration):
    noah = member_of(shop, Role.MEMBER, username="noah")
    token = UserToken.objects.create(
        user=noah, source=integration.source, kind=TokenKind.PAT, access_token="noahs-secret", remote_account="Noah B"
    )
    admin = member_of(shop, Role.ADMIN)
    client.force_login(admin)

    listed = client.get(TRACKERS).content.decode()
    confirm = client.get(f"{TRACKERS}authorizations/{token.pk}/revoke/")
    assert UserToken.objects.filter(pk=token.pk).exists()  # asking is not revoking
    revoked = client.post(f"{TRACKERS}authorizations/{token.pk}/revoke/")

    assert 'id="authorizations"' in listed and "Noah B" in listed and "noahs-secret" not in listed
    assert confirm.status_code == 200 and "Revoke the authorization of noah for Acme Jira?" in confirm.content.decode()
    assert revoked.status_code == 302 and not UserToken.objects.exists()
    assert AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED).actor == admin
    assert 'id="no-authorizations"' in client.get(TRACKERS).content.decode()


def test_members_cannot_revoke_others_and_another_projects_token_is_404(client, shop, integration):
    other = ProjectFactory(key="OTHER")
    noah = member_of(other, Role.MEMBER)
    token = UserToken.objects.create(user=noah, source=integration.source, kind=TokenKind.PAT, access_token="s")
    client.force_login(member_of(shop, Role.MEMBER))
    assert client.get(f"{TRACKERS}authorizations/{token.pk}/revoke/").status_code == 403
    assert 'id="authorizations"' not in client.get(TRACKERS).content.decode()

    client.force_login(member_of(shop, Role.ADMIN))
    assert client.post(f"{TRACKERS}authorizations/{token.pk}/revoke/").status_code == 404
    assert UserToken.objects.filter(pk=token.pk).exists()


def test_the_admin_lists_every_authorization_and_revoking_there_is_audited(client, integration):
    holder = UserFactory(username="mia")
    token = UserToken.objects.create(
        user=holder, source=integration.source, kind=TokenKind.PAT, access_token="mias-secret", remote_account="Mia K"
    )
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)

    listing = client.get("/admin/integrations/usertoken/").content.decode()
    client.post(f"/admin/integrations/usertoken/{token.pk}/delete/", {"post": "yes"})

    assert "Mia K" in listing and "mias-secret" not in listing
    assert not UserToken.objects.exists()
    assert AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED).actor == staff


def test_an_oauth_source_takes_a_pasted_access_and_refresh_token_on_the_page_and_in_the_api(client):
    with github_with_oauth(expiring=True) as fake:
        source = oauth_source(Provider.GITHUB, fake.web_url, "Acme GitHub")
        integration = source.project_integrations.get()
        mia, noah = member(), member()
        for_mia = fake.oauth.grant(CLIENT_ID, "mia", ("repo",))
        for_noah = fake.oauth.grant(CLIENT_ID, "noah", ("repo",))
        client.force_login(mia)

        trackers = client.get(TRACKERS).content.decode()
        form = client.get(page(integration)).content.decode()
        saved = client.post(
            page(integration), {"token": for_mia["access_token"], "refresh_token": for_mia["refresh_token"]}
        )
        api = APIClient()
        api.force_authenticate(noah)
        put = api.put(
            f"/api/projects/SHOP/integrations/{integration.pk}/my-token",
            {"token": for_noah["access_token"], "refresh_token": for_noah["refresh_token"]},
            format="json",
        )

    assert "or paste an access token" in trackers
    assert 'name="refresh_token"' in form and "Paste an access token" in form
    assert saved.status_code == 302
    assert put.status_code == 200 and put.json()["renewable"] is True and put.json()["kind"] == "oauth2"
    assert (
        for_noah["access_token"] not in put.content.decode() and for_noah["refresh_token"] not in put.content.decode()
    )
    tokens = {token.user: token for token in UserToken.objects.all()}
    assert (tokens[mia].kind, tokens[mia].remote_account, tokens[mia].refresh_token) == (
        TokenKind.OAUTH2,
        "Mia Krystof (mia)",
        for_mia["refresh_token"],
    )
    assert tokens[noah].remote_account == "Noah Berg (noah)"
