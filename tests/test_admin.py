"""The Django admin is the configuration UI: every model's pages load, secrets never render."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from social_django.models import UserSocialAuth

from integrations.models import AuditAction, UserToken
from integrations.services import record_audit
from integrations.signin.models import SignInProvider
from issues.core.models import Attachment, Issue
from issues.links.models import Link
from projects.models import ApiToken, CaseField
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectIntegrationFactory,
    RequirementFactory,
    SourceFactory,
    TagFactory,
    TestResultFactory,
    UserFactory,
    make_issue,
)

pytestmark = pytest.mark.django_db

SECRET = "tok-secret-123"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def one_of_everything():
    result = TestResultFactory()
    project = result.run.project
    MembershipFactory(project=project)
    RequirementFactory(project=project)
    TagFactory(project=project)
    issue = make_issue(project)
    integration = ProjectIntegrationFactory(project=project)
    ExternalReferenceFactory(source=integration.source)
    UserToken.objects.create(user=UserFactory(), source=integration.source, kind="pat", access_token="pat-secret-456")
    record_audit(AuditAction.SOURCE_CREATED, source=integration.source)

    Link.objects.create(project=project, issue=issue, test_result=result)
    CaseField.objects.create(project=project, name="browser", label="Browser")
    Group.objects.create(name="Testers")
    SignInProvider.objects.create(backend="github", client_id="signin-client", client_secret="signin-secret")
    UserSocialAuth.objects.create(user=UserFactory(), provider="github", uid="1001")
    ApiToken.objects.issue(user=UserFactory(), name="CI uploads")
    _one_oauth_client_with_tokens()
    Attachment.objects.create(
        issue=issue,
        file=SimpleUploadedFile("log.txt", b"trace"),
        original_name="log.txt",
        size=5,
    )


def _one_oauth_client_with_tokens():
    """An OAuth API client (projects/oauth_clients.py) with a code, an access and a refresh token."""
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

    member = UserFactory()
    app = Application.objects.create(
        name="Test CLI",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://tool.example.test/callback",
    )
    expires = timezone.now() + timedelta(hours=1)
    Grant.objects.create(
        application=app, user=member, code="code-secret-789", expires=expires, redirect_uri=app.redirect_uris
    )
    access = AccessToken.objects.create(application=app, user=member, token="access-secret-789", expires=expires)
    RefreshToken.objects.create(application=app, user=member, token="refresh-secret-789", access_token=access)


def _admin_urls():
    for model in admin.site._registry:
        meta = model._meta
        yield model, f"admin:{meta.app_label}_{meta.model_name}"


@pytest.mark.parametrize("model,prefix", list(_admin_urls()), ids=lambda v: getattr(v, "__name__", str(v)))
def test_every_admin_page_loads(admin_client, one_of_everything, model, prefix):
    assert admin_client.get(reverse(f"{prefix}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"{prefix}_changelist"), {"q": "x"}).status_code == 200
    instance = model.objects.first()
    assert instance is not None, f"fixture creates a {model.__name__}"
    assert admin_client.get(reverse(f"{prefix}_change", args=[instance.pk])).status_code == 200
    model_admin = admin.site._registry[model]
    add = admin_client.get(reverse(f"{prefix}_add"))
    assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)


def test_credentials_are_never_rendered_back(admin_client):
    source = SourceFactory()
    UserToken.objects.create(user=UserFactory(), source=source, kind="pat", access_token="pat-secret-456")
    pages = [
        reverse("admin:integrations_source_changelist"),
        reverse("admin:integrations_source_change", args=[source.pk]),
        reverse("admin:integrations_usertoken_changelist"),
        reverse("admin:integrations_usertoken_change", args=[UserToken.objects.get().pk]),
    ]
    for page in pages:
        html = admin_client.get(page).content.decode()
        assert SECRET not in html and "pat-secret-456" not in html
        assert "*" * len(SECRET) not in html  # not even a masked length


def test_blank_secret_on_edit_keeps_the_stored_credential(admin_client):
    source = SourceFactory(name="Keep me")
    url = reverse("admin:integrations_source_change", args=[source.pk])
    response = admin_client.post(
        url,
        {
            "provider": source.provider,
            "name": "Keep me (renamed)",
            "base_url": source.base_url,
            "auth_type": source.auth_type,
            "issue_url_template": source.issue_url_template,
            "enabled": "on",
            "can_read_details": "on",
            "all_projects": "on",
            "refresh_interval_minutes": 15,
            "rate_limit_per_minute": 120,
            "credential_email": "",
            "credential_api_token": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    source.refresh_from_db()
    assert source.name == "Keep me (renamed)"
    assert source.credentials["api_token"] == SECRET


def test_audit_log_is_read_only_in_the_admin(admin_client):
    event = record_audit(AuditAction.CONNECTION_TESTED, source=SourceFactory())
    assert admin_client.get(reverse("admin:integrations_auditevent_add")).status_code == 403
    assert admin_client.post(reverse("admin:integrations_auditevent_delete", args=[event.pk])).status_code == 403
    page = admin_client.get(reverse("admin:integrations_auditevent_change", args=[event.pk])).content.decode()
    assert 'name="_save"' not in page


def test_issues_created_in_the_admin_get_the_next_number(admin_client):
    existing = make_issue()
    response = admin_client.post(
        reverse("admin:issues_issue_add"),
        {
            "project": existing.project.pk,
            "name": "Made in admin",
            "status": "open",
            "priority": "major",
            "description": "",
            "attachments-TOTAL_FORMS": 0,
            "attachments-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    assert Issue.objects.get(name="Made in admin").number == existing.number + 1


def test_admins_can_revoke_api_tokens_but_never_see_them(admin_client):
    token, raw = ApiToken.objects.issue(user=UserFactory(), name="CI uploads")
    changelist = reverse("admin:projects_apitoken_changelist")
    assert raw not in admin_client.get(changelist).content.decode()
    admin_client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiToken.objects.find_active(raw) is None
