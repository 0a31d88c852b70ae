"""Project admins assign sources to their project on its integrations page: validation,
mappings, the one primary, archive / unarchive / disconnect / reconnect, and who may."""

import html

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations import mappings, selectors, services
from integrations.models import AuditAction, AuditEvent, IntegrationState, ProjectIntegration
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def project_admin(project):
    return MembershipFactory(project=project, role=Role.ADMIN).user


@pytest.fixture
def admin_client(client, project_admin):
    client.force_login(project_admin)
    return client


@pytest.fixture
def jira():
    return SourceFactory(name="Acme Jira")


def assign_data(chosen, **overrides):
    data = {
        "source": chosen.pk,
        "external_project": "SHOP",
        "default_issue_type": "Bug",
        "board": "",
        "description": "Checkout bugs",
        "priority_mapping": mappings.priority_mapping_to_text(mappings.default_priority_mapping()),
        "status_mapping": mappings.status_mapping_to_text(mappings.default_status_mapping()),
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def form_errors(response):
    assert response.status_code == 200, "the form was expected to be refused"
    return response.context["form"].errors


def test_the_form_offers_enabled_in_scope_sources_and_prefills_the_default_mappings(admin_client, project, jira):
    SourceFactory(name="Disabled", enabled=False)
    SourceFactory(name="Elsewhere", all_projects=False).projects.set([ProjectFactory()])
    scoped = SourceFactory(name="Scoped here", all_projects=False)
    scoped.projects.set([project])
    response = admin_client.get(reverse("integrations:create", args=["SHOP"]))
    form = response.context["form"]
    assert [source.name for source in form.fields["source"].queryset] == ["Acme Jira", "Scoped here"]
    assert form["priority_mapping"].value().splitlines()[:2] == ["Highest = P0, blocker", "Blocker = P0, blocker"]
    assert form["status_mapping"].value().splitlines() == [
        "open = To Do, Open",
        "in_progress = In Progress",
        "closed = Done, Closed",
    ]


def test_a_project_admin_assigns_a_source(admin_client, project, project_admin, jira):
    response = admin_client.post(reverse("integrations:create", args=["SHOP"]), assign_data(jira, is_primary="on"))
    assert response.status_code == 302
    integration = ProjectIntegration.objects.get()
    assert (integration.project, integration.source, integration.external_project) == (project, jira, "SHOP")
    assert integration.is_primary and integration.state == IntegrationState.ACTIVE
    assert integration.priority_mapping == mappings.default_priority_mapping()
    assert integration.status_mapping == mappings.default_status_mapping()
    event = AuditEvent.objects.get(action=AuditAction.PROJECT_ASSIGNED)
    assert (event.actor, event.project_key, event.source_name) == (project_admin, "SHOP", "Acme Jira")
    page = admin_client.get(reverse("integrations:list", args=["SHOP"])).content.decode()
    assert "Acme Jira" in page and "primary" in page


def test_edited_mappings_are_parsed_and_kept(admin_client, jira):
    admin_client.post(
        reverse("integrations:create", args=["SHOP"]),
        assign_data(
            jira,
            priority_mapping="# ours\nUrgent = p0, BLOCKER\nNormal = P2, major",
            status_mapping="open = Backlog, Selected\nclosed = Done",
        ),
    )
    integration = ProjectIntegration.objects.get()
    assert integration.priority_mapping == {
        "Urgent": {"requirement": "P0", "defect": "blocker"},
        "Normal": {"requirement": "P2", "defect": "major"},
    }
    assert integration.status_mapping == {"open": ["Backlog", "Selected"], "closed": ["Done"]}


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"external_project": "shop"}, "external_project", "shop is not a valid Jira project key, e.g. SHOP."),
        ({"external_project": ""}, "external_project", "Enter the Jira project key, e.g. SHOP."),
        ({"priority_mapping": "High = P9, critical"}, "priority_mapping", "High: “P9” is not a requirement priority"),
        ({"priority_mapping": "High = P1"}, "priority_mapping", "Line 1: give a requirement priority and a defect"),
        ({"priority_mapping": "High P1 critical"}, "priority_mapping", "Line 1: write it as"),
        ({"priority_mapping": "High = P1, critical\nhigh = P2, major"}, "priority_mapping", "mapped twice"),
        (
            {"status_mapping": "open = Done\nclosed = Done"},
            "status_mapping",
            "The tracker status “Done” is mapped to both open and closed.",
        ),
        ({"status_mapping": "finished = Done"}, "status_mapping", "“finished” is not a defect status"),
        ({"description": "d" * 256}, "description", "at most 255 characters"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_saved(admin_client, jira, overrides, field, message):
    errors = form_errors(
        admin_client.post(reverse("integrations:create", args=["SHOP"]), assign_data(jira, **overrides))
    )
    assert message in " ".join(errors[field])
    assert not ProjectIntegration.objects.exists() and not AuditEvent.objects.exists()


def test_a_source_out_of_scope_or_disabled_cannot_be_assigned(project, project_admin):
    elsewhere = SourceFactory(all_projects=False)
    disabled = SourceFactory(enabled=False)
    for source in (elsewhere, disabled):
        with pytest.raises(ValidationError, match="not available to SHOP"):
            services.assign_source(project, source, actor=project_admin, external_project="SHOP")
    assert not ProjectIntegration.objects.exists()


def test_the_same_target_is_assigned_once(admin_client, jira):
    url = reverse("integrations:create", args=["SHOP"])
    admin_client.post(url, assign_data(jira))
    errors = form_errors(admin_client.post(url, assign_data(jira)))
    assert errors["external_project"] == ["SHOP already uses Acme Jira for SHOP."]
    assert admin_client.post(url, assign_data(jira, external_project="OPS")).status_code == 302


def test_making_another_integration_primary_replaces_the_current_one(admin_client, project, jira):
    first = ProjectIntegrationFactory(project=project, source=jira, is_primary=True)
    second = ProjectIntegrationFactory(
        project=project,
        source=SourceFactory(),
        external_project="OPS",
        description="Checkout bugs",
        priority_mapping=mappings.default_priority_mapping(),
        status_mapping=mappings.default_status_mapping(),
    )
    response = admin_client.post(
        reverse("integrations:edit", args=["SHOP", second.pk]),
        assign_data(second.source, source=None, external_project="OPS", is_primary="on"),
    )
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_primary, second.is_primary) == (False, True)
    changes = AuditEvent.objects.filter(action=AuditAction.PROJECT_INTEGRATION_CHANGED).order_by("id")
    assert [event.details["fields"] for event in changes] == [["is_primary"], ["is_primary"]]


