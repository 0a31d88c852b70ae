"""The provider interface: registry, class metadata, construction, the HTTP client it builds,
typed refusals, and each provider's connection check against a server on 127.0.0.1."""

import base64
import uuid
from datetime import UTC, datetime

import pytest
import responses
from django.core.exceptions import ValidationError

from integrations import keys
from integrations.errors import AddressNotAllowed, AuthenticationFailed, CredentialsUnreadable, PermissionDenied
from integrations.fields import Unreadable
from integrations.mappings import DEFECT_PRIORITIES, DEFECT_STATUSES
from integrations.models import AUTH_TYPES_BY_PROVIDER, AuthType, Provider, Source, UserToken
from integrations.providers import REGISTRY, provider_class, provider_for
from integrations.providers.base import (
    CAPABILITY_FIELDS,
    OPERATIONS,
    Capability,
    ConnectionReport,
    IssueDraft,
    TrackerProvider,
    Unsupported,
)
from issues.core.models import IssuePriority, IssueStatus
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN, SERVER_LOGIN, SERVER_PASSWORD, SERVER_PAT
from tests.support.scripted_server import Reply, ScriptedServer

pytestmark = pytest.mark.django_db

JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def server():
    running = ScriptedServer()
    running.start()
    yield running
    running.stop()


def source(provider, base_url, auth_type, credentials=None, **fields) -> Source:
    """An unsaved source is enough for a provider; tests that need a row save it."""
    return Source(
        provider=provider,
        name=f"{provider} test",
        base_url=base_url,
        allow_http=base_url.startswith("http://"),
        auth_type=auth_type,
        credentials=credentials or {},
        **fields,
    )


# --- Registry and metadata ------------------------------------------------------------


def test_every_provider_choice_has_exactly_one_registered_class():
    assert set(REGISTRY) == set(Provider.values)
    for key, provider in REGISTRY.items():
        assert provider.key == key
        assert provider.label == Provider(key).label
        assert provider_class(key) is provider


@pytest.mark.parametrize("key", Provider.values)
def test_provider_metadata_is_complete_and_consistent(key):
    provider = REGISTRY[key]
    assert list(provider.auth_types) == list(AUTH_TYPES_BY_PROVIDER[key])
    for auth_type in provider.auth_types:
        parts = provider.fields_for(auth_type)
        assert all(part.name and part.label for part in parts)
        assert (auth_type == AuthType.NONE) == (not parts)
    keys.validate_key_pattern(provider.default_key_pattern)
    if provider.default_issue_url_template:
        keys.validate_url_template(
            provider.default_issue_url_template, allowed=keys.ISSUE_URL_PLACEHOLDERS, needs_key=True
        )
    if provider.default_create_url_template:
        keys.validate_url_template(
            provider.default_create_url_template, allowed=keys.CREATE_URL_PLACEHOLDERS, needs_key=False
        )
    if provider.external_project_pattern:
        keys.validate_key_pattern(provider.external_project_pattern)
        assert provider.external_project_hint


@pytest.mark.parametrize("key", Provider.values)
def test_declared_capabilities_are_exactly_the_implemented_operations(key):
    provider = REGISTRY[key]
    for capability, operations in OPERATIONS.items():
        implemented = all(getattr(provider, name) is not getattr(TrackerProvider, name) for name in operations)
        assert implemented == (capability in provider.capabilities), (key, capability)


def test_creating_issues_is_offered_everywhere_through_a_create_url_template():
    for provider in REGISTRY.values():
        assert Capability.CREATE_ISSUES in provider.offered_capabilities()
        assert provider.offered_capabilities() - {Capability.CREATE_ISSUES} == provider.capabilities - {
            Capability.CREATE_ISSUES
        }
    assert set(CAPABILITY_FIELDS.values()) == {
        "can_read_details",
        "can_create_issues",
        "can_add_comments",
        "can_process_webhooks",
    }


