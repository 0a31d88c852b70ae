"""The project's Settings (issue 19): a Settings tab with Trackers, Members and pull settings; the pull
and bug toggles show or hide their sections (plain form, no script); archive, disconnect and remove ask
for confirmation on a page of their own before anything changes."""

import pytest
from django.urls import reverse

from integrations.models import AuditAction, AuditEvent, IntegrationState, ProjectIntegration
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    project = ProjectFactory(key="SHOP", name="Web shop")
    users = {}
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        users[role.value] = UserFactory(username=f"{role.value}-user")
        MembershipFactory(project=project, user=users[role.value], role=role)
    integration = ProjectIntegrationFactory(project=project, source=SourceFactory(name="Acme Jira"), is_primary=True)
    return {"project": project, "users": users, "integration": integration}


def as_(client, shop, role):
    client.force_login(shop["users"][role])
    return client


def test_the_project_tabs_include_settings_for_those_who_may_use_them(client, shop):
    home = as_(client, shop, "member").get(reverse("projects:home", args=["SHOP"])).content.decode()
    assert 'id="settings-tab"' in home and 'href="/projects/SHOP/integrations/"' in home
    home = as_(client, shop, "viewer").get(reverse("projects:home", args=["SHOP"])).content.decode()
    assert 'id="settings-tab"' not in home


def test_settings_holds_trackers_members_and_pull_settings(client, shop):
    page = as_(client, shop, "admin").get(reverse("integrations:list", args=["SHOP"])).content.decode()
    assert 'id="settings-nav"' in page
    assert (
        'href="/projects/SHOP/settings/members/"' in page
        and 'href="/projects/SHOP/integrations/#pull-settings"' in page
    )
    assert 'id="pull-settings-table"' in page
    assert reverse("traceability:pull_settings", args=["SHOP", shop["integration"].pk]) in page
    assert 'aria-current="page">Settings<' in page


def test_the_members_page_lists_members_and_roles(client, shop):
    page = as_(client, shop, "member").get(reverse("projects:members", args=["SHOP"])).content.decode()
    for username in ("admin-user", "member-user", "viewer-user"):
        assert username in page
    assert page.count('<span class="badge">') == 3
    assert as_(client, shop, "viewer").get(reverse("projects:members", args=["SHOP"])).status_code == 403
    client.force_login(UserFactory())
    assert client.get(reverse("projects:members", args=["SHOP"])).status_code == 404


@pytest.mark.parametrize(
    ("url_name", "consequence", "after"),
    [
        ("integrations:archive", "It is hidden from the project", IntegrationState.ARCHIVED),
        ("integrations:disconnect", "It stops syncing", IntegrationState.DISCONNECTED),
    ],
)
def test_archive_and_disconnect_ask_for_confirmation_first(client, shop, url_name, consequence, after):
    integration = shop["integration"]
    url = reverse(url_name, args=["SHOP", integration.pk])
    trackers = as_(client, shop, "admin").get(reverse("integrations:list", args=["SHOP"])).content.decode()
    assert f'method="get" action="{url}"' in trackers  # the button leads to the confirmation page

    confirm = client.get(url)
    page = confirm.content.decode()
    assert confirm.status_code == 200 and consequence in page and 'id="confirm-form"' in page
    integration.refresh_from_db()
    assert (integration.state, integration.is_primary) == (IntegrationState.ACTIVE, True)
    assert not AuditEvent.objects.exclude(action=AuditAction.PROJECT_ASSIGNED).exists()

    assert client.post(url).status_code == 302
    integration.refresh_from_db()
    assert (integration.state, integration.is_primary) == (after, False)


def test_remove_asks_for_confirmation_first(client, shop):
    integration = shop["integration"]
    url = reverse("integrations:remove", args=["SHOP", integration.pk])
    page = as_(client, shop, "admin").get(url).content.decode()
    assert "issues, references and links stay" in page and ProjectIntegration.objects.filter(pk=integration.pk).exists()
    client.post(url)
    assert not ProjectIntegration.objects.filter(pk=integration.pk).exists()


def test_unarchive_needs_no_confirmation_and_members_reach_no_confirmation_page(client, shop):
    integration = shop["integration"]
    url = reverse("integrations:unarchive", args=["SHOP", integration.pk])
    response = as_(client, shop, "admin").get(url)
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.state == IntegrationState.ACTIVE
    for name in ("archive", "disconnect", "remove"):
        assert (
            as_(client, shop, "member").get(reverse(f"integrations:{name}", args=["SHOP", integration.pk])).status_code
            == 403
        )
    other = ProjectIntegrationFactory(project=ProjectFactory(key="ELSE"))
    assert as_(client, shop, "admin").get(reverse("integrations:archive", args=["SHOP", other.pk])).status_code == 404


def test_the_pull_settings_page_lays_out_a_section_per_toggle(client, shop):
    page = (
        as_(client, shop, "admin")
        .get(reverse("traceability:pull_settings", args=["SHOP", shop["integration"].pk]))
        .content.decode()
    )
    assert 'id="section-requirements"' in page and 'id="section-bugs"' in page
    assert 'id="section-requirements-fields"' in page and 'id="section-bugs-fields"' in page
    assert ".pull-section:has(.pull-toggle input:not(:checked)) .pull-dependent:not(.has-errors)" in page
    assert 'id="settings-nav"' in page and 'aria-current="page">Pull settings<' in page


def test_a_section_with_an_error_stays_shown_while_its_toggle_is_off(client, shop):
    url = reverse("traceability:pull_settings", args=["SHOP", shop["integration"].pk])
    page = as_(client, shop, "admin").post(url, {"status_from": "resolution", "resolution_field": ""}).content.decode()
    assert 'class="pull-dependent has-errors" id="section-bugs-fields"' in page
    assert 'class="pull-dependent" id="section-requirements-fields"' in page
