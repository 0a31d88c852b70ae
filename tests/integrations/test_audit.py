"""The integration audit log: what each action writes, the read-only admin list with its
filters, and the CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations import services
from integrations.models import AuditAction, AuditEvent, IntegrationState
from integrations.services import record_audit
from tests.factories import ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def actions():
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_source_changes_name_the_fields_and_credential_parts_never_their_values(admin_user):
    source = SourceFactory(name="Jira")
    source.description = "moved"
    source.base_url = "https://new.atlassian.net"
    services.save_source(source, actor=admin_user, credentials={"email": "bot@example.com", "api_token": "t-2"})
    changed, credentials = AuditEvent.objects.order_by("id")
    assert (changed.action, changed.details) == (AuditAction.SOURCE_CHANGED, {"fields": ["description", "base_url"]})
    assert (credentials.action, credentials.details) == (AuditAction.CREDENTIALS_CHANGED, {"parts": ["api_token"]})
    assert "t-2" not in str(changed.details) + str(credentials.details) + credentials.message


def test_saving_without_changes_writes_nothing(admin_user):
    source = SourceFactory()
    services.save_source(source, actor=admin_user, projects=[])
    assert actions() == []


def test_enabling_through_an_edit_is_its_own_event(admin_user):
    source = SourceFactory(enabled=False)
    source.enabled = True
    services.save_source(source, actor=admin_user)
    assert actions() == [AuditAction.SOURCE_ENABLED]


def test_project_integration_lifecycle_is_audited(admin_user):
    source = SourceFactory(name="Jira")
    project = ProjectFactory(key="SHOP")
    integration = services.assign_source(project, source, actor=admin_user, external_project="SHOP")
    services.update_project_integration(integration, actor=admin_user, default_issue_type="Task")
    services.update_project_integration(integration, actor=admin_user, state=IntegrationState.ARCHIVED)
    services.remove_project_integration(integration, actor=admin_user)
    assert actions() == [
        AuditAction.PROJECT_ASSIGNED,
        AuditAction.PROJECT_INTEGRATION_CHANGED,
        AuditAction.PROJECT_INTEGRATION_ARCHIVED,
        AuditAction.PROJECT_INTEGRATION_REMOVED,
    ]
    assert set(AuditEvent.objects.values_list("project_key", "source_name", "actor_name")) == {("SHOP", "Jira", "root")}
    assert AuditEvent.objects.get(action=AuditAction.PROJECT_ASSIGNED).target == "SHOP: Jira → SHOP"


@pytest.fixture
def history():
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    jira, github = SourceFactory(name="Jira"), SourceFactory(name="GitHub", provider="github", auth_type="pat")
    record_audit(AuditAction.SOURCE_CREATED, actor=ann, source=jira)
    record_audit(AuditAction.CONNECTION_TESTED, actor=ann, source=jira, success=False, message='=HYPERLINK("x")')
    record_audit(AuditAction.CONNECTION_TESTED, actor=bob, source=github)
    record_audit(AuditAction.SOURCE_DISABLED, actor=bob, source=github)
    return {"ann": ann, "bob": bob}


def listed(response):
    return sorted((event.action, event.actor_name, event.source_name) for event in response.context["cl"].result_list)


def test_the_admin_list_filters_by_source_action_user_and_date(admin_client, history):
    url = reverse("admin:integrations_auditevent_changelist")
    assert listed(admin_client.get(url, {"source_name": "GitHub"})) == [
        ("connection_tested", "bob", "GitHub"),
        ("source_disabled", "bob", "GitHub"),
    ]
    assert listed(admin_client.get(url, {"action__exact": "connection_tested"})) == [
        ("connection_tested", "ann", "Jira"),
        ("connection_tested", "bob", "GitHub"),
    ]
    assert listed(admin_client.get(url, {"actor_name": "ann"})) == [
        ("connection_tested", "ann", "Jira"),
        ("source_created", "ann", "Jira"),
    ]
    today, yesterday = timezone.localdate(), timezone.localdate() - timedelta(days=1)
    for day, count in ((today, 4), (yesterday, 0)):
        by_day = {"created_at__year": day.year, "created_at__month": day.month, "created_at__day": day.day}
        assert len(listed(admin_client.get(url, by_day))) == count


def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="integration-audit-')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_export_has_what_the_list_shows_with_its_filters(admin_client, history):
    page = admin_client.get(reverse("admin:integrations_auditevent_changelist"), {"actor_name": "ann"})
    assert 'id="export-csv"' in page.content.decode()
    rows = read_csv(admin_client.get(reverse("admin:integrations_auditevent_export"), {"actor_name": "ann"}))
    assert rows[0] == [
        "created_at",
        "action",
        "actor_name",
        "source_name",
        "project_key",
        "target",
        "success",
        "message",
        "details",
    ]
    assert sorted((row[1], row[2], row[6]) for row in rows[1:]) == [
        ("connection_tested", "ann", "False"),
        ("source_created", "ann", "True"),
    ]


def test_exported_text_cannot_start_a_spreadsheet_formula(admin_client, history):
    rows = read_csv(admin_client.get(reverse("admin:integrations_auditevent_export")))
    messages = [row[7] for row in rows[1:] if row[7]]
    assert messages == ['\'=HYPERLINK("x")']


def test_only_integration_administrators_see_or_export_the_log(client, history):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("admin:integrations_auditevent_changelist")).status_code == 403
    assert client.get(reverse("admin:integrations_auditevent_export")).status_code == 403


def test_a_deleted_projects_integration_events_keep_their_names(admin_user):
    integration = ProjectIntegrationFactory(project__key="GONE", source__name="Old")
    services.change_integration_state(integration, "archive", actor=admin_user)
    integration.project.delete()
    event = AuditEvent.objects.get()
    assert (event.project_key, event.source_name, event.action) == (
        "GONE",
        "Old",
        AuditAction.PROJECT_INTEGRATION_ARCHIVED,
    )
