"""Connecting a source that processes webhooks to a project registers testmanager's webhook in the
tracker (with the secret the webhook endpoint verifies) when the credentials allow, and records it;
otherwise the project's Trackers page says why and what to do by hand. A failure never blocks the
connection. Against the fake GitHub (repository hooks) and the fake Linear (team webhooks) over real HTTP."""

import pytest
from rest_framework.test import APIClient

from integrations.models import AuditAction, AuditEvent, ProjectIntegration, Source
from integrations.providers import provider_for
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, SourceFactory
from tests.fakes.fixtures import (
    CLOUD_API_TOKEN,
    CLOUD_LOGIN,
    GITHUB_LOGIN,
    GITHUB_TOKEN,
    LINEAR_API_KEY,
    LINEAR_LOGIN,
)
from tests.issues.sync_support import SECRET, github_source, linear_source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def admin(project):
    return MembershipFactory(project=project, role=Role.ADMIN).user


@pytest.fixture
def github(fake_github):
    fake_github.add_repo("acme/shop")
    return fake_github


@pytest.fixture
def assign(django_capture_on_commit_callbacks):
    """Assign through the API; registration is queued once the assignment commits, so what the request
    queued runs when it ends, as after a real commit."""

    def assign(user, source, repo="acme/shop"):
        client = APIClient()
        client.force_authenticate(user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/api/projects/SHOP/integrations", {"source": source.pk, "external_project": repo}, format="json"
            )

    return assign


def trackers_page(client, user) -> str:
    client.force_login(user)
    return client.get("/projects/SHOP/integrations/").content.decode()


def test_connecting_registers_the_webhook_with_the_sources_secret_and_records_it(client, admin, github, assign):
    github.grant("acme/shop", GITHUB_LOGIN, "admin")
    source = github_source(github)

    response = assign(admin, source)

    assert response.status_code == 201
    (hook,) = github.hooks["acme/shop"]
    assert hook.url == f"http://testserver/hooks/{source.uuid}/" and hook.secret == SECRET
    assert hook.events == ["issues", "issue_comment"] and hook.active
    event = AuditEvent.objects.get(action=AuditAction.WEBHOOK_REGISTERED)
    assert (event.success, event.project_key, event.details) == (True, "SHOP", {"hooks": 1})
    page = trackers_page(client, admin)
    assert "Webhook registered" in page and "webhook not registered" not in page


def test_a_source_without_a_secret_gets_one_that_the_hook_and_the_endpoint_share(admin, github, assign):
    github.grant("acme/shop", GITHUB_LOGIN, "admin")
    source = github_source(github, webhook_secret=None)

    assign(admin, source)

    (hook,) = github.hooks["acme/shop"]
    assert len(hook.secret) >= 32 and Source.objects.get(pk=source.pk).webhook_secret == hook.secret


def test_credentials_that_may_not_create_hooks_leave_the_connection_and_show_the_manual_action(
    client, admin, github, assign
):
    github.grant("acme/shop", GITHUB_LOGIN, "write")  # not an administrator of the repository
    source = github_source(github)

    response = assign(admin, source)

    assert response.status_code == 201
    assert ProjectIntegration.objects.filter(project__key="SHOP", source=source).exists()
    assert "acme/shop" not in github.hooks
    event = AuditEvent.objects.get(action=AuditAction.WEBHOOK_REGISTERED)
    assert (event.success, event.project_key) == (False, "SHOP") and "404" in event.message
    page = trackers_page(client, admin)
    assert "webhook not registered" in page and "404" in page
    assert f"http://testserver/hooks/{source.uuid}/" in page
    assert "Webhook secret" in page and SECRET not in page and GITHUB_TOKEN not in page


def test_members_do_not_see_the_webhook_state(client, admin, project, github, assign):
    github.grant("acme/shop", GITHUB_LOGIN, "write")
    assign(admin, github_source(github))

    page = trackers_page(client, MembershipFactory(project=project, role=Role.MEMBER).user)

    assert "webhook not registered" not in page and "/hooks/" not in page


def test_a_source_that_does_not_process_webhooks_registers_nothing(client, admin, github, assign):
    github.grant("acme/shop", GITHUB_LOGIN, "admin")
    source = github_source(github, can_process_webhooks=False)

    assert assign(admin, source).status_code == 201

    assert "acme/shop" not in github.hooks and not github.requests_to("POST", r"/repos/acme/shop/hooks")
    assert not AuditEvent.objects.filter(action=AuditAction.WEBHOOK_REGISTERED).exists()
    assert "webhook" not in trackers_page(client, admin).lower().replace("webhooks", "")


