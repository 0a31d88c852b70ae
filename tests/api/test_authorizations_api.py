"""REST API of members' own tokens: a member writes (never reads back) their own token for a project's
tracker; project admins list and revoke the project's authorizations, members see only their own,
viewers are refused, another project's answer 404; administrators of integrations list every one."""

import pytest
from rest_framework.test import APIClient

from integrations.models import (
    AuditAction,
    AuditEvent,
    AuthType,
    Provider,
    ReauthorizationNotice,
    TokenKind,
    UserToken,
)
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.fakes.fixtures import SERVER_PAT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

MIAS_PAT = "mia-jira-data-center-pat"


@pytest.fixture
def shop():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def other():
    return ProjectFactory(key="OTHER")


@pytest.fixture
def jira(fake_jira_server, shop):
    fake_jira_server.add_project("SHOP")
    fake_jira_server.add_user("mia", display_name="Mia Krystof")
    fake_jira_server.add_personal_access_token("mia", MIAS_PAT)
    source = SourceFactory(
        provider=Provider.JIRA_SERVER,
        name="Acme Jira",
        base_url=fake_jira_server.base_url,
        allow_http=True,
        auth_type=AuthType.PAT,
        credentials={"token": SERVER_PAT},
    )
    return source


@pytest.fixture
def integration(jira, shop):
    return ProjectIntegrationFactory(project=shop, source=jira, external_project="SHOP")


def api_as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def member_of(project, role, **user):
    return MembershipFactory(project=project, role=role, **({"user__" + k: v for k, v in user.items()})).user


def token_of(user, source, **fields) -> UserToken:
    return UserToken.objects.create(
        user=user, source=source, kind=TokenKind.PAT, access_token=fields.pop("access_token", "secret-1"), **fields
    )


def my_token_url(integration, project="SHOP"):
    return f"/api/projects/{project}/integrations/{integration.pk}/my-token"


# --- A member's own token ------------------------------------------------------------------


def test_a_member_puts_their_token_and_it_is_never_echoed(shop, integration):
    mia = member_of(shop, Role.MEMBER, username="mia")
    api = api_as(mia)

    put = api.put(my_token_url(integration), {"token": MIAS_PAT}, format="json")
    got = api.get(my_token_url(integration))

    assert put.status_code == 200, put.content
    for response in (put, got):
        assert MIAS_PAT not in response.content.decode()
        body = response.json()
        assert (body["member"], body["kind"], body["tracker_account"]) == (
            "mia",
            "pat",
            "Mia Krystof (mia@example.com)",
        )
        assert "token" not in body and "access_token" not in body
    assert UserToken.objects.get(user=mia).access_token == MIAS_PAT


def test_a_token_the_tracker_refuses_is_a_400_that_does_not_repeat_it(shop, integration):
    api = api_as(member_of(shop, Role.MEMBER))

    response = api.put(my_token_url(integration), {"token": "wrong-token-value"}, format="json")

    assert response.status_code == 400
    assert "wrong-token-value" not in response.content.decode()
    assert response.json()["message"].startswith("Nothing was stored:")
    assert not UserToken.objects.exists()


def test_the_tracker_down_is_a_503_and_nothing_is_stored(shop, integration, fake_jira_server):
    api = api_as(member_of(shop, Role.MEMBER))
    fake_jira_server.stop()

    response = api.put(my_token_url(integration), {"token": MIAS_PAT}, format="json")

    assert response.status_code == 503 and MIAS_PAT not in response.content.decode()
    assert not UserToken.objects.exists()


def test_a_blank_token_is_a_400_naming_the_field(shop, integration):
    response = api_as(member_of(shop, Role.MEMBER)).put(my_token_url(integration), {"token": ""}, format="json")

    assert response.status_code == 400 and "token" in response.json()["errors"]


def test_a_source_that_takes_no_member_token_refuses_one(shop):
    custom = SourceFactory(provider=Provider.CUSTOM, auth_type=AuthType.NONE, base_url="https://tracker.example")
    integration = ProjectIntegrationFactory(project=shop, source=custom)

    response = api_as(member_of(shop, Role.MEMBER)).put(my_token_url(integration), {"token": "x"}, format="json")

    assert response.status_code == 400 and "takes no token of yours" in response.content.decode()


def test_a_member_deletes_their_own_token(shop, integration, jira):
    mia = member_of(shop, Role.MEMBER)
    token_of(mia, jira)
    api = api_as(mia)

    assert api.delete(my_token_url(integration)).status_code == 204
    assert api.delete(my_token_url(integration)).status_code == 404
    assert api.get(my_token_url(integration)).status_code == 404
    assert not UserToken.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED).count() == 1