def test_editing_changes_only_what_was_changed_and_audits_the_fields(admin_client, project, jira):
    integration = ProjectIntegrationFactory(
        project=project,
        source=jira,
        priority_mapping=mappings.default_priority_mapping(),
        status_mapping=mappings.default_status_mapping(),
    )
    url = reverse("integrations:edit", args=["SHOP", integration.pk])
    page = admin_client.get(url)
    assert page.context["form"]["external_project"].help_text == "The Jira project key, e.g. SHOP."
    response = admin_client.post(
        url, assign_data(jira, source=None, default_issue_type="Task", board="Team board", description="Payments")
    )
    assert response.status_code == 302
    integration.refresh_from_db()
    assert (integration.default_issue_type, integration.board) == ("Task", "Team board")
    # The example tracker cannot confirm the new type and board: saved, as not verified.
    assert AuditEvent.objects.get().details == {
        "fields": ["default_issue_type", "board", "description"],
        "verified": False,
    }


def test_archive_hides_it_from_pickers_and_unarchive_restores(admin_client, project, jira):
    integration = ProjectIntegrationFactory(project=project, source=jira, is_primary=True)
    response = admin_client.post(reverse("integrations:archive", args=["SHOP", integration.pk]), follow=True)
    assert "archived: hidden from the project's pickers, its data kept" in html.unescape(response.content.decode())
    integration.refresh_from_db()
    assert (integration.state, integration.is_primary) == (IntegrationState.ARCHIVED, False)
    assert list(selectors.pickable_integrations(project)) == []
    assert 'id="archived-integrations"' in response.content.decode()
    admin_client.post(reverse("integrations:unarchive", args=["SHOP", integration.pk]))
    integration.refresh_from_db()
    assert integration.state == IntegrationState.ACTIVE
    assert list(selectors.pickable_integrations(project)) == [integration]
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        AuditAction.PROJECT_INTEGRATION_ARCHIVED,
        AuditAction.PROJECT_INTEGRATION_UNARCHIVED,
    ]


def test_disconnect_and_reconnect(admin_client, project, jira):
    integration = ProjectIntegrationFactory(project=project, source=jira)
    admin_client.post(reverse("integrations:disconnect", args=["SHOP", integration.pk]))
    integration.refresh_from_db()
    assert integration.state == IntegrationState.DISCONNECTED
    assert list(selectors.pickable_integrations(project)) == []
    response = admin_client.post(reverse("integrations:disconnect", args=["SHOP", integration.pk]), follow=True)
    assert "is disconnected, so there is nothing to disconnect" in response.content.decode()
    admin_client.post(reverse("integrations:reconnect", args=["SHOP", integration.pk]))
    integration.refresh_from_db()
    assert integration.state == IntegrationState.ACTIVE


