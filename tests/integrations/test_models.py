"""Invariants of tracker configuration: constraints, encryption at rest, an append-only audit log."""

import pytest
from django.db import IntegrityError, connection, transaction

from integrations.fields import Unreadable
from integrations.models import AppendOnlyError, AuditAction, AuditEvent, ProjectIntegration, Source, UserToken
from integrations.services import record_audit
from tests.factories import ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "tok-secret-123"


def raw_column(model, field, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {field} FROM {model._meta.db_table} WHERE id = %s", [pk])
        return bytes(cursor.fetchone()[0])


@pytest.mark.parametrize(
    "provider,auth_type",
    [
        ("jira_cloud", "pat"),
        ("jira_server", "api_token"),
        ("custom", "pat"),
        ("github", "basic"),
        ("linear", "none"),
    ],
)
def test_auth_type_must_suit_the_provider(provider, auth_type):
    with pytest.raises(IntegrityError):
        SourceFactory(provider=provider, auth_type=auth_type)


def test_base_url_must_be_https_unless_http_is_allowed():
    SourceFactory(base_url="http://jira.internal", allow_http=True)
    with pytest.raises(IntegrityError):
        SourceFactory(base_url="http://jira.internal", allow_http=False)


def test_only_a_redmine_source_writes_markdown():
    SourceFactory(name="Redmine", provider="redmine", auth_type="pat", text_formatting="markdown")
    with pytest.raises(IntegrityError):
        SourceFactory(provider="jira_cloud", text_formatting="markdown")


def test_source_display_name_is_unique():
    SourceFactory(name="Jira")
    with pytest.raises(IntegrityError):
        SourceFactory(name="Jira")


def test_a_project_has_at_most_one_primary_integration():
    first = ProjectIntegrationFactory(is_primary=True)
    ProjectIntegrationFactory(project=first.project, external_project="OTHER", is_primary=False)
    with pytest.raises(IntegrityError):
        ProjectIntegrationFactory(project=first.project, external_project="THIRD", is_primary=True)


def test_primary_integration_must_be_active():
    with pytest.raises(IntegrityError):
        ProjectIntegrationFactory(is_primary=True, state="archived")


def test_the_same_target_is_assigned_once_per_project():
    integration = ProjectIntegrationFactory()
    with pytest.raises(IntegrityError):
        ProjectIntegration.objects.create(
            project=integration.project, source=integration.source, external_project=integration.external_project
        )


def test_credentials_are_encrypted_at_rest():
    source = SourceFactory()
    raw = raw_column(Source, "credentials", source.pk)
    assert SECRET.encode() not in raw
    assert b"bot@example.com" not in raw
    assert Source.objects.get(pk=source.pk).credentials == {"email": "bot@example.com", "api_token": SECRET}


def test_user_tokens_are_encrypted_at_rest():
    token = UserToken.objects.create(
        user=UserFactory(),
        source=SourceFactory(),
        kind="oauth2",
        access_token="access-abc",
        refresh_token="refresh-xyz",
    )
    assert b"access-abc" not in raw_column(UserToken, "access_token", token.pk)
    assert b"refresh-xyz" not in raw_column(UserToken, "refresh_token", token.pk)
    reloaded = UserToken.objects.get(pk=token.pk)
    assert (reloaded.access_token, reloaded.refresh_token) == ("access-abc", "refresh-xyz")


def test_key_rotation_reads_values_written_with_an_old_key(settings):
    settings.FERNET_KEYS = ["old-key"]
    source = SourceFactory()
    settings.FERNET_KEYS = ["new-key", "old-key"]
    assert Source.objects.get(pk=source.pk).credentials["api_token"] == SECRET
    # Re-saving encrypts with the newest key, after which the old key may be dropped.
    reloaded = Source.objects.get(pk=source.pk)
    reloaded.save()
    settings.FERNET_KEYS = ["new-key"]
    assert Source.objects.get(pk=source.pk).credentials["api_token"] == SECRET


def test_credentials_that_no_longer_decrypt_load_as_unreadable_and_survive_a_save(settings):
    settings.FERNET_KEYS = ["key-that-will-be-lost"]
    source = SourceFactory()
    stored = raw_column(Source, "credentials", source.pk)
    settings.FERNET_KEYS = ["brand-new-key"]
    reloaded = Source.objects.get(pk=source.pk)
    assert isinstance(reloaded.credentials, Unreadable)
    assert not reloaded.credentials
    reloaded.description = "edited while credentials were unreadable"
    reloaded.save()
    assert raw_column(Source, "credentials", source.pk) == stored
    settings.FERNET_KEYS = ["key-that-will-be-lost"]
    assert Source.objects.get(pk=source.pk).credentials["api_token"] == SECRET


def test_audit_events_cannot_be_changed_or_removed():
    event = record_audit(
        AuditAction.SOURCE_CREATED, actor=UserFactory(), source=SourceFactory(), details={"fields": ["name"]}
    )
    event.message = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(message="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).message == ""


def test_audit_history_survives_deleting_what_it_describes():
    source, project, actor = SourceFactory(name="Old Jira"), ProjectFactory(key="GONE"), UserFactory(username="ann")
    event = record_audit(AuditAction.CONNECTION_TESTED, actor=actor, source=source, project=project, success=False)
    with transaction.atomic():
        source.delete()
        project.delete()
        actor.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert (event.source_name, event.project_key, event.actor_name, event.success) == ("Old Jira", "GONE", "ann", False)


def test_audit_action_must_be_known():
    with pytest.raises(IntegrityError):
        AuditEvent.objects.create(action="source_exploded")