@pytest.mark.parametrize(("role", "expected"), [(Role.VIEWER, 403), ("outsider", 404)])
def test_viewers_and_outsiders_cannot_put_a_token(shop, integration, role, expected):
    user = UserFactory() if role == "outsider" else member_of(shop, role)

    response = api_as(user).put(my_token_url(integration), {"token": MIAS_PAT}, format="json")

    assert response.status_code == expected and not UserToken.objects.exists()


def test_another_projects_integration_answers_404(shop, other, integration):
    mia = member_of(shop, Role.MEMBER)
    MembershipFactory(project=other, user=mia, role=Role.MEMBER)

    response = api_as(mia).put(my_token_url(integration, "OTHER"), {"token": MIAS_PAT}, format="json")

    assert response.status_code == 404 and not UserToken.objects.exists()


# --- The project's authorizations ---------------------------------------------------------


@pytest.fixture
def holders(shop, other, integration, jira):
    """Mia and Noah (SHOP members) hold tokens for SHOP's tracker; Olga holds one but is only in OTHER."""
    mia, noah = member_of(shop, Role.MEMBER, username="mia"), member_of(shop, Role.MEMBER, username="noah")
    olga = member_of(other, Role.MEMBER, username="olga")
    ProjectIntegrationFactory(project=other, source=jira, external_project="OTHER")
    return {user.username: token_of(user, jira, remote_account=user.username.title()) for user in (mia, noah, olga)}


def test_a_project_admin_lists_the_projects_authorizations(shop, holders):
    response = api_as(member_of(shop, Role.ADMIN)).get("/api/projects/SHOP/authorizations")

    assert response.status_code == 200
    rows = response.json()
    assert sorted(row["member"] for row in rows) == ["mia", "noah"]
    row = next(row for row in rows if row["member"] == "mia")
    assert set(row) == {
        "id",
        "member",
        "source",
        "source_name",
        "provider",
        "kind",
        "tracker_account",
        "since",
        "expires",
        "renewable",
        "problem",
    }
    assert (row["tracker_account"], row["source_name"], row["expires"]) == ("Mia", "Acme Jira", None)
    assert "secret-1" not in response.content.decode()


def test_a_member_sees_only_their_own_authorization(shop, holders):
    mia = holders["mia"].user

    rows = api_as(mia).get("/api/projects/SHOP/authorizations").json()

    assert [row["member"] for row in rows] == ["mia"]


@pytest.mark.parametrize(("role", "expected"), [(Role.VIEWER, 403), ("outsider", 404)])
def test_viewers_and_outsiders_see_no_authorizations(shop, holders, role, expected):
    user = UserFactory() if role == "outsider" else member_of(shop, role)

    assert api_as(user).get("/api/projects/SHOP/authorizations").status_code == expected


def test_a_project_admin_revokes_an_authorization(shop, holders):
    admin = member_of(shop, Role.ADMIN)
    noah = holders["noah"]

    response = api_as(admin).delete(f"/api/projects/SHOP/authorizations/{noah.pk}")

    assert response.status_code == 204
    assert not UserToken.objects.filter(pk=noah.pk).exists()
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert (event.actor, event.target, event.details["by_someone_else"]) == (admin, "noah (Noah)", True)
    # Noah is told on his pages, not left to find out.
    notice = ReauthorizationNotice.objects.get(user=noah.user)
    assert notice.message == (
        f"{admin.username} revoked your authorization for Acme Jira: what you do there goes through the source's "
        "own account until you enter a token again."
    )


def test_a_member_revokes_their_own_but_not_anothers(shop, holders):
    api = api_as(holders["mia"].user)

    refused = api.delete(f"/api/projects/SHOP/authorizations/{holders['noah'].pk}")
    own = api.delete(f"/api/projects/SHOP/authorizations/{holders['mia'].pk}")

    assert refused.status_code == 403 and own.status_code == 204
    assert sorted(UserToken.objects.values_list("user__username", flat=True)) == ["noah", "olga"]
    assert not ReauthorizationNotice.objects.exists()  # nobody to tell about one's own revocation


def test_another_projects_authorization_answers_404(shop, holders):
    admin = member_of(shop, Role.ADMIN)

    olga = holders["olga"]  # holds a token for the same source, but is not in SHOP
    assert api_as(admin).delete(f"/api/projects/SHOP/authorizations/{olga.pk}").status_code == 404
    assert api_as(admin).get(f"/api/projects/SHOP/authorizations/{olga.pk}").status_code == 404
    assert api_as(admin).delete(f"/api/projects/OTHER/authorizations/{olga.pk}").status_code == 404
    assert UserToken.objects.filter(pk=olga.pk).exists()


def test_administrators_of_integrations_list_every_authorization(holders, shop):
    staff = UserFactory(is_staff=True, is_superuser=True)

    response = api_as(staff).get("/api/authorizations")
    refused = api_as(member_of(shop, Role.ADMIN)).get("/api/authorizations")

    assert sorted(row["member"] for row in response.json()) == ["mia", "noah", "olga"]
    assert refused.status_code == 403
