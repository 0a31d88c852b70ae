"""Sources in the admin: every validation rule, write-only credentials, connection tests,
health, disconnect, delete. Keys, URL templates and base URLs are checked here too."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations import keys, selectors, services, tasks
from integrations.fields import Unreadable
from integrations.models import AuditAction, AuditEvent, Health, IntegrationState, ProjectIntegration, Source, UserToken
from issues.links.models import ExternalReference, Link
from tests.factories import (
    ExternalReferenceFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestCaseFactory,
    UserFactory,
)
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN
from tests.support.scripted_server import ScriptedServer

pytestmark = pytest.mark.django_db

SECRET = "acme-api-token-5ecret"
ADD_URL = "admin:integrations_source_add"


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def queued_checks(monkeypatch):
    """Health checks the saves queue, recorded instead of run."""
    queued = []
    monkeypatch.setattr(tasks.check_source_health, "delay", lambda *args: queued.append(args))
    return queued


@pytest.fixture
def private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


def form_data(**overrides):
    """A valid Jira Cloud source as the admin form posts it; None removes a field."""
    data = {
        "provider": "jira_cloud",
        "name": "Acme Jira",
        "description": "Acme's Jira",
        "enabled": "on",
        "base_url": "https://acme.atlassian.net",
        "auth_type": "api_token",
        "credential_email": "bot@acme.test",
        "credential_api_token": SECRET,
        "all_projects": "on",
        "refresh_interval_minutes": "15",
        "rate_limit_per_minute": "120",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def errors_of(response) -> dict:
    assert response.status_code == 200, "the form was expected to be refused"
    return response.context["adminform"].form.errors


def post_add(client, **overrides):
    return client.post(reverse(ADD_URL), form_data(**overrides))


def post_change(client, source, **overrides):
    return client.post(reverse("admin:integrations_source_change", args=[source.pk]), form_data(**overrides))


# --- Base URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entered,normalized",
    [
        ("HTTPS://Acme.Atlassian.NET/", "https://acme.atlassian.net"),
        ("  https://jira.example.com:443/jira//  ", "https://jira.example.com/jira"),
        ("https://ghe.example.com:8443", "https://ghe.example.com:8443"),
        ("https://gitlab.example.com/tools/gitlab/", "https://gitlab.example.com/tools/gitlab"),
    ],
)
def test_base_urls_are_normalized(entered, normalized):
    assert keys.normalize_base_url(entered, allow_http=False) == normalized


@pytest.mark.parametrize(
    "entered,message",
    [
        ("http://jira.example.com", "must use https"),
        ("ftp://jira.example.com", "starting with https://"),
        ("jira.example.com", "starting with https://"),
        ("https://bot:hunter2@jira.example.com", "Do not put credentials in the URL"),
        ("https://jira.example.com/?os_authType=basic", "no query string"),
        ("https://jira.example.com/#top", "no query string"),
        ("https://jira.example.com:99999", "port"),
        ("https://not a host", "not a valid URL"),
    ],
)
def test_bad_base_urls_are_refused_with_a_reason(entered, message):
    with pytest.raises(ValidationError, match=message):
        keys.normalize_base_url(entered, allow_http=False)


def test_plain_http_needs_the_allow_http_tick():
    assert (
        keys.normalize_base_url("http://jira.intranet.example:8080/", allow_http=True)
        == "http://jira.intranet.example:8080"
    )


# --- URL templates --------------------------------------------------------------------


def issue_template_error(template):
    with pytest.raises(ValidationError) as failure:
        keys.validate_url_template(template, allowed=keys.ISSUE_URL_PLACEHOLDERS, needs_key=True)
    return failure.value.messages[0]


def test_unknown_placeholders_are_rejected_naming_the_allowed_ones():
    message = issue_template_error("{baseUrl}/browse/{ticket}")
    assert message.startswith("Unknown placeholder {ticket}. Use {baseUrl}")
    assert "{issueId} (alias of {key})" in message


def test_issue_id_is_an_alias_of_key():
    keys.validate_url_template("{baseUrl}/browse/{issueId}", allowed=keys.ISSUE_URL_PLACEHOLDERS, needs_key=True)
    assert (
        keys.issue_url("{baseUrl}/browse/{issueId}", base_url="https://j.example", key="AB-1")
        == "https://j.example/browse/AB-1"
    )


@pytest.mark.parametrize(
    "template,message",
    [
        ("{baseUrl}/browse", "must contain {key}"),
        ("{baseUrl}/browse/{key", "brace is not closed"),
        ("{baseUrl}/browse/key}", "brace is not closed"),
        ("/browse/{key}", "http(s) URL"),
        ("javascript:alert({key})", "http(s) URL"),
    ],
)
def test_issue_templates_must_make_one_http_url_per_issue(template, message):
    assert message in issue_template_error(template)


def test_create_templates_take_no_key_because_the_issue_does_not_exist_yet():
    with pytest.raises(ValidationError, match=r"Unknown placeholder \{key\}"):
        keys.validate_url_template("{baseUrl}/new?from={key}", allowed=keys.CREATE_URL_PLACEHOLDERS, needs_key=False)


def test_rendering_encodes_values_but_keeps_project_paths():
    template = "{baseUrl}/{project}/issues/{number}?k={key}"
    assert (
        keys.issue_url(template, base_url="https://github.com", key="#12", project="octo org/repo")
        == "https://github.com/octo%20org/repo/issues/12?k=%2312"
    )
    assert (
        keys.create_url("{baseUrl}/new?title={title}", base_url="https://t.example", title="a&b=c d")
        == "https://t.example/new?title=a%26b%3Dc%20d"
    )


def test_issue_urls_of_a_source_fall_back_to_the_provider_default():
    jira = SourceFactory(issue_url_template="")
    assert selectors.issue_url(jira, "SHOP-7") == "https://example.atlassian.net/browse/SHOP-7"
    github = SourceFactory(provider="github", auth_type="pat", base_url="https://github.com", issue_url_template="")
    assert (
        selectors.issue_url(github, "#42", external_project="octo/hello") == "https://github.com/octo/hello/issues/42"
    )


def test_a_key_naming_its_own_repository_or_project_is_not_put_in_the_integrations():
    github = SourceFactory(provider="github", auth_type="pat", base_url="https://github.com", issue_url_template="")
    gitlab = SourceFactory(provider="gitlab", auth_type="pat", base_url="https://gitlab.com", issue_url_template="")
    assert selectors.issue_url(github, "acme/private#1", external_project="acme/shop") == (
        "https://github.com/acme/private/issues/1"
    )
    assert selectors.issue_url(gitlab, "acme/tools/cli#3", external_project="acme/shop") == (
        "https://gitlab.com/acme/tools/cli/-/issues/3"
    )
    assert selectors.issue_url(gitlab, "#3", external_project="acme/shop") == "https://gitlab.com/acme/shop/-/issues/3"


# --- Key patterns (RE2) ---------------------------------------------------------------


def test_a_hostile_pattern_returns_promptly_because_re2_is_linear():
    # Catastrophic for a backtracking engine: 2^n paths before failing on the final "b".
    assert keys.key_matches(r"(a+)+$", "a" * 150 + "b") is False
    assert keys.compile_key_pattern(r"(a+)+$").search("a" * 100_000 + "b") is None


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=SHOP)\w+", r"(?<!x)SHOP", "SHOP-(", "[z-a]"])
def test_patterns_re2_cannot_run_are_refused_with_its_reason(pattern):
    with pytest.raises(ValidationError, match="Not a valid RE2 regular expression"):
        keys.validate_key_pattern(pattern)


def test_keys_must_match_the_pattern_as_a_whole():
    assert keys.key_matches(r"[A-Z]+-\d+", "SHOP-12")
    assert not keys.key_matches(r"[A-Z]+-\d+", "xSHOP-12y")
    assert not keys.key_matches(r".*", "A" * (keys.MAX_KEY_LENGTH + 1))


def test_a_blank_key_pattern_means_the_provider_default():
    assert selectors.key_matches(SourceFactory(key_pattern=""), "SHOP_2-10")
    assert not selectors.key_matches(SourceFactory(key_pattern=""), "#10")
    github = SourceFactory(provider="github", auth_type="pat", key_pattern="")
    assert selectors.key_matches(github, "#10") and selectors.key_matches(github, "10")


def test_the_key_preview_judges_samples_on_the_server(admin_client):
    url = reverse("admin:integrations_source_key_preview")
    assert admin_client.get(url, {"provider": "jira_cloud", "sample": "SHOP-1"}).json() == {
        "valid": True,
        "matches": True,
        "message": r"SHOP-1 matches ^[A-Z][A-Z0-9_]+-\d+$.",
    }
    assert admin_client.get(url, {"provider": "linear", "sample": "#4"}).json()["matches"] is False
    invalid = admin_client.get(url, {"pattern": r"(x)\1", "sample": "xx"}).json()
    assert invalid["valid"] is False and invalid["message"].startswith("Not a valid RE2 pattern")
    hostile = admin_client.get(url, {"pattern": r"(a+)+$", "sample": "a" * 150 + "b"}).json()
    assert hostile["matches"] is False
    assert admin_client.post(url).status_code == 405


# --- Creating a source ----------------------------------------------------------------


def test_an_admin_creates_a_jira_cloud_source(admin_client, admin_user, queued_checks):
    response = post_add(admin_client, base_url="HTTPS://Acme.Atlassian.net/", key_pattern=r"^ACME-\d+$")
    assert response.status_code == 302, errors_of(response)
    source = Source.objects.get(name="Acme Jira")
    assert source.base_url == "https://acme.atlassian.net"
    assert source.credentials == {"email": "bot@acme.test", "api_token": SECRET}
    assert (source.provider, source.auth_type, source.key_pattern) == ("jira_cloud", "api_token", r"^ACME-\d+$")
    event = AuditEvent.objects.get(action=AuditAction.SOURCE_CREATED)
    assert (event.actor, event.source_name) == (admin_user, "Acme Jira")
    assert event.details == {
        "provider": "jira_cloud",
        "base_url": "https://acme.atlassian.net",
        "auth_type": "api_token",
        "credential_parts": ["api_token", "email"],
    }


def test_every_credential_part_of_the_auth_type_is_required_on_creation(admin_client):
    errors = errors_of(post_add(admin_client, credential_api_token=None))
    assert errors["credential_api_token"] == ["Enter the api token."]
    errors = errors_of(post_add(admin_client, auth_type="oauth2", credential_email=None, credential_api_token=None))
    assert set(errors) == {"credential_client_id", "credential_client_secret"}
    assert not Source.objects.exists()


def test_only_the_auth_types_of_the_provider_are_accepted(admin_client):
    errors = errors_of(post_add(admin_client, auth_type="pat", credential_token="x"))
    assert errors["auth_type"] == ["Jira Cloud supports: API token (email + token), OAuth 2.0."]
    assert not Source.objects.exists()


def test_the_page_carries_each_providers_auth_types_and_credential_fields(admin_client):
    response = admin_client.get(reverse(ADD_URL))
    metadata = response.context["provider_metadata"]
    assert metadata["jira_cloud"]["auth_types"] == ["api_token", "oauth2"]
    assert [part["name"] for part in metadata["jira_cloud"]["credentials"]["api_token"]] == ["email", "api_token"]
    assert [part["name"] for part in metadata["jira_server"]["credentials"]["basic"]] == ["username", "password"]
    assert metadata["custom"]["credentials"]["none"] == []
    assert [part["name"] for part in metadata["custom"]["credentials"]["api_key"]] == ["header_name", "header_value"]
    assert [part["label"] for part in metadata["azure_devops"]["credentials"]["basic"]] == [
        "Username",
        "Personal access token (as password)",
    ]
    assert metadata["custom"]["capabilities"] == ["can_create_issues"]
    html = response.content.decode()
    assert 'id="source-provider-meta"' in html and "integrations/source_form.js" in html


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"name": "x" * 51}, "name", "at most 50 characters"),
        ({"name": ""}, "name", "This field is required."),
        ({"description": "d" * 256}, "description", "at most 255 characters"),
        ({"base_url": "http://jira.acme.test"}, "base_url", "must use https"),
        ({"issue_url_template": "{baseUrl}/browse/{id}"}, "issue_url_template", "Unknown placeholder {id}"),
        ({"create_url_template": "{baseUrl}/new/{key}"}, "create_url_template", "Unknown placeholder {key}"),
        ({"key_pattern": r"(\w)\1"}, "key_pattern", "Not a valid RE2 regular expression"),
        ({"all_projects": None}, "projects", "Choose at least one project"),
        ({"rate_limit_per_minute": "0"}, "rate_limit_per_minute", "greater than or equal to 1"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_saved(admin_client, overrides, field, message):
    errors = errors_of(post_add(admin_client, **overrides))
    assert message in " ".join(errors[field])
    assert not Source.objects.exists()
    assert not AuditEvent.objects.exists()


def test_display_names_are_unique(admin_client):
    SourceFactory(name="Acme Jira")
    errors = errors_of(post_add(admin_client))
    assert errors["name"] == ["Another source already has this display name: display names are unique."]


def test_http_is_accepted_for_an_internal_server_when_allowed(admin_client, queued_checks):
    response = post_add(
        admin_client,
        provider="jira_server",
        auth_type="pat",
        credential_email=None,
        credential_api_token=None,
        credential_token=SECRET,
        base_url="http://jira.intranet.example:8080/jira/",
        allow_http="on",
    )
    assert response.status_code == 302, errors_of(response)
    assert Source.objects.get().base_url == "http://jira.intranet.example:8080/jira"


REDMINE = {
    "provider": "redmine",
    "name": "Acme Redmine",
    "base_url": "https://redmine.acme.test",
    "auth_type": "pat",
    "credential_email": None,
    "credential_api_token": None,
    "credential_token": SECRET,
}


def test_a_redmine_source_keeps_the_servers_text_formatting(admin_client, queued_checks):
    page = admin_client.get(reverse(ADD_URL)).content.decode()
    assert "Administration › Settings › General › Text formatting" in page

    response = post_add(admin_client, **REDMINE, text_formatting="markdown")

    assert response.status_code == 302, errors_of(response)
    source = Source.objects.get()
    assert source.text_formatting == "markdown"
    assert post_change(admin_client, source, **REDMINE, text_formatting="textile").status_code == 302
    source.refresh_from_db()
    assert source.text_formatting == "textile"


def test_a_source_posted_without_a_text_formatting_writes_textile(admin_client, queued_checks):
    assert post_add(admin_client, **REDMINE).status_code == 302
    assert Source.objects.get().text_formatting == "textile"


def test_only_a_redmine_source_takes_markdown(admin_client):
    errors = errors_of(post_add(admin_client, text_formatting="markdown"))
    assert errors["text_formatting"] == [
        "Only a Redmine source has a text formatting to choose: the other trackers have one format each."
    ]
    assert not Source.objects.exists()


def test_a_custom_tracker_needs_an_issue_url_template(admin_client):
    custom = {
        "provider": "custom",
        "auth_type": "none",
        "credential_email": None,
        "credential_api_token": None,
        "base_url": "https://tracker.example.com",
    }
    errors = errors_of(post_add(admin_client, **custom))
    assert errors["issue_url_template"] == [
        "A custom tracker needs an issue URL template, e.g. {baseUrl}/issues/{key}."
    ]
    errors = errors_of(
        post_add(admin_client, **custom, issue_url_template="{baseUrl}/issues/{key}", can_create_issues="on")
    )
    assert errors["can_create_issues"] == [
        "Custom tracker sources create issues through a create URL template: enter one, or untick this."
    ]


def test_capabilities_a_provider_does_not_implement_are_never_switched_on(admin_client, queued_checks):
    response = post_add(
        admin_client,
        provider="custom",
        auth_type="none",
        credential_email=None,
        credential_api_token=None,
        base_url="https://tracker.example.com",
        issue_url_template="{baseUrl}/issues/{key}",
        create_url_template="{baseUrl}/new?t={title}",
        can_read_details="on",
        can_add_comments="on",
        can_process_webhooks="on",
        can_create_issues="on",
    )
    assert response.status_code == 302, errors_of(response)
    source = Source.objects.get()
    assert (source.can_read_details, source.can_add_comments, source.can_process_webhooks) == (False, False, False)
    assert source.can_create_issues and source.credentials == {}
    assert selectors.can(source, "create_issues")
    assert selectors.create_url(source, title="Crash") == "https://tracker.example.com/new?t=Crash"


def test_a_source_scoped_to_projects_keeps_exactly_those(admin_client, queued_checks):
    first, second = ProjectFactory(), ProjectFactory()
    response = post_add(admin_client, all_projects=None, projects=[first.pk, second.pk])
    assert response.status_code == 302, errors_of(response)
    source = Source.objects.get()
    assert set(source.projects.all()) == {first, second}
    response = post_change(admin_client, source, credential_email=None, credential_api_token=None, projects=[first.pk])
    assert response.status_code == 302, errors_of(response)
    assert AuditEvent.objects.filter(action=AuditAction.SOURCE_CHANGED).get().details == {
        "fields": ["all_projects", "projects"]
    }
    assert list(source.projects.all()) == []  # all projects again: the list is cleared


def test_saving_connection_settings_queues_a_health_check_and_a_rename_does_not(
    admin_client, admin_user, django_capture_on_commit_callbacks, queued_checks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_add(admin_client)
    source = Source.objects.get()
    assert queued_checks == [(source.pk, admin_user.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        post_change(admin_client, source, name="Acme Jira (new name)", credential_email=None, credential_api_token=None)
    assert len(queued_checks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        post_change(
            admin_client,
            source,
            base_url="https://acme-new.atlassian.net",
            credential_email=None,
            credential_api_token=None,
        )
    assert len(queued_checks) == 2
    assert Source.objects.get().health == Health.INACTIVE  # the old health no longer applies


# --- Editing credentials --------------------------------------------------------------


def test_one_credential_part_can_be_replaced_alone(admin_client, queued_checks):
    source = SourceFactory(name="Acme Jira")
    response = post_change(admin_client, source, credential_email=None, credential_api_token="new-token-456")
    assert response.status_code == 302, errors_of(response)
    source.refresh_from_db()
    assert source.credentials == {"email": "bot@example.com", "api_token": "new-token-456"}
    assert AuditEvent.objects.get(action=AuditAction.CREDENTIALS_CHANGED).details == {"parts": ["api_token"]}


def test_a_new_auth_type_needs_every_part_and_drops_the_old_ones(admin_client, queued_checks):
    source = SourceFactory(name="Acme Jira")
    errors = errors_of(
        post_change(
            admin_client,
            source,
            auth_type="oauth2",
            credential_email=None,
            credential_api_token=None,
            credential_client_id="app",
        )
    )
    assert errors["credential_client_secret"] == [
        "Enter the oauth client secret: a new auth type or provider needs new credentials."
    ]
    response = post_change(
        admin_client,
        source,
        auth_type="oauth2",
        credential_email=None,
        credential_api_token=None,
        credential_client_id="app",
        credential_client_secret="client-5ecret",
    )
    assert response.status_code == 302, errors_of(response)
    source.refresh_from_db()
    assert source.credentials == {"client_id": "app", "client_secret": "client-5ecret"}


@pytest.fixture
def unreadable_source(settings):
    settings.FERNET_KEYS = ["key-that-will-be-lost"]
    source = SourceFactory(name="Acme Jira")
    settings.FERNET_KEYS = ["brand-new-key"]
    return Source.objects.get(pk=source.pk)


def test_unreadable_credentials_are_reported_on_the_source(admin_client, unreadable_source):
    page = admin_client.get(reverse("admin:integrations_source_change", args=[unreadable_source.pk])).content.decode()
    assert 'id="credentials-unreadable"' in page
    assert "cannot be decrypted" in page and "re-enter them" in page
    listing = admin_client.get(reverse("admin:integrations_source_changelist")).content.decode()
    assert "Unreadable: the stored credentials cannot be decrypted" in listing


def test_unreadable_credentials_survive_an_edit_of_other_fields(admin_client, unreadable_source, queued_checks):
    response = post_change(
        admin_client, unreadable_source, description="edited", credential_email=None, credential_api_token=None
    )
    assert response.status_code == 302, errors_of(response)
    assert isinstance(Source.objects.get().credentials, Unreadable)


def test_replacing_unreadable_credentials_needs_every_part(admin_client, unreadable_source, queued_checks):
    errors = errors_of(post_change(admin_client, unreadable_source, credential_email=None))
    assert errors["credential_email"] == [
        "The stored credentials cannot be decrypted: re-enter every part, including this one."
    ]
    response = post_change(admin_client, unreadable_source)
    assert response.status_code == 302, errors_of(response)
    assert Source.objects.get().credentials == {"email": "bot@acme.test", "api_token": SECRET}


# --- Testing the connection -----------------------------------------------------------


def jira_for(fake, **fields):
    fields.setdefault("credentials", {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN})
    return SourceFactory(base_url=fake.base_url, allow_http=True, **fields)


def test_connection_button(admin_client, admin_user, fake_jira_cloud, private_hosts):
    source = jira_for(fake_jira_cloud, name="Acme Jira")
    url = reverse("admin:integrations_source_test_connection", args=[source.pk])
    page = admin_client.get(reverse("admin:integrations_source_change", args=[source.pk])).content.decode()
    assert f'action="{url}"' in page
    response = admin_client.post(url, follow=True)
    assert "Acme Jira: connection works. Signed in to Jira as Automation" in response.content.decode()
    source.refresh_from_db()
    assert source.health == Health.ACTIVE and source.health_error == "" and source.health_checked_at
    event = AuditEvent.objects.get(action=AuditAction.CONNECTION_TESTED)
    assert (event.actor, event.success, event.details) == (admin_user, True, {"user": f"Automation ({CLOUD_LOGIN})"})
    assert admin_client.get(url).status_code == 405


def test_connection_failures_are_precise_and_recorded(admin_client, fake_jira_cloud, private_hosts):
    source = jira_for(fake_jira_cloud, credentials={"email": CLOUD_LOGIN, "api_token": "stale-token-789"})
    response = admin_client.post(reverse("admin:integrations_source_test_connection", args=[source.pk]), follow=True)
    page = response.content.decode()
    assert "connection failed" in page and "answered HTTP 401" in page and "rejected the credentials" in page
    source.refresh_from_db()
    assert source.health == Health.ERROR and "HTTP 401" in source.health_error
    event = AuditEvent.objects.get(action=AuditAction.CONNECTION_TESTED)
    assert (event.success, event.details) == (False, {"code": "auth"})


@pytest.mark.parametrize(
    "base_url,reason",
    [
        ("https://tracker.invalid", "could not be resolved"),
        ("http://127.0.0.1:9", "refused the connection"),
    ],
)
def test_connection_failures_below_http_name_the_step_that_failed(base_url, reason, private_hosts):
    source = SourceFactory(base_url=base_url, allow_http=base_url.startswith("http:"))
    outcome = services.test_connection(source)
    assert not outcome.ok and reason in outcome.message and outcome.code == "unreachable"


@pytest.mark.parametrize(
    "status,code,reason",
    [
        (403, "permission", "lacks permission"),
        (404, "not_found", "check the base URL"),
    ],
)
def test_refusals_by_the_tracker_are_reported_with_what_to_check(fake_jira_cloud, private_hosts, status, code, reason):
    source = jira_for(fake_jira_cloud)
    fake_jira_cloud.fail_next(status)
    outcome = services.test_connection(source)
    assert (outcome.ok, outcome.code) == (False, code)
    assert f"answered HTTP {status}" in outcome.message and reason in outcome.message


def test_a_rate_limited_tracker_says_when_to_try_again(fake_jira_cloud, private_hosts):
    source = jira_for(fake_jira_cloud)
    fake_jira_cloud.rate_limit_next(retry_after=600)
    outcome = services.test_connection(source)
    assert (outcome.ok, outcome.code) == (False, "rate_limited")
    assert "try again in 600 s" in outcome.message


def test_a_tls_failure_is_named(private_hosts):
    server = ScriptedServer()  # plain HTTP where the source expects TLS
    server.start()
    try:
        outcome = services.test_connection(SourceFactory(base_url=f"https://127.0.0.1:{server.port}"))
    finally:
        server.stop()
    assert (outcome.ok, outcome.code) == (False, "unreachable")
    assert "The TLS connection to 127.0.0.1" in outcome.message


def test_unreadable_credentials_are_never_sent(admin_client, fake_jira_cloud, private_hosts, settings):
    settings.FERNET_KEYS = ["lost-key"]
    source = jira_for(fake_jira_cloud)
    settings.FERNET_KEYS = ["new-key"]
    response = admin_client.post(reverse("admin:integrations_source_test_connection", args=[source.pk]), follow=True)
    assert "The stored credentials cannot be decrypted" in response.content.decode()
    assert fake_jira_cloud.requests == []
    assert Source.objects.get().health == Health.ERROR


def test_disabled_sources_can_be_tested(fake_jira_cloud, private_hosts):
    source = jira_for(fake_jira_cloud, enabled=False)
    assert services.test_connection(source).ok
    assert Source.objects.get().health == Health.ACTIVE


def test_the_test_connection_action_tests_each_selected_source(admin_client, fake_jira_cloud, private_hosts):
    good, bad = jira_for(fake_jira_cloud, name="Good"), jira_for(fake_jira_cloud, name="Bad", credentials={})
    response = admin_client.post(
        reverse("admin:integrations_source_changelist"),
        {"action": "test_connection", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Good: connection works" in page and "Bad: connection failed" in page


# --- Health ---------------------------------------------------------------------------


def test_the_periodic_task_checks_enabled_connected_sources(fake_jira_cloud, private_hosts, monkeypatch):
    checked = []
    monkeypatch.setattr(tasks.check_source_health, "delay", lambda source_id: checked.append(source_id))
    syncing = jira_for(fake_jira_cloud)
    jira_for(fake_jira_cloud, enabled=False)
    jira_for(fake_jira_cloud, connected=False)
    assert tasks.refresh_source_health() == 1
    assert checked == [syncing.pk]


def test_a_health_check_records_the_result_and_audits_only_changes(fake_jira_cloud, private_hosts):
    source = jira_for(fake_jira_cloud)
    assert tasks.check_source_health(source.pk) is True
    assert tasks.check_source_health(source.pk) is True
    fake_jira_cloud.fail_next(503)
    fake_jira_cloud.fail_next(503)
    fake_jira_cloud.fail_next(503)
    fake_jira_cloud.fail_next(503)
    assert tasks.check_source_health(source.pk) is False
    events = AuditEvent.objects.filter(action=AuditAction.HEALTH_CHANGED).order_by("id")
    assert [(event.details["from"], event.details["to"], event.actor) for event in events] == [
        ("inactive", "active", None),
        ("active", "error", None),
    ]
    assert "HTTP 503" in Source.objects.get().health_error
    assert tasks.check_source_health(source.pk + 1000) is None


def test_the_beat_schedule_runs_the_health_refresh(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["integrations-source-health"]
    assert entry["task"] == tasks.refresh_source_health.name


# --- Enable, disconnect, delete -------------------------------------------------------


def test_enabling_and_disabling_is_audited(admin_client):
    source = SourceFactory()
    changelist = reverse("admin:integrations_source_changelist")
    admin_client.post(changelist, {"action": "disable", "_selected_action": [source.pk]})
    admin_client.post(changelist, {"action": "disable", "_selected_action": [source.pk]})
    admin_client.post(changelist, {"action": "enable", "_selected_action": [source.pk]})
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        AuditAction.SOURCE_DISABLED,
        AuditAction.SOURCE_ENABLED,
    ]
    assert Source.objects.get().enabled


def test_disabled_sources_are_hidden_from_members_but_their_integrations_stay():
    integration = ProjectIntegrationFactory()
    assert list(selectors.pickable_integrations(integration.project)) == [integration]
    services.set_source_enabled(integration.source, False, actor=None)
    assert list(selectors.pickable_integrations(integration.project)) == []
    assert not selectors.assignable_sources(integration.project).exists()
    assert ProjectIntegration.objects.get().state == IntegrationState.ACTIVE


def test_disconnect_stops_requests_and_reconnect_tests_again(admin_client, fake_jira_cloud, private_hosts):
    source = jira_for(fake_jira_cloud, health=Health.ACTIVE)
    changelist = reverse("admin:integrations_source_changelist")
    admin_client.post(changelist, {"action": "disconnect", "_selected_action": [source.pk]})
    source.refresh_from_db()
    assert (source.connected, source.health, source.syncs) == (False, Health.INACTIVE, False)
    assert services.test_connection(source).ok
    assert Source.objects.get().health == Health.INACTIVE  # a test does not reconnect it
    response = admin_client.post(changelist, {"action": "reconnect", "_selected_action": [source.pk]}, follow=True)
    assert "connection works" in response.content.decode()
    source.refresh_from_db()
    assert (source.connected, source.health) == (True, Health.ACTIVE)
    assert [
        action
        for action in AuditEvent.objects.order_by("id").values_list("action", flat=True)
        if action in (AuditAction.SOURCE_DISCONNECTED, AuditAction.SOURCE_RECONNECTED)
    ] == [AuditAction.SOURCE_DISCONNECTED, AuditAction.SOURCE_RECONNECTED]


@pytest.fixture
def used_source():
    integration = ProjectIntegrationFactory(source__name="Old Jira")
    source, project = integration.source, integration.project
    references = [ExternalReferenceFactory(source=source, key=f"SHOP-{n}") for n in (1, 2)]
    for reference in references:
        Link.objects.create(project=project, external_reference=reference, test_case=TestCaseFactory(project=project))
    Link.objects.create(project=project, external_reference=references[0], test_case=TestCaseFactory(project=project))
    UserToken.objects.create(user=UserFactory(), source=source, kind="pat", access_token="member-pat")
    return source


def test_the_delete_confirmation_counts_references_and_links(admin_client, used_source):
    page = admin_client.get(reverse("admin:integrations_source_delete", args=[used_source.pk])).content.decode()
    assert "<strong>2 issue references</strong> and\n        <strong>3 links</strong>" in page
    assert "1 project assignment\n        and 1 member token" in page


def test_deleting_a_source_keeps_references_and_links_and_deletes_tokens(admin_client, used_source):
    response = admin_client.post(reverse("admin:integrations_source_delete", args=[used_source.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Source.objects.exists()
    assert list(ExternalReference.objects.values_list("source", "source_name", "key")) == [
        (None, "Old Jira", "SHOP-1"),
        (None, "Old Jira", "SHOP-2"),
    ]
    assert ExternalReference.objects.get(key="SHOP-1").url == "https://example.atlassian.net/browse/SHOP-1"
    assert Link.objects.count() == 3
    assert not UserToken.objects.exists() and not ProjectIntegration.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.SOURCE_DELETED)
    assert (event.source_name, event.details) == (
        "Old Jira",
        {"references": 2, "links": 3, "project_integrations": 1, "user_tokens": 1},
    )


def test_sources_are_deleted_one_at_a_time_through_the_confirmation(admin_client):
    SourceFactory()
    page = admin_client.get(reverse("admin:integrations_source_changelist")).content.decode()
    assert 'value="delete_selected"' not in page


# --- Who may --------------------------------------------------------------------------


def test_staff_without_the_integration_permission_cannot_reach_sources(client):
    source = SourceFactory()
    client.force_login(UserFactory(is_staff=True))
    for url in (
        reverse("admin:integrations_source_changelist"),
        reverse("admin:integrations_source_change", args=[source.pk]),
        reverse("admin:integrations_source_key_preview"),
        reverse("admin:integrations_auditevent_changelist"),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("admin:integrations_source_test_connection", args=[source.pk])).status_code == 403
    assert not AuditEvent.objects.exists()


def test_staff_granted_the_integration_permissions_administer_sources(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="integrations", codename__in=["view_source", "change_source"])
    )
    client.force_login(user)
    assert client.get(reverse("admin:integrations_source_changelist")).status_code == 200