def test_only_an_active_integration_can_be_primary(project, project_admin, jira):
    integration = ProjectIntegrationFactory(project=project, source=jira, state=IntegrationState.ARCHIVED)
    with pytest.raises(ValidationError, match="Only an active integration can be the primary one"):
        services.update_project_integration(integration, actor=project_admin, is_primary=True)
    assert not ProjectIntegration.objects.get().is_primary


def test_removing_an_archived_integration(admin_client, project, jira):
    integration = ProjectIntegrationFactory(project=project, source=jira, state=IntegrationState.ARCHIVED)
    admin_client.post(reverse("integrations:remove", args=["SHOP", integration.pk]))
    assert not ProjectIntegration.objects.exists()
    assert AuditEvent.objects.get().action == AuditAction.PROJECT_INTEGRATION_REMOVED


def test_state_changes_are_posts(admin_client, project, jira):
    """A GET only shows the confirmation page (issue 19); the change is a POST."""
    integration = ProjectIntegrationFactory(project=project, source=jira)
    confirm = admin_client.get(reverse("integrations:archive", args=["SHOP", integration.pk]))
    assert confirm.status_code == 200 and 'id="confirm-form"' in confirm.content.decode()
    assert ProjectIntegration.objects.get().state == IntegrationState.ACTIVE


def test_the_page_says_when_no_source_is_available(admin_client):
    page = admin_client.get(reverse("integrations:list", args=["SHOP"])).content.decode()
    assert "No tracker is available to this project" in page


# --- Who may --------------------------------------------------------------------------


@pytest.mark.parametrize("role,status", [(Role.MEMBER, 403), (Role.VIEWER, 403), (None, 404)])
def test_only_project_admins_manage_integrations(client, project, jira, role, status):
    integration = ProjectIntegrationFactory(project=project, source=jira)
    user = MembershipFactory(project=project, role=role).user if role else UserFactory()
    client.force_login(user)
    # Members see the page (they authorize their own accounts there: tests/integrations/test_oauth.py).
    list_status = 200 if role == Role.MEMBER else status
    assert client.get(reverse("integrations:list", args=["SHOP"])).status_code == list_status
    assert client.get(reverse("integrations:create", args=["SHOP"])).status_code == status
    assert client.post(reverse("integrations:create", args=["SHOP"]), assign_data(jira)).status_code == status
    assert client.post(reverse("integrations:archive", args=["SHOP", integration.pk])).status_code == status
    assert client.post(reverse("integrations:remove", args=["SHOP", integration.pk])).status_code == status
    assert ProjectIntegration.objects.get().state == IntegrationState.ACTIVE
    assert not AuditEvent.objects.exists()


def test_another_projects_integration_answers_404(admin_client, jira):
    other = ProjectIntegrationFactory(project=ProjectFactory(key="OTHER"), source=jira)
    for name in ("edit", "archive", "remove"):
        method = admin_client.get if name == "edit" else admin_client.post
        assert method(reverse(f"integrations:{name}", args=["SHOP", other.pk])).status_code == 404
    assert ProjectIntegration.objects.get().state == IntegrationState.ACTIVE


def test_anonymous_visitors_are_sent_to_log_in(client):
    ProjectFactory(key="SHOP")
    response = client.get(reverse("integrations:list", args=["SHOP"]))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_edit_page_switches_label_sync_on_off_by_default(admin_client, project, jira):
    """Labels <-> tags: off until a project administrator turns it on, on the Trackers edit page."""
    integration = ProjectIntegrationFactory(
        project=project,
        source=jira,
        priority_mapping=mappings.default_priority_mapping(),
        status_mapping=mappings.default_status_mapping(),
    )
    url = reverse("integrations:edit", args=["SHOP", integration.pk])
    page = admin_client.get(url)
    assert integration.sync_labels is False
    assert page.context["form"]["sync_labels"].value() is False
    assert b'name="sync_labels"' in page.content

    response = admin_client.post(url, assign_data(jira, source=None, sync_defects="on", sync_labels="on"))

    assert response.status_code == 302
    integration.refresh_from_db()
    assert (integration.sync_defects, integration.sync_labels) == (True, True)
    assert {"sync_defects", "sync_labels"} <= set(AuditEvent.objects.get().details["fields"])