@pytest.mark.parametrize(
    "key,valid,invalid",
    [
        (Provider.JIRA_CLOUD, "SHOP", "shop"),
        (Provider.JIRA_SERVER, "AB_2", "2AB"),
        (Provider.GITHUB, "octo-org/hello.world", "octo-org"),
        (Provider.GITLAB, "group/sub/project", "project"),
        (Provider.AZURE_DEVOPS, "Fabrikam Fiber", "fabrikam/Fiber"),
        (Provider.LINEAR, "ENG", "eng"),
    ],
)
def test_external_projects_are_checked_the_way_each_tracker_names_them(key, valid, invalid):
    provider = REGISTRY[key]
    provider.validate_external_project(valid)
    with pytest.raises(ValidationError, match="not a valid"):
        provider.validate_external_project(invalid)
    with pytest.raises(ValidationError, match="Enter the"):
        provider.validate_external_project("")


def test_a_custom_tracker_takes_any_external_project_or_none():
    REGISTRY[Provider.CUSTOM].validate_external_project("")
    REGISTRY[Provider.CUSTOM].validate_external_project("any thing/at all")


def test_constants_mirrored_from_the_issues_app_stay_equal():
    assert tuple(IssuePriority.values) == DEFECT_PRIORITIES
    assert tuple(IssueStatus.values) == DEFECT_STATUSES


# --- Construction and the client ------------------------------------------------------


def test_unreadable_credentials_are_refused_before_any_request(server):
    broken = source(Provider.JIRA_CLOUD, server.base_url, AuthType.API_TOKEN)
    broken.credentials = Unreadable(b"gAAAA-not-decryptable")
    with pytest.raises(CredentialsUnreadable, match="re-enter them"):
        provider_for(broken)
    assert server.received == []


def test_an_unreadable_member_token_is_refused_before_any_request(server):
    jira = source(Provider.JIRA_CLOUD, server.base_url, AuthType.OAUTH2, {"client_id": "id", "client_secret": "s"})
    token = UserToken(kind="oauth2", access_token=Unreadable(b"gAAAA-lost"))
    with pytest.raises(CredentialsUnreadable, match="authorize your account again"):
        provider_for(jira, token)
    assert server.received == []


def test_the_client_sends_the_credentials_only_to_the_tracker_and_spends_the_sources_budget(server):
    jira = source(
        Provider.JIRA_SERVER,
        server.base_url,
        AuthType.PAT,
        {"token": "pat-s3cret-value"},
        uuid=uuid.uuid4(),
        rate_limit_per_minute=7,
    )
    server.script("/ping", Reply(401, JSON, b'{"message": "bad token pat-s3cret-value"}'))
    spent = []

    class Budget:
        def acquire(self, key, per_minute):
            spent.append((key, per_minute))
            return 0.0

    with (
        provider_for(jira).client(budget=Budget(), sleep=lambda _: None) as http,
        pytest.raises(AuthenticationFailed) as failure,
    ):
        http.get("ping")
    assert server.received[0].headers["authorization"] == "Bearer pat-s3cret-value"
    assert "pat-s3cret-value" not in str(failure.value)
    assert spent == [(str(jira.uuid), 7)]


def test_operations_a_provider_does_not_implement_raise_a_typed_refusal():
    custom = provider_for(source(Provider.CUSTOM, "https://tracker.example.com", AuthType.NONE))
    calls = [
        lambda: custom.fetch_many(["A-1"]),
        lambda: custom.search("crash"),
        lambda: custom.projects(),
        lambda: custom.issue_types("P"),
        lambda: custom.fields("P", "Bug"),
        lambda: custom.create_issue(IssueDraft(project="P", issue_type="Bug", title="t")),
        lambda: custom.add_comment("A-1", "hi"),
        lambda: custom.transition("A-1", "Done"),
        lambda: custom.verify_webhook(None),
        lambda: custom.parse_webhook(b"{}"),
        lambda: custom.whoami(),
    ]
    for call in calls:
        with pytest.raises(Unsupported) as refusal:
            call()
        assert refusal.value.code == "unsupported"
        assert str(refusal.value).startswith("Custom tracker sources do not support")