def test_assigning_on_the_trackers_page_registers_it_too(client, admin, github, django_capture_on_commit_callbacks):
    github.grant("acme/shop", GITHUB_LOGIN, "admin")
    source = github_source(github)
    client.force_login(admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/projects/SHOP/integrations/new/",
            {
                "source": source.pk,
                "external_project": "acme/shop",
                "priority_mapping": "High = P1, major",
                "status_mapping": "open = Open",
            },
        )

    assert response.status_code == 302, response.content.decode()[:2000]
    (hook,) = github.hooks["acme/shop"]
    assert hook.url == f"http://testserver/hooks/{source.uuid}/"


# -- Linear: a webhook per team, for workspace admins only ----------------------------------------


@pytest.fixture
def linear(fake_linear):
    fake_linear.add_team("ENG", "Engineering")
    return fake_linear


def assign_linear(assign_to, user, fake, **fields):
    source = linear_source(fake, **fields)
    client = APIClient()
    client.force_authenticate(user)
    with assign_to(execute=True):
        response = client.post(
            "/api/projects/SHOP/integrations", {"source": source.pk, "external_project": "ENG"}, format="json"
        )
    assert response.status_code == 201
    return source


def test_connecting_a_linear_team_creates_its_webhook_when_the_account_is_a_workspace_admin(
    admin, linear, django_capture_on_commit_callbacks
):
    linear.users[LINEAR_LOGIN].admin = True

    source = assign_linear(django_capture_on_commit_callbacks, admin, linear)

    (hook,) = linear.webhooks
    assert (hook.url, hook.secret, hook.team.key) == (f"http://testserver/hooks/{source.uuid}/", SECRET, "ENG")
    assert hook.resource_types == ["Issue", "Comment"] and hook.label == "testmanager"
    provider = provider_for(Source.objects.get(pk=source.pk))
    assert provider.register_webhook(hook.url, SECRET) == [hook.id], "registering again updates the same webhook"
    assert len(linear.webhooks) == 1


def test_a_linear_account_that_is_not_an_admin_leaves_the_manual_action(
    client, admin, linear, django_capture_on_commit_callbacks
):
    source = assign_linear(django_capture_on_commit_callbacks, admin, linear)

    assert not linear.webhooks
    page = trackers_page(client, admin)
    assert "webhook not registered" in page and "admin" in page
    assert f"http://testserver/hooks/{source.uuid}/" in page and LINEAR_API_KEY not in page


# -- Jira: the administrator's webhook, scoped to the assigned projects ----------------------------


def test_connecting_a_jira_project_registers_an_administrators_webhook_for_it(admin, fake_jira_cloud, assign):
    fake_jira_cloud.add_project("SHOP")
    source = SourceFactory(
        name="Acme Jira",
        base_url=fake_jira_cloud.base_url,
        allow_http=True,
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
        can_process_webhooks=True,
        webhook_secret=SECRET,
    )

    assert assign(admin, source, repo="SHOP").status_code == 201

    (hook,) = fake_jira_cloud.hooks
    assert (hook.url, hook.secret, hook.scope) == (
        f"http://testserver/hooks/{source.uuid}/",
        SECRET,
        'project in ("SHOP")',
    )


def test_a_hook_set_up_by_hand_whose_deliveries_arrive_is_not_reported_missing(client, admin, project, github):
    source = github_source(github, can_process_webhooks=True)
    ProjectIntegration.objects.create(project=project, source=source, external_project="acme/shop")
    page = trackers_page(client, admin)
    assert "No registration was recorded and no delivery has arrived yet." in page

    issue = github.add_issue("acme/shop", "Checkout fails", author=GITHUB_LOGIN)
    delivery = github.issue_delivery("acme/shop", issue.number, secret=SECRET)
    posted = client.post(
        f"/hooks/{source.uuid}/",
        data=delivery.body,
        content_type="application/json",
        headers={name: value for name, value in delivery.headers.items() if name.lower() != "content-type"},
    )
    assert posted.status_code in (200, 202), posted.content

    page = trackers_page(client, admin)
    assert "Webhook deliveries arrive: the last was accepted" in page and "webhook not registered" not in page