def test_a_report_summarises_headroom_and_expiry():
    report = ConnectionReport(
        user="ann",
        detail="Signed in as ann.",
        rate_limit_remaining=40,
        rate_limit_limit=100,
        token_expires_at=datetime(2030, 1, 2, 3, 4, tzinfo=UTC),
    )
    assert report.summary == (
        "Signed in as ann. Rate limit: 40 of 100 requests left. The token expires at 2030-01-02 03:04 UTC."
    )


# --- Connection checks ----------------------------------------------------------------


def test_jira_cloud_checks_myself_with_email_and_api_token(fake_jira_cloud):
    jira = source(
        Provider.JIRA_CLOUD,
        fake_jira_cloud.base_url,
        AuthType.API_TOKEN,
        {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
    )
    report = provider_for(jira).check_connection()
    assert report.user == f"Automation ({CLOUD_LOGIN})"
    assert report.detail.startswith(f"Signed in to Jira as Automation ({CLOUD_LOGIN}).")
    request = fake_jira_cloud.requests_to("GET", r"/rest/api/3/myself")[0]
    expected = base64.b64encode(f"{CLOUD_LOGIN}:{CLOUD_API_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_jira_cloud_rejecting_the_token_is_an_authentication_error_without_the_token(fake_jira_cloud):
    jira = source(
        Provider.JIRA_CLOUD,
        fake_jira_cloud.base_url,
        AuthType.API_TOKEN,
        {"email": CLOUD_LOGIN, "api_token": "wrong-token-123"},
    )
    with pytest.raises(AuthenticationFailed) as failure:
        provider_for(jira).check_connection()
    assert "HTTP 401" in str(failure.value)
    assert "Client must be authenticated" in str(failure.value)
    assert "wrong-token-123" not in str(failure.value)


@pytest.mark.parametrize(
    "auth_type,credentials",
    [
        (AuthType.PAT, {"token": SERVER_PAT}),
        (AuthType.BASIC, {"username": SERVER_LOGIN, "password": SERVER_PASSWORD}),
    ],
)
def test_jira_server_checks_myself_on_rest_api_2_with_a_pat_or_basic_auth(fake_jira_server, auth_type, credentials):
    jira = source(Provider.JIRA_SERVER, fake_jira_server.base_url, auth_type, credentials)
    report = provider_for(jira).check_connection()
    assert SERVER_LOGIN in report.user
    assert fake_jira_server.requests_to("GET", r"/rest/api/2/myself")


def test_jira_server_error_messages_come_from_its_error_collection(fake_jira_server):
    jira = source(Provider.JIRA_SERVER, fake_jira_server.base_url, AuthType.PAT, {"token": SERVER_PAT})
    fake_jira_server.fail_next(403, {"errorMessages": ["You are not allowed to browse users."], "errors": {}})
    with pytest.raises(PermissionDenied, match="The tracker says: You are not allowed to browse users."):
        provider_for(jira).check_connection()


def test_jira_with_oauth_and_no_member_token_checks_that_jira_answers(fake_jira_cloud):
    jira = source(
        Provider.JIRA_CLOUD,
        fake_jira_cloud.base_url,
        AuthType.OAUTH2,
        {"client_id": "app", "client_secret": "oauth-secret"},
    )
    report = provider_for(jira).check_connection()
    assert report.user == ""
    assert report.detail.startswith("Jira Cloud 1001.0.0-SNAPSHOT answers at 127.0.0.1")
    assert [request.headers.get("Authorization") for request in fake_jira_cloud.requests] == [None]


def test_a_members_token_is_sent_as_bearer_and_its_expiry_reported(server):
    github = source(Provider.GITHUB, server.base_url, AuthType.OAUTH2, {"client_id": "a", "client_secret": "b"})
    expiry = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)
    server.script("/api/v3/user", Reply(200, JSON, b'{"login": "ann"}'))
    report = provider_for(
        github, UserToken(kind="oauth2", access_token="member-tok", expires_at=expiry)
    ).check_connection()
    assert server.received[0].headers["authorization"] == "Bearer member-tok"
    assert report.token_expires_at == expiry


def test_custom_trackers_check_that_the_base_url_answers_with_a_head_request(server):
    custom = source(Provider.CUSTOM, server.base_url + "/tracker", AuthType.NONE)
    server.script("/tracker", Reply(405))
    report = provider_for(custom).check_connection()
    assert report.detail == "127.0.0.1 answers (HTTP 405); no account is used, so none was checked."
    assert [(r.method, r.path) for r in server.received] == [("HEAD", "/tracker")]


def test_the_reachability_check_still_refuses_private_addresses_unless_allowed(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = False
    custom = source(Provider.CUSTOM, "https://10.1.2.3", AuthType.NONE)
    with pytest.raises(AddressNotAllowed):
        provider_for(custom).check_connection()


def test_github_enterprise_checks_the_user_under_api_v3(server):
    github = source(Provider.GITHUB, server.base_url, AuthType.PAT, {"token": "ghp_secret"})
    server.script(
        "/api/v3/user",
        Reply(
            200,
            {**JSON, "X-RateLimit-Remaining": "4990", "X-RateLimit-Limit": "5000"},
            b'{"login": "octocat", "name": "The Octocat"}',
        ),
    )
    report = provider_for(github).check_connection()
    assert report.user == "The Octocat (octocat)"
    assert (report.rate_limit_remaining, report.rate_limit_limit) == (4990, 5000)
    assert server.received[0].headers["authorization"] == "Bearer ghp_secret"


def test_github_dot_com_serves_its_api_from_api_github_com():
    github = provider_for(source(Provider.GITHUB, "https://github.com", AuthType.PAT, {"token": "t"}))
    assert github.api_base_url == "https://api.github.com"


def test_gitlab_sends_a_personal_access_token_in_its_own_header(server):
    gitlab = source(Provider.GITLAB, server.base_url + "/gitlab", AuthType.PAT, {"token": "glpat-secret"})
    server.script(
        "/gitlab/api/v4/user", Reply(200, {**JSON, "RateLimit-Remaining": "599"}, b'{"username": "ann", "name": "Ann"}')
    )
    report = provider_for(gitlab).check_connection()
    assert report.user == "Ann (ann)"
    assert report.rate_limit_remaining == 599
    assert server.received[0].headers["private-token"] == "glpat-secret"
    assert "authorization" not in server.received[0].headers


@responses.activate
def test_linear_asks_graphql_for_the_viewer_with_the_api_key_as_is():
    responses.post(
        "https://api.linear.app/graphql",
        json={"data": {"viewer": {"name": "Ann", "email": "a@x.io"}}},
        headers={"X-RateLimit-Requests-Remaining": "1499"},
    )
    linear = source(Provider.LINEAR, "https://linear.app/example", AuthType.PAT, {"token": "lin_api_secret"})
    report = provider_for(linear).check_connection()
    assert report.user == "Ann (a@x.io)"
    assert report.rate_limit_remaining == 1499
    assert responses.calls[0].request.headers["Authorization"] == "lin_api_secret"


@responses.activate
def test_linear_authentication_errors_are_typed_and_redacted():
    responses.post(
        "https://api.linear.app/graphql",
        status=400,
        json={
            "errors": [
                {
                    "message": "Authentication required: lin_api_wrong is not valid",
                    "extensions": {"code": "AUTHENTICATION_ERROR"},
                }
            ]
        },
    )
    linear = source(Provider.LINEAR, "https://linear.app/example", AuthType.PAT, {"token": "lin_api_wrong"})
    with pytest.raises(AuthenticationFailed) as failure:
        provider_for(linear).check_connection()
    assert "lin_api_wrong" not in str(failure.value)
    assert "Authentication required" in str(failure.value)
